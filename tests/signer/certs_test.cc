// certs_test.cc: certificate parsing (all input consumed), what reports say
// about a certificate, the key-strength policy, and chain validation at a
// given time with and without the CRL, on the test PKI.
#include "signer/certs.h"

#include <openssl/evp.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "tests/signer/signer_fixture.h"

namespace axis::signer::test {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::SizeIs;

absl::Time Utc(int y, int m, int d, int hh = 0, int mm = 0, int ss = 0) {
  return absl::FromCivil(absl::CivilSecond(y, m, d, hh, mm, ss), absl::UTCTimeZone());
}

ChainResult Validate(const std::string& leaf, absl::Time at, bool crls = true,
                     const TrustStore& trust = Trust()) {
  UniquePtr<X509> cert = CertOf(leaf);
  return ValidateChain(cert.get(), {}, trust, at, crls);
}

// ---------------------------------------------------------------------------
// Parsing.

TEST(CertsTest, ParsesEveryCertificateOfAPemBundle) {
  absl::StatusOr<std::vector<UniquePtr<X509>>> certs =
      ParsePemCertificates(ReadTestFile(Pki("ca-bundle.pem")), "ca-bundle.pem");
  ASSERT_TRUE(certs.ok()) << certs.status();
  ASSERT_THAT(*certs, SizeIs(2));
  EXPECT_THAT(DescribeCertificate((*certs)[0].get()).subject, HasSubstr("Issuing CA G1"));
  EXPECT_THAT(DescribeCertificate((*certs)[1].get()).subject, HasSubstr("Root CA G1"));
}

TEST(CertsTest, RefusesPemWithoutCertificate) {
  absl::StatusOr<std::vector<UniquePtr<X509>>> certs =
      ParsePemCertificates("chỉ là văn bản, không có chứng thư", "notes.txt");
  EXPECT_EQ(certs.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(certs.status().message(), HasSubstr("notes.txt: no PEM certificate found"));

  certs = ParsePemCertificates("", "empty.pem");
  EXPECT_THAT(certs.status().message(), HasSubstr("empty.pem: no PEM certificate found"));

  // A private key is not a certificate.
  certs = ParsePemCertificates(ReadTestFile(Pki("agencies/vpcp/leader.key.pem")), "leader.key.pem");
  EXPECT_EQ(certs.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(certs.status().message(), HasSubstr("leader.key.pem: no PEM certificate found"));
}

TEST(CertsTest, RefusesACorruptPemCertificate) {
  std::string pem = ReadTestFile(Pki("agencies/vpcp/leader.cert.pem"));
  size_t body = pem.find('\n') + 40;
  pem.replace(body, 8, "!!!!!!!!");
  absl::StatusOr<std::vector<UniquePtr<X509>>> certs = ParsePemCertificates(pem, "leader.cert.pem");
  EXPECT_EQ(certs.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(certs.status().message(), HasSubstr("leader.cert.pem: bad PEM certificate"));
}

TEST(CertsTest, RefusesACorruptCertificateAfterAGoodOne) {
  std::string good = ReadTestFile(Pki("agencies/vpcp/leader.cert.pem"));
  std::string bad = good;
  bad.replace(bad.find('\n') + 40, 8, "!!!!!!!!");
  absl::StatusOr<std::vector<UniquePtr<X509>>> certs = ParsePemCertificates(good + bad, "two.pem");
  EXPECT_EQ(certs.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(certs.status().message(), HasSubstr("two.pem: bad PEM certificate"));
}

TEST(CertsTest, LoadPemCertificatesNamesTheFile) {
  absl::StatusOr<std::vector<UniquePtr<X509>>> certs = LoadPemCertificates(Pki("no-such-file.pem"));
  EXPECT_FALSE(certs.ok());
  EXPECT_THAT(certs.status().message(), HasSubstr("no-such-file.pem"));
  certs = LoadPemCertificates(Pki("p12-password.txt"));
  EXPECT_THAT(certs.status().message(), HasSubstr("p12-password.txt: no PEM certificate found"));
}

TEST(CertsTest, ParsesDerAndRoundTrips) {
  UniquePtr<X509> cert = CertOf("agencies/mic/leader.cert.pem");
  std::string der = CertificateDer(cert.get());
  absl::StatusOr<UniquePtr<X509>> again = ParseDerCertificate(der);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(X509_cmp(cert.get(), again->get()), 0);
  EXPECT_EQ(CertificateDer(again->get()), der);
}

TEST(CertsTest, RefusesTrailingBytesAfterDer) {
  std::string der = CertificateDer(CertOf("agencies/mic/leader.cert.pem").get());
  absl::StatusOr<UniquePtr<X509>> cert = ParseDerCertificate(der + std::string("\0", 1));
  EXPECT_EQ(cert.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(cert.status().message(),
              HasSubstr("certificate: trailing bytes after the DER certificate"));
  // Two certificates back to back are trailing bytes too.
  cert = ParseDerCertificate(der + der);
  EXPECT_THAT(cert.status().message(), HasSubstr("trailing bytes"));
}

TEST(CertsTest, RefusesTruncatedOrGarbageDer) {
  std::string der = CertificateDer(CertOf("agencies/mic/leader.cert.pem").get());
  absl::StatusOr<UniquePtr<X509>> cert = ParseDerCertificate(der.substr(0, der.size() - 1));
  EXPECT_EQ(cert.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(cert.status().message(), HasSubstr("certificate: not a DER X.509 certificate"));
  cert = ParseDerCertificate("");
  EXPECT_THAT(cert.status().message(), HasSubstr("not a DER X.509 certificate"));
}

// ---------------------------------------------------------------------------
// Descriptions.

TEST(CertsTest, DescribesAnRsaLeader) {
  UniquePtr<X509> cert = CertOf("agencies/vpcp/leader.cert.pem");
  CertificateInfo info = DescribeCertificate(cert.get());
  EXPECT_THAT(info.subject, HasSubstr("CN=Trần Văn Thử"));
  EXPECT_THAT(info.subject, HasSubstr("OU=000.00.00.G22"));
  EXPECT_THAT(info.subject, HasSubstr("O=Văn phòng Chính phủ"));
  EXPECT_THAT(info.subject, HasSubstr("C=VN"));
  EXPECT_EQ(info.issuer,
            "CN=Axis Test Issuing CA G1,OU=Axis Test PKI (NOT FOR PRODUCTION),"
            "O=Ban Cơ yếu Chính phủ,C=VN");
  EXPECT_EQ(info.serial_hex, "1001");
  EXPECT_EQ(info.not_before, Utc(2025, 1, 1));
  EXPECT_EQ(info.not_after, Utc(2049, 12, 31, 23, 59, 59));
  EXPECT_EQ(info.key_type, "RSA-2048");
  EXPECT_THAT(info.key_usage, ElementsAre("digitalSignature", "nonRepudiation"));
  // The fingerprint is read from the file, never hard-coded (keys change
  // on regeneration).
  std::string der = CertificateDer(cert.get());
  unsigned char md[32];
  EVP_Digest(der.data(), der.size(), md, nullptr, EVP_sha256(), nullptr);
  EXPECT_EQ(info.sha256_hex,
            absl::BytesToHexString(absl::string_view(reinterpret_cast<char*>(md), 32)));
}

TEST(CertsTest, DescribesEcLeadersByCurve) {
  CertificateInfo mic = DescribeCertificate(CertOf("agencies/mic/leader.cert.pem").get());
  EXPECT_EQ(mic.key_type, "EC-P-256");
  EXPECT_THAT(mic.subject, HasSubstr("OU=000.00.00.G12"));
  EXPECT_EQ(mic.serial_hex, "1101");
  CertificateInfo qn = DescribeCertificate(CertOf("agencies/quangninh/leader.cert.pem").get());
  EXPECT_EQ(qn.key_type, "EC-P-384");
  EXPECT_THAT(qn.subject, HasSubstr("OU=000.00.00.H49"));
  EXPECT_EQ(qn.serial_hex, "1201");
}

TEST(CertsTest, DescribesKeyUsageOfOtherCertificates) {
  EXPECT_THAT(DescribeCertificate(CertOf("negative/wrong-usage-leader.cert.pem").get()).key_usage,
              ElementsAre("keyEncipherment"));
  EXPECT_THAT(DescribeCertificate(CertOf("chain.pem").get()).key_usage,
              ElementsAre("keyCertSign", "cRLSign"));
  EXPECT_EQ(DescribeCertificate(CertOf("negative/rsa1024-leader.cert.pem").get()).key_type,
            "RSA-1024");
  EXPECT_EQ(DescribeCertificate(CertOf("negative/revoked-leader.cert.pem").get()).serial_hex,
            "F001");
}

TEST(CertsTest, ConvertsAsn1Times) {
  UniquePtr<X509> cert = CertOf("negative/notyet-leader.cert.pem");
  EXPECT_EQ(Asn1TimeToAbsl(X509_get0_notBefore(cert.get())), Utc(2090, 1, 1));
  EXPECT_EQ(Asn1TimeToAbsl(nullptr), absl::InfinitePast());
}

// ---------------------------------------------------------------------------
// Key strength.

UniquePtr<EVP_PKEY> KeyOf(const std::string& cert_file) {
  UniquePtr<X509> cert = CertOf(cert_file);
  EVP_PKEY* key = X509_get_pubkey(cert.get());
  return UniquePtr<EVP_PKEY>(key);
}

TEST(CertsTest, AcceptsStrongKeys) {
  EXPECT_EQ(KeyStrengthProblem(KeyOf("agencies/vpcp/leader.cert.pem").get()), "");
  EXPECT_EQ(KeyStrengthProblem(KeyOf("agencies/mic/leader.cert.pem").get()), "");
  EXPECT_EQ(KeyStrengthProblem(KeyOf("agencies/quangninh/leader.cert.pem").get()), "");
  UniquePtr<EVP_PKEY> p521(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-521"));
  EXPECT_EQ(KeyStrengthProblem(p521.get()), "");
}

TEST(CertsTest, RefusesWeakOrOddKeys) {
  EXPECT_EQ(KeyStrengthProblem(KeyOf("negative/rsa1024-leader.cert.pem").get()),
            "RSA key of 1024 bits is below the minimum of 2048");
  UniquePtr<EVP_PKEY> k256(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "secp256k1"));
  EXPECT_EQ(KeyStrengthProblem(k256.get()),
            "EC curve secp256k1 is not allowed (P-256, P-384, P-521)");
  UniquePtr<EVP_PKEY> p224(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-224"));
  EXPECT_EQ(KeyStrengthProblem(p224.get()),
            "EC curve secp224r1 is not allowed (P-256, P-384, P-521)");
  UniquePtr<EVP_PKEY> ed(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  EXPECT_EQ(KeyStrengthProblem(ed.get()), "key type ED25519 is refused");
}

// ---------------------------------------------------------------------------
// Chains.

TEST(CertsTest, ValidatesALeaderWithAndWithoutTheCrl) {
  for (bool crls : {true, false}) {
    ChainResult r = Validate("agencies/vpcp/leader.cert.pem", EvaluationTime(), crls);
    EXPECT_TRUE(r.valid) << r.error;
    EXPECT_EQ(r.error, "");
    EXPECT_FALSE(r.revoked);
    ASSERT_THAT(r.chain, SizeIs(3));
    EXPECT_THAT(r.chain[0], HasSubstr("CN=Trần Văn Thử"));
    EXPECT_THAT(r.chain[1], HasSubstr("CN=Axis Test Issuing CA G1"));
    EXPECT_THAT(r.chain[2], HasSubstr("CN=Axis Test Root CA G1"));
    EXPECT_THAT(r.certs, SizeIs(3));
  }
  // A store without CRLs does not check revocation either way.
  EXPECT_TRUE(Validate("agencies/mic/seal.cert.pem", EvaluationTime(), true, Trust(false)).valid);
}

TEST(CertsTest, FindsTheRevokedLeaderOnlyWithTheCrl) {
  ChainResult checked = Validate("negative/revoked-leader.cert.pem", EvaluationTime());
  EXPECT_FALSE(checked.valid);
  EXPECT_TRUE(checked.revoked);
  EXPECT_EQ(checked.error, "certificate revoked");

  ChainResult unchecked = Validate("negative/revoked-leader.cert.pem", EvaluationTime(), false);
  EXPECT_TRUE(unchecked.valid) << unchecked.error;
  EXPECT_FALSE(unchecked.revoked);
  EXPECT_TRUE(
      Validate("negative/revoked-leader.cert.pem", EvaluationTime(), true, Trust(false)).valid);
}

TEST(CertsTest, CannotUseTheCrlBeforeItWasIssued) {
  ChainResult r = Validate("agencies/vpcp/leader.cert.pem", Utc(2025, 6, 1));
  EXPECT_FALSE(r.valid);
  EXPECT_FALSE(r.revoked);
  EXPECT_EQ(r.error, "CRL is not yet valid");
  EXPECT_TRUE(Validate("agencies/vpcp/leader.cert.pem", Utc(2025, 6, 1), false).valid);
}

TEST(CertsTest, RequiresACrlForTheLeafWhenCrlsAreChecked) {
  // untrusted-root issues no CRL in the store: its leaf cannot be checked.
  absl::StatusOr<TrustStore> trust =
      TrustStore::FromPemFiles({Pki("negative/untrusted-root.cert.pem")}, {}, {Pki("crl.pem")});
  ASSERT_TRUE(trust.ok()) << trust.status();
  ChainResult r = Validate("negative/untrusted-leader.cert.pem", EvaluationTime(), true, *trust);
  EXPECT_FALSE(r.valid);
  EXPECT_EQ(r.error, "unable to get certificate CRL");
  EXPECT_TRUE(
      Validate("negative/untrusted-leader.cert.pem", EvaluationTime(), false, *trust).valid);
}

TEST(CertsTest, RefusesExpiredAndNotYetValidLeaders) {
  ChainResult expired = Validate("negative/expired-leader.cert.pem", EvaluationTime());
  EXPECT_FALSE(expired.valid);
  EXPECT_EQ(expired.error, "certificate has expired");
  ChainResult notyet = Validate("negative/notyet-leader.cert.pem", EvaluationTime());
  EXPECT_FALSE(notyet.valid);
  EXPECT_EQ(notyet.error, "certificate is not yet valid");
  // Within the leaf's own validity, the CAs (2025..2055) are not: no time
  // makes these chains valid.
  ChainResult in_2020 = Validate("negative/expired-leader.cert.pem", Utc(2020, 6, 1), false);
  EXPECT_FALSE(in_2020.valid);
  EXPECT_THAT(in_2020.error, HasSubstr("certificate is not yet valid (at chain depth"));
  ChainResult in_2091 = Validate("negative/notyet-leader.cert.pem", Utc(2091, 1, 1), false);
  EXPECT_FALSE(in_2091.valid);
  EXPECT_THAT(in_2091.error, HasSubstr("certificate has expired (at chain depth"));
}

TEST(CertsTest, RefusesALeaderOfAnotherRoot) {
  ChainResult r = Validate("negative/untrusted-leader.cert.pem", EvaluationTime(), false);
  EXPECT_FALSE(r.valid);
  EXPECT_EQ(r.error, "unable to get local issuer certificate");
  // Even when the stranger's root is offered as an intermediate.
  UniquePtr<X509> leaf = CertOf("negative/untrusted-leader.cert.pem");
  UniquePtr<X509> root = CertOf("negative/untrusted-root.cert.pem");
  ChainResult offered = ValidateChain(leaf.get(), {root.get()}, Trust(), EvaluationTime(), false);
  EXPECT_FALSE(offered.valid);
  EXPECT_EQ(offered.error, "self-signed certificate in certificate chain (at chain depth 1)");
}

TEST(CertsTest, BuildsTheChainFromOfferedIntermediates) {
  absl::StatusOr<TrustStore> roots_only = TrustStore::FromPemFiles({Pki("roots.pem")}, {}, {});
  ASSERT_TRUE(roots_only.ok()) << roots_only.status();
  UniquePtr<X509> leaf = CertOf("agencies/quangninh/leader.cert.pem");
  ChainResult without = ValidateChain(leaf.get(), {}, *roots_only, EvaluationTime());
  EXPECT_FALSE(without.valid);
  EXPECT_EQ(without.error, "unable to get local issuer certificate");
  UniquePtr<X509> issuing = CertOf("chain.pem");
  ChainResult with = ValidateChain(leaf.get(), {issuing.get()}, *roots_only, EvaluationTime());
  EXPECT_TRUE(with.valid) << with.error;
  EXPECT_THAT(with.chain, SizeIs(3));
}

TEST(CertsTest, TrustStoreNamesFilesItCannotRead) {
  absl::StatusOr<TrustStore> t = TrustStore::FromPemFiles({Pki("missing-roots.pem")}, {}, {});
  EXPECT_FALSE(t.ok());
  EXPECT_THAT(t.status().message(), HasSubstr("missing-roots.pem"));
  t = TrustStore::FromPemFiles({Pki("roots.pem")}, {}, {Pki("chain.pem")});
  EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(t.status().message(), HasSubstr("chain.pem: no PEM CRL found"));
  t = TrustStore::FromPemFiles({Pki("crl.pem")}, {}, {});
  EXPECT_THAT(t.status().message(), HasSubstr("crl.pem: no PEM certificate found"));
  t = TrustStore::FromPemFiles({Pki("roots.pem")}, {Pki("chain.pem")}, {Pki("crl.pem")});
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_THAT(t->roots(), SizeIs(1));
  EXPECT_THAT(t->intermediates(), SizeIs(1));
  EXPECT_THAT(t->crls(), SizeIs(1));
}

}  // namespace
}  // namespace axis::signer::test
