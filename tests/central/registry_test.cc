// Registry (SQLite, in process) and the member-identity rule.
#include "central-server/registry.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/pem.h>

#include "central-server/member_identity.h"
#include "common/files.h"
#include "proto/identifiers.h"
#include "signer/bytes_sign.h"
#include "signer/certs.h"
#include "tests/testing/paths.h"
#include "tests/testing/process.h"

namespace axis::central {
namespace {

using axis::testing::PkiPath;
using ::testing::HasSubstr;

std::string Der(const std::string& rel) {
  auto certs = signer::LoadPemCertificates(PkiPath(rel));
  EXPECT_TRUE(certs.ok()) << certs.status();
  return signer::CertificateDer((*certs)[0].get());
}

class RegistryTest : public ::testing::Test {
 protected:
  void SetUp() override { path_ = axis::testing::MakeTempDir("registry") + "/central.db"; }
  std::unique_ptr<Registry> Open() {
    auto r = Registry::Open(path_, "VN", "127.0.0.1:4400", Der("central/config-signing.cert.pem"),
                            &clock_);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *std::move(r) : nullptr;
  }
  Identifier Id(const std::string& text) { return *ParseIdentifier(text); }
  std::string path_;
  RealClock clock_;
};

TEST_F(RegistryTest, PublishesVersionOneOnceAndNotAgainOnReopen) {
  {
    auto r = Open();
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(r->Latest().version, 1u);
  }
  auto r = Open();
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->Latest().version, 1u);
  auto history = r->History(0);
  ASSERT_TRUE(history.ok());
  EXPECT_EQ(history->size(), 1u);
}

TEST_F(RegistryTest, VersionsAdvanceOnlyOnChangeAndChainToThePreviousBytes) {
  auto r = Open();
  ASSERT_NE(r, nullptr);
  ConfVersion v1 = r->Latest();
  ASSERT_TRUE(r->AddMember(Id("VN/GOV/000.00.00.G22"), "VPCP").ok());
  EXPECT_FALSE(r->AddMember(Id("VN/GOV/000.00.00.G22"), "again").ok());
  EXPECT_FALSE(r->RemoveMember(Id("VN/GOV/000.00.00.X01")).ok());
  ConfVersion v2 = r->Latest();
  EXPECT_EQ(v2.version, 2u);
  GlobalConf conf;
  ASSERT_TRUE(conf.ParseFromString(v2.bytes));
  EXPECT_EQ(conf.previous_sha256(), signer::Sha256(v1.bytes));
  ASSERT_EQ(conf.members_size(), 1);
  EXPECT_EQ(conf.members(0).name(), "VPCP");
}

TEST_F(RegistryTest, AMemberCarriesItsOtherAgencyCodesAndNoCodeNamesTwoMembers) {
  auto r = Open();
  ASSERT_NE(r, nullptr);
  // Quảng Ninh: the 2020 code as member code, the legacy one beside it.
  ASSERT_TRUE(r->AddMember(Id("VN/GOV/H49"), "UBND tỉnh Quảng Ninh", {"000.00.00.H49"}).ok());
  uint64_t before = r->Latest().version;
  auto bad = r->AddMember(Id("VN/GOV/G12"), "Bộ TT&TT", {"not a code"});
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr("other code"));
  auto taken = r->AddMember(Id("VN/GOV/G12"), "Bộ TT&TT", {"000.00.00.H49"});
  EXPECT_EQ(taken.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(taken.status().message(), HasSubstr("000.00.00.H49 already names another member"));
  auto member_code = r->AddMember(Id("VN/GOV/G12"), "Bộ TT&TT", {"H49"});
  EXPECT_EQ(member_code.status().code(), absl::StatusCode::kAlreadyExists);
  auto alias_as_member = r->AddMember(Id("VN/GOV/000.00.00.H49"), "again");
  EXPECT_EQ(alias_as_member.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(r->Latest().version, before);  // nothing refused changed the configuration

  GlobalConf conf;
  ASSERT_TRUE(conf.ParseFromString(r->Latest().bytes));
  ASSERT_EQ(conf.members_size(), 1);
  ASSERT_EQ(conf.members(0).other_codes_size(), 1);
  EXPECT_EQ(conf.members(0).other_codes(0), "000.00.00.H49");
  // Removing the member frees its codes.
  ASSERT_TRUE(r->RemoveMember(Id("VN/GOV/H49")).ok());
  EXPECT_TRUE(r->AddMember(Id("VN/GOV/000.00.00.H49"), "UBND tỉnh Quảng Ninh").ok());
}

TEST_F(RegistryTest, ARefusedServerRegistrationLeavesNoPartialRows) {
  auto r = Open();
  ASSERT_NE(r, nullptr);
  ASSERT_TRUE(r->AddCa("root", Der("roots.pem"), {}, "").ok());
  ASSERT_TRUE(r->AddCa("issuing", Der("chain.pem"), {}, "").ok());
  ASSERT_TRUE(r->AddMember(Id("VN/GOV/000.00.00.G12"), "MIC").ok());
  ASSERT_TRUE(r->AddMember(Id("VN/GOV/000.00.00.G22"), "VPCP").ok());
  ASSERT_TRUE(r->AddServer(Id("VN/GOV/000.00.00.G12"), "ss1", "127.0.0.1:7001",
                           Der("agencies/mic/server.cert.pem"))
                  .ok());
  uint64_t version = r->Latest().version;
  // The server row would be new, the certificate is taken: nothing stays.
  auto dup = r->AddServer(Id("VN/GOV/000.00.00.G22"), "ss1", "127.0.0.1:7002",
                          Der("agencies/mic/server.cert.pem"));
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(r->Latest().version, version);
  // Had the row stayed, this different certificate would now be refused as
  // a duplicate server.
  ASSERT_TRUE(r->AddServer(Id("VN/GOV/000.00.00.G22"), "ss1", "127.0.0.1:7002",
                           Der("agencies/vpcp/server.cert.pem"))
                  .ok());
}

TEST_F(RegistryTest, RefusesAMemberThatStillHasServers) {
  auto r = Open();
  ASSERT_NE(r, nullptr);
  ASSERT_TRUE(r->AddCa("root", Der("roots.pem"), {}, "").ok());
  ASSERT_TRUE(r->AddCa("issuing", Der("chain.pem"), {}, "").ok());
  ASSERT_TRUE(r->AddMember(Id("VN/GOV/000.00.00.G12"), "MIC").ok());
  ASSERT_TRUE(r->AddServer(Id("VN/GOV/000.00.00.G12"), "ss1", "127.0.0.1:7001",
                           Der("agencies/mic/server.cert.pem"))
                  .ok());
  auto removed = r->RemoveMember(Id("VN/GOV/000.00.00.G12"));
  ASSERT_FALSE(removed.ok());
  EXPECT_EQ(removed.status().code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(r->RemoveServer(Id("VN/GOV/000.00.00.G12"), "ss1").ok());
  EXPECT_TRUE(r->RemoveMember(Id("VN/GOV/000.00.00.G12")).ok());
}

TEST_F(RegistryTest, RefusesRemovingAMemberOrSubsystemThatAGroupStillNames) {
  auto r = Open();
  ASSERT_NE(r, nullptr);
  ASSERT_TRUE(r->AddMember(Id("VN/GOV/000.00.00.G12"), "MIC").ok());
  ASSERT_TRUE(r->AddMember(Id("VN/GOV/000.00.00.G1"), "short code").ok());
  ASSERT_TRUE(r->AddSubsystem(Id("VN/GOV/000.00.00.G12/QLVB"), "").ok());
  ASSERT_TRUE(r->AddGroup("ministries", "", {Id("VN/GOV/000.00.00.G12/QLVB")}).ok());
  auto removed = r->RemoveSubsystem(Id("VN/GOV/000.00.00.G12/QLVB"));
  EXPECT_EQ(removed.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(removed.status().message()), HasSubstr("ministries"));
  // A code that is a prefix of a grouped one is not in the group.
  EXPECT_TRUE(r->RemoveMember(Id("VN/GOV/000.00.00.G1")).ok());
  ASSERT_TRUE(r->RemoveGroup("ministries").ok());
  EXPECT_TRUE(r->RemoveSubsystem(Id("VN/GOV/000.00.00.G12/QLVB")).ok());
}

class MemberIdentityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    conf_.set_instance("VN");
    TrustedCa* root = conf_.add_cas();
    root->set_is_root(true);
    root->set_cert_der(Der("roots.pem"));
    conf_.add_cas()->set_cert_der(Der("chain.pem"));
    for (const char* id : {"VN/GOV/000.00.00.G22", "VN/GOV/000.00.00.G12"}) {
      *conf_.add_members()->mutable_id() = *ParseMemberId(id);
    }
  }
  absl::StatusOr<Identifier> Of(const std::string& rel) {
    auto cert = signer::LoadPemCertificates(PkiPath(rel));
    EXPECT_TRUE(cert.ok());
    return MemberFromSigningCert((*cert)[0].get(), {}, conf_, absl::Now());
  }
  GlobalConf conf_;
};

TEST_F(MemberIdentityTest, MapsASealCertificateToTheMemberNamedByItsOu) {
  auto id = Of("agencies/mic/seal.cert.pem");
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(FormatIdentifier(*id), "VN/GOV/000.00.00.G12");
}

TEST_F(MemberIdentityTest, RefusesAnUnknownMemberCode) {
  auto id = Of("agencies/quangninh/seal.cert.pem");
  EXPECT_EQ(id.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(id.status().message()), HasSubstr("000.00.00.H49"));
}

TEST_F(MemberIdentityTest, RefusesACertificateWithoutSigningKeyUsage) {
  auto id = Of("negative/wrong-usage-leader.cert.pem");
  ASSERT_FALSE(id.ok());
  EXPECT_THAT(std::string(id.status().message()), HasSubstr("key usage"));
}

TEST_F(MemberIdentityTest, RefusesACertificateOfAnUntrustedCa) {
  auto id = Of("negative/untrusted-leader.cert.pem");
  ASSERT_FALSE(id.ok());
  EXPECT_THAT(std::string(id.status().message()), HasSubstr("does not chain to a trusted CA"));
}

TEST_F(MemberIdentityTest, RefusesAnExpiredCertificate) {
  auto id = Of("negative/expired-leader.cert.pem");
  ASSERT_FALSE(id.ok());
  EXPECT_THAT(std::string(id.status().message()), HasSubstr("expired"));
}

TEST_F(MemberIdentityTest, RefusesARevokedCertificateWhenTheConfigurationCarriesTheCrl) {
  auto pem = axis::ReadFile(PkiPath("crl.pem"));
  ASSERT_TRUE(pem.ok());
  UniquePtr<BIO> bio(BIO_new_mem_buf(pem->data(), static_cast<int>(pem->size())));
  UniquePtr<X509_CRL> crl(PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr));
  ASSERT_NE(crl, nullptr);
  unsigned char* der = nullptr;
  int n = i2d_X509_CRL(crl.get(), &der);
  ASSERT_GT(n, 0);
  conf_.mutable_cas(1)->set_crl_der(std::string(reinterpret_cast<char*>(der), n));
  OPENSSL_free(der);
  // The seal is still fine with the CRL in place...
  EXPECT_TRUE(Of("agencies/mic/seal.cert.pem").ok());
  // ...the revoked certificate is not (its OU names a registered member).
  auto id = Of("negative/revoked-leader.cert.pem");
  ASSERT_FALSE(id.ok());
  EXPECT_THAT(std::string(id.status().message()), HasSubstr("revoked"));
}

}  // namespace
}  // namespace axis::central
