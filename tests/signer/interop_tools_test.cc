// interop_tools_test.cc: documents signed by SignDocument verify, every
// signature, in two independent implementations: the xmlsec1 CLI (1.2.37,
// with chain validation against the test PKI) and the JDK's XML DSig with
// secure validation (tests/interop/JdkVerify.java). Altering the leader's
// SignatureValue makes both signatures fail in both tools: the seal covers
// the leader (ARCHITECTURE.md, "A multi-signature scheme known to
// interoperate"). RSA-PSS goes to the JDK only: xmlsec1 1.2.37 lacks it.
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tests/signer/signer_fixture.h"
#include "tests/testing/process.h"

namespace axis::signer::test {
namespace {

using ::testing::HasSubstr;

using ::axis::testing::HaveJdk;
using ::axis::testing::OnPath;

class InteropToolsTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = axis::testing::MakeTempDir("signer_interop"); }

  std::string Write(const std::string& name, const std::string& xml) {
    std::string path = dir_ + "/" + name;
    WriteTestFile(path, xml);
    return path;
  }

  // Xmlsec1 verifies the signature with Id `id` in `path`, validating the
  // KeyInfo certificate against roots.pem (+ chain.pem) at the tests'
  // evaluation time. Returns the result, exit code 0 meaning "OK".
  axis::testing::CommandResult Xmlsec1(const std::string& path, const std::string& id) {
    absl::StatusOr<axis::testing::CommandResult> run = axis::testing::RunCommand(
        {"xmlsec1", "--verify", "--verification-time", "2026-06-01 00:00:00", "--id-attr:Id",
         absl::StrCat(kDsigNs, ":Signature"), "--id-attr:Id",
         absl::StrCat(kXadesNs, ":SignedProperties"), "--node-id", id, "--enabled-reference-uris",
         "empty,same-doc", "--trusted-pem", Pki("roots.pem"), "--untrusted-pem", Pki("chain.pem"),
         path},
        "", absl::Seconds(30));
    EXPECT_TRUE(run.ok()) << run.status();
    return run.ok() ? *run : axis::testing::CommandResult();
  }

  // Jdk runs JdkVerify on `path`: one line per signature.
  axis::testing::CommandResult Jdk(const std::string& path) {
    absl::StatusOr<axis::testing::CommandResult> run = axis::testing::RunCommand(
        {"java", axis::testing::SourceDir() + "/tests/interop/JdkVerify.java", path}, "",
        absl::Seconds(120));
    EXPECT_TRUE(run.ok()) << run.status();
    return run.ok() ? *run : axis::testing::CommandResult();
  }

  // ExpectXmlsec1Accepts checks each signature of `path` (with its number
  // of references) in the xmlsec1 CLI.
  void ExpectXmlsec1Accepts(const std::string& path,
                            const std::vector<std::pair<std::string, int>>& sigs) {
    for (const auto& [id, refs] : sigs) {
      axis::testing::CommandResult r = Xmlsec1(path, id);
      EXPECT_EQ(r.exit_code, 0) << id << "\n" << r.out << r.err;
      EXPECT_THAT(r.out + r.err,
                  HasSubstr(absl::StrCat("OK\nSignedInfo References (ok/all): ", refs, "/", refs)))
          << id;
    }
  }

  // TamperLeader flips a character of the first SignatureValue.
  static std::string TamperLeader(const std::string& xml) {
    std::string value = ElementText(xml, "ds:SignatureValue");
    return ReplaceOnce(xml, value, FlipBase64(value));
  }

  std::string dir_;
};

// LeaderThenSealOf signs kDocument with `leader` (role Thủ tướng) and then
// `seal`, and checks axis's own verdict on it.
std::string LeaderThenSealOf(const SigningKey& leader, const SigningKey& seal, bool pss = false) {
  SignOptions first;
  first.role = "Thủ tướng";
  first.rsa_pss = pss;
  SignOptions second;
  second.rsa_pss = pss;
  std::string xml = Sign(Sign(kDocument, leader, first), seal, second);
  Report report = Verify(xml);
  EXPECT_TRUE(report.Valid()) << ReportText(report);
  return xml;
}

TEST_F(InteropToolsTest, Xmlsec1VerifiesRsaLeaderThenSeal) {
  if (!OnPath("xmlsec1")) {
    GTEST_SKIP() << "no xmlsec1 on PATH";
  }
  std::string path = Write("rsa.xml", LeaderThenSeal());
  ExpectXmlsec1Accepts(path, {{"sig-1", 2}, {"sig-2", 3}});
}

TEST_F(InteropToolsTest, Xmlsec1VerifiesEcdsaLeaderThenSeal) {
  if (!OnPath("xmlsec1")) {
    GTEST_SKIP() << "no xmlsec1 on PATH";
  }
  // P-384 leader of the province, then the P-256 ministry seal on top.
  std::string xml = LeaderThenSealOf(TestKeys().quangninh_leader, TestKeys().mic_seal);
  std::string path = Write("ecdsa.xml", xml);
  ExpectXmlsec1Accepts(path, {{"sig-1", 2}, {"sig-2", 3}});
}

TEST_F(InteropToolsTest, Xmlsec1RefusesBothSignaturesWhenTheLeaderIsAltered) {
  if (!OnPath("xmlsec1")) {
    GTEST_SKIP() << "no xmlsec1 on PATH";
  }
  for (const std::string& xml :
       {LeaderThenSeal(), LeaderThenSealOf(TestKeys().mic_leader, TestKeys().mic_seal)}) {
    std::string path = Write("tampered.xml", TamperLeader(xml));
    axis::testing::CommandResult leader = Xmlsec1(path, "sig-1");
    EXPECT_EQ(leader.exit_code, 1) << leader.out << leader.err;
    EXPECT_THAT(leader.err, HasSubstr("FAIL\nSignedInfo References (ok/all): 2/2"));
    axis::testing::CommandResult seal = Xmlsec1(path, "sig-2");
    EXPECT_EQ(seal.exit_code, 1) << seal.out << seal.err;
    // The seal's reference to #sig-1 no longer matches.
    EXPECT_THAT(seal.err, HasSubstr("data and digest do not match"));
    EXPECT_THAT(seal.err, HasSubstr("FAIL\nSignedInfo References (ok/all): 1/"));
  }
}

TEST_F(InteropToolsTest, Xmlsec1RefusesASignerOutsideTheTestPki) {
  if (!OnPath("xmlsec1")) {
    GTEST_SKIP() << "no xmlsec1 on PATH";
  }
  std::string path = Write("untrusted.xml", Sign(kDocument, LoadKey("negative/untrusted-leader")));
  axis::testing::CommandResult r = Xmlsec1(path, "sig-1");
  EXPECT_NE(r.exit_code, 0) << r.out << r.err;
  EXPECT_THAT(r.err, HasSubstr("unable to get local issuer certificate"));
}

TEST_F(InteropToolsTest, JdkVerifiesRsaAndEcdsaLeaderThenSeal) {
  if (!HaveJdk()) {
    GTEST_SKIP() << "no java/javac on PATH";
  }
  axis::testing::CommandResult rsa = Jdk(Write("rsa.xml", LeaderThenSeal()));
  EXPECT_EQ(rsa.exit_code, 0) << rsa.out << rsa.err;
  EXPECT_EQ(rsa.out, "sig-1: valid\nsig-2: valid\n") << rsa.err;

  // Three signers, both curves: P-384 leader, P-256 seal, then P-256 leader.
  std::string ec = LeaderThenSealOf(TestKeys().quangninh_leader, TestKeys().mic_seal);
  ec = Sign(ec, TestKeys().mic_leader);
  axis::testing::CommandResult r = Jdk(Write("ecdsa.xml", ec));
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(r.out, "sig-1: valid\nsig-2: valid\nsig-3: valid\n") << r.err;
}

TEST_F(InteropToolsTest, JdkRefusesBothSignaturesWhenTheLeaderIsAltered) {
  if (!HaveJdk()) {
    GTEST_SKIP() << "no java/javac on PATH";
  }
  axis::testing::CommandResult rsa = Jdk(Write("rsa.xml", TamperLeader(LeaderThenSeal())));
  EXPECT_EQ(rsa.exit_code, 1) << rsa.out << rsa.err;
  EXPECT_EQ(rsa.out,
            "sig-1: INVALID (signature value ok=false, references: \"\" ok, "
            "\"#sig-1-signedprops\" ok)\n"
            "sig-2: INVALID (signature value ok=true, references: \"\" ok, \"#sig-1\" failed, "
            "\"#sig-2-signedprops\" ok)\n")
      << rsa.err;

  std::string ec = LeaderThenSealOf(TestKeys().mic_leader, TestKeys().quangninh_leader);
  axis::testing::CommandResult r = Jdk(Write("ecdsa.xml", TamperLeader(ec)));
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("sig-1: INVALID (signature value ok=false"));
  EXPECT_THAT(r.out, HasSubstr("sig-2: INVALID (signature value ok=true, references: \"\" ok, "
                               "\"#sig-1\" failed"));
}

TEST_F(InteropToolsTest, JdkVerifiesRsaPssLeaderThenSeal) {
  if (!HaveJdk()) {
    GTEST_SKIP() << "no java/javac on PATH";
  }
  std::string xml = LeaderThenSealOf(TestKeys().vpcp_leader, TestKeys().vpcp_seal, /*pss=*/true);
  ASSERT_THAT(xml,
              HasSubstr("Algorithm=\"http://www.w3.org/2007/05/xmldsig-more#sha256-rsa-MGF1\""));
  axis::testing::CommandResult good = Jdk(Write("pss.xml", xml));
  EXPECT_EQ(good.exit_code, 0) << good.out << good.err;
  EXPECT_EQ(good.out, "sig-1: valid\nsig-2: valid\n") << good.err;

  axis::testing::CommandResult bad = Jdk(Write("pss-tampered.xml", TamperLeader(xml)));
  EXPECT_EQ(bad.exit_code, 1) << bad.out << bad.err;
  EXPECT_THAT(bad.out, HasSubstr("sig-1: INVALID (signature value ok=false"));
  EXPECT_THAT(bad.out, HasSubstr("\"#sig-1\" failed"));
}

}  // namespace
}  // namespace axis::signer::test
