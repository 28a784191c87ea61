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

namespace axis::edxml {
namespace {

// SignedDecree builds an edXML decree and signs it leader (PKCS#12) then
// agency (PEM seal, after checking the leader's signature); returns its path.
std::string SignedDecree(const std::string& dir) {
  const std::string pki = AXIS_PKI_DIR;
  const std::string pdf = WriteTestFile(dir + "/qd.pdf", "%PDF-1.7 Quyết định 28/QĐ-TTg\n");
  testing::CommandResult r =
      Axis({"edxml", "new", "--from", "000.00.00.G22", "--to", "000.00.00.G12", "--to",
            "000.00.00.H49", "--code", "28/QĐ-TTg", "--subject",
            "Về việc khai trương Trục liên thông văn bản quốc gia", "--date", "2019/03/12",
            "--attach", pdf, "-o", dir + "/m.edxml"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  r = Axis({"sign", "--key", pki + "/agencies/vpcp/leader.p12", "--pass-file",
            pki + "/p12-password.txt", "--as", "leader", "--role", "Thủ tướng", "-o",
            dir + "/l.edxml", dir + "/m.edxml"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  r = Axis({"sign", "--key", pki + "/agencies/vpcp/seal.key.pem", "--cert",
            pki + "/agencies/vpcp/seal.cert.pem", "--chain", pki + "/chain.pem", "--as", "agency",
            "--trust", pki + "/roots.pem", "--crl", pki + "/crl.pem", "-o", dir + "/s.edxml",
            dir + "/l.edxml"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return dir + "/s.edxml";
}

testing::CommandResult Xmlsec(const std::string& file, const std::string& id) {
  const std::string pki = AXIS_PKI_DIR;
  absl::StatusOr<testing::CommandResult> r = testing::RunCommand(
      {"xmlsec1", "--verify", "--id-attr:Id", "http://www.w3.org/2000/09/xmldsig#:Signature",
       "--id-attr:Id", "http://uri.etsi.org/01903/v1.3.2#:SignedProperties", "--node-id", id,
       "--enabled-reference-uris", "empty,same-doc", "--trusted-pem", pki + "/roots.pem",
       "--untrusted-pem", pki + "/chain.pem", file});
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? *r : testing::CommandResult{};
}

testing::CommandResult Jdk(const std::string& file) {
  absl::StatusOr<testing::CommandResult> r = testing::RunCommand(
      {"java", std::string(AXIS_SOURCE_DIR) + "/tests/interop/JdkVerify.java", file}, "",
      absl::Seconds(120));
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? *r : testing::CommandResult{};
}

using testing::HaveJdk;
using testing::OnPath;

TEST(EdxmlSigningTest, LeaderThenAgencyVerifiesInAxisXmlsecAndTheJdk) {
  const std::string dir = MakeTempDir();
  const std::string signed_msg = SignedDecree(dir);
  testing::CommandResult r = Axis({"verify", "--trust", std::string(AXIS_PKI_DIR) + "/roots.pem",
                                   "--offline", "--crl", std::string(AXIS_PKI_DIR) + "/crl.pem",
                                   signed_msg});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("signing order: sig-1 -> sig-2"));
  EXPECT_THAT(r.out, HasSubstr("proof of origin (the agency's seal)"));
  // The signatures sit in edXMLHeader, where EDXML.md puts them, and the
  // message is still a valid edXML message.
  EXPECT_THAT(ReadTestFile(signed_msg), HasSubstr("</ds:Signature></edXML:edXMLHeader>"));
  EXPECT_EQ(Axis({"edxml", "validate", signed_msg}).exit_code, 0);
  if (OnPath("xmlsec1")) {
    EXPECT_EQ(Xmlsec(signed_msg, "sig-1").exit_code, 0);
    EXPECT_EQ(Xmlsec(signed_msg, "sig-2").exit_code, 0);
  }
  if (HaveJdk()) {
    testing::CommandResult jdk = Jdk(signed_msg);
    EXPECT_EQ(jdk.exit_code, 0) << jdk.out << jdk.err;
    EXPECT_THAT(jdk.out, HasSubstr("sig-1: valid"));
    EXPECT_THAT(jdk.out, HasSubstr("sig-2: valid"));
  }
}

TEST(EdxmlSigningTest, AlteringTheLeaderSignatureFailsTheAgencySignatureEverywhere) {
  const std::string dir = MakeTempDir();
  std::string xml = ReadTestFile(SignedDecree(dir));
  // Flip one base64 character of the leader's SignatureValue.
  size_t at = xml.find("<ds:SignatureValue>");
  ASSERT_NE(at, std::string::npos);
  at += 19 + 10;
  xml[at] = xml[at] == 'A' ? 'B' : 'A';
  const std::string bad = WriteTestFile(dir + "/bad.edxml", xml);
  testing::CommandResult r =
      Axis({"verify", "--trust", std::string(AXIS_PKI_DIR) + "/roots.pem", "--offline", "--crl",
            std::string(AXIS_PKI_DIR) + "/crl.pem", bad});
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_THAT(r.out, HasSubstr("signature 2 [sig-2]: INVALID"));
  EXPECT_THAT(r.out, HasSubstr("digest of reference \"#sig-1\" does not match"));
  if (OnPath("xmlsec1")) {
    EXPECT_NE(Xmlsec(bad, "sig-1").exit_code, 0);
    EXPECT_NE(Xmlsec(bad, "sig-2").exit_code, 0);
  }
  if (HaveJdk()) {
    testing::CommandResult jdk = Jdk(bad);
    EXPECT_EQ(jdk.exit_code, 1) << jdk.out << jdk.err;
    EXPECT_THAT(jdk.out, HasSubstr("sig-2: INVALID"));
  }
}

}  // namespace
}  // namespace axis::edxml
