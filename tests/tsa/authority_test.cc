#include "tsa/authority.h"

#include <set>
#include <thread>

#include "common/files.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/paths.h"
#include "tests/testing/process.h"
#include "tests/tsa/tsa_fixture.h"

namespace axis::tsa {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using test::HasFailureInfo;
using test::ParseReply;
using test::RequestDer;
using test::SerialOf;
using test::StatusOf;
using test::TestConfig;
using test::TokenOf;

signer::MessageImprint Imprint(const std::string& data, int nid = NID_sha256) {
  absl::StatusOr<signer::MessageImprint> imprint = signer::ImprintOf(data, nid);
  EXPECT_TRUE(imprint.ok()) << imprint.status();
  return *imprint;
}

std::unique_ptr<TimeStampAuthority> MakeAuthority(const TsaConfig& config,
                                                  const Clock* clock = nullptr) {
  auto tsa = TimeStampAuthority::Create(config, clock);
  EXPECT_TRUE(tsa.ok()) << tsa.status();
  return tsa.ok() ? std::move(*tsa) : nullptr;
}

std::string JoinedProblems(const TsaConfig& config) {
  std::string out;
  for (const std::string& p : TimeStampAuthority::CheckConfig(config)) {
    absl::StrAppend(&out, p, "\n");
  }
  return out;
}

TEST(AuthorityTest, GrantsRequestWithTokenThatVerifies) {
  std::string dir = axis::testing::MakeTempDir("tsa");
  test::FakeClock clock(absl::FromUnixMillis(1893553445678));  // 2030-01-02T03:04:05.678Z
  auto tsa = MakeAuthority(TestConfig(dir), &clock);
  ASSERT_NE(tsa, nullptr);
  signer::MessageImprint imprint = Imprint("decree 42");
  absl::StatusOr<std::string> reply = tsa->Respond(RequestDer(imprint));
  ASSERT_TRUE(reply.ok()) << reply.status();
  UniquePtr<TS_RESP> resp = ParseReply(*reply);
  ASSERT_NE(resp, nullptr);
  EXPECT_EQ(StatusOf(resp.get()), TS_STATUS_GRANTED);

  absl::StatusOr<signer::TimestampInfo> info =
      signer::VerifyTimestampToken(TokenOf(resp.get()), imprint, test::PkiTrust());
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->gen_time, clock.Now());
  EXPECT_EQ(info->accuracy, absl::Milliseconds(1500));
  EXPECT_EQ(info->policy_oid, test::kPolicy);
  EXPECT_THAT(info->tsa_subject, HasSubstr("CN=Axis Test TSA G1"));
  EXPECT_EQ(info->tsa_chain.size(), 3u);
  EXPECT_EQ(info->serial_hex, "01");
  EXPECT_EQ(info->nonce_hex, "1234567890");
}

TEST(AuthorityTest, TokenCarriesChainOnlyWhenRequestAsksForCertificates) {
  std::string dir = axis::testing::MakeTempDir("tsa");
  auto tsa = MakeAuthority(TestConfig(dir));
  ASSERT_NE(tsa, nullptr);
  signer::MessageImprint imprint = Imprint("x");
  for (bool cert_req : {true, false}) {
    absl::StatusOr<std::string> reply = tsa->Respond(RequestDer(imprint, cert_req));
    ASSERT_TRUE(reply.ok()) << reply.status();
    UniquePtr<TS_RESP> resp = ParseReply(*reply);
    STACK_OF(X509)* certs = TS_RESP_get_token(resp.get())->d.sign->cert;
    EXPECT_EQ(certs == nullptr ? 0 : sk_X509_num(certs), cert_req ? 2 : 0) << cert_req;
  }
}

TEST(AuthorityTest, SerialsIncreaseAndContinueAboveTheReservedBlockAfterRestart) {
  std::string dir = axis::testing::MakeTempDir("tsa");
  TsaConfig config = TestConfig(dir);
  std::vector<uint64_t> serials;
  for (int run = 0; run < 2; ++run) {
    auto tsa = MakeAuthority(config);
    ASSERT_NE(tsa, nullptr);
    for (int i = 0; i < 3; ++i) {
      absl::StatusOr<std::string> reply = tsa->Respond(RequestDer(Imprint("d")));
      ASSERT_TRUE(reply.ok()) << reply.status();
      serials.push_back(SerialOf(ParseReply(*reply).get()));
    }
    // The whole block is reserved on disk before its first serial is used.
    absl::StatusOr<std::string> state = ReadFile(config.serial_file());
    ASSERT_TRUE(state.ok()) << state.status();
    EXPECT_EQ(*state, absl::StrCat((run + 1) * kSerialBlock + 1, "\n"));
  }
  EXPECT_EQ(serials, (std::vector<uint64_t>{1, 2, 3, kSerialBlock + 1, kSerialBlock + 2,
                                            kSerialBlock + 3}));
}

TEST(AuthorityTest, ConcurrentRequestsGetDistinctSerials) {
  std::string dir = axis::testing::MakeTempDir("tsa");
  auto tsa = MakeAuthority(TestConfig(dir));
  ASSERT_NE(tsa, nullptr);
  constexpr int kThreads = 4;
  constexpr int kEach = 25;
  std::vector<std::vector<uint64_t>> got(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        absl::StatusOr<std::string> reply = tsa->Respond(RequestDer(Imprint("c")));
        if (reply.ok()) {
          got[t].push_back(SerialOf(ParseReply(*reply).get()));
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

TEST(AuthorityTest, IssuesNothingWhenTheSerialBlockCannotBeReserved) {
  std::string dir = axis::testing::MakeTempDir("tsa");
  TsaConfig config = TestConfig(dir + "/state");
  ASSERT_EQ(::mkdir((dir + "/state").c_str(), 0700), 0);
  auto tsa = MakeAuthority(config);
  ASSERT_NE(tsa, nullptr);
  // Without its directory the state file cannot be rewritten.
  ASSERT_EQ(::unlink(config.serial_file().c_str()), 0);
  ASSERT_EQ(::rmdir((dir + "/state").c_str()), 0);
  absl::StatusOr<std::string> reply = tsa->Respond(RequestDer(Imprint("d")));
  EXPECT_EQ(reply.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(reply.status().message(), HasSubstr("serial"));
}

TEST(AuthorityTest, RejectsSha1ImprintWithBadAlg) {
  std::string dir = axis::testing::MakeTempDir("tsa");
  auto tsa = MakeAuthority(TestConfig(dir));
  ASSERT_NE(tsa, nullptr);
  signer::MessageImprint sha1{NID_sha1, std::string(20, 'a')};
  absl::StatusOr<std::string> reply = tsa->Respond(RequestDer(sha1));
  ASSERT_TRUE(reply.ok()) << reply.status();
  UniquePtr<TS_RESP> resp = ParseReply(*reply);
  EXPECT_EQ(StatusOf(resp.get()), TS_STATUS_REJECTION);
  EXPECT_TRUE(HasFailureInfo(resp.get(), TS_INFO_BAD_ALG));
  EXPECT_EQ(TS_RESP_get_token(resp.get()), nullptr);
}

TEST(AuthorityTest, RejectsUnknownPolicy) {
  std::string dir = axis::testing::MakeTempDir("tsa");
  auto tsa = MakeAuthority(TestConfig(dir));
  ASSERT_NE(tsa, nullptr);
  absl::StatusOr<std::string> reply = tsa->Respond(RequestDer(Imprint("d"), true, "1.2.3.4"));
  ASSERT_TRUE(reply.ok()) << reply.status();
  UniquePtr<TS_RESP> resp = ParseReply(*reply);
  EXPECT_EQ(StatusOf(resp.get()), TS_STATUS_REJECTION);
  EXPECT_TRUE(HasFailureInfo(resp.get(), TS_INFO_UNACCEPTED_POLICY));
}

TEST(AuthorityTest, RejectsMalformedRequestAndTrailingBytesWithBadDataFormat) {
  std::string dir = axis::testing::MakeTempDir("tsa");
  auto tsa = MakeAuthority(TestConfig(dir));
  ASSERT_NE(tsa, nullptr);
  for (const std::string& body :
       {std::string("garbage"), std::string(), RequestDer(Imprint("d")) + std::string("\0", 1)}) {
    absl::StatusOr<std::string> reply = tsa->Respond(body);
    ASSERT_TRUE(reply.ok()) << reply.status();
    UniquePtr<TS_RESP> resp = ParseReply(*reply);
    ASSERT_NE(resp, nullptr);
    EXPECT_EQ(StatusOf(resp.get()), TS_STATUS_REJECTION);
    EXPECT_TRUE(HasFailureInfo(resp.get(), TS_INFO_BAD_DATA_FORMAT));
  }
}

TEST(AuthorityTest, RefusesRequestOverTheSizeLimit) {
  std::string dir = axis::testing::MakeTempDir("tsa");
  TsaConfig config = TestConfig(dir);
  config.set_max_request_bytes(100);
  auto tsa = MakeAuthority(config);
  ASSERT_NE(tsa, nullptr);
  absl::StatusOr<std::string> reply = tsa->Respond(std::string(101, '\x30'));
  EXPECT_EQ(reply.status().code(), absl::StatusCode::kResourceExhausted);
}

TEST(AuthorityTest, AcceptsTheTestConfiguration) {
  std::string dir = axis::testing::MakeTempDir("tsa");
  EXPECT_EQ(JoinedProblems(TestConfig(dir)), "");
}

TEST(AuthorityTest, RefusesCertificateWithoutTimeStampingUsageNamingTheField) {
  std::string dir = axis::testing::MakeTempDir("tsa");
  TsaConfig config = TestConfig(dir);
  config.set_key_file(axis::testing::PkiPath("agencies/vpcp/seal.key.pem"));
  config.set_cert_file(axis::testing::PkiPath("agencies/vpcp/seal.cert.pem"));
  std::string problems = JoinedProblems(config);
  EXPECT_THAT(problems, HasSubstr("cert_file: "));
  EXPECT_THAT(problems, HasSubstr("is not a time-stamping certificate"));
  EXPECT_THAT(problems, Not(HasSubstr("key_file")));
  auto tsa = TimeStampAuthority::Create(config);
  EXPECT_EQ(tsa.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(tsa.status().message(), HasSubstr("cert_file: "));
}

TEST(AuthorityTest, RefusesKeyThatDoesNotMatchTheCertificate) {
  std::string dir = axis::testing::MakeTempDir("tsa");
  TsaConfig config = TestConfig(dir);
  config.set_key_file(axis::testing::PkiPath("ocsp/ocsp.key.pem"));
  EXPECT_THAT(JoinedProblems(config), HasSubstr("key_file: "));
  EXPECT_THAT(JoinedProblems(config), HasSubstr("does not match cert_file"));
}

TEST(AuthorityTest, ReportsEveryProblemAtOnce) {
  std::string dir = axis::testing::MakeTempDir("tsa");
  TsaConfig config = TestConfig(dir);
  config.set_listen("0.0.0.0");
  config.set_key_file(dir + "/missing.key.pem");
  config.set_cert_file("");
  config.add_chain_files(dir + "/missing-chain.pem");
  config.set_policy_oid("not an oid");
  config.set_accuracy_millis(1000);
  config.set_max_request_bytes(1 << 30);
  config.set_serial_file(dir + "/no/such/dir/serial");
  std::vector<std::string> problems = TimeStampAuthority::CheckConfig(config);
  std::string joined = JoinedProblems(config);
  for (const char* field : {"listen: ", "key_file: ", "cert_file: ", "chain_files[1]: ",
                            "policy_oid: ", "accuracy_millis: ", "max_request_bytes: ",
                            "serial_file: "}) {
    EXPECT_THAT(joined, HasSubstr(field));
  }
  EXPECT_EQ(problems.size(), 8u) << joined;
  EXPECT_THAT(joined, HasSubstr("missing.key.pem"));
}

TEST(AuthorityTest, RefusesDamagedSerialFileRatherThanGuessing) {
  std::string dir = axis::testing::MakeTempDir("tsa");
  TsaConfig config = TestConfig(dir);
  ASSERT_TRUE(WriteFileAtomic(config.serial_file(), "12x\n").ok());
  EXPECT_THAT(JoinedProblems(config), HasSubstr("serial_file: "));
  EXPECT_FALSE(TimeStampAuthority::Create(config).ok());
}

TEST(AuthorityTest, ContinuesFromTheSerialFile) {
  std::string dir = axis::testing::MakeTempDir("tsa");
  TsaConfig config = TestConfig(dir);
  ASSERT_TRUE(WriteFileAtomic(config.serial_file(), "77000\n").ok());
  auto tsa = MakeAuthority(config);
  ASSERT_NE(tsa, nullptr);
  absl::StatusOr<std::string> reply = tsa->Respond(RequestDer(Imprint("d")));
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(SerialOf(ParseReply(*reply).get()), 77000u);
}

}  // namespace
}  // namespace axis::tsa
