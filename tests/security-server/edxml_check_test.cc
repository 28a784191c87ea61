// edxml_check_test.cc: what a security server checks in an arriving edXML
// message besides its signatures: valid edXML, From the sending member, To
// the recipient.
#include "security-server/edxml_check.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "proto/identifiers.h"
#include "tests/testing/paths.h"
#include "tests/testing/process.h"

namespace axis::ss {
namespace {

using ::testing::HasSubstr;

class EdxmlCheckTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = axis::testing::MakeTempDir("edxml-check"); }

  // Message writes an edXML document from `from` to `to` with `axis edxml new`.
  std::string Message(const std::string& from, const std::vector<std::string>& to) {
    std::string out = dir_ + "/m" + std::to_string(n_++) + ".edxml";
    std::vector<std::string> argv = {axis::testing::BinDir() + "/axis", "edxml", "new", "--from",
                                     from, "--code", "12/QĐ-TTg", "--subject", "Về việc thử",
                                     "-o", out};
    for (const std::string& t : to) {
      argv.insert(argv.end(), {"--to", t});
    }
    absl::StatusOr<axis::testing::CommandResult> r = axis::testing::RunCommand(argv);
    EXPECT_TRUE(r.ok() && r->exit_code == 0) << (r.ok() ? r->err : r.status().ToString());
    return out;
  }

  static Identifier Member(const std::string& code) { return *ParseMemberId("VN/GOV/" + code); }

  std::string dir_;
  int n_ = 0;
};

TEST_F(EdxmlCheckTest, AcceptsADocumentFromTheSenderToTheRecipient) {
  std::string m = Message("000.00.00.G22", {"000.00.00.G12", "000.00.00.H49"});
  EXPECT_TRUE(CheckEdxmlArrival(m, Member("000.00.00.G22"), Member("000.00.00.H49")).ok());
}

TEST_F(EdxmlCheckTest, RefusesADocumentClaimingAnotherSender) {
  std::string m = Message("000.00.00.G12", {"000.00.00.H49"});
  absl::Status s = CheckEdxmlArrival(m, Member("000.00.00.G22"), Member("000.00.00.H49"));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("is From \"000.00.00.G12\" but came from member VN/GOV/000.00.00.G22"));
}

TEST_F(EdxmlCheckTest, RefusesADocumentNotAddressedToTheRecipient) {
  std::string m = Message("000.00.00.G22", {"000.00.00.G12"});
  absl::Status s = CheckEdxmlArrival(m, Member("000.00.00.G22"), Member("000.00.00.H49"));
  EXPECT_THAT(s.message(), HasSubstr("not addressed To 000.00.00.H49"));
}

TEST_F(EdxmlCheckTest, AMemberMayBeNamedByAnyOfItsAgencyCodes) {
  // Quảng Ninh is member H49 (2020 code) and also known by 000.00.00.H49;
  // the Office of Government the other way round.
  std::string m = Message("G22", {"000.00.00.H49"});
  absl::StatusOr<edxml::Message> read = ReadEdxmlArrival(m);
  ASSERT_TRUE(read.ok()) << read.status();
  Party vpcp{Member("000.00.00.G22"), {"000.00.00.G22", "G22"}};
  Party qn{Member("H49"), {"H49", "000.00.00.H49"}};
  EXPECT_TRUE(CheckEdxmlArrival(*read, vpcp, qn).ok());
  // Known by its member code only, neither matches.
  Party vpcp_only{Member("000.00.00.G22"), {"000.00.00.G22"}};
  Party qn_only{Member("H49"), {"H49"}};
  EXPECT_THAT(CheckEdxmlArrival(*read, vpcp_only, qn).message(), HasSubstr("is From \"G22\""));
  EXPECT_THAT(CheckEdxmlArrival(*read, vpcp, qn_only).message(), HasSubstr("not addressed To H49"));
}

TEST_F(EdxmlCheckTest, AStatusMustComeFromItsSenderWithTheCodeItsEnvelopeNames) {
  std::string decree = Message("000.00.00.G22", {"000.00.00.G12"});
  std::string status = dir_ + "/status.edxml";
  absl::StatusOr<axis::testing::CommandResult> made = axis::testing::RunCommand(
      {axis::testing::BinDir() + "/axis", "edxml", "status", "--code", "03", "--for", decree,
       "--from", "000.00.00.G12", "-o", status});
  ASSERT_TRUE(made.ok() && made->exit_code == 0) << (made.ok() ? made->err : "");
  absl::StatusOr<edxml::Message> read = ReadEdxmlArrival(status);
  ASSERT_TRUE(read.ok()) << read.status();
  Party mic{Member("000.00.00.G12"), {"000.00.00.G12"}};
  Party vpcp{Member("000.00.00.G22"), {"000.00.00.G22"}};
  EXPECT_TRUE(CheckEdxmlArrival(*read, mic, vpcp, "03").ok());
  EXPECT_THAT(CheckEdxmlArrival(*read, mic, vpcp, "06").message(),
              HasSubstr("StatusCode \"03\" but its envelope says 06"));
  EXPECT_THAT(CheckEdxmlArrival(*read, vpcp, mic, "03").message(),
              HasSubstr("edXML status is From \"000.00.00.G12\" but came from member"));
}

TEST_F(EdxmlCheckTest, RefusesWhatIsNotEdxml) {
  std::string path = dir_ + "/not.xml";
  ASSERT_TRUE(axis::testing::RunCommand({"sh", "-c", "echo '<a/>' > " + path}).ok());
  absl::Status s = CheckEdxmlArrival(path, Member("000.00.00.G22"), Member("000.00.00.H49"));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("edXML"));
}

TEST_F(EdxmlCheckTest, RecognisesTheEdxmlDocumentType) {
  EXPECT_TRUE(IsEdxmlDocumentType("edxml"));
  EXPECT_TRUE(IsEdxmlDocumentType("edXML"));
  EXPECT_FALSE(IsEdxmlDocumentType("status"));
}

}  // namespace
}  // namespace axis::ss
