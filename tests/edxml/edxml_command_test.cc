// End-to-end runs of `axis edxml` (build/bin/axis) as users see them: exit
// codes 0 valid / 1 invalid / 2 I/O or usage, and what is printed.
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/edxml/edxml_fixture.h"
#include "tests/testing/process.h"

namespace axis::edxml {
namespace {

using ::testing::HasSubstr;
using testing_util::MakeTempDir;
using testing_util::ReadTestFile;
using testing_util::WriteTestFile;

testing::CommandResult Axis(std::vector<std::string> args) {
  args.insert(args.begin(), std::string(AXIS_BIN_DIR) + "/axis");
  absl::StatusOr<testing::CommandResult> r = testing::RunCommand(args);
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? *r : testing::CommandResult{};
}

TEST(EdxmlCommandTest, NewValidateExtractAndStatus) {
  const std::string dir = MakeTempDir();
  const std::string pdf = WriteTestFile(dir + "/quyết định.pdf", "%PDF-1.7 nội dung\n");
  const std::string msg = dir + "/m.edxml";
  testing::CommandResult r =
      Axis({"edxml", "new", "--from", "000.00.00.G22", "--to", "G09.01", "--to", "H37.02.02", "--code",
            "123/QĐ-TTg", "--subject", "Về việc thử nghiệm", "--date", "2024/05/01", "--attach", pdf,
            "-o", msg});
  ASSERT_EQ(r.exit_code, 0) << r.err;

  r = Axis({"edxml", "validate", msg});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;

  r = Axis({"edxml", "show", "--json", msg});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("\"DocumentId\": \"000.00.00.G22,2024/05/01,123/QĐ-TTg\""));

  r = Axis({"edxml", "extract", "-o", dir + "/out", msg});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(ReadTestFile(dir + "/out/quyết định.pdf"), "%PDF-1.7 nội dung\n");

  r = Axis({"edxml", "status", "--code", "03", "--for", msg, "-o", dir + "/s.edxml"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = Axis({"edxml", "show", dir + "/s.edxml"});
  EXPECT_THAT(r.out, HasSubstr("03 accepted and registered"));
  EXPECT_THAT(r.out, HasSubstr("G09.01"));
  r = Axis({"edxml", "validate", dir + "/s.edxml"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
}

TEST(EdxmlCommandTest, ValidateListsEachProblemAndExitsOne) {
  const std::string dir = MakeTempDir();
  const std::string msg = WriteTestFile(
      dir + "/bad.edxml",
      testing_util::Minimal("<edXML:From><edXML:OrganId>000.00.00.g22</edXML:OrganId></edXML:From>"
                            "<edXML:Subject>S</edXML:Subject>"));
  testing::CommandResult r = Axis({"edxml", "validate", msg});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.out, HasSubstr("MessageHeader/From/OrganId: \"000.00.00.g22\": agency code"));
  EXPECT_THAT(r.out, HasSubstr("MessageHeader/To: at least one To is required"));

  const std::string evil = WriteTestFile(dir + "/evil.edxml", "<!DOCTYPE edXML [<!ENTITY x \"y\">]><edXML/>");
  r = Axis({"edxml", "validate", evil});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.out, HasSubstr("DOCTYPE edXML refused"));

  r = Axis({"edxml", "validate", dir + "/missing.edxml"});
  EXPECT_EQ(r.exit_code, 2);
}

TEST(EdxmlCommandTest, NewRefusesBadAgencyCode) {
  const std::string dir = MakeTempDir();
  testing::CommandResult r = Axis({"edxml", "new", "--from", "G9.01", "--to", "G09.01", "--code", "1/A",
                                   "--subject", "x", "-o", dir + "/m.edxml"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--from: agency code \"G9.01\""));
}

}  // namespace
}  // namespace axis::edxml
