// process.h: real child processes for integration tests.
//
// ChildProcess starts a program (a server under test, `openssl ocsp`, ...),
// and always stops it: the destructor sends SIGTERM, waits up to a bound,
// then SIGKILLs; if the test process dies first (a crash), the kernel kills
// it too (PR_SET_PDEATHSIG). Servers listen on 127.0.0.1 on a port from
// PickFreePort().
#ifndef AXIS_TESTS_TESTING_PROCESS_H_
#define AXIS_TESTS_TESTING_PROCESS_H_

#include <sys/types.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace axis::testing {

// CommandResult is what a finished command left behind.
struct CommandResult {
  int exit_code = -1;  // -1 when killed by a signal
  std::string out;
  std::string err;
};

// RunCommand runs argv[0] (searched in PATH) with `input` on stdin, waits at
// most `timeout` (then kills it and returns DEADLINE_EXCEEDED), and returns
// its exit code and output. `env` entries are added to the environment.
absl::StatusOr<CommandResult> RunCommand(const std::vector<std::string>& argv,
                                         const std::string& input = "",
                                         absl::Duration timeout = absl::Seconds(60),
                                         const std::map<std::string, std::string>& env = {});

// ChildProcess is a started program that is stopped when this object dies.
class ChildProcess {
 public:
  // Start launches argv with stdout and stderr appended to `log_path` (or
  // discarded when empty).
  static absl::StatusOr<std::unique_ptr<ChildProcess>> Start(
      const std::vector<std::string>& argv, const std::string& log_path = "",
      const std::map<std::string, std::string>& env = {});

  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess();

  pid_t pid() const { return pid_; }
  bool Running();
  // Stop sends `signal` (SIGTERM by default), waits up to `grace`, then
  // SIGKILLs. Returns the exit status as waitpid reported it.
  int Stop(int signal = 15, absl::Duration grace = absl::Seconds(10));
  // Kill is Stop(SIGKILL): a crash, for recovery tests.
  int Kill() { return Stop(9, absl::Seconds(5)); }

 private:
  explicit ChildProcess(pid_t pid) : pid_(pid) {}
  pid_t pid_;
  bool reaped_ = false;
  int status_ = 0;
};

// PickFreePort returns a TCP port on 127.0.0.1 that was free a moment ago,
// never the same one twice in a process.
absl::StatusOr<int> PickFreePort();

// WaitForTcpPort waits until 127.0.0.1:port accepts a connection, at most
// `timeout`; `child`, when given, must stay alive meanwhile.
absl::Status WaitForTcpPort(int port, absl::Duration timeout, ChildProcess* child = nullptr);

// OnPath reports whether `program` is found in PATH (for tests of optional
// independent tools: xmlsec1, the JDK).
bool OnPath(const std::string& program);

// HaveJdk reports whether java and javac are installed: JdkVerify.java runs
// from source, which needs the compiler too.
bool HaveJdk();

// MakeTempDir creates a fresh directory under testing::TempDir(); it is
// removed with its contents when the test program exits, unless the
// environment sets AXIS_KEEP_TEST_DIRS (to look at a failure).
std::string MakeTempDir(const std::string& prefix);

}  // namespace axis::testing

#endif  // AXIS_TESTS_TESTING_PROCESS_H_
