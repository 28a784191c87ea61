// Management requests through `axis server`, key rotation, and ConfPoller
// against the real axis-central-server.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "central-server/conf_client.h"
#include "proto/identifiers.h"
#include "tests/central/central_fixture.h"
#include "tests/testing/fake_clock.h"

namespace axis::central::test {
namespace {

using ::axis::testing::FakeClock;
using ::testing::HasSubstr;


class ManagementRequestTest : public CentralFixture {};

TEST_F(ManagementRequestTest, AutoApprovalPolicyAppliesARegistrationAtOnce) {
  StartCentral("auto_approve { register_server: true }\n");
  Populate();
  uint64_t before = Version();
  axis::testing::CommandResult r = Register("quangninh", "VN/GOV/000.00.00.H49", "ss1");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("request 1 approved"));
  EXPECT_EQ(Version(), before + 1);
  auto fetched = Fetch();
  ASSERT_TRUE(fetched.ok());
  GlobalConf conf;
  ASSERT_TRUE(conf.ParseFromString(fetched->conf()));
  ASSERT_EQ(conf.security_servers_size(), 1);
  EXPECT_EQ(FormatIdentifier(conf.security_servers(0).owner()), "VN/GOV/000.00.00.H49");
}

TEST_F(ManagementRequestTest, MemberRequestsSubsystemsAndAddressChangesThatTheOperatorApproves) {
  StartCentral();
  Populate();
  ASSERT_EQ(Register("mic", "VN/GOV/000.00.00.G12", "ss1").exit_code, 0);
  ASSERT_EQ(Central({"requests", "--approve", "1"}).exit_code, 0);
  auto request = [&](std::vector<std::string> args) {
    std::vector<std::string> argv = {BinDir() + "/axis",
                                     "server",
                                     "request",
                                     "--central",
                                     address_,
                                     "--anchor",
                                     anchor_path_,
                                     "--member",
                                     "VN/GOV/000.00.00.G12",
                                     "--sign-key",
                                     Pki("agencies/mic/seal.key.pem"),
                                     "--sign-cert",
                                     Pki("agencies/mic/seal.cert.pem")};
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = axis::testing::RunCommand(argv, "", absl::Seconds(30));
    EXPECT_TRUE(r.ok());
    return *r;
  };
  axis::testing::CommandResult add = request({"subsystem-add", "VN/GOV/000.00.00.G12/QLVB"});
  ASSERT_EQ(add.exit_code, 0) << add.err;
  EXPECT_THAT(add.out, HasSubstr("request 2 pending"));
  axis::testing::CommandResult move =
      request({"address", "--server-code", "ss1", "--address", "127.0.0.1:7444"});
  ASSERT_EQ(move.exit_code, 0) << move.err;
  // A member cannot ask for another member's subsystem.
  axis::testing::CommandResult foreign = request({"subsystem-add", "VN/GOV/000.00.00.G22/QLVB"});
  ASSERT_EQ(foreign.exit_code, 0) << foreign.err;  // filed; refused on approval
  uint64_t before = Version();
  ASSERT_EQ(Central({"requests", "--approve", "2"}).exit_code, 0);
  ASSERT_EQ(Central({"requests", "--approve", "3"}).exit_code, 0);
  axis::testing::CommandResult refused = Central({"requests", "--approve", "4"});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_THAT(refused.err, HasSubstr("does not belong to member VN/GOV/000.00.00.G12"));
  EXPECT_EQ(Version(), before + 2);
  auto fetched = Fetch();
  ASSERT_TRUE(fetched.ok());
  GlobalConf conf;
  ASSERT_TRUE(conf.ParseFromString(fetched->conf()));
  ASSERT_EQ(conf.subsystems_size(), 1);
  EXPECT_EQ(FormatIdentifier(conf.subsystems(0).id()), "VN/GOV/000.00.00.G12/QLVB");
  ASSERT_EQ(conf.security_servers_size(), 1);
  EXPECT_EQ(conf.security_servers(0).address(), "127.0.0.1:7444");
  ASSERT_EQ(conf.security_servers(0).auth_cert_sha256_size(), 1);

  // Deleting the server's auth certificate takes it out of the configuration.
  axis::testing::CommandResult del = request({"auth-cert-delete", "--server-code", "ss1",
                                              "--auth-cert", Pki("agencies/mic/server.cert.pem")});
  ASSERT_EQ(del.exit_code, 0) << del.err;
  ASSERT_EQ(Central({"requests", "--approve", "5"}).exit_code, 0);
  fetched = Fetch();
  ASSERT_TRUE(fetched.ok());
  ASSERT_TRUE(conf.ParseFromString(fetched->conf()));
  ASSERT_EQ(conf.security_servers_size(), 1);
  EXPECT_EQ(conf.security_servers(0).auth_cert_sha256_size(), 0);
}

class KeyRotationTest : public CentralFixture {};

TEST_F(KeyRotationTest, ClientsFollowARotatedKeyAnnouncedByTheOldOne) {
  // A new signing key with a self-signed certificate (the operator's choice
  // of CA does not matter: trust comes from the announcement).
  auto gen = axis::testing::RunCommand(
      {"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
       "-keyout", dir_ + "/new.key.pem", "-out", dir_ + "/new.cert.pem", "-days", "30", "-subj",
       "/CN=Axis Central Configuration Signing 2", "-addext",
       "keyUsage=critical,digitalSignature"});
  ASSERT_TRUE(gen.ok() && gen->exit_code == 0) << (gen.ok() ? gen->err : "");
  StartCentral("rotation_grace: \"1s\"\n");
  ConfPollerOptions options;
  options.anchor = anchor_;
  options.cache_path = dir_ + "/globalconf.bin";
  auto poller = ConfPoller::Create(options);
  ASSERT_TRUE(poller.ok());
  auto v1 = Fetch();
  ASSERT_TRUE(v1.ok());
  auto held = VerifySignedConf(*v1, anchor_, nullptr, absl::Now());
  ASSERT_TRUE(held.ok()) << held.status();

  ASSERT_EQ(
      Central({"key", "rotate", "--key", dir_ + "/new.key.pem", "--cert", dir_ + "/new.cert.pem"})
          .exit_code,
      0);
  auto announced = Fetch();
  ASSERT_TRUE(announced.ok());
  auto v2 = VerifySignedConf(*announced, anchor_, &*held, absl::Now());
  ASSERT_TRUE(v2.ok()) << v2.status();
  EXPECT_EQ(v2->conf.signing_certs_der_size(), 2);
  EXPECT_EQ(announced->cert_chain_der(0), anchor_.signing_certs_der(0));  // still the old key
  ASSERT_TRUE((*poller)->PollOnce().ok()) << (*poller)->LastError();

  absl::SleepFor(absl::Milliseconds(1100));
  auto rotated = Fetch();
  ASSERT_TRUE(rotated.ok());
  EXPECT_NE(rotated->cert_chain_der(0), anchor_.signing_certs_der(0));
  auto v3 = VerifySignedConf(*rotated, anchor_, &*v2, absl::Now());
  ASSERT_TRUE(v3.ok()) << v3.status();
  EXPECT_EQ(v3->conf.signing_certs_der_size(), 1);
  // A client that never saw the announcement cannot trust the new key.
  auto stranger = VerifySignedConf(*rotated, anchor_, nullptr, absl::Now());
  ASSERT_FALSE(stranger.ok());
  EXPECT_THAT(std::string(stranger.status().message()), HasSubstr("neither in the anchor"));
  // And a new anchor carries the new key.
  ASSERT_EQ(Central({"anchor", "-o", dir_ + "/anchor2.txt"}).exit_code, 0);
  auto anchor2 = ReadAnchor(dir_ + "/anchor2.txt");
  ASSERT_TRUE(anchor2.ok());
  EXPECT_TRUE(VerifySignedConf(*rotated, *anchor2, nullptr, absl::Now()).ok());
  // A poller that saw the announcement follows, and still does after a
  // restart from its cache (it kept the announced signer).
  ASSERT_TRUE((*poller)->PollOnce().ok()) << (*poller)->LastError();
  EXPECT_EQ((*poller)->Current()->signed_conf.cert_chain_der(0), rotated->cert_chain_der(0));
  poller->reset();
  auto restarted = ConfPoller::Create(options);
  ASSERT_TRUE(restarted.ok());
  ASSERT_NE((*restarted)->Current(), nullptr);
  EXPECT_EQ((*restarted)->Current()->conf.version(), v3->conf.version());
  EXPECT_TRUE((*restarted)->PollOnce().ok()) << (*restarted)->LastError();
}

class ConfPollerTest : public CentralFixture {};

TEST_F(ConfPollerTest, SurvivesACentralOutageUntilExpiryAndNoLonger) {
  auto port = axis::testing::PickFreePort();
  ASSERT_TRUE(port.ok());
  StartCentral("", *port);
  Populate();
  FakeClock clock;
  ConfPollerOptions options;
  options.anchor = anchor_;
  options.cache_path = dir_ + "/globalconf.bin";
  options.clock = &clock;
  options.fetch_deadline = absl::Seconds(3);
  auto poller = ConfPoller::Create(options);
  ASSERT_TRUE(poller.ok()) << poller.status();
  EXPECT_EQ((*poller)->CurrentValid().status().code(), absl::StatusCode::kUnavailable);
  ASSERT_TRUE((*poller)->PollOnce().ok()) << (*poller)->LastError();
  auto current = (*poller)->CurrentValid();
  ASSERT_TRUE(current.ok()) << current.status();
  uint64_t version = (*current)->conf.version();
  EXPECT_EQ((*current)->conf.members_size(), 3);

  StopCentral();
  absl::Status down = (*poller)->PollOnce();
  EXPECT_EQ(down.code(), absl::StatusCode::kUnavailable) << down;
  EXPECT_EQ((*poller)->LastError().code(), absl::StatusCode::kUnavailable);
  clock.Set((*current)->expires_at - absl::Seconds(1));
  EXPECT_TRUE((*poller)->CurrentValid().ok());
  clock.Set((*current)->expires_at);
  auto expired = (*poller)->CurrentValid();
  EXPECT_EQ(expired.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(expired.status().message()), HasSubstr("expired"));

  // A restarted security server starts from the last good conf on disk.
  clock.Set(absl::Now());
  auto again = ConfPoller::Create(options);
  ASSERT_TRUE(again.ok());
  ASSERT_NE((*again)->Current(), nullptr);
  EXPECT_EQ((*again)->Current()->conf.version(), version);

  // When the central is back, polling resumes and the chain continues.
  StartCentral("", *port);
  ASSERT_EQ(Central({"subsystem", "add", "VN/GOV/000.00.00.G12/QLVB"}).exit_code, 0);
  ASSERT_TRUE((*again)->PollOnce().ok()) << (*again)->LastError();
  EXPECT_EQ((*again)->Current()->conf.version(), version + 1);
}

TEST_F(ConfPollerTest, BackgroundPollingPicksUpNewVersions) {
  StartCentral();
  ConfPollerOptions options;
  options.anchor = anchor_;
  options.period = absl::Milliseconds(100);
  auto poller = ConfPoller::Create(options);
  ASSERT_TRUE(poller.ok());
  (*poller)->Start();
  ASSERT_EQ(Central({"ca", "add", "--cert", Pki("roots.pem")}).exit_code, 0);
  uint64_t want = Version();
  absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (absl::Now() < deadline) {
    auto c = (*poller)->Current();
    if (c != nullptr && c->conf.version() == want) {
      break;
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  (*poller)->Stop();
  ASSERT_NE((*poller)->Current(), nullptr);
  EXPECT_EQ((*poller)->Current()->conf.version(), want);
  EXPECT_EQ((*poller)->Current()->conf.cas_size(), 1);
}

}  // namespace
}  // namespace axis::central::test
