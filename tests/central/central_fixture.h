// central_fixture.h: a real axis-central-server on loopback, driven by the
// real `axis central` and `axis server` commands.
#ifndef AXIS_TESTS_CENTRAL_CENTRAL_FIXTURE_H_
#define AXIS_TESTS_CENTRAL_CENTRAL_FIXTURE_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "central-server/conf_client.h"
#include "central-server/globalconf.h"
#include "common/files.h"
#include "gtest/gtest.h"
#include "signer/bytes_sign.h"
#include "signer/certs.h"
#include "tests/testing/paths.h"
#include "tests/testing/process.h"

namespace axis::central::test {

using axis::testing::BinDir;
using axis::testing::PkiPath;

inline std::string Pki(const std::string& rel) { return PkiPath(rel); }

// AdminSha256 is the admin client certificate's fingerprint (hex).
inline std::string AdminSha256() {
  auto certs = signer::LoadPemCertificates(Pki("central/admin.cert.pem"));
  EXPECT_TRUE(certs.ok()) << certs.status();
  return signer::DescribeCertificate((*certs)[0].get()).sha256_hex;
}

class CentralFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = axis::testing::MakeTempDir("central");
    // The server presents its certificate with the issuing CA; clients
    // trust the root.
    auto leaf = ReadFile(Pki("central/server.cert.pem"));
    auto chain = ReadFile(Pki("chain.pem"));
    ASSERT_TRUE(leaf.ok() && chain.ok());
    ASSERT_TRUE(WriteFileAtomic(dir_ + "/tls.pem", *leaf + *chain).ok());
  }

  void TearDown() override { StopCentral(); }

  // ConfigText is a valid configuration; `extra` lines are appended.
  std::string ConfigText(int port, const std::string& extra) {
    return absl::StrCat("instance: \"VN\"\n", "listen: \"127.0.0.1:", port, "\"\n", "db_path: \"",
                        dir_, "/central.db\"\n", "tls_cert: \"", dir_, "/tls.pem\"\n",
                        "tls_key: \"", Pki("central/server.key.pem"), "\"\n", "tls_ca: \"",
                        Pki("roots.pem"), "\"\n", "client_ca: \"", Pki("ca-bundle.pem"), "\"\n",
                        "admin_sha256: \"", AdminSha256(), "\"\n", "signing_key: \"",
                        Pki("central/config-signing.key.pem"), "\"\n", "signing_cert: \"",
                        Pki("central/config-signing.cert.pem"), "\"\n", extra);
  }

  // StartCentral starts the server and waits for its "listening on" line.
  void StartCentral(const std::string& extra = "", int port = 0) {
    config_path_ = dir_ + "/central.textproto";
    ASSERT_TRUE(WriteFileAtomic(config_path_, ConfigText(port, extra)).ok());
    log_path_ = absl::StrCat(dir_, "/central.", ++starts_, ".log");
    auto child = axis::testing::ChildProcess::Start(
        {BinDir() + "/axis-central-server", "--config", config_path_}, log_path_);
    ASSERT_TRUE(child.ok()) << child.status();
    central_ = *std::move(child);
    absl::Time deadline = absl::Now() + absl::Seconds(20);
    while (absl::Now() < deadline) {
      auto log = ReadFile(log_path_);
      if (log.ok()) {
        size_t at = log->find("listening on ");
        if (at != std::string::npos && log->find('\n', at) != std::string::npos) {
          address_ = log->substr(at + 13, log->find('\n', at) - at - 13);
          break;
        }
      }
      ASSERT_TRUE(central_->Running()) << "axis-central-server exited:\n" << Log();
      absl::SleepFor(absl::Milliseconds(20));
    }
    ASSERT_FALSE(address_.empty()) << "no \"listening on\" line:\n" << Log();
    anchor_path_ = dir_ + "/anchor.txt";
    axis::testing::CommandResult r = Central({"anchor", "-o", anchor_path_});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto anchor = ReadAnchor(anchor_path_);
    ASSERT_TRUE(anchor.ok()) << anchor.status();
    anchor_ = *anchor;
  }

  void StopCentral() {
    if (central_ != nullptr) {
      central_->Stop();
      central_.reset();
    }
    address_.clear();
  }

  std::string Log() {
    auto log = ReadFile(log_path_);
    return log.ok() ? *log : "";
  }

  std::map<std::string, std::string> AdminEnv() {
    return {{"AXIS_CENTRAL", address_},
            {"AXIS_TLS_CERT", Pki("central/admin.cert.pem")},
            {"AXIS_TLS_KEY", Pki("central/admin.key.pem")},
            {"AXIS_TLS_CA", Pki("roots.pem")}};
  }

  // Central runs `axis central ARGS...` as the admin.
  axis::testing::CommandResult Central(std::vector<std::string> args,
                                       std::map<std::string, std::string> env = {}) {
    args.insert(args.begin(), {BinDir() + "/axis", "central"});
    std::map<std::string, std::string> all = AdminEnv();
    for (auto& [k, v] : env) {
      all[k] = v;
    }
    auto r = axis::testing::RunCommand(args, "", absl::Seconds(30), all);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : axis::testing::CommandResult{};
  }

  // Register runs `axis server register` for agency `dir` (vpcp, mic, ...).
  axis::testing::CommandResult Register(const std::string& agency, const std::string& member,
                                        const std::string& server_code,
                                        const std::string& sign_agency = "",
                                        const std::string& auth_key_agency = "") {
    std::string signer_dir = sign_agency.empty() ? agency : sign_agency;
    std::string key_dir = auth_key_agency.empty() ? agency : auth_key_agency;
    auto r = axis::testing::RunCommand({BinDir() + "/axis",
                                        "server",
                                        "register",
                                        "--central",
                                        address_,
                                        "--anchor",
                                        anchor_path_,
                                        "--member",
                                        member,
                                        "--server-code",
                                        server_code,
                                        "--address",
                                        "127.0.0.1:7001",
                                        "--sign-key",
                                        Pki("agencies/" + signer_dir + "/seal.key.pem"),
                                        "--sign-cert",
                                        Pki("agencies/" + signer_dir + "/seal.cert.pem"),
                                        "--auth-key",
                                        Pki("agencies/" + key_dir + "/server.key.pem"),
                                        "--auth-cert",
                                        Pki("agencies/" + agency + "/server.cert.pem")},
                                       "", absl::Seconds(30));
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : axis::testing::CommandResult{};
  }

  // Populate adds the test PKI's CAs, its TSA and the three agencies.
  void Populate() {
    for (std::vector<std::string> args : std::vector<std::vector<std::string>>{
             {"ca", "add", "--cert", Pki("roots.pem"), "--name", "root"},
             {"ca", "add", "--cert", Pki("chain.pem"), "--name", "issuing", "--crl", Pki("crl.pem"),
              "--ocsp", "http://127.0.0.1:8888/"},
             {"tsa", "add", "--url", "http://127.0.0.1:3180/", "--cert", Pki("tsa/tsa.cert.pem"),
              "--name", "tsa"},
             {"member", "add", "--code", "000.00.00.G22", "--name", "Văn phòng Chính phủ"},
             {"member", "add", "VN/GOV/000.00.00.G12", "--name", "Bộ Thông tin và Truyền thông"},
             {"member", "add", "VN/GOV/000.00.00.H49", "--name", "UBND tỉnh Quảng Ninh"}}) {
      axis::testing::CommandResult r = Central(args);
      ASSERT_EQ(r.exit_code, 0) << args[0] << " " << args[1] << ": " << r.err;
    }
  }

  absl::StatusOr<SignedGlobalConf> Fetch() {
    ConfAnchor anchor = anchor_;
    anchor.set_central_address(address_);
    return FetchGlobalConf(anchor, 0, absl::Seconds(10));
  }

  // Version is the version the server publishes now (0 on error).
  uint64_t Version() {
    auto s = Fetch();
    EXPECT_TRUE(s.ok()) << s.status();
    GlobalConf conf;
    if (!s.ok() || !conf.ParseFromString(s->conf())) {
      return 0;
    }
    return conf.version();
  }

  std::string dir_;
  std::string config_path_;
  std::string log_path_;
  std::string anchor_path_;
  std::string address_;
  ConfAnchor anchor_;
  int starts_ = 0;
  std::unique_ptr<axis::testing::ChildProcess> central_;
};

}  // namespace axis::central::test

#endif  // AXIS_TESTS_CENTRAL_CENTRAL_FIXTURE_H_
