// cli_test.cc: `axis sign` and `axis verify` as users run them: the real
// build/bin/axis in a child process, the test PKI's keys in every form the
// command takes (PEM, encrypted PEM, PKCS#12), and the exit codes and
// reports of ../shared/CLI.md (0 valid, 1 negative verdict, 2 usage/input).
#include <unistd.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/strings/str_replace.h"
#include "common/files.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/axis_cli.h"
#include "tests/testing/paths.h"
#include "tests/testing/process.h"

namespace axis::cli {
namespace {

using ::axis::testing::BinDir;
using ::axis::testing::CommandResult;
using ::axis::testing::PkiPath;
using ::testing::HasSubstr;
using ::testing::Not;

// kDocument is a short official decision in Vietnamese (UTF-8).
constexpr char kDocument[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<VanBan xmlns=\"urn:axis:test:vanban\" Id=\"vanban-1\">\n"
    "  <SoKyHieu>123/QĐ-TTg</SoKyHieu>\n"
    "  <TrichYeu>Quyết định phê duyệt Đề án chuyển đổi số quốc gia</TrichYeu>\n"
    "  <NoiDung>Điều 1. Phê duyệt Đề án. Điều 2. Quyết định này có hiệu lực.</NoiDung>\n"
    "</VanBan>\n";

// Every certificate of the test PKI is valid then, and the CRL is current
// (lastUpdate 2026-01-01, when negative/revoked-leader was revoked): the
// verdicts do not depend on the wall clock.
constexpr char kAt[] = "2026-06-01T00:00:00Z";

constexpr char kLeaderName[] = "CN=Trần Văn Thử";
constexpr char kSealName[] = "CN=Văn phòng Chính phủ";

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = axis::testing::MakeTempDir("cli_test");
    ASSERT_TRUE(WriteFileAtomic(Path("in.xml"), kDocument).ok());
    ASSERT_TRUE(WriteFileAtomic(Path("pass.txt"), "axis-test\n").ok());
  }

  std::string Path(const std::string& name) const { return dir_ + "/" + name; }

  // Axis runs build/bin/axis with `args`; a hang is a failure, not a stuck
  // test run.
  CommandResult Axis(const std::vector<std::string>& args) {
    return axis::testing::RunAxis(args, absl::Seconds(30));
  }

  // SignPem signs `in` into `out` with a PEM key pair of the test PKI.
  CommandResult SignPem(const std::string& key_prefix, const std::string& in,
                        const std::string& out) {
    return Axis({"sign", "--key", PkiPath(key_prefix + ".key.pem"), "--cert",
                 PkiPath(key_prefix + ".cert.pem"), "--chain", PkiPath("chain.pem"), "-o", out,
                 in});
  }

  // Verify runs `axis verify` offline; the signer's revocation comes from
  // crl.pem unless `with_crl` is false (then it is unknown: not valid).
  CommandResult Verify(const std::string& file, std::vector<std::string> extra = {},
                       bool with_crl = true) {
    std::vector<std::string> args = {"verify", "--trust", PkiPath("roots.pem"), "--at", kAt,
                                     "--offline"};
    if (with_crl) {
      args.insert(args.end(), {"--crl", PkiPath("crl.pem")});
    }
    args.insert(args.end(), extra.begin(), extra.end());
    args.push_back(file);
    return Axis(args);
  }

  // LeaderThenSeal makes in.xml signed by the vpcp leader (PKCS#12) and then
  // by the vpcp seal (PEM) as two.xml.
  void LeaderThenSeal() {
    CommandResult leader = Axis({"sign", "--key", PkiPath("agencies/vpcp/leader.p12"),
                                 "--pass-file", Path("pass.txt"), "--role", "Bộ trưởng", "-o",
                                 Path("one.xml"), Path("in.xml")});
    ASSERT_EQ(leader.exit_code, 0) << leader.err;
    CommandResult seal = SignPem("agencies/vpcp/seal", Path("one.xml"), Path("two.xml"));
    ASSERT_EQ(seal.exit_code, 0) << seal.err;
  }

  std::string dir_;
};

TEST_F(CliTest, SignsWithPemKeyAndVerifies) {
  CommandResult sign = SignPem("agencies/vpcp/leader", Path("in.xml"), Path("out.xml"));
  ASSERT_EQ(sign.exit_code, 0) << sign.err;
  EXPECT_THAT(sign.err, HasSubstr("out.xml"));

  CommandResult verify = Verify(Path("out.xml"));
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  EXPECT_THAT(verify.out, HasSubstr("VALID (1 signature"));
  EXPECT_THAT(verify.out, HasSubstr(kLeaderName));
}

TEST_F(CliTest, SignsWithEcdsaPemKeyAndVerifies) {
  CommandResult sign = SignPem("agencies/mic/leader", Path("in.xml"), Path("out.xml"));
  ASSERT_EQ(sign.exit_code, 0) << sign.err;
  CommandResult verify = Verify(Path("out.xml"));
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  EXPECT_THAT(verify.out, HasSubstr("CN=Nguyễn Thị Kiểm"));
  EXPECT_THAT(verify.out, HasSubstr("ecdsa-sha256"));
}

TEST_F(CliTest, SignsWithEncryptedPemKeyAndPassFile) {
  CommandResult sign = Axis({"sign", "--key", PkiPath("agencies/vpcp/leader.enc.key.pem"),
                             "--cert", PkiPath("agencies/vpcp/leader.cert.pem"), "--chain",
                             PkiPath("chain.pem"), "--pass-file", Path("pass.txt"), "-o",
                             Path("out.xml"), Path("in.xml")});
  ASSERT_EQ(sign.exit_code, 0) << sign.err;
  CommandResult verify = Verify(Path("out.xml"));
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  EXPECT_THAT(verify.out, HasSubstr(kLeaderName));
}

TEST_F(CliTest, RefusesEncryptedPemKeyWithWrongPassphrase) {
  ASSERT_TRUE(WriteFileAtomic(Path("wrong.txt"), "not-the-passphrase\n").ok());
  CommandResult sign = Axis({"sign", "--key", PkiPath("agencies/vpcp/leader.enc.key.pem"),
                             "--cert", PkiPath("agencies/vpcp/leader.cert.pem"), "--pass-file",
                             Path("wrong.txt"), "-o", Path("out.xml"), Path("in.xml")});
  EXPECT_EQ(sign.exit_code, 2);
  EXPECT_THAT(sign.err, HasSubstr("leader.enc.key.pem"));
  EXPECT_THAT(sign.err, HasSubstr("wrong passphrase"));
  EXPECT_FALSE(ReadFile(Path("out.xml")).ok()) << "no output may be written";
}

TEST_F(CliTest, SignsWithPkcs12AndPassFile) {
  // The .p12 carries the certificate and its chain: no --cert, no --chain.
  CommandResult sign = Axis({"sign", "--key", PkiPath("agencies/mic/leader.p12"), "--pass-file",
                             Path("pass.txt"), "-o", Path("out.xml"), Path("in.xml")});
  ASSERT_EQ(sign.exit_code, 0) << sign.err;
  CommandResult verify = Verify(Path("out.xml"));
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  EXPECT_THAT(verify.out, HasSubstr("CN=Nguyễn Thị Kiểm"));
}

TEST_F(CliTest, RefusesPkcs12WithWrongPassword) {
  ASSERT_TRUE(WriteFileAtomic(Path("wrong.txt"), "nope\n").ok());
  CommandResult sign = Axis({"sign", "--key", PkiPath("agencies/vpcp/leader.p12"), "--pass-file",
                             Path("wrong.txt"), "-o", Path("out.xml"), Path("in.xml")});
  EXPECT_EQ(sign.exit_code, 2);
  EXPECT_THAT(sign.err, HasSubstr("wrong PKCS#12 password"));
}

TEST_F(CliTest, RefusesCertificateThatDoesNotMatchTheKey) {
  CommandResult sign = Axis({"sign", "--key", PkiPath("agencies/vpcp/leader.key.pem"), "--cert",
                             PkiPath("agencies/mic/leader.cert.pem"), "-o", Path("out.xml"),
                             Path("in.xml")});
  EXPECT_EQ(sign.exit_code, 2);
  EXPECT_THAT(sign.err, HasSubstr("does not match"));
}

TEST_F(CliTest, LeaderThenSealVerifiesWithSigningOrder) {
  LeaderThenSeal();
  CommandResult verify = Verify(Path("two.xml"));
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  EXPECT_THAT(verify.out, HasSubstr("VALID (2 signatures"));
  EXPECT_THAT(verify.out, HasSubstr(kLeaderName));
  EXPECT_THAT(verify.out, HasSubstr(kSealName));
  EXPECT_THAT(verify.out, HasSubstr("signing order: sig-1 -> sig-2"));
  EXPECT_THAT(verify.out, HasSubstr("signature(s) sig-1"));
}

TEST_F(CliTest, AgencySealGoesOnlyOverAValidLeaderSignature) {
  std::vector<std::string> seal = {"sign",  "--key",   PkiPath("agencies/vpcp/seal.key.pem"),
                                   "--cert", PkiPath("agencies/vpcp/seal.cert.pem"),
                                   "--chain", PkiPath("chain.pem"), "--as", "agency"};
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = seal;
    args.insert(args.end(), extra.begin(), extra.end());
    return Axis(args);
  };
  // Unsigned: refused, and nothing written.
  CommandResult unsigned_doc =
      with({"--trust", PkiPath("roots.pem"), "--crl", PkiPath("crl.pem"), "-o", Path("sealed.xml"),
            Path("in.xml")});
  EXPECT_EQ(unsigned_doc.exit_code, 1);
  EXPECT_THAT(unsigned_doc.err, HasSubstr("no valid leader signature found"));
  EXPECT_NE(::access(Path("sealed.xml").c_str(), F_OK), 0);
  // Without --trust the leader's signature cannot be checked: usage error.
  CommandResult no_trust = with({"-o", Path("sealed.xml"), Path("in.xml")});
  EXPECT_EQ(no_trust.exit_code, 2);
  EXPECT_THAT(no_trust.err, HasSubstr("--as agency needs --trust"));

  CommandResult leader = Axis({"sign", "--key", PkiPath("agencies/vpcp/leader.p12"), "--pass-file",
                               Path("pass.txt"), "--as", "leader", "-o", Path("one.xml"),
                               Path("in.xml")});
  ASSERT_EQ(leader.exit_code, 0) << leader.err;
  // A leader signature altered after signing: the seal is refused.
  absl::StatusOr<std::string> one = ReadFile(Path("one.xml"));
  ASSERT_TRUE(one.ok());
  std::string bad = *one;
  size_t at = bad.find("Điều 1");
  ASSERT_NE(at, std::string::npos);
  bad.replace(at, 6, "Điều 9");
  ASSERT_TRUE(WriteFileAtomic(Path("bad.xml"), bad).ok());
  CommandResult over_bad =
      with({"--trust", PkiPath("roots.pem"), "--crl", PkiPath("crl.pem"), "-o", Path("sealed.xml"),
            Path("bad.xml")});
  EXPECT_EQ(over_bad.exit_code, 1);
  EXPECT_THAT(over_bad.err, HasSubstr("is not valid"));

  CommandResult ok = with({"--trust", PkiPath("roots.pem"), "--crl", PkiPath("crl.pem"), "-o",
                           Path("sealed.xml"), Path("one.xml")});
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  CommandResult verify = Verify(Path("sealed.xml"));
  EXPECT_EQ(verify.exit_code, 0) << verify.out;
  EXPECT_THAT(verify.out, HasSubstr("proof of approval (a leader's signature)"));
  EXPECT_THAT(verify.out, HasSubstr("proof of origin (the agency's seal)"));
  // The leader does not sign after the seal.
  CommandResult late = Axis({"sign", "--key", PkiPath("agencies/mic/leader.key.pem"), "--cert",
                             PkiPath("agencies/mic/leader.cert.pem"), "--as", "leader", "--trust",
                             PkiPath("roots.pem"), "--crl", PkiPath("crl.pem"), "-o",
                             Path("late.xml"), Path("sealed.xml")});
  EXPECT_EQ(late.exit_code, 1);
  EXPECT_THAT(late.err, HasSubstr("the leader signs before it"));
}

TEST_F(CliTest, JsonReportParsesWithBothSignatures) {
  LeaderThenSeal();
  CommandResult verify = Verify(Path("two.xml"), {"--json"});
  ASSERT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  nlohmann::json report = nlohmann::json::parse(verify.out, nullptr, /*allow_exceptions=*/false);
  ASSERT_FALSE(report.is_discarded()) << "not JSON: " << verify.out;
  EXPECT_EQ(report["valid"], true);
  ASSERT_TRUE(report["signatures"].is_array());
  ASSERT_EQ(report["signatures"].size(), 2u);
  EXPECT_EQ(report["signatures"][0]["id"], "sig-1");
  EXPECT_EQ(report["signatures"][1]["id"], "sig-2");
  EXPECT_THAT(report["signatures"][0]["signer"]["subject"].get<std::string>(),
              HasSubstr(kLeaderName));
  EXPECT_THAT(report["signatures"][1]["signer"]["subject"].get<std::string>(),
              HasSubstr(kSealName));
  EXPECT_EQ(report["signatures"][0]["role"], "Bộ trưởng");
  EXPECT_EQ(report["signing_order"], nlohmann::json::array({"sig-1", "sig-2"}));
  EXPECT_EQ(report["verified_at"], kAt);
}

TEST_F(CliTest, TamperedDocumentExitsOneWithReason) {
  LeaderThenSeal();
  absl::StatusOr<std::string> xml = ReadFile(Path("two.xml"));
  ASSERT_TRUE(xml.ok()) << xml.status();
  std::string tampered = absl::StrReplaceAll(*xml, {{"Điều 1. Phê duyệt", "Điều 1. Bác bỏ"}});
  ASSERT_NE(tampered, *xml);
  ASSERT_TRUE(WriteFileAtomic(Path("tampered.xml"), tampered).ok());

  CommandResult verify = Verify(Path("tampered.xml"));
  EXPECT_EQ(verify.exit_code, 1) << verify.out << verify.err;
  EXPECT_THAT(verify.out, HasSubstr("NOT VALID"));
  EXPECT_THAT(verify.out, HasSubstr("digest of reference \"\" does not match"));

  CommandResult json = Verify(Path("tampered.xml"), {"--json"});
  EXPECT_EQ(json.exit_code, 1);
  nlohmann::json report = nlohmann::json::parse(json.out, nullptr, false);
  ASSERT_FALSE(report.is_discarded()) << json.out;
  EXPECT_EQ(report["valid"], false);
}

TEST_F(CliTest, UnreadableXmlIsANegativeVerdictWithReason) {
  ASSERT_TRUE(WriteFileAtomic(Path("broken.xml"), "<VanBan><unclosed></VanBan>").ok());
  CommandResult verify = Verify(Path("broken.xml"));
  EXPECT_EQ(verify.exit_code, 1) << verify.out << verify.err;
  EXPECT_THAT(verify.out, HasSubstr("NOT VALID"));
}

TEST_F(CliTest, VerifyOfMissingFileExitsTwoNamingThePath) {
  std::string missing = Path("no-such-decree.xml");
  CommandResult verify = Verify(missing);
  EXPECT_EQ(verify.exit_code, 2);
  EXPECT_THAT(verify.err, HasSubstr(missing));
  EXPECT_EQ(verify.out, "");
}

TEST_F(CliTest, SignOfMissingFileExitsTwoNamingThePath) {
  std::string missing = Path("no-such-decree.xml");
  CommandResult sign = SignPem("agencies/vpcp/leader", missing, Path("out.xml"));
  EXPECT_EQ(sign.exit_code, 2);
  EXPECT_THAT(sign.err, HasSubstr(missing));
}

TEST_F(CliTest, UnknownFlagExitsTwo) {
  CommandResult verify = Axis({"verify", "--trust", PkiPath("roots.pem"), "--no-such-flag",
                               Path("in.xml")});
  EXPECT_EQ(verify.exit_code, 2);
  EXPECT_THAT(verify.err, HasSubstr("--no-such-flag"));
}

TEST_F(CliTest, VerifyWithoutTrustExitsTwo) {
  CommandResult verify = Axis({"verify", Path("in.xml")});
  EXPECT_EQ(verify.exit_code, 2);
  EXPECT_THAT(verify.err, HasSubstr("--trust"));
}

TEST_F(CliTest, NoSubcommandExitsTwo) {
  CommandResult r = Axis({});
  EXPECT_EQ(r.exit_code, 2);
}

TEST_F(CliTest, MalformedAtExitsTwo) {
  SignPem("agencies/vpcp/leader", Path("in.xml"), Path("out.xml"));
  CommandResult verify = Axis({"verify", "--trust", PkiPath("roots.pem"), "--at", "yesterday",
                               Path("out.xml")});
  EXPECT_EQ(verify.exit_code, 2);
  EXPECT_THAT(verify.err, HasSubstr("--at \"yesterday\" is not an RFC 3339 time"));
}

TEST_F(CliTest, AtBeforeCertificateValidityIsANegativeVerdict) {
  ASSERT_EQ(SignPem("agencies/vpcp/leader", Path("in.xml"), Path("out.xml")).exit_code, 0);
  CommandResult verify = Axis({"verify", "--trust", PkiPath("roots.pem"), "--at",
                               "2024-06-01T00:00:00Z", Path("out.xml")});
  EXPECT_EQ(verify.exit_code, 1);
  EXPECT_THAT(verify.out, HasSubstr("not yet valid"));
}

TEST_F(CliTest, RevokedSignerIsRejectedWithCrl) {
  ASSERT_EQ(SignPem("negative/revoked-leader", Path("in.xml"), Path("out.xml")).exit_code, 0);

  // Without the CRL (offline) nothing says whether it was revoked: not valid.
  CommandResult unknown = Verify(Path("out.xml"), {}, /*with_crl=*/false);
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_THAT(unknown.out, HasSubstr("revocation unknown"));

  CommandResult verify = Verify(Path("out.xml"));
  EXPECT_EQ(verify.exit_code, 1) << verify.out << verify.err;
  EXPECT_THAT(verify.out, HasSubstr("certificate revoked"));

  CommandResult json = Verify(Path("out.xml"), {"--json"});
  EXPECT_EQ(json.exit_code, 1);
  nlohmann::json report = nlohmann::json::parse(json.out, nullptr, false);
  ASSERT_FALSE(report.is_discarded()) << json.out;
  EXPECT_EQ(report["valid"], false);
  EXPECT_EQ(report["signatures"][0]["chain"]["revoked"], true);
}

TEST_F(CliTest, CrlDoesNotAffectGoodSigner) {
  ASSERT_EQ(SignPem("agencies/vpcp/leader", Path("in.xml"), Path("out.xml")).exit_code, 0);
  CommandResult verify = Verify(Path("out.xml"));
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  EXPECT_THAT(verify.out, Not(HasSubstr("revoked")));
}

TEST_F(CliTest, EncryptedKeyWithoutPassFileAndNoTerminalFailsWithoutHanging) {
  // `setsid -w` runs axis in a new session, so it has no controlling
  // terminal even when the test runner has one: opening /dev/tty fails
  // (ENXIO) and the command must say what to do instead of waiting. stdin is
  // a pipe that is never read as a passphrase.
  std::vector<std::string> argv = {"setsid",
                                   "-w",
                                   BinDir() + "/axis",
                                   "sign",
                                   "--key",
                                   PkiPath("agencies/vpcp/leader.enc.key.pem"),
                                   "--cert",
                                   PkiPath("agencies/vpcp/leader.cert.pem"),
                                   "-o",
                                   Path("out.xml"),
                                   Path("in.xml")};
  absl::StatusOr<CommandResult> r =
      axis::testing::RunCommand(argv, "axis-test\n", absl::Seconds(20));
  ASSERT_TRUE(r.ok()) << r.status() << " (a hang waiting for a passphrase?)";
  EXPECT_EQ(r->exit_code, 2) << r->err;
  EXPECT_THAT(r->err, HasSubstr("--pass-file"));
  EXPECT_THAT(r->err, HasSubstr("no terminal"));
  EXPECT_FALSE(ReadFile(Path("out.xml")).ok());
}

}  // namespace
}  // namespace axis::cli
