// timestamp_rule_test.cc: a security server whose message log has had no
// time-stamp for longer than its grace period refuses new documents, and
// takes them again by itself once the TSA is back (real axis-tsa).
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/security-server/log_fixture.h"
#include "tests/security-server/ss_fixture.h"

namespace axis::ss::testing_util {
namespace {

using ::testing::HasSubstr;

class TimestampRuleTest : public SecurityServerFixture {};

TEST_F(TimestampRuleTest, RefusesNewDocumentsAfterTheGraceWithoutTimeStampAndRecovers) {
  axis::ss::test::TsaProcess tsa(dir_);
  tsa.Start();  // reserves the port
  tsa.Stop();   // the TSA is down from the start
  StartServer("vpcp", TsaSettings(tsa.url(), 2));
  StartServer("mic");
  const Agency& vpcp = agencies_["vpcp"];
  std::string file = dir_ + "/doc.bin";
  std::ofstream(file) << "document";
  std::vector<std::string> send = SendFileArgs("vpcp", "mic", file);
  auto first = Axis("vpcp", send);
  ASSERT_EQ(first.exit_code, 0) << first.err << Slurp(vpcp.log_path);

  absl::SleepFor(absl::Seconds(3));
  auto refused = Axis("vpcp", send);
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_THAT(refused.err, HasSubstr("no time-stamp"));

  tsa.Start();
  absl::Time deadline = absl::Now() + absl::Seconds(40);
  auto again = Axis("vpcp", send);
  while (again.exit_code != 0 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(300));
    again = Axis("vpcp", send);
  }
  EXPECT_EQ(again.exit_code, 0) << again.err;
}

}  // namespace
}  // namespace axis::ss::testing_util
