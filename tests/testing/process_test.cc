#include "tests/testing/process.h"

#include <signal.h>
#include <sys/wait.h>

#include "gtest/gtest.h"

namespace axis::testing {
namespace {

TEST(ProcessTest, RunCommandCapturesOutputAndExitCode) {
  absl::StatusOr<CommandResult> r =
      RunCommand({"sh", "-c", "cat; echo err >&2; exit 3"}, "hello");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->exit_code, 3);
  EXPECT_EQ(r->out, "hello");
  EXPECT_EQ(r->err, "err\n");
}

TEST(ProcessTest, RunCommandKillsWhatOverrunsItsTimeout) {
  absl::StatusOr<CommandResult> r = RunCommand({"sleep", "30"}, "", absl::Milliseconds(200));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDeadlineExceeded);
}

TEST(ProcessTest, ChildServerIsReachableAndStoppedOnDestruction) {
  absl::StatusOr<int> port = PickFreePort();
  ASSERT_TRUE(port.ok());
  pid_t pid;
  {
    // openssl s_server is a real TLS-less listener here (-nocert, -naccept).
    auto child = ChildProcess::Start({"openssl", "s_server", "-accept",
                                      "127.0.0.1:" + std::to_string(*port), "-nocert", "-quiet"});
    ASSERT_TRUE(child.ok());
    pid = (*child)->pid();
    ASSERT_TRUE(WaitForTcpPort(*port, absl::Seconds(10), child->get()).ok());
  }
  EXPECT_NE(::kill(pid, 0), 0) << "child still alive after its owner died";
}

TEST(ProcessTest, WaitForPortReportsEarlyExit) {
  auto child = ChildProcess::Start({"false"});
  ASSERT_TRUE(child.ok());
  absl::StatusOr<int> port = PickFreePort();
  absl::Status s = WaitForTcpPort(*port, absl::Seconds(5), child->get());
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
}

TEST(ProcessTest, OnPathFindsInstalledProgramsOnly) {
  EXPECT_TRUE(OnPath("sh"));
  EXPECT_FALSE(OnPath("axis-no-such-program"));
  EXPECT_FALSE(OnPath("sh; true"));  // a name, not a command line
}

}  // namespace
}  // namespace axis::testing
