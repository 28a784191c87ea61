#include "common/server_main.h"

#include <signal.h>

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace axis {
namespace {

// Parse runs ParseServerFlags on `args` (after the program name).
std::optional<int> Parse(std::vector<std::string> args, ServerFlags* flags) {
  args.insert(args.begin(), "server");
  std::vector<char*> argv;
  for (std::string& a : args) {
    argv.push_back(a.data());
  }
  return ParseServerFlags(static_cast<int>(argv.size()), argv.data(), "server", "usage\n", flags);
}

TEST(ServerFlagsTest, TakesTheConfigPathInEitherFormAndCheckConfig) {
  ServerFlags flags;
  EXPECT_EQ(Parse({"--config", "a.textproto"}, &flags), std::nullopt);
  EXPECT_EQ(flags.config_path, "a.textproto");
  EXPECT_FALSE(flags.check_only);

  ServerFlags other;
  EXPECT_EQ(Parse({"--check-config", "--config=b.textproto"}, &other), std::nullopt);
  EXPECT_EQ(other.config_path, "b.textproto");
  EXPECT_TRUE(other.check_only);
}

TEST(ServerFlagsTest, HelpExitsWithZero) {
  ServerFlags flags;
  EXPECT_EQ(Parse({"--help"}, &flags), 0);
  EXPECT_EQ(Parse({"-h", "--config", "a"}, &flags), 0);
}

TEST(ServerFlagsTest, UnknownArgumentOrNoConfigIsAUsageError) {
  ServerFlags flags;
  EXPECT_EQ(Parse({"--config", "a", "--verbose"}, &flags), 2);
  ServerFlags none;
  EXPECT_EQ(Parse({"--check-config"}, &none), 2);
  ServerFlags dangling;
  EXPECT_EQ(Parse({"--config"}, &dangling), 2);
}

TEST(StopSignalsTest, WaitReturnsTheSignalThatArrived) {
  StopSignals stop;
  ASSERT_EQ(::raise(SIGTERM), 0);  // blocked: stays pending for Wait
  EXPECT_EQ(stop.Wait(), SIGTERM);
  ASSERT_EQ(::raise(SIGINT), 0);
  EXPECT_EQ(stop.Wait(), SIGINT);
}

}  // namespace
}  // namespace axis
