// pkcs11_test.cc: `axis sign --key pkcs11:...` against a real SoftHSM2 token
// loaded by pki-testdata/load-softhsm, reached through libp11's OpenSSL
// engine, for an RSA (vpcp) and an ECDSA P-256 (mic) leader; the signatures
// must satisfy `axis verify`. Skips only when SoftHSM2 or the engine is not
// installed.
#include <unistd.h>

#include <map>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/files.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/axis_cli.h"
#include "tests/testing/paths.h"
#include "tests/testing/process.h"

namespace axis::cli {
namespace {

using ::axis::testing::CommandResult;
using ::axis::testing::PkiPath;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kDocument[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<VanBan xmlns=\"urn:axis:test:vanban\" Id=\"vanban-1\">\n"
    "  <SoKyHieu>45/CV-VPCP</SoKyHieu>\n"
    "  <TrichYeu>Công văn về việc triển khai chữ ký số trên thiết bị phần cứng</TrichYeu>\n"
    "</VanBan>\n";
constexpr char kAt[] = "2026-06-01T00:00:00Z";
constexpr char kPin[] = "1234";

// ShellUnquote undoes load-softhsm's q(): single-quoted runs and \' escapes.
std::string ShellUnquote(absl::string_view v) {
  std::string out;
  bool quoted = false;
  for (size_t i = 0; i < v.size(); ++i) {
    char c = v[i];
    if (c == '\'') {
      quoted = !quoted;
    } else if (c == '\\' && !quoted && i + 1 < v.size()) {
      out.push_back(v[++i]);
    } else {
      out.push_back(c);
    }
  }
  return out;
}

// ParseExports reads `export NAME=VALUE` lines.
std::map<std::string, std::string> ParseExports(absl::string_view text) {
  std::map<std::string, std::string> env;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    if (!absl::ConsumePrefix(&line, "export ")) {
      continue;
    }
    size_t eq = line.find('=');
    if (eq == absl::string_view::npos) {
      continue;
    }
    env[std::string(line.substr(0, eq))] = ShellUnquote(line.substr(eq + 1));
  }
  return env;
}

// MissingPrerequisite names what this machine lacks for the tests, or "".
std::string MissingPrerequisite() {
  absl::StatusOr<CommandResult> util = axis::testing::RunCommand(
      {"sh", "-c", "command -v softhsm2-util && command -v pkcs11-tool"});
  if (!util.ok() || util->exit_code != 0) {
    return "softhsm2-util or pkcs11-tool (packages softhsm2, opensc)";
  }
  if (::access("/usr/lib/softhsm/libsofthsm2.so", R_OK) != 0) {
    return "/usr/lib/softhsm/libsofthsm2.so (package softhsm2)";
  }
  absl::StatusOr<CommandResult> engine = axis::testing::RunCommand(
      {"sh", "-c", "find /usr/lib -path '*engines-3/pkcs11.so' -print -quit"});
  if (!engine.ok() || engine->out.empty()) {
    return "libp11's engines-3/pkcs11.so (package libengine-pkcs11-openssl)";
  }
  return "";
}

class Pkcs11Test : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::string missing = MissingPrerequisite(); !missing.empty()) {
      GTEST_SKIP() << "not installed: " << missing;
    }
    dir_ = axis::testing::MakeTempDir("pkcs11_test");
    ASSERT_TRUE(WriteFileAtomic(Path("in.xml"), kDocument).ok());
    ASSERT_TRUE(WriteFileAtomic(Path("pin.txt"), std::string(kPin) + "\n").ok());
  }

  std::string Path(const std::string& name) const { return dir_ + "/" + name; }

  // LoadToken puts `leader`'s key and certificate on a fresh token in this
  // test's own SoftHSM2 state directory and keeps the exported settings.
  void LoadToken(const std::string& leader) {
    absl::StatusOr<CommandResult> r = axis::testing::RunCommand(
        {"bash", PkiPath("load-softhsm"), Path("softhsm"), kPin, leader}, "", absl::Seconds(60));
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_EQ(r->exit_code, 0) << r->err;
    exports_ = ParseExports(r->out);
    for (const char* name : {"SOFTHSM2_CONF", "AXIS_PKCS11_MODULE", "AXIS_PKCS11_URI"}) {
      ASSERT_TRUE(exports_.count(name)) << name << " missing from:\n" << r->out;
    }
    uri_ = exports_["AXIS_PKCS11_URI"];
  }

  // Axis runs build/bin/axis with the token's environment.
  CommandResult Axis(const std::vector<std::string>& args) {
    std::map<std::string, std::string> env = {
        {"SOFTHSM2_CONF", exports_["SOFTHSM2_CONF"]},
        {"AXIS_PKCS11_MODULE", exports_["AXIS_PKCS11_MODULE"]},
    };
    return axis::testing::RunAxis(args, absl::Seconds(60), env);
  }

  CommandResult SignWithToken(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"sign", "--key", uri_, "--pass-file", Path("pin.txt"),
                                     "-o", Path("out.xml")};
    args.insert(args.end(), extra.begin(), extra.end());
    args.push_back(Path("in.xml"));
    return Axis(args);
  }

  CommandResult Verify(const std::string& file) {
    // The token holds only the leader's certificate: the issuing CA comes
    // from --intermediate, as a verifier's own configuration would give it.
    return Axis({"verify", "--trust", PkiPath("roots.pem"), "--intermediate",
                 PkiPath("chain.pem"), "--crl", PkiPath("crl.pem"), "--offline", "--at", kAt,
                 file});
  }

  std::string dir_;
  std::map<std::string, std::string> exports_;
  std::string uri_;
};

TEST_F(Pkcs11Test, RsaTokenKeySignsWithCertificateFromToken) {
  LoadToken("vpcp");
  CommandResult sign = SignWithToken();
  ASSERT_EQ(sign.exit_code, 0) << sign.err;
  CommandResult verify = Verify(Path("out.xml"));
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  EXPECT_THAT(verify.out, HasSubstr("CN=Trần Văn Thử"));
  EXPECT_THAT(verify.out, HasSubstr("rsa-sha256"));
}

TEST_F(Pkcs11Test, RsaTokenKeySignsWithPss) {
  LoadToken("vpcp");
  CommandResult sign = SignWithToken({"--pss"});
  ASSERT_EQ(sign.exit_code, 0) << sign.err;
  CommandResult verify = Verify(Path("out.xml"));
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  EXPECT_THAT(verify.out, HasSubstr("sha256-rsa-MGF1"));
}

TEST_F(Pkcs11Test, EcdsaTokenKeySignsWithCertificateFromToken) {
  LoadToken("mic");
  CommandResult sign = SignWithToken();
  ASSERT_EQ(sign.exit_code, 0) << sign.err;
  CommandResult verify = Verify(Path("out.xml"));
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  EXPECT_THAT(verify.out, HasSubstr("CN=Nguyễn Thị Kiểm"));
  EXPECT_THAT(verify.out, HasSubstr("ecdsa-sha256"));
}

TEST_F(Pkcs11Test, EcdsaTokenKeySignsWithCertificateFromFlag) {
  LoadToken("mic");
  CommandResult sign = SignWithToken({"--cert", PkiPath("agencies/mic/leader.cert.pem"),
                                      "--chain", PkiPath("chain.pem")});
  ASSERT_EQ(sign.exit_code, 0) << sign.err;
  // KeyInfo carries the chain now: roots alone suffice.
  CommandResult verify =
      Axis({"verify", "--trust", PkiPath("roots.pem"), "--crl", PkiPath("crl.pem"), "--offline",
            "--at", kAt, Path("out.xml")});
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  EXPECT_THAT(verify.out, HasSubstr("CN=Nguyễn Thị Kiểm"));
}

TEST_F(Pkcs11Test, TokenSignatureThenSealVerifiesInOrder) {
  LoadToken("vpcp");
  ASSERT_EQ(SignWithToken().exit_code, 0);
  CommandResult seal = Axis({"sign", "--key", PkiPath("agencies/vpcp/seal.key.pem"), "--cert",
                             PkiPath("agencies/vpcp/seal.cert.pem"), "--chain",
                             PkiPath("chain.pem"), "-o", Path("two.xml"), Path("out.xml")});
  ASSERT_EQ(seal.exit_code, 0) << seal.err;
  CommandResult verify = Verify(Path("two.xml"));
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  EXPECT_THAT(verify.out, HasSubstr("signing order: sig-1 -> sig-2"));
}

TEST_F(Pkcs11Test, RefusesCertificateThatDoesNotMatchTokenKey) {
  LoadToken("mic");
  CommandResult sign = SignWithToken({"--cert", PkiPath("agencies/vpcp/leader.cert.pem")});
  EXPECT_EQ(sign.exit_code, 2);
  EXPECT_THAT(sign.err, HasSubstr("does not match"));
}

TEST_F(Pkcs11Test, WrongPinFailsWithClearMessage) {
  LoadToken("vpcp");
  ASSERT_TRUE(WriteFileAtomic(Path("wrong.txt"), "9999\n").ok());
  CommandResult sign = Axis({"sign", "--key", uri_, "--pass-file", Path("wrong.txt"), "-o",
                             Path("out.xml"), Path("in.xml")});
  // A wrong PIN is the user's input, not an unavailable party: exit 2, so
  // scripts do not retry (and lock the token).
  EXPECT_EQ(sign.exit_code, 2) << sign.err;
  EXPECT_THAT(sign.err, HasSubstr("wrong PIN"));
  EXPECT_FALSE(ReadFile(Path("out.xml")).ok());
}

TEST_F(Pkcs11Test, RefusesPinValueInUri) {
  LoadToken("vpcp");
  for (const std::string& uri : {uri_ + ";pin-value=" + kPin, uri_ + "?pin-value=" + kPin}) {
    CommandResult sign = Axis({"sign", "--key", uri, "-o", Path("out.xml"), Path("in.xml")});
    EXPECT_EQ(sign.exit_code, 2) << uri;
    EXPECT_THAT(sign.err, HasSubstr("pin-value is refused")) << uri;
    EXPECT_THAT(sign.err, Not(HasSubstr(std::string("pin-value=") + kPin))) << "PIN echoed";
  }
}

TEST_F(Pkcs11Test, UnknownObjectFailsNamingTheUri) {
  LoadToken("vpcp");
  std::string uri = "pkcs11:token=axis-leader;object=nobody;type=private";
  CommandResult sign = Axis({"sign", "--key", uri, "--pass-file", Path("pin.txt"), "-o",
                             Path("out.xml"), Path("in.xml")});
  EXPECT_NE(sign.exit_code, 0);
  EXPECT_NE(sign.exit_code, 1);
  EXPECT_THAT(sign.err, HasSubstr("object=nobody"));
}

}  // namespace
}  // namespace axis::cli
