// axis_cli.h: running the real `axis` command (build/bin/axis) in tests.
#ifndef AXIS_TESTS_TESTING_AXIS_CLI_H_
#define AXIS_TESTS_TESTING_AXIS_CLI_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tests/testing/paths.h"
#include "tests/testing/process.h"

namespace axis::testing {

// RunAxis runs build/bin/axis with `args`, `env` added to its environment,
// for at most `timeout`: a hang is a failure, not a stuck test run. Returns
// its exit code and output; when it could not be run or timed out, fails
// the current test (non-fatally) and returns exit_code -1 with no output.
inline CommandResult RunAxis(const std::vector<std::string>& args,
                             absl::Duration timeout = absl::Seconds(60),
                             const std::map<std::string, std::string>& env = {}) {
  std::vector<std::string> argv = {BinDir() + "/axis"};
  argv.insert(argv.end(), args.begin(), args.end());
  absl::StatusOr<CommandResult> r = RunCommand(argv, "", timeout, env);
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? *r : CommandResult();
}

}  // namespace axis::testing

#endif  // AXIS_TESTS_TESTING_AXIS_CLI_H_
