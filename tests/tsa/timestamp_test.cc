// Tests of signer/timestamp.cc's token verification. They live here rather
// than in tests/signer/ because their tokens come from a real, in-process
// TimeStampAuthority (RequestTimestamp over HTTP is in tsa_test.cc).
#include "signer/timestamp.h"

#include <openssl/cms.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "signer/keys.h"
#include "tests/testing/paths.h"
#include "tests/testing/process.h"
#include "tests/tsa/tsa_fixture.h"
#include "tsa/authority.h"

namespace axis::signer {
namespace {

using ::testing::HasSubstr;
using tsa::test::ParseReply;
using tsa::test::PkiTrust;
using tsa::test::RequestDer;
using tsa::test::TokenOf;

class TimestampTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = axis::testing::MakeTempDir("timestamp");
    auto tsa = tsa::TimeStampAuthority::Create(tsa::test::TestConfig(dir_), &clock_);
    ASSERT_TRUE(tsa.ok()) << tsa.status();
    tsa_ = std::move(*tsa);
  }

  std::string Token(const MessageImprint& imprint, bool cert_req = true) {
    absl::StatusOr<std::string> reply = tsa_->Respond(RequestDer(imprint, cert_req));
    EXPECT_TRUE(reply.ok()) << reply.status();
    UniquePtr<TS_RESP> resp = ParseReply(*reply);
    EXPECT_NE(resp, nullptr);
    return resp == nullptr ? "" : TokenOf(resp.get());
  }

  static MessageImprint Imprint(absl::string_view data, int nid = NID_sha256) {
    absl::StatusOr<MessageImprint> imprint = ImprintOf(data, nid);
    EXPECT_TRUE(imprint.ok()) << imprint.status();
    return *imprint;
  }

  std::string dir_;
  tsa::test::FakeClock clock_{absl::FromUnixSeconds(1893553445)};  // 2030-01-02T03:04:05Z
  std::unique_ptr<tsa::TimeStampAuthority> tsa_;
};

TEST_F(TimestampTest, VerifiesTokenOverSha384AndSha512Imprints) {
  for (int nid : {NID_sha256, NID_sha384, NID_sha512}) {
    MessageImprint imprint = Imprint("merkle root", nid);
    absl::StatusOr<TimestampInfo> info = VerifyTimestampToken(Token(imprint), imprint, PkiTrust());
    ASSERT_TRUE(info.ok()) << info.status();
    EXPECT_EQ(info->gen_time, clock_.Now());
  }
}

TEST_F(TimestampTest, RefusesTokenOverOtherData) {
  std::string token = Token(Imprint("the original"));
  absl::StatusOr<TimestampInfo> info =
      VerifyTimestampToken(token, Imprint("something else"), PkiTrust());
  EXPECT_EQ(info.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(info.status().message(), HasSubstr("the time-stamp is over other data"));
}

TEST_F(TimestampTest, RefusesTokenOverSameBytesUnderAnotherHash) {
  MessageImprint sha256 = Imprint("d");
  std::string token = Token(sha256);
  MessageImprint claimed = Imprint("d", NID_sha512);
  absl::StatusOr<TimestampInfo> info = VerifyTimestampToken(token, claimed, PkiTrust());
  EXPECT_THAT(info.status().message(), HasSubstr("the time-stamp is over other data"));
}

TEST_F(TimestampTest, AlteredImprintInTokenIsASignatureFailureNotAMismatch) {
  MessageImprint imprint = Imprint("decree");
  std::string token = Token(imprint);
  // Point the token at other data by rewriting its imprint in place.
  size_t at = token.find(imprint.digest);
  ASSERT_NE(at, std::string::npos);
  token[at] ^= 0x01;
  MessageImprint other = imprint;
  other.digest[0] ^= 0x01;
  absl::StatusOr<TimestampInfo> info = VerifyTimestampToken(token, other, PkiTrust());
  EXPECT_EQ(info.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(info.status().message(), HasSubstr("signature does not verify"));
}

TEST_F(TimestampTest, RefusesTokenWithAlteredSignatureValue) {
  MessageImprint imprint = Imprint("decree");
  std::string token = Token(imprint);
  token[token.size() - 10] ^= 0x40;  // inside the RSA signature, the last field
  absl::StatusOr<TimestampInfo> info = VerifyTimestampToken(token, imprint, PkiTrust());
  EXPECT_THAT(info.status().message(), HasSubstr("signature does not verify"));
}

TEST_F(TimestampTest, RefusesTsaThatDoesNotChainToTheTrustStore) {
  MessageImprint imprint = Imprint("decree");
  auto other = TrustStore::FromPemFiles(
      {axis::testing::PkiPath("negative/untrusted-root.cert.pem")}, {}, {});
  ASSERT_TRUE(other.ok()) << other.status();
  absl::StatusOr<TimestampInfo> info = VerifyTimestampToken(Token(imprint), imprint, *other);
  EXPECT_EQ(info.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(info.status().message(), HasSubstr("does not chain to a trusted root"));
  EXPECT_THAT(info.status().message(), HasSubstr("Axis Test TSA G1"));
}

TEST_F(TimestampTest, ValidatesTheTsaAtTheTimeAsked) {
  MessageImprint imprint = Imprint("decree");
  std::string token = Token(imprint);
  absl::StatusOr<TimestampInfo> later =
      VerifyTimestampToken(token, imprint, PkiTrust(), absl::FromUnixSeconds(2556144000));  // 2051
  EXPECT_THAT(later.status().message(), HasSubstr("certificate has expired"));
  EXPECT_TRUE(VerifyTimestampToken(token, imprint, PkiTrust(), absl::FromUnixSeconds(1800000000))
                  .ok());
}

TEST_F(TimestampTest, FindsTheTsaCertificateInTheTrustStoreWhenTheTokenHasNone) {
  MessageImprint imprint = Imprint("decree");
  std::string token = Token(imprint, /*cert_req=*/false);
  absl::StatusOr<TimestampInfo> info = VerifyTimestampToken(token, imprint, PkiTrust());
  EXPECT_THAT(info.status().message(), HasSubstr("signing certificate is neither in the token"));
  TrustStore trust = PkiTrust();
  auto tsa_cert = LoadPemCertificates(axis::testing::PkiPath("tsa/tsa.cert.pem"));
  ASSERT_TRUE(tsa_cert.ok());
  trust.AddIntermediate(std::move(tsa_cert->front()));
  EXPECT_TRUE(VerifyTimestampToken(token, imprint, trust).ok());
}

// A token signed by a certificate that is no TSA's: the same TSTInfo,
// re-signed as CMS with the vpcp seal (OpenSSL's TSA code would refuse that
// certificate, so the token is built by hand).
TEST_F(TimestampTest, RefusesTokenSignedByCertificateWithoutTimeStampingUsage) {
  MessageImprint imprint = Imprint("decree");
  std::string genuine = Token(imprint);
  const unsigned char* p = reinterpret_cast<const unsigned char*>(genuine.data());
  UniquePtr<PKCS7> p7(d2i_PKCS7(nullptr, &p, static_cast<long>(genuine.size())));
  ASSERT_NE(p7, nullptr);
  UniquePtr<TS_TST_INFO> tst(PKCS7_to_TS_TST_INFO(p7.get()));
  ASSERT_NE(tst, nullptr);
  int len = i2d_TS_TST_INFO(tst.get(), nullptr);
  std::string content(static_cast<size_t>(len), '\0');
  unsigned char* out = reinterpret_cast<unsigned char*>(content.data());
  i2d_TS_TST_INFO(tst.get(), &out);

  KeySpec spec{axis::testing::PkiPath("agencies/vpcp/seal.key.pem"),
               axis::testing::PkiPath("agencies/vpcp/seal.cert.pem"), ""};
  absl::StatusOr<SigningKey> seal = LoadSigningKey(spec, NoSecret());
  ASSERT_TRUE(seal.ok()) << seal.status();
  UniquePtr<BIO> in(BIO_new_mem_buf(content.data(), static_cast<int>(content.size())));
  UniquePtr<CMS_ContentInfo> cms(CMS_sign(seal->cert.get(), seal->key.get(), nullptr, nullptr,
                                          CMS_BINARY | CMS_PARTIAL | CMS_NOSMIMECAP));
  ASSERT_NE(cms, nullptr);
  ASSERT_EQ(CMS_set1_eContentType(cms.get(), OBJ_nid2obj(NID_id_smime_ct_TSTInfo)), 1);
  ASSERT_EQ(CMS_final(cms.get(), in.get(), nullptr, CMS_BINARY), 1);
  len = i2d_CMS_ContentInfo(cms.get(), nullptr);
  std::string forged(static_cast<size_t>(len), '\0');
  out = reinterpret_cast<unsigned char*>(forged.data());
  i2d_CMS_ContentInfo(cms.get(), &out);

  absl::StatusOr<TimestampInfo> info = VerifyTimestampToken(forged, imprint, PkiTrust());
  EXPECT_EQ(info.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(info.status().message(), HasSubstr("is not a time-stamping certificate"));
}

TEST_F(TimestampTest, RefusesMalformedTokens) {
  MessageImprint imprint = Imprint("decree");
  std::string token = Token(imprint);
  for (const std::string& bad : {std::string("not DER"), std::string(), token + "x",
                                 token.substr(0, token.size() / 2)}) {
    absl::StatusOr<TimestampInfo> info = VerifyTimestampToken(bad, imprint, PkiTrust());
    EXPECT_EQ(info.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(info.status().message(), HasSubstr("malformed time-stamp token"));
  }
}

TEST(ImprintTest, RefusesWeakHashes) {
  EXPECT_EQ(ImprintOf("x", NID_sha1).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ImprintOf("x", NID_md5).status().code(), absl::StatusCode::kInvalidArgument);
  MessageImprint sha1{NID_sha1, std::string(20, 'a')};
  EXPECT_EQ(VerifyTimestampToken("", sha1, TrustStore()).status().code(),
            absl::StatusCode::kInvalidArgument);
  MessageImprint short_digest{NID_sha256, "abc"};
  EXPECT_EQ(RequestTimestamp("http://127.0.0.1:1/", short_digest).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace axis::signer
