// End-to-end tests of axis-tsa: the real binary on 127.0.0.1, queried by
// the signer's RFC 3161 client and checked by `openssl ts -verify`.
#include <httplib.h>
#include <sys/wait.h>

#include <fstream>
#include <set>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "common/files.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "signer/http.h"
#include "signer/timestamp.h"
#include "tests/testing/paths.h"
#include "tests/testing/process.h"
#include "tests/tsa/tsa_fixture.h"

namespace axis::tsa {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
namespace at = ::axis::testing;

constexpr char kQueryType[] = "application/timestamp-query";

std::string Quote(const std::string& s) { return absl::StrCat("\"", s, "\""); }

// ConfigText renders a TsaConfig as the text format file an operator writes.
std::string ConfigText(const TsaConfig& c) {
  std::string out = absl::StrCat("listen: ", Quote(c.listen()), "\n", "key_file: ",
                                 Quote(c.key_file()), "\n", "cert_file: ", Quote(c.cert_file()),
                                 "\n");
  for (const std::string& f : c.chain_files()) {
    absl::StrAppend(&out, "chain_files: ", Quote(f), "\n");
  }
  absl::StrAppend(&out, "policy_oid: ", Quote(c.policy_oid()), "\n",
                  "accuracy_seconds: ", c.accuracy_seconds(), "\n",
                  "accuracy_millis: ", c.accuracy_millis(), "\n",
                  "serial_file: ", Quote(c.serial_file()), "\n",
                  "max_request_bytes: ", c.max_request_bytes(), "\n");
  return out;
}

class TsaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = at::MakeTempDir("tsa-e2e");
    ASSERT_FALSE(dir_.empty());
    config_ = test::TestConfig(dir_);
    config_.set_max_request_bytes(4096);
    config_path_ = dir_ + "/tsa.textproto";
    ASSERT_TRUE(WriteFileAtomic(config_path_, ConfigText(config_)).ok());
    bundle_ = dir_ + "/ca.pem";
    absl::StatusOr<std::string> roots = ReadFile(at::PkiPath("roots.pem"));
    absl::StatusOr<std::string> chain = ReadFile(at::PkiPath("chain.pem"));
    ASSERT_TRUE(roots.ok() && chain.ok());
    ASSERT_TRUE(WriteFileAtomic(bundle_, *roots + *chain).ok());
    StartTsa();
  }

  // StartTsa runs axis-tsa with port 0 and reads the port it reports.
  void StartTsa() {
    std::string log = absl::StrCat(dir_, "/tsa.", ++starts_, ".log");
    auto child = at::ChildProcess::Start({at::BinDir() + "/axis-tsa", "--config", config_path_}, log);
    ASSERT_TRUE(child.ok()) << child.status();
    tsa_ = std::move(*child);
    constexpr absl::string_view kReady = "axis-tsa listening on 127.0.0.1:";
    absl::Time deadline = absl::Now() + absl::Seconds(20);
    port_ = 0;
    while (port_ == 0 && absl::Now() < deadline) {
      absl::StatusOr<std::string> text = ReadFile(log);
      if (text.ok()) {
        for (absl::string_view line : absl::StrSplit(*text, '\n')) {
          if (absl::StartsWith(line, kReady)) {
            ASSERT_TRUE(absl::SimpleAtoi(line.substr(kReady.size()), &port_)) << line;
          }
        }
      }
      ASSERT_TRUE(port_ != 0 || tsa_->Running()) << "axis-tsa exited:\n" << ReadFile(log).value_or("");
      if (port_ == 0) {
        absl::SleepFor(absl::Milliseconds(20));
      }
    }
    ASSERT_NE(port_, 0) << "axis-tsa did not report its port:\n" << ReadFile(log).value_or("");
    ASSERT_TRUE(at::WaitForTcpPort(port_, absl::Seconds(10), tsa_.get()).ok());
    url_ = absl::StrCat("http://127.0.0.1:", port_, "/");
  }

  absl::StatusOr<std::string> Stamp(const std::string& data) {
    absl::StatusOr<signer::MessageImprint> imprint = signer::ImprintOf(data);
    if (!imprint.ok()) {
      return imprint.status();
    }
    return signer::RequestTimestamp(url_, *imprint);
  }

  uint64_t SerialOfToken(const std::string& data, const std::string& token) {
    absl::StatusOr<signer::TimestampInfo> info =
        signer::VerifyTimestampToken(token, *signer::ImprintOf(data), test::PkiTrust());
    EXPECT_TRUE(info.ok()) << info.status();
    return info.ok() ? test::SerialFromHex(info->serial_hex) : 0;
  }

  // OpensslVerify runs `openssl ts -verify` over a data file and token file.
  at::CommandResult OpensslVerify(const std::string& data, const std::string& token) {
    std::string data_path = dir_ + "/data.bin";
    std::string token_path = dir_ + "/token.der";
    EXPECT_TRUE(WriteFileAtomic(data_path, data).ok());
    EXPECT_TRUE(WriteFileAtomic(token_path, token).ok());
    absl::StatusOr<at::CommandResult> r = at::RunCommand(
        {"openssl", "ts", "-verify", "-data", data_path, "-in", token_path, "-token_in",
         "-CAfile", bundle_, "-untrusted", at::PkiPath("tsa/tsa.cert.pem")});
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : at::CommandResult{};
  }

  std::string dir_;
  TsaConfig config_;
  std::string config_path_;
  std::string bundle_;
  std::unique_ptr<at::ChildProcess> tsa_;
  int starts_ = 0;
  int port_ = 0;
  std::string url_;
};

TEST_F(TsaTest, IssuesTokensThatVerifyWithTheClientAndWithOpenssl) {
  for (const std::string& data : {std::string("decree 42/2026/ND-CP"), std::string(),
                                  std::string(100000, '\xab')}) {
    absl::StatusOr<std::string> token = Stamp(data);
    ASSERT_TRUE(token.ok()) << token.status();
    absl::StatusOr<signer::TimestampInfo> info =
        signer::VerifyTimestampToken(*token, *signer::ImprintOf(data), test::PkiTrust());
    ASSERT_TRUE(info.ok()) << info.status();
    EXPECT_THAT(info->tsa_subject, HasSubstr("CN=Axis Test TSA G1"));
    EXPECT_EQ(info->policy_oid, test::kPolicy);
    EXPECT_EQ(info->accuracy, absl::Milliseconds(1500));
    EXPECT_LT(absl::AbsDuration(info->gen_time - absl::Now()), absl::Minutes(5));
    at::CommandResult r = OpensslVerify(data, *token);
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_THAT(r.out, HasSubstr("Verification: OK"));
  }
}

TEST_F(TsaTest, SerialsIncreaseAndNeverRepeatAcrossRestarts) {
  std::vector<uint64_t> serials;
  auto stamp_three = [&] {
    for (int i = 0; i < 3; ++i) {
      std::string data = absl::StrCat("record ", serials.size());
      absl::StatusOr<std::string> token = Stamp(data);
      ASSERT_TRUE(token.ok()) << token.status();
      serials.push_back(SerialOfToken(data, *token));
    }
  };
  stamp_three();
  // A graceful stop: SIGTERM, exit status 0.
  int status = tsa_->Stop();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  StartTsa();
  stamp_three();
  // A crash: the reservation on disk still keeps serials apart.
  tsa_->Kill();
  StartTsa();
  stamp_three();
  ASSERT_EQ(serials.size(), 9u);
  for (size_t i = 1; i < serials.size(); ++i) {
    EXPECT_LT(serials[i - 1], serials[i]) << "at " << i;
  }
  EXPECT_EQ(std::set<uint64_t>(serials.begin(), serials.end()).size(), serials.size());
}

TEST_F(TsaTest, ConcurrentClientsGetDistinctSerials) {
  constexpr int kThreads = 4;
  constexpr int kEach = 8;
  std::vector<std::vector<uint64_t>> got(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        std::string data = absl::StrCat(t, "/", i);
        absl::StatusOr<std::string> token = Stamp(data);
        if (token.ok()) {
          got[t].push_back(SerialOfToken(data, *token));
        }
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  std::set<uint64_t> all;
  for (const auto& g : got) {
    EXPECT_EQ(g.size(), static_cast<size_t>(kEach));
    all.insert(g.begin(), g.end());
  }
  EXPECT_EQ(all.size(), static_cast<size_t>(kThreads * kEach));
}

TEST_F(TsaTest, TamperedTokenIsRefusedByClientAndOpenssl) {
  std::string data = "decree";
  absl::StatusOr<std::string> token = Stamp(data);
  ASSERT_TRUE(token.ok()) << token.status();
  std::string tampered = *token;
  tampered[tampered.size() - 10] ^= 0x40;
  absl::StatusOr<signer::TimestampInfo> info =
      signer::VerifyTimestampToken(tampered, *signer::ImprintOf(data), test::PkiTrust());
  EXPECT_EQ(info.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(info.status().message(), HasSubstr("signature does not verify"));
  at::CommandResult r = OpensslVerify(data, tampered);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.out, Not(HasSubstr("Verification: OK")));
}

TEST_F(TsaTest, TokenOverOtherDataIsRefusedByClientAndOpenssl) {
  absl::StatusOr<std::string> token = Stamp("the original");
  ASSERT_TRUE(token.ok()) << token.status();
  absl::StatusOr<signer::TimestampInfo> info = signer::VerifyTimestampToken(
      *token, *signer::ImprintOf("a forgery"), test::PkiTrust());
  EXPECT_THAT(info.status().message(), HasSubstr("the time-stamp is over other data"));
  at::CommandResult r = OpensslVerify("a forgery", *token);
  EXPECT_NE(r.exit_code, 0);
}

TEST_F(TsaTest, TrustStoreWithoutTheTestRootRefusesTheTsa) {
  absl::StatusOr<std::string> token = Stamp("decree");
  ASSERT_TRUE(token.ok()) << token.status();
  auto other =
      signer::TrustStore::FromPemFiles({at::PkiPath("negative/untrusted-root.cert.pem")}, {}, {});
  ASSERT_TRUE(other.ok());
  absl::StatusOr<signer::TimestampInfo> info =
      signer::VerifyTimestampToken(*token, *signer::ImprintOf("decree"), *other);
  EXPECT_THAT(info.status().message(), HasSubstr("does not chain to a trusted root"));
}

TEST_F(TsaTest, CheckConfigRefusesNonTsaCertificateNamingTheField) {
  TsaConfig bad = config_;
  bad.set_key_file(at::PkiPath("agencies/vpcp/seal.key.pem"));
  bad.set_cert_file(at::PkiPath("agencies/vpcp/seal.cert.pem"));
  std::string path = dir_ + "/seal.textproto";
  ASSERT_TRUE(WriteFileAtomic(path, ConfigText(bad)).ok());
  absl::StatusOr<at::CommandResult> r =
      at::RunCommand({at::BinDir() + "/axis-tsa", "--config", path, "--check-config"});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->exit_code, 2);
  EXPECT_THAT(r->err, HasSubstr("cert_file: "));
  EXPECT_THAT(r->err, HasSubstr("is not a time-stamping certificate"));
  // Without --check-config it refuses to start, for the same reason.
  r = at::RunCommand({at::BinDir() + "/axis-tsa", "--config", path});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->exit_code, 2);
  EXPECT_THAT(r->err, HasSubstr("cert_file: "));
}

TEST_F(TsaTest, CheckConfigAcceptsAGoodConfigAndReportsEveryProblemOfABadOne) {
  absl::StatusOr<at::CommandResult> r =
      at::RunCommand({at::BinDir() + "/axis-tsa", "--config", config_path_, "--check-config"});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->exit_code, 0) << r->err;
  TsaConfig bad = config_;
  bad.set_key_file(dir_ + "/missing.pem");
  bad.set_policy_oid("");
  std::string path = dir_ + "/bad.textproto";
  ASSERT_TRUE(WriteFileAtomic(path, ConfigText(bad)).ok());
  r = at::RunCommand({at::BinDir() + "/axis-tsa", "--config", path, "--check-config"});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->exit_code, 2);
  EXPECT_THAT(r->err, HasSubstr("key_file: "));
  EXPECT_THAT(r->err, HasSubstr("policy_oid: "));
  ASSERT_TRUE(WriteFileAtomic(path, "listen: 5\n").ok());
  r = at::RunCommand({at::BinDir() + "/axis-tsa", "--config", path, "--check-config"});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->exit_code, 2);
  EXPECT_THAT(r->err, HasSubstr(path + ":1:"));
}

TEST_F(TsaTest, RefusesOtherMethodsWithMethodNotAllowed) {
  httplib::Client client("127.0.0.1", port_);
  httplib::Result get = client.Get("/");
  ASSERT_TRUE(get);
  EXPECT_EQ(get->status, 405);
  EXPECT_EQ(get->get_header_value("Allow"), "POST");
  httplib::Result put = client.Put("/", "x", kQueryType);
  ASSERT_TRUE(put);
  EXPECT_EQ(put->status, 405);
  httplib::Result elsewhere = client.Post("/other", "x", kQueryType);
  ASSERT_TRUE(elsewhere);
  EXPECT_EQ(elsewhere->status, 404);
}

TEST_F(TsaTest, RefusesWrongContentType) {
  std::string request = test::RequestDer(*signer::ImprintOf("d"));
  for (const char* type : {"application/octet-stream", "text/plain", ""}) {
    absl::StatusOr<signer::HttpResponse> r = signer::HttpPost(url_, type, request);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->status, 415) << type;
    EXPECT_THAT(r->body, HasSubstr(kQueryType));
  }
  // Parameters and case do not matter.
  absl::StatusOr<signer::HttpResponse> r =
      signer::HttpPost(url_, "Application/TimeStamp-Query; charset=binary", request);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 200);
}

TEST_F(TsaTest, RefusesOversizedRequest) {
  absl::StatusOr<signer::HttpResponse> r =
      signer::HttpPost(url_, kQueryType, std::string(4097, '\x30'));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 413);
  // The server is still there afterwards.
  EXPECT_TRUE(Stamp("after").ok());
}

TEST_F(TsaTest, AnswersGarbageWithARejectionThatTheClientReports) {
  absl::StatusOr<signer::HttpResponse> r = signer::HttpPost(url_, kQueryType, "garbage");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 200);
  UniquePtr<TS_RESP> resp = test::ParseReply(r->body);
  ASSERT_NE(resp, nullptr);
  EXPECT_EQ(test::StatusOf(resp.get()), TS_STATUS_REJECTION);
  signer::TimestampRequestOptions options;
  options.policy_oid = "1.2.3.4";
  absl::StatusOr<std::string> token =
      signer::RequestTimestamp(url_, *signer::ImprintOf("d"), options);
  EXPECT_EQ(token.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(token.status().message(), HasSubstr("unacceptedPolicy"));
}

TEST_F(TsaTest, ClientReportsUnreachableTsaAsUnavailable) {
  tsa_->Stop();
  absl::StatusOr<std::string> token = Stamp("d");
  EXPECT_EQ(token.status().code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace axis::tsa
