// Tests of central-server/globalconf.h: signing and verifying the global
// configuration against an anchor, with the history rules.
#include "central-server/globalconf.h"

#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "proto/identifiers.h"
#include "signer/bytes_sign.h"
#include "tests/testing/paths.h"
#include "tests/testing/process.h"

namespace axis::central {
namespace {

using ::testing::HasSubstr;

const absl::Time kNow = absl::FromUnixSeconds(1800000000);  // 2027-01-15

signer::SigningKey LoadKey(const std::string& base) {
  absl::StatusOr<signer::SigningKey> key = signer::LoadSigningKey(
      {testing::PkiPath(base + ".key.pem"), testing::PkiPath(base + ".cert.pem"), ""},
      signer::NoSecret());
  EXPECT_TRUE(key.ok()) << key.status();
  return std::move(*key);
}

class GlobalConfTest : public ::testing::Test {
 protected:
  GlobalConfTest() : key_(LoadKey("central/config-signing")) {
    anchor_.set_instance("VN");
    anchor_.set_central_address("127.0.0.1:1");
    *anchor_.add_signing_certs_der() = *signer::CertToDer(key_.cert.get());
  }

  // Conf returns version `version` with one member per version, linked to
  // `previous` (the previous version's bytes) when given.
  static std::string Conf(uint64_t version, const std::string& previous = "") {
    GlobalConf conf;
    conf.set_version(version);
    conf.set_instance("VN");
    conf.mutable_created_at()->set_seconds(absl::ToUnixSeconds(kNow));
    if (!previous.empty()) {
      conf.set_previous_sha256(signer::Sha256(previous));
    }
    for (uint64_t i = 0; i < version; ++i) {
      Member* m = conf.add_members();
      *m->mutable_id() = *ParseMemberId(absl::StrCat("VN/GOV/000.00.00.G", 10 + i));
      m->set_name(absl::StrCat("Agency ", i));
    }
    return conf.SerializeAsString();
  }

  SignedGlobalConf Sign(const std::string& conf, const signer::SigningKey& key,
                        absl::Time at = kNow) {
    absl::StatusOr<SignedGlobalConf> s = SignGlobalConf(conf, key, at, absl::Minutes(10));
    EXPECT_TRUE(s.ok()) << s.status();
    return *s;
  }

  absl::StatusOr<VerifiedConf> Verify(const SignedGlobalConf& s,
                                      const VerifiedConf* previous = nullptr,
                                      absl::Time now = kNow) {
    return VerifySignedConf(s, anchor_, previous, now);
  }

  signer::SigningKey key_;
  ConfAnchor anchor_;
};

TEST_F(GlobalConfTest, VerifiesWhatItSigned) {
  std::string v1 = Conf(1);
  absl::StatusOr<VerifiedConf> got = Verify(Sign(v1, key_));
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->conf.version(), 1u);
  EXPECT_EQ(got->conf.members_size(), 1);
  EXPECT_EQ(got->conf_bytes, v1);
  EXPECT_EQ(got->expires_at, kNow + absl::Minutes(10));
}

TEST_F(GlobalConfTest, RefusesContentChangedAfterSigning) {
  SignedGlobalConf s = Sign(Conf(2), key_);
  (*s.mutable_conf())[s.conf().size() - 3] ^= 1;
  absl::StatusOr<VerifiedConf> got = Verify(s);
  EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(got.status().message(), HasSubstr("does not match the signed SHA-256"));
}

TEST_F(GlobalConfTest, RefusesStatementChangedAfterSigning) {
  SignedGlobalConf s = Sign(Conf(1), key_);
  ValidityStatement st;
  ASSERT_TRUE(st.ParseFromString(s.statement()));
  st.mutable_expires_at()->set_seconds(st.expires_at().seconds() + 86400);
  s.set_statement(st.SerializeAsString());
  absl::StatusOr<VerifiedConf> got = Verify(s);
  EXPECT_THAT(got.status().message(), HasSubstr("signature does not verify"));
}

TEST_F(GlobalConfTest, RefusesConfigurationSignedByAnotherKey) {
  signer::SigningKey other = LoadKey("agencies/vpcp/seal");
  absl::StatusOr<VerifiedConf> got = Verify(Sign(Conf(1), other));
  EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(got.status().message(), HasSubstr("neither in the anchor"));
}

TEST_F(GlobalConfTest, RefusesOtherKeysSignatureUnderTheAnchorsCertificate) {
  signer::SigningKey other = LoadKey("agencies/vpcp/seal");
  SignedGlobalConf s = Sign(Conf(1), other);
  *s.mutable_cert_chain_der(0) = anchor_.signing_certs_der(0);
  absl::StatusOr<VerifiedConf> got = Verify(s);
  EXPECT_THAT(got.status().message(), HasSubstr("signature"));
  EXPECT_FALSE(got.ok());
}

TEST_F(GlobalConfTest, RefusesExpiredConfigurationWithFailedPrecondition) {
  SignedGlobalConf s = Sign(Conf(1), key_);
  EXPECT_TRUE(Verify(s, nullptr, kNow + absl::Minutes(9)).ok());
  absl::StatusOr<VerifiedConf> got = Verify(s, nullptr, kNow + absl::Minutes(10));
  EXPECT_EQ(got.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(got.status().message(), HasSubstr("expired at"));
}

TEST_F(GlobalConfTest, RefusesStatementSignedInTheFuture) {
  absl::StatusOr<VerifiedConf> got = Verify(Sign(Conf(1), key_, kNow + absl::Hours(1)));
  EXPECT_THAT(got.status().message(), HasSubstr("signed in the future"));
}

TEST_F(GlobalConfTest, RefusesVersionRollback) {
  std::string v1 = Conf(1);
  std::string v2 = Conf(2, v1);
  absl::StatusOr<VerifiedConf> have = Verify(Sign(v2, key_));
  ASSERT_TRUE(have.ok()) << have.status();
  absl::StatusOr<VerifiedConf> got = Verify(Sign(v1, key_), &*have);
  EXPECT_THAT(got.status().message(), HasSubstr("version rollback: 1 after 2"));
}

TEST_F(GlobalConfTest, FollowsTheChainAndRefusesABrokenPreviousHash) {
  std::string v1 = Conf(1);
  absl::StatusOr<VerifiedConf> have = Verify(Sign(v1, key_));
  ASSERT_TRUE(have.ok());
  EXPECT_TRUE(Verify(Sign(Conf(2, v1), key_), &*have).ok());
  absl::StatusOr<VerifiedConf> got = Verify(Sign(Conf(2, "not version 1"), key_), &*have);
  EXPECT_THAT(got.status().message(), HasSubstr("previous-hash chain broken"));
}

TEST_F(GlobalConfTest, AcceptsAFreshSignatureOverTheSameVersionButNotNewContent) {
  std::string v1 = Conf(1);
  absl::StatusOr<VerifiedConf> have = Verify(Sign(v1, key_));
  ASSERT_TRUE(have.ok());
  absl::StatusOr<VerifiedConf> resigned =
      Verify(Sign(v1, key_, kNow + absl::Minutes(1)), &*have, kNow + absl::Minutes(1));
  ASSERT_TRUE(resigned.ok()) << resigned.status();
  EXPECT_EQ(resigned->expires_at, kNow + absl::Minutes(11));

  GlobalConf changed;
  ASSERT_TRUE(changed.ParseFromString(v1));
  changed.mutable_members(0)->set_name("someone else");
  absl::StatusOr<VerifiedConf> got = Verify(Sign(changed.SerializeAsString(), key_), &*have);
  EXPECT_THAT(got.status().message(), HasSubstr("version 1 arrived with different content"));
}

TEST_F(GlobalConfTest, TrustsARotatedKeyOnlyWhenAVerifiedVersionAnnouncedIt) {
  signer::SigningKey next = LoadKey("agencies/mic/seal");  // stands in for a new key
  GlobalConf v1;
  ASSERT_TRUE(v1.ParseFromString(Conf(1)));
  *v1.add_signing_certs_der() = *signer::CertToDer(next.cert.get());
  std::string v1_bytes = v1.SerializeAsString();
  std::string v2 = Conf(2, v1_bytes);

  EXPECT_THAT(Verify(Sign(v2, next)).status().message(), HasSubstr("neither in the anchor"));
  absl::StatusOr<VerifiedConf> have = Verify(Sign(v1_bytes, key_));
  ASSERT_TRUE(have.ok());
  absl::StatusOr<VerifiedConf> got = Verify(Sign(v2, next), &*have);
  EXPECT_TRUE(got.ok()) << got.status();
}

TEST_F(GlobalConfTest, RefusesAnotherInstance) {
  anchor_.set_instance("LA");
  EXPECT_THAT(Verify(Sign(Conf(1), key_)).status().message(),
              HasSubstr("instance \"VN\" is not the anchor's \"LA\""));
}

TEST_F(GlobalConfTest, AnchorAndSignedConfSurviveTheDisk) {
  std::string dir = testing::MakeTempDir("globalconf");
  ASSERT_TRUE(WriteAnchor(anchor_, dir + "/anchor").ok());
  absl::StatusOr<ConfAnchor> anchor = ReadAnchor(dir + "/anchor");
  ASSERT_TRUE(anchor.ok()) << anchor.status();
  EXPECT_EQ(anchor->SerializeAsString(), anchor_.SerializeAsString());

  SignedGlobalConf s = Sign(Conf(3), key_);
  ASSERT_TRUE(WriteSignedConf(s, dir + "/conf.bin").ok());
  absl::StatusOr<SignedGlobalConf> back = ReadSignedConf(dir + "/conf.bin");
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(VerifySignedConf(*back, *anchor, nullptr, kNow).ok());
}

TEST_F(GlobalConfTest, RefusesAnAnchorWithoutSigningCertificates) {
  std::string dir = testing::MakeTempDir("globalconf");
  ConfAnchor bad = anchor_;
  bad.clear_signing_certs_der();
  ASSERT_TRUE(WriteAnchor(bad, dir + "/anchor").ok());
  EXPECT_THAT(ReadAnchor(dir + "/anchor").status().message(), HasSubstr("signing_certs_der"));
}

}  // namespace
}  // namespace axis::central
