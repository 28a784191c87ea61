// ltv_cli_test: `axis sign --tsa [--ltv]`, `axis extend` and
// `axis verify --offline` as users run them, against the real axis-tsa and
// the real `openssl ocsp` responder on loopback (this binary first moves
// into a loopback-only network namespace, tests/ocsp/responder.h; without
// that privilege it skips).
#include <unistd.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "common/files.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/ocsp/responder.h"
#include "tests/testing/axis_cli.h"
#include "tests/testing/paths.h"
#include "tests/testing/process.h"
#include "tests/tsa/trust_services_test.h"
#include "tests/tsa/tsa_process.h"

namespace axis::cli {
namespace {

using ::axis::testing::CommandResult;
using ::axis::testing::PkiPath;
using ::testing::HasSubstr;
namespace at = ::axis::testing;

constexpr char kDocument[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<VanBan xmlns=\"urn:axis:test:vanban\" Id=\"vanban-1\">\n"
    "  <SoKyHieu>123/QĐ-TTg</SoKyHieu>\n"
    "  <NoiDung>Điều 1. Phê duyệt Đề án chuyển đổi số quốc gia.</NoiDung>\n"
    "</VanBan>\n";

class LtvCliTest : public at::TrustServicesTest {
 protected:
  void SetUp() override {
    SetUpTrustServices("ltv-cli");
    if (IsSkipped() || HasFatalFailure()) {
      return;
    }
    ASSERT_TRUE(WriteFileAtomic(Path("in.xml"), kDocument).ok());
  }

  std::string Path(const std::string& name) const { return dir_ + "/" + name; }

  CommandResult Axis(const std::vector<std::string>& args) {
    return at::RunAxis(args, absl::Seconds(60));
  }

  // Sign signs `in` into `out` with a PEM key pair of the test PKI.
  CommandResult Sign(const std::string& key_prefix, const std::string& in, const std::string& out,
                     std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"sign",
                                     "--key",
                                     PkiPath(key_prefix + ".key.pem"),
                                     "--cert",
                                     PkiPath(key_prefix + ".cert.pem"),
                                     "--chain",
                                     PkiPath("chain.pem")};
    args.insert(args.end(), extra.begin(), extra.end());
    args.insert(args.end(), {"-o", out, in});
    return Axis(args);
  }

  // VerifyOffline runs `axis verify --offline` with the roots only.
  CommandResult VerifyOffline(const std::string& file, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"verify", "--trust", PkiPath("roots.pem"), "--offline"};
    args.insert(args.end(), extra.begin(), extra.end());
    args.push_back(file);
    return Axis(args);
  }

};


TEST_F(LtvCliTest, LongTermSignatureVerifiesOfflineWithTheResponderDown) {
  absl::StatusOr<at::OcspResponder> own = at::StartOcspResponder();
  ASSERT_TRUE(own.ok()) << own.status();
  CommandResult sign = Sign("agencies/vpcp/leader", Path("in.xml"), Path("lt.xml"),
                            {"--tsa", tsa_->url, "--ltv", "--ocsp", own->url});
  ASSERT_EQ(sign.exit_code, 0) << sign.err;
  own->process->Stop();

  CommandResult text = VerifyOffline(Path("lt.xml"));
  EXPECT_EQ(text.exit_code, 0) << text.out << text.err;
  EXPECT_THAT(text.out, HasSubstr("level:    XAdES B-LT"));
  EXPECT_THAT(text.out, HasSubstr("time-stamp: "));
  EXPECT_THAT(text.out, HasSubstr("(time-stamp)"));
  EXPECT_THAT(text.out, HasSubstr("embedded OCSP: good, producedAt "));

  CommandResult json = VerifyOffline(Path("lt.xml"), {"--json"});
  ASSERT_EQ(json.exit_code, 0) << json.out << json.err;
  nlohmann::json report = nlohmann::json::parse(json.out, nullptr, /*allow_exceptions=*/false);
  ASSERT_FALSE(report.is_discarded()) << json.out;
  const nlohmann::json& sig = report["signatures"][0];
  ASSERT_EQ(sig["timestamps"].size(), 1u);
  EXPECT_EQ(sig["timestamps"][0]["valid"], true);
  EXPECT_EQ(sig["timestamps"][0]["policy"], at::kTestTsaPolicy);
  EXPECT_THAT(sig["timestamps"][0]["tsa"].get<std::string>(), HasSubstr("CN=Axis Test TSA G1"));
  EXPECT_EQ(sig["judged_at"], sig["timestamps"][0]["gen_time"]);
  EXPECT_EQ(sig["revocation_checks"][0]["source"], "embedded OCSP");
  EXPECT_EQ(sig["revocation_checks"][0]["status"], "good");
  EXPECT_TRUE(sig["revocation_checks"][0]["produced_at"].is_string());

  // After the leader's certificate expires (2049), the time-stamp keeps the
  // signature valid; the CAs run to 2055.
  CommandResult late = VerifyOffline(Path("lt.xml"), {"--at", "2050-06-01T00:00:00Z"});
  EXPECT_EQ(late.exit_code, 0) << late.out;
}

TEST_F(LtvCliTest, ExtendTurnsABasicSignatureIntoALongTermOne) {
  ASSERT_EQ(Sign("agencies/mic/leader", Path("in.xml"), Path("bb.xml")).exit_code, 0);
  // Offline and without a CRL, a B-B signature's revocation is unknown.
  CommandResult basic = VerifyOffline(Path("bb.xml"));
  EXPECT_EQ(basic.exit_code, 1) << basic.out;
  EXPECT_THAT(basic.out, HasSubstr("revocation unknown"));
  // Online, the responder answers.
  CommandResult online =
      Axis({"verify", "--trust", PkiPath("roots.pem"), "--ocsp", ocsp_->url, Path("bb.xml")});
  EXPECT_EQ(online.exit_code, 0) << online.out;
  EXPECT_THAT(online.out, HasSubstr("fetched OCSP: good"));

  CommandResult extend = Axis({"extend", "--ltv", "--tsa", tsa_->url, "--ocsp", ocsp_->url, "-o",
                               Path("lt.xml"), Path("bb.xml")});
  ASSERT_EQ(extend.exit_code, 0) << extend.err;
  CommandResult verify = VerifyOffline(Path("lt.xml"));
  EXPECT_EQ(verify.exit_code, 0) << verify.out;
  EXPECT_THAT(verify.out, HasSubstr("XAdES B-LT"));
  // B-LT needs a time-stamp: without --tsa a B-B signature is refused.
  CommandResult no_tsa =
      Axis({"extend", "--ltv", "--ocsp", ocsp_->url, "-o", Path("x.xml"), Path("bb.xml")});
  EXPECT_EQ(no_tsa.exit_code, 1);
  EXPECT_THAT(no_tsa.err, HasSubstr("B-LT needs one"));
}

TEST_F(LtvCliTest, ExtendRefusesALeaderSignatureTheSealCovers) {
  ASSERT_EQ(
      Sign("agencies/vpcp/leader", Path("in.xml"), Path("one.xml"), {"--as", "leader"}).exit_code,
      0);
  CommandResult seal =
      Sign("agencies/vpcp/seal", Path("one.xml"), Path("two.xml"),
           {"--as", "agency", "--trust", PkiPath("roots.pem"), "--ocsp", ocsp_->url});
  ASSERT_EQ(seal.exit_code, 0) << seal.err;
  CommandResult extend =
      Axis({"extend", "--tsa", tsa_->url, "-o", Path("three.xml"), Path("two.xml")});
  EXPECT_EQ(extend.exit_code, 1);
  EXPECT_THAT(extend.err,
              HasSubstr("signature sig-1 lacks a time-stamp but signature sig-2 covers"));
  EXPECT_THAT(extend.err, HasSubstr("before the next one is added"));
  EXPECT_NE(::access(Path("three.xml").c_str(), F_OK), 0);

  // Done in order, each signature time-stamped before the next: both valid.
  ASSERT_EQ(Sign("agencies/vpcp/leader", Path("in.xml"), Path("a.xml"),
                 {"--as", "leader", "--tsa", tsa_->url, "--ltv", "--ocsp", ocsp_->url})
                .exit_code,
            0);
  CommandResult sealed = Sign("agencies/vpcp/seal", Path("a.xml"), Path("b.xml"),
                              {"--as", "agency", "--trust", PkiPath("roots.pem"), "--tsa",
                               tsa_->url, "--ltv", "--ocsp", ocsp_->url});
  ASSERT_EQ(sealed.exit_code, 0) << sealed.err;
  CommandResult verify = VerifyOffline(Path("b.xml"));
  EXPECT_EQ(verify.exit_code, 0) << verify.out;
  EXPECT_THAT(verify.out, HasSubstr("signing order: sig-1 -> sig-2"));
}

TEST_F(LtvCliTest, ExtendRefusesATamperedDocumentAndWritesNothing) {
  ASSERT_EQ(Sign("agencies/mic/leader", Path("in.xml"), Path("bb.xml")).exit_code, 0);
  absl::StatusOr<std::string> signed_xml = ReadFile(Path("bb.xml"));
  ASSERT_TRUE(signed_xml.ok()) << signed_xml.status();
  std::string tampered = *signed_xml;
  size_t at = tampered.find("Điều 1.");
  ASSERT_NE(at, std::string::npos);
  tampered.replace(at, std::string("Điều 1.").size(), "Điều 9.");
  ASSERT_TRUE(WriteFileAtomic(Path("tampered.xml"), tampered).ok());
  CommandResult extend = Axis({"extend", "--ltv", "--tsa", tsa_->url, "--ocsp", ocsp_->url, "-o",
                               Path("lt.xml"), Path("tampered.xml")});
  EXPECT_EQ(extend.exit_code, 1) << extend.err;
  EXPECT_THAT(extend.err, HasSubstr("signature sig-1 does not verify"));
  EXPECT_THAT(extend.err, HasSubstr("refusing to extend it"));
  EXPECT_NE(::access(Path("lt.xml").c_str(), F_OK), 0);
  // The untouched document is extended.
  EXPECT_EQ(Axis({"extend", "--ltv", "--tsa", tsa_->url, "--ocsp", ocsp_->url, "-o",
                  Path("lt.xml"), Path("bb.xml")})
                .exit_code,
            0);
}

TEST_F(LtvCliTest, RevokedSignerFailsWithTheRevocationTimeAndReason) {
  CommandResult sign = Sign("negative/revoked-leader", Path("in.xml"), Path("lt.xml"),
                            {"--tsa", tsa_->url, "--ltv", "--ocsp", ocsp_->url});
  ASSERT_EQ(sign.exit_code, 0) << sign.err;
  CommandResult verify = VerifyOffline(Path("lt.xml"));
  EXPECT_EQ(verify.exit_code, 1) << verify.out;
  EXPECT_THAT(verify.out, HasSubstr("the signing certificate was revoked at 2026-01-01T00:00:00Z "
                                    "(keyCompromise)"));
}

TEST_F(LtvCliTest, UsageErrorsAndAnUnreachableTsa) {
  CommandResult ltv_alone = Sign("agencies/vpcp/leader", Path("in.xml"), Path("x.xml"), {"--ltv"});
  EXPECT_EQ(ltv_alone.exit_code, 2);
  EXPECT_THAT(ltv_alone.err, HasSubstr("--ltv needs --tsa"));
  CommandResult nothing = Axis({"extend", "-o", Path("x.xml"), Path("in.xml")});
  EXPECT_EQ(nothing.exit_code, 2);
  EXPECT_THAT(nothing.err, HasSubstr("nothing to do"));
  absl::StatusOr<int> port = at::PickFreePort();
  ASSERT_TRUE(port.ok());
  CommandResult down = Sign("agencies/vpcp/leader", Path("in.xml"), Path("x.xml"),
                            {"--tsa", absl::StrCat("http://127.0.0.1:", *port, "/")});
  EXPECT_EQ(down.exit_code, 3) << down.err;
  EXPECT_NE(::access(Path("x.xml").c_str(), F_OK), 0);
}

}  // namespace
}  // namespace axis::cli
