// The real axis-central-server on loopback, driven by the real `axis`
// command: publishing, verification refusals, restart, admin refusals.
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include "central-server/requests.h"
#include "central.grpc.pb.h"
#include "proto/identifiers.h"
#include "signer/keys.h"
#include "tests/central/central_fixture.h"

namespace axis::central::test {
namespace {

using ::testing::HasSubstr;

signer::SigningKey LoadKey(const std::string& key, const std::string& cert) {
  auto k = signer::LoadSigningKey({Pki(key), Pki(cert), ""}, signer::NoSecret());
  EXPECT_TRUE(k.ok()) << k.status();
  return std::move(*k);
}

signer::SigningKey ConfigSigningKey() {
  return LoadKey("central/config-signing.key.pem", "central/config-signing.cert.pem");
}

class CentralServerTest : public CentralFixture {};

TEST_F(CentralServerTest, PublishesMembersCasTsasAndAnApprovedServerThatVerifyAgainstTheAnchor) {
  StartCentral();
  Populate();
  ASSERT_EQ(Central({"subsystem", "add", "VN/GOV/000.00.00.G12/QLVB"}).exit_code, 0);
  ASSERT_EQ(Central({"group", "add", "ministries", "--member", "VN/GOV/000.00.00.G12", "--member",
                     "VN/GOV/000.00.00.G22"})
                .exit_code,
            0);
  axis::testing::CommandResult reg = Register("mic", "VN/GOV/000.00.00.G12", "ss1");
  ASSERT_EQ(reg.exit_code, 0) << reg.err;
  EXPECT_THAT(reg.out, HasSubstr("request 1 pending"));
  uint64_t before = Version();
  axis::testing::CommandResult list = Central({"requests"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_THAT(list.out, HasSubstr("register security server VN/GOV/000.00.00.G12/ss1"));
  axis::testing::CommandResult approve = Central({"requests", "--approve", "1"});
  ASSERT_EQ(approve.exit_code, 0) << approve.err;
  EXPECT_EQ(Version(), before + 1);

  auto fetched = Fetch();
  ASSERT_TRUE(fetched.ok()) << fetched.status();
  auto verified = VerifySignedConf(*fetched, anchor_, nullptr, absl::Now());
  ASSERT_TRUE(verified.ok()) << verified.status();
  const GlobalConf& conf = verified->conf;
  EXPECT_EQ(conf.instance(), "VN");
  EXPECT_EQ(conf.central_address(), address_);
  ASSERT_EQ(conf.members_size(), 3);
  EXPECT_EQ(FormatIdentifier(conf.members(0).id()), "VN/GOV/000.00.00.G12");
  EXPECT_EQ(conf.members(0).name(), "Bộ Thông tin và Truyền thông");
  ASSERT_EQ(conf.subsystems_size(), 1);
  ASSERT_EQ(conf.cas_size(), 2);
  EXPECT_EQ(conf.cas(1).name(), "root");
  EXPECT_TRUE(conf.cas(1).is_root());
  EXPECT_FALSE(conf.cas(0).crl_der().empty());
  ASSERT_EQ(conf.cas(0).ocsp_urls_size(), 1);
  ASSERT_EQ(conf.tsas_size(), 1);
  EXPECT_EQ(conf.tsas(0).url(), "http://127.0.0.1:3180/");
  ASSERT_EQ(conf.groups_size(), 1);
  EXPECT_EQ(conf.groups(0).members_size(), 2);
  ASSERT_EQ(conf.security_servers_size(), 1);
  const SecurityServer& ss = conf.security_servers(0);
  EXPECT_EQ(FormatIdentifier(ss.owner()), "VN/GOV/000.00.00.G12");
  EXPECT_EQ(ss.server_code(), "ss1");
  auto auth = signer::LoadPemCertificates(Pki("agencies/mic/server.cert.pem"));
  ASSERT_TRUE(auth.ok());
  ASSERT_EQ(ss.auth_cert_sha256_size(), 1);
  EXPECT_EQ(ss.auth_cert_sha256(0), signer::Sha256(signer::CertificateDer((*auth)[0].get())));
  // The statement's default validity is ten minutes.
  EXPECT_EQ(verified->statement.expires_at().seconds() - verified->statement.signed_at().seconds(),
            600);
  axis::testing::CommandResult show = Central({"conf", "show", "--json"});
  EXPECT_EQ(show.exit_code, 0) << show.err;
  EXPECT_THAT(show.out, HasSubstr("\"member_code\": \"000.00.00.H49\""));
  EXPECT_THAT(show.out, HasSubstr(absl::StrCat("\"version\": \"", conf.version(), "\"")));
  axis::testing::CommandResult history = Central({"conf", "history", "--verify"});
  EXPECT_EQ(history.exit_code, 0) << history.err;
  EXPECT_THAT(history.out, HasSubstr(absl::StrCat(conf.version(), " versions, hash chain intact")));
}

TEST_F(CentralServerTest, RefusesATamperedConfiguration) {
  StartCentral();
  Populate();
  auto fetched = Fetch();
  ASSERT_TRUE(fetched.ok()) << fetched.status();
  ASSERT_TRUE(VerifySignedConf(*fetched, anchor_, nullptr, absl::Now()).ok());
  SignedGlobalConf tampered = *fetched;
  std::string conf = tampered.conf();
  size_t at = conf.find("000.00.00.G12");
  ASSERT_NE(at, std::string::npos);
  conf[at + 12] = '3';  // VN/GOV/000.00.00.G13
  tampered.set_conf(conf);
  auto v = VerifySignedConf(tampered, anchor_, nullptr, absl::Now());
  ASSERT_FALSE(v.ok());
  EXPECT_THAT(std::string(v.status().message()), HasSubstr("tampered"));
}

TEST_F(CentralServerTest, RefusesAConfigurationSignedByAnotherKey) {
  StartCentral();
  Populate();
  auto fetched = Fetch();
  ASSERT_TRUE(fetched.ok()) << fetched.status();
  auto forged = SignGlobalConf(fetched->conf(),
                               LoadKey("agencies/mic/seal.key.pem", "agencies/mic/seal.cert.pem"),
                               absl::Now(), absl::Minutes(10));
  ASSERT_TRUE(forged.ok()) << forged.status();
  auto v = VerifySignedConf(*forged, anchor_, nullptr, absl::Now());
  ASSERT_FALSE(v.ok());
  EXPECT_THAT(std::string(v.status().message()), HasSubstr("neither in the anchor"));
}

TEST_F(CentralServerTest, ConfigurationExpiresAfterTheServersValidityPeriod) {
  StartCentral("validity: \"2m\"\nresign_period: \"30s\"\n");
  auto fetched = Fetch();
  ASSERT_TRUE(fetched.ok()) << fetched.status();
  auto ok = VerifySignedConf(*fetched, anchor_, nullptr, absl::Now());
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->statement.expires_at().seconds() - ok->statement.signed_at().seconds(), 120);
  auto v = VerifySignedConf(*fetched, anchor_, nullptr, ok->expires_at + absl::Seconds(1));
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(v.status().message()), HasSubstr("expired"));
}

TEST_F(CentralServerTest, RefusesAVersionRollback) {
  StartCentral();
  auto old_conf = Fetch();
  ASSERT_TRUE(old_conf.ok()) << old_conf.status();
  Populate();
  auto new_conf = Fetch();
  ASSERT_TRUE(new_conf.ok()) << new_conf.status();
  auto newer = VerifySignedConf(*new_conf, anchor_, nullptr, absl::Now());
  ASSERT_TRUE(newer.ok()) << newer.status();
  auto v = VerifySignedConf(*old_conf, anchor_, &*newer, absl::Now());
  ASSERT_FALSE(v.ok());
  EXPECT_THAT(std::string(v.status().message()), HasSubstr("rollback"));
}

TEST_F(CentralServerTest, RefusesANextVersionWithABrokenPreviousHash) {
  StartCentral();
  auto first = Fetch();
  ASSERT_TRUE(first.ok()) << first.status();
  auto accepted = VerifySignedConf(*first, anchor_, nullptr, absl::Now());
  ASSERT_TRUE(accepted.ok()) << accepted.status();
  ASSERT_EQ(Central({"ca", "add", "--cert", Pki("roots.pem")}).exit_code, 0);
  auto second = Fetch();
  ASSERT_TRUE(second.ok()) << second.status();
  // The genuine next version links to the first...
  ASSERT_TRUE(VerifySignedConf(*second, anchor_, &*accepted, absl::Now()).ok());
  // ...one whose previous hash names other bytes does not, even when signed
  // by the real key.
  GlobalConf conf;
  ASSERT_TRUE(conf.ParseFromString(second->conf()));
  ASSERT_EQ(conf.version(), accepted->conf.version() + 1);
  conf.set_previous_sha256(signer::Sha256("another history"));
  auto forged =
      SignGlobalConf(conf.SerializeAsString(), ConfigSigningKey(), absl::Now(), absl::Minutes(10));
  ASSERT_TRUE(forged.ok()) << forged.status();
  auto v = VerifySignedConf(*forged, anchor_, &*accepted, absl::Now());
  ASSERT_FALSE(v.ok());
  EXPECT_THAT(std::string(v.status().message()), HasSubstr("previous-hash chain broken"));
}

TEST_F(CentralServerTest, AFreshSignatureOverUnchangedContentDoesNotAddAVersion) {
  StartCentral("validity: \"10s\"\nresign_period: \"1s\"\n");
  Populate();
  auto a = Fetch();
  ASSERT_TRUE(a.ok()) << a.status();
  absl::SleepFor(absl::Milliseconds(1100));
  auto b = Fetch();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(a->conf(), b->conf());
  EXPECT_NE(a->statement(), b->statement());
  auto va = VerifySignedConf(*a, anchor_, nullptr, absl::Now());
  ASSERT_TRUE(va.ok()) << va.status();
  auto vb = VerifySignedConf(*b, anchor_, &*va, absl::Now());
  ASSERT_TRUE(vb.ok()) << vb.status();
  EXPECT_GT(vb->expires_at, va->expires_at);
  // A change that leaves the content as it was (add then remove) adds two
  // versions, never more.
  uint64_t before = Version();
  ASSERT_EQ(Central({"subsystem", "add", "VN/GOV/000.00.00.G22/QLVB"}).exit_code, 0);
  ASSERT_EQ(Central({"subsystem", "remove", "VN/GOV/000.00.00.G22/QLVB"}).exit_code, 0);
  EXPECT_EQ(Version(), before + 2);
}

TEST_F(CentralServerTest, KeepsEverythingAndTheHistoryAcrossARestart) {
  auto port = axis::testing::PickFreePort();
  ASSERT_TRUE(port.ok());
  StartCentral("", *port);
  Populate();
  ASSERT_EQ(Register("mic", "VN/GOV/000.00.00.G12", "ss1").exit_code, 0);
  ASSERT_EQ(Register("vpcp", "VN/GOV/000.00.00.G22", "ss1").exit_code, 0);
  ASSERT_EQ(Central({"requests", "--approve", "1"}).exit_code, 0);
  axis::testing::CommandResult history_before = Central({"conf", "history"});
  auto before = Fetch();
  ASSERT_TRUE(before.ok()) << before.status();
  StopCentral();

  StartCentral("", *port);
  auto after = Fetch();
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(after->conf(), before->conf());
  axis::testing::CommandResult history_after = Central({"conf", "history", "--verify"});
  EXPECT_EQ(history_after.exit_code, 0) << history_after.err;
  EXPECT_THAT(history_after.out, HasSubstr(history_before.out));
  EXPECT_THAT(history_after.out, HasSubstr("hash chain intact"));
  // The pending request survived too and can still be decided.
  axis::testing::CommandResult pending = Central({"requests"});
  EXPECT_THAT(pending.out, HasSubstr("2\tpending\tVN/GOV/000.00.00.G22"));
  axis::testing::CommandResult reject =
      Central({"requests", "--reject", "2", "--reason", "wrong address"});
  EXPECT_EQ(reject.exit_code, 0) << reject.err;
  axis::testing::CommandResult all = Central({"requests", "--all"});
  EXPECT_THAT(all.out, HasSubstr("rejected"));
  EXPECT_THAT(all.out, HasSubstr("wrong address"));
}

TEST_F(CentralServerTest, HistoryVerifyFindsAVersionAlteredInTheDatabase) {
  auto port = axis::testing::PickFreePort();
  ASSERT_TRUE(port.ok());
  StartCentral("", *port);
  Populate();
  StopCentral();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir_ + "/central.db").c_str(), &db), SQLITE_OK);
  GlobalConf v2;
  {
    sqlite3_stmt* s = nullptr;
    sqlite3_prepare_v2(db, "SELECT bytes FROM conf_versions WHERE version = 2", -1, &s, nullptr);
    ASSERT_EQ(sqlite3_step(s), SQLITE_ROW);
    ASSERT_TRUE(v2.ParseFromArray(sqlite3_column_blob(s, 0), sqlite3_column_bytes(s, 0)));
    sqlite3_finalize(s);
  }
  ASSERT_EQ(v2.cas_size(), 1);
  v2.mutable_cas()->Clear();  // history rewritten: the root CA was never there
  std::string bytes = v2.SerializeAsString();
  {
    sqlite3_stmt* s = nullptr;
    sqlite3_prepare_v2(db, "UPDATE conf_versions SET bytes = ? WHERE version = 2", -1, &s, nullptr);
    sqlite3_bind_blob(s, 1, bytes.data(), static_cast<int>(bytes.size()), SQLITE_TRANSIENT);
    ASSERT_EQ(sqlite3_step(s), SQLITE_DONE);
    sqlite3_finalize(s);
  }
  sqlite3_close(db);
  StartCentral("", *port);
  axis::testing::CommandResult r = Central({"conf", "history", "--verify"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("hash chain broken at version 3"));
}

// Each refused admin input leaves the published version where it was.
class AdminRefusalTest : public CentralFixture {
 protected:
  void SetUp() override {
    CentralFixture::SetUp();
    StartCentral();
    Populate();
    version_ = Version();
    ASSERT_GT(version_, 0u);
  }
  void ExpectRefused(const axis::testing::CommandResult& r, const std::string& reason) {
    EXPECT_NE(r.exit_code, 0);
    EXPECT_THAT(r.err, HasSubstr(reason));
    EXPECT_EQ(Version(), version_);
  }
  uint64_t version_ = 0;
};

TEST_F(AdminRefusalTest, RefusesASubsystemOfAnUnknownMember) {
  ExpectRefused(Central({"subsystem", "add", "VN/GOV/000.00.00.X99/QLVB"}),
                "unknown member VN/GOV/000.00.00.X99");
}

TEST_F(AdminRefusalTest, RefusesRemovingAnUnknownMember) {
  ExpectRefused(Central({"member", "remove", "VN/GOV/000.00.00.X99"}), "unknown member");
}

TEST_F(AdminRefusalTest, RefusesADuplicateMember) {
  ExpectRefused(Central({"member", "add", "VN/GOV/000.00.00.G22", "--name", "again"}),
                "already exists");
}

TEST_F(AdminRefusalTest, RefusesAnOtherCodeThatNamesAnotherMember) {
  ExpectRefused(Central({"member", "add", "VN/GOV/H37", "--name", "UBND tỉnh Nghệ An",
                         "--also-code", "000.00.00.G12"}),
                "000.00.00.G12 already names another member");
  ExpectRefused(Central({"member", "add", "VN/GOV/H37", "--name", "UBND tỉnh Nghệ An",
                         "--also-code", "H37.x"}),
                "other code");
}

TEST_F(AdminRefusalTest, AMemberAddedWithItsLegacyCodeShowsBoth) {
  axis::testing::CommandResult added = Central(
      {"member", "add", "VN/GOV/H41", "--name", "UBND tỉnh Nghệ An", "--also-code", "000.00.00.H41"});
  ASSERT_EQ(added.exit_code, 0) << added.err;
  axis::testing::CommandResult show = Central({"conf", "show"});
  EXPECT_THAT(show.out, HasSubstr("VN/GOV/H41  UBND tỉnh Nghệ An  (also 000.00.00.H41)"));
}

TEST_F(AdminRefusalTest, RefusesAServerWhoseAuthCertificateDoesNotChainToATrustedCa) {
  ExpectRefused(Central({"server", "add", "--owner", "VN/GOV/000.00.00.G12", "--server-code", "ss9",
                         "--address", "127.0.0.1:7009", "--auth-cert",
                         Pki("negative/untrusted-leader.cert.pem")}),
                "does not chain to a trusted CA");
}

TEST_F(AdminRefusalTest, RefusesATsaWhoseCertificateDoesNotChainToATrustedCa) {
  ExpectRefused(Central({"tsa", "add", "--url", "http://127.0.0.1:1/", "--cert",
                         Pki("negative/untrusted-leader.cert.pem")}),
                "does not chain to a trusted CA");
}

TEST_F(AdminRefusalTest, RefusesMalformedIdentifiers) {
  ExpectRefused(Central({"member", "add", "VN/GOV/000..00.G22", "--name", "x"}), "000..00.G22");
  ExpectRefused(Central({"subsystem", "add", "VN/GOV/000.00.00.G22"}), "VN/GOV/000.00.00.G22");
  ExpectRefused(Central({"member", "add", "XX/GOV/000.00.00.A01", "--name", "x"}),
                "is not of instance VN");
}

TEST_F(AdminRefusalTest, RefusesANonAdminClientCertificate) {
  ExpectRefused(Central({"member", "add", "VN/GOV/000.00.00.A01", "--name", "x"},
                        {{"AXIS_TLS_CERT", Pki("agencies/mic/dms.cert.pem")},
                         {"AXIS_TLS_KEY", Pki("agencies/mic/dms.key.pem")}}),
                "is not an admin certificate");
}

TEST_F(AdminRefusalTest, RefusesAdminCallsWithoutAClientCertificate) {
  auto roots = ReadFile(Pki("roots.pem"));
  ASSERT_TRUE(roots.ok());
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = *roots;
  auto stub = CentralAdmin::NewStub(grpc::CreateChannel(address_, grpc::SslCredentials(ssl)));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  MemberRequest request;
  *request.mutable_id() = *ParseMemberId("VN/GOV/000.00.00.A01");
  request.set_name("x");
  AdminReply reply;
  grpc::Status s = stub->AddMember(&context, request, &reply);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(s.error_message(), HasSubstr("admin client certificate"));
  EXPECT_EQ(Version(), version_);
}

TEST_F(AdminRefusalTest, RefusesAManagementRequestWithABadSignature) {
  ManagementRequest request;
  *request.mutable_member() = *ParseMemberId("VN/GOV/000.00.00.G12");
  request.mutable_add_subsystem()->mutable_subsystem()->CopyFrom(
      *ParseSubsystemId("VN/GOV/000.00.00.G12/QLVB"));
  auto signed_request = SignManagementRequest(
      request, LoadKey("agencies/mic/seal.key.pem", "agencies/mic/seal.cert.pem"), nullptr,
      absl::Now());
  ASSERT_TRUE(signed_request.ok()) << signed_request.status();
  // The genuine request is accepted as pending (proving the refusal below
  // is about the signature alone)...
  ConfAnchor anchor = anchor_;
  SignedManagementRequest bad = *signed_request;
  (*bad.mutable_member_signature())[5] ^= 1;
  auto refused = SubmitManagementRequest(anchor, bad, absl::Seconds(10));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(refused.status().message()), HasSubstr("member signature"));
  auto accepted = SubmitManagementRequest(anchor, *signed_request, absl::Seconds(10));
  ASSERT_TRUE(accepted.ok()) << accepted.status();
  EXPECT_EQ(accepted->status(), "pending");
  // ...and the same signed bytes cannot be filed twice.
  auto replay = SubmitManagementRequest(anchor, *signed_request, absl::Seconds(10));
  ASSERT_FALSE(replay.ok());
  EXPECT_EQ(replay.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(Version(), version_);
}

TEST_F(AdminRefusalTest, RefusesARegistrationSignedByAnotherMember) {
  ExpectRefused(Register("vpcp", "VN/GOV/000.00.00.G22", "ss1", /*sign_agency=*/"mic"),
                "is signed by VN/GOV/000.00.00.G12");
}

TEST_F(AdminRefusalTest, RefusesARegistrationWithoutProofOfPossessionOfTheAuthKey) {
  auto auth = signer::LoadPemCertificates(Pki("agencies/mic/server.cert.pem"));
  ASSERT_TRUE(auth.ok());
  ManagementRequest request;
  *request.mutable_member() = *ParseMemberId("VN/GOV/000.00.00.G12");
  request.mutable_register_server()->set_server_code("ss1");
  request.mutable_register_server()->set_address("127.0.0.1:7001");
  request.mutable_register_server()->set_auth_cert_der(signer::CertificateDer((*auth)[0].get()));
  // The member signs, but the "proof" comes from another server's key.
  signer::SigningKey other =
      LoadKey("agencies/vpcp/server.key.pem", "agencies/vpcp/server.cert.pem");
  auto signed_request = SignManagementRequest(
      request, LoadKey("agencies/mic/seal.key.pem", "agencies/mic/seal.cert.pem"), &other,
      absl::Now());
  ASSERT_TRUE(signed_request.ok()) << signed_request.status();
  auto refused = SubmitManagementRequest(anchor_, *signed_request, absl::Seconds(10));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(refused.status().message()), HasSubstr("proof of possession"));
  EXPECT_EQ(Version(), version_);
  EXPECT_EQ(Central({"requests", "--all"}).out, "");
}

TEST_F(AdminRefusalTest, RefusesARequestSignedWithACertificateWithoutSigningUsage) {
  // negative/wrong-usage-leader has keyEncipherment only.
  ManagementRequest request;
  *request.mutable_member() = *ParseMemberId("VN/GOV/000.00.00.G22");
  request.mutable_change_address()->set_server_code("ss1");
  request.mutable_change_address()->set_address("127.0.0.1:7002");
  auto signed_request = SignManagementRequest(
      request,
      LoadKey("negative/wrong-usage-leader.key.pem", "negative/wrong-usage-leader.cert.pem"),
      nullptr, absl::Now());
  ASSERT_TRUE(signed_request.ok()) << signed_request.status();
  auto refused = SubmitManagementRequest(anchor_, *signed_request, absl::Seconds(10));
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(std::string(refused.status().message()),
              HasSubstr("neither digitalSignature nor nonRepudiation"));
  EXPECT_EQ(Version(), version_);
}

TEST_F(AdminRefusalTest, ApprovingARequestThatNoLongerAppliesChangesNothing) {
  ASSERT_EQ(Register("mic", "VN/GOV/000.00.00.G12", "ss1").exit_code, 0);
  ASSERT_EQ(
      Central({"server", "add", "--owner", "VN/GOV/000.00.00.G22", "--server-code", "ss1",
               "--address", "127.0.0.1:7001", "--auth-cert", Pki("agencies/mic/server.cert.pem")})
          .exit_code,
      0);
  version_ = Version();
  ExpectRefused(Central({"requests", "--approve", "1"}), "already registered");
  EXPECT_THAT(Central({"requests"}).out, HasSubstr("1\tpending"));
}

TEST(CentralConfigTest, CheckConfigNamesEveryBadField) {
  std::string dir = axis::testing::MakeTempDir("central-config");
  ASSERT_TRUE(WriteFileAtomic(dir + "/bad.textproto",
                              "instance: \"VN\"\nlisten: \"0.0.0.0:1\"\nvalidity: \"soon\"\n"
                              "tls_cert: \"/nonexistent.pem\"\n")
                  .ok());
  auto r = axis::testing::RunCommand(
      {BinDir() + "/axis-central-server", "--config", dir + "/bad.textproto", "--check-config"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->exit_code, 2);
  for (const char* field :
       {"listen:", "validity:", "db_path:", "tls_cert:", "signing_key:", "admin_subjects"}) {
    EXPECT_THAT(r->err, HasSubstr(field));
  }
}

}  // namespace
}  // namespace axis::central::test
