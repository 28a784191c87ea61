// keys_test.cc: LoadSigningKey reads PEM, encrypted PEM and PKCS#12 keys of
// the test PKI, says clearly why it cannot, and SignRaw produces what
// XML-DSig wants (PKCS#1 / PSS bytes, ECDSA r||s).
#include "signer/keys.h"

#include <openssl/ecdsa.h>
#include <openssl/rsa.h>

#include "tests/signer/signer_fixture.h"
#include "tests/testing/process.h"

namespace axis::signer::test {
namespace {

using ::testing::HasSubstr;

std::string PasswordFile() { return Pki("p12-password.txt"); }

SecretSource Fixed(std::string secret) {
  return [secret](absl::string_view) -> absl::StatusOr<std::string> { return secret; };
}

// SignsAndVerifies checks that `key` makes a document signature the
// verifier accepts.
void ExpectSignsValidDocuments(const SigningKey& key) {
  absl::StatusOr<std::string> xml = SignDocument(kDocument, key);
  ASSERT_TRUE(xml.ok()) << xml.status();
  Report report = Verify(*xml);
  EXPECT_TRUE(report.Valid()) << ReportText(report);
}

TEST(KeysTest, LoadsPemKeyCertificateAndChain) {
  KeySpec spec;
  spec.key = Pki("agencies/vpcp/leader.key.pem");
  spec.cert_path = Pki("agencies/vpcp/leader.cert.pem");
  spec.chain_path = Pki("chain.pem");
  absl::StatusOr<SigningKey> key = LoadSigningKey(spec, NoSecret());
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_FALSE(key->on_token);
  EXPECT_EQ(EVP_PKEY_get_base_id(key->key.get()), EVP_PKEY_RSA);
  EXPECT_THAT(DescribeCertificate(key->cert.get()).subject, HasSubstr("CN=Trần Văn Thử"));
  ASSERT_EQ(key->chain.size(), 1u);
  EXPECT_THAT(DescribeCertificate(key->chain[0].get()).subject,
              HasSubstr("CN=Axis Test Issuing CA G1"));
  ExpectSignsValidDocuments(*key);
}

TEST(KeysTest, LoadsEncryptedPemWithThePassphraseFile) {
  KeySpec spec;
  spec.key = Pki("agencies/vpcp/leader.enc.key.pem");
  spec.cert_path = Pki("agencies/vpcp/leader.cert.pem");
  absl::StatusOr<SigningKey> key = LoadSigningKey(spec, SecretFromFile(PasswordFile()));
  ASSERT_TRUE(key.ok()) << key.status();
  // The same key as the unencrypted file.
  EXPECT_EQ(EVP_PKEY_eq(key->key.get(), TestKeys().vpcp_leader.key.get()), 1);
  EXPECT_TRUE(key->chain.empty());
  ExpectSignsValidDocuments(*key);
}

TEST(KeysTest, RefusesEncryptedPemWithAWrongPassphrase) {
  KeySpec spec;
  spec.key = Pki("agencies/vpcp/leader.enc.key.pem");
  spec.cert_path = Pki("agencies/vpcp/leader.cert.pem");
  absl::StatusOr<SigningKey> key = LoadSigningKey(spec, Fixed("axis-test-sai"));
  EXPECT_EQ(key.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(key.status().message(),
              HasSubstr(spec.key + ": cannot read the private key (wrong passphrase?)"));
}

TEST(KeysTest, AsksForThePassphraseOfAnEncryptedPem) {
  KeySpec spec;
  spec.key = Pki("agencies/vpcp/leader.enc.key.pem");
  spec.cert_path = Pki("agencies/vpcp/leader.cert.pem");
  std::string asked;
  SecretSource secret = [&asked](absl::string_view prompt) -> absl::StatusOr<std::string> {
    asked = std::string(prompt);
    return absl::FailedPreconditionError("no terminal");
  };
  absl::StatusOr<SigningKey> key = LoadSigningKey(spec, secret);
  EXPECT_EQ(asked, "passphrase for " + spec.key);
  // The secret source's own error is passed on.
  EXPECT_EQ(key.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(key.status().message(), HasSubstr("no terminal"));

  key = LoadSigningKey(spec, NoSecret());
  EXPECT_EQ(key.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(key.status().message(), HasSubstr("a passphrase for " + spec.key + " is needed"));
}

TEST(KeysTest, DoesNotAskForAPassphraseOfAPlainPem) {
  KeySpec spec;
  spec.key = Pki("agencies/mic/leader.key.pem");
  spec.cert_path = Pki("agencies/mic/leader.cert.pem");
  // NoSecret would fail if asked.
  EXPECT_TRUE(LoadSigningKey(spec, NoSecret()).ok());
}

TEST(KeysTest, LoadsPkcs12WithItsChain) {
  KeySpec spec;
  spec.key = Pki("agencies/mic/leader.p12");
  absl::StatusOr<SigningKey> key = LoadSigningKey(spec, SecretFromFile(PasswordFile()));
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ(EVP_PKEY_get_base_id(key->key.get()), EVP_PKEY_EC);
  EXPECT_THAT(DescribeCertificate(key->cert.get()).subject, HasSubstr("OU=000.00.00.G12"));
  ASSERT_EQ(key->chain.size(), 2u);  // issuing CA and root, from the file
  ExpectSignsValidDocuments(*key);
}

TEST(KeysTest, LoadsRsaPkcs12) {
  KeySpec spec;
  spec.key = Pki("agencies/vpcp/leader.p12");
  absl::StatusOr<SigningKey> key = LoadSigningKey(spec, SecretFromFile(PasswordFile()));
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ(EVP_PKEY_eq(key->key.get(), TestKeys().vpcp_leader.key.get()), 1);
  ExpectSignsValidDocuments(*key);
}

TEST(KeysTest, RefusesPkcs12WithAWrongPassword) {
  KeySpec spec;
  spec.key = Pki("agencies/vpcp/leader.p12");
  absl::StatusOr<SigningKey> key = LoadSigningKey(spec, Fixed("sai-mat-khau"));
  EXPECT_EQ(key.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(key.status().message(), HasSubstr(spec.key + ": wrong PKCS#12 password"));
}

TEST(KeysTest, RefusesAFileThatIsNotPkcs12) {
  KeySpec spec;
  spec.key = Pki("agencies/vpcp/leader.cert.pem");
  std::string dir = axis::testing::MakeTempDir("keys");
  spec.key = dir + "/leader.p12";
  WriteTestFile(spec.key, ReadTestFile(Pki("agencies/vpcp/leader.cert.pem")));
  absl::StatusOr<SigningKey> key = LoadSigningKey(spec, SecretFromFile(PasswordFile()));
  EXPECT_EQ(key.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(key.status().message(), HasSubstr(spec.key + ": not a PKCS#12 file"));
}

TEST(KeysTest, RefusesACertificateThatDoesNotMatchTheKey) {
  KeySpec spec;
  spec.key = Pki("agencies/vpcp/leader.key.pem");
  spec.cert_path = Pki("agencies/vpcp/seal.cert.pem");
  absl::StatusOr<SigningKey> key = LoadSigningKey(spec, NoSecret());
  EXPECT_EQ(key.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(
      key.status().message(),
      HasSubstr(spec.key + ": the certificate's public key does not match the private key"));

  // Also when the PKCS#12 file's certificate is overridden.
  KeySpec p12;
  p12.key = Pki("agencies/vpcp/leader.p12");
  p12.cert_path = Pki("agencies/mic/leader.cert.pem");
  key = LoadSigningKey(p12, SecretFromFile(PasswordFile()));
  EXPECT_EQ(key.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(key.status().message(), HasSubstr("does not match the private key"));
}

TEST(KeysTest, RequiresACertificateForAPemKey) {
  KeySpec spec;
  spec.key = Pki("agencies/vpcp/leader.key.pem");
  absl::StatusOr<SigningKey> key = LoadSigningKey(spec, NoSecret());
  EXPECT_EQ(key.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(key.status().message(),
              HasSubstr(spec.key + ": a PEM key needs its certificate (--cert)"));
}

TEST(KeysTest, NamesAMissingKeyFile) {
  KeySpec spec;
  spec.key = Pki("agencies/vpcp/no-such.key.pem");
  spec.cert_path = Pki("agencies/vpcp/leader.cert.pem");
  absl::StatusOr<SigningKey> key = LoadSigningKey(spec, NoSecret());
  EXPECT_FALSE(key.ok());
  EXPECT_THAT(key.status().message(), HasSubstr("no-such.key.pem"));
}

TEST(KeysTest, RefusesAPinInAPkcs11Uri) {
  KeySpec spec;
  spec.key = "pkcs11:token=axis-leader;object=leader;type=private;pin-value=1234";
  absl::StatusOr<SigningKey> key = LoadSigningKey(spec, NoSecret());
  EXPECT_EQ(key.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(key.status().message(), HasSubstr("pkcs11 URI: pin-value is refused"));
  spec.key = "pkcs11:token=axis-leader;object=leader?pin-value=1234";
  key = LoadSigningKey(spec, NoSecret());
  EXPECT_EQ(key.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(key.status().message(), HasSubstr("pkcs11 URI: pin-value is refused"));
}

TEST(KeysTest, SecretFromFileReadsTheFirstLine) {
  std::string dir = axis::testing::MakeTempDir("secret");
  WriteTestFile(dir + "/pass", "mật-khẩu\r\nsecond line\n");
  absl::StatusOr<std::string> secret = SecretFromFile(dir + "/pass")("passphrase");
  ASSERT_TRUE(secret.ok()) << secret.status();
  EXPECT_EQ(*secret, "mật-khẩu");
  EXPECT_EQ(*SecretFromFile(PasswordFile())("passphrase"), "axis-test");
  EXPECT_FALSE(SecretFromFile(dir + "/missing")("passphrase").ok());
}

TEST(KeysTest, NoSecretSaysWhatWasNeeded) {
  absl::StatusOr<std::string> secret = NoSecret()("PIN for pkcs11:token=x");
  EXPECT_EQ(secret.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(secret.status().message(), HasSubstr("a PIN for pkcs11:token=x is needed"));
}

// VerifyRaw checks a SignRaw result against the certificate's public key,
// turning r||s back into DER for ECDSA.
bool VerifyRaw(X509* cert, const EVP_MD* md, bool pss, const std::string& data,
               const std::string& raw) {
  EVP_PKEY* pub = X509_get0_pubkey(cert);
  std::string sig = raw;
  if (EVP_PKEY_get_base_id(pub) == EVP_PKEY_EC) {
    size_t half = raw.size() / 2;
    UniquePtr<ECDSA_SIG> ec(ECDSA_SIG_new());
    BIGNUM* r = BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()), half, nullptr);
    BIGNUM* s = BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()) + half, half, nullptr);
    ECDSA_SIG_set0(ec.get(), r, s);
    unsigned char* der = nullptr;
    int len = i2d_ECDSA_SIG(ec.get(), &der);
    sig.assign(reinterpret_cast<char*>(der), len);
    OPENSSL_free(der);
  }
  UniquePtr<EVP_MD_CTX> ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;
  if (EVP_DigestVerifyInit(ctx.get(), &pctx, md, nullptr, pub) != 1) {
    return false;
  }
  if (pss) {
    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, EVP_MD_get_size(md));
  }
  return EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                          reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
}

TEST(KeysTest, SignRawGivesRawEcdsaSignatures) {
  const std::string data = "<ds:SignedInfo>Quyết định</ds:SignedInfo>";
  const SigningKey& p256 = TestKeys().mic_leader;
  absl::StatusOr<std::string> sig = SignRaw(p256.key.get(), EVP_sha256(), false, data);
  ASSERT_TRUE(sig.ok()) << sig.status();
  EXPECT_EQ(sig->size(), 64u);
  EXPECT_TRUE(VerifyRaw(p256.cert.get(), EVP_sha256(), false, data, *sig));
  EXPECT_FALSE(VerifyRaw(p256.cert.get(), EVP_sha256(), false, data + " ", *sig));

  const SigningKey& p384 = TestKeys().quangninh_leader;
  sig = SignRaw(p384.key.get(), EVP_sha384(), false, data);
  ASSERT_TRUE(sig.ok()) << sig.status();
  EXPECT_EQ(sig->size(), 96u);
  EXPECT_TRUE(VerifyRaw(p384.cert.get(), EVP_sha384(), false, data, *sig));
}

TEST(KeysTest, SignRawGivesRsaPkcs1AndPssSignatures) {
  const std::string data = "<ds:SignedInfo>Quyết định</ds:SignedInfo>";
  const SigningKey& rsa = TestKeys().vpcp_leader;
  absl::StatusOr<std::string> plain = SignRaw(rsa.key.get(), EVP_sha256(), false, data);
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_EQ(plain->size(), 256u);
  EXPECT_TRUE(VerifyRaw(rsa.cert.get(), EVP_sha256(), false, data, *plain));
  EXPECT_FALSE(VerifyRaw(rsa.cert.get(), EVP_sha256(), true, data, *plain));

  absl::StatusOr<std::string> pss = SignRaw(rsa.key.get(), EVP_sha256(), true, data);
  ASSERT_TRUE(pss.ok()) << pss.status();
  EXPECT_TRUE(VerifyRaw(rsa.cert.get(), EVP_sha256(), true, data, *pss));
  EXPECT_FALSE(VerifyRaw(rsa.cert.get(), EVP_sha256(), false, data, *pss));
  // PSS is randomised; PKCS#1 v1.5 is not.
  EXPECT_NE(*pss, *SignRaw(rsa.key.get(), EVP_sha256(), true, data));
  EXPECT_EQ(*plain, *SignRaw(rsa.key.get(), EVP_sha256(), false, data));
}

}  // namespace
}  // namespace axis::signer::test
