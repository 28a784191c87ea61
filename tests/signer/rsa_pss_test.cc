// rsa_pss_test.cc: the RSA-PSS xmlsec transforms sign and verify enveloped
// XML-DSig signatures, refuse short keys, and interoperate with the JDK's
// javax.xml.crypto.dsig (tests/interop/JdkVerify.java) in both directions.
#include "signer/internal/dsig.h"
#include "signer/internal/rsa_pss.h"
#include "signer/xml.h"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <xmlsec/crypto.h>
#include <xmlsec/errors.h>
#include <xmlsec/openssl/crypto.h>
#include <xmlsec/openssl/evp.h>
#include <xmlsec/templates.h>
#include <xmlsec/xmldsig.h>
#include <xmlsec/xmlsec.h>
#include <xmlsec/xmltree.h>

#include <cctype>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "common/c_ptr.h"
#include "gtest/gtest.h"
#include "tests/testing/paths.h"
#include "tests/testing/process.h"


namespace axis::signer::internal {
namespace {

const xmlChar* X(const char* s) { return reinterpret_cast<const xmlChar*>(s); }

// XmlsecErrors collects the messages xmlsec reports, so tests can check
// that a refusal says why.
std::vector<std::string>& XmlsecErrors() {
  static auto* errors = new std::vector<std::string>();
  return *errors;
}

void CollectXmlsecError(const char* file, int line, const char* func, const char* error_object,
                        const char* error_subject, int reason, const char* msg) {
  (void)file;
  (void)line;
  (void)func;
  (void)reason;
  XmlsecErrors().push_back(std::string(error_object ? error_object : "") + ": " +
                           (error_subject ? error_subject : "") + ": " + (msg ? msg : ""));
}

// XmlsecEnvironment initialises libxml2 and xmlsec once for the binary, the
// way the signer does (which registers the RSA-PSS transforms), and collects
// xmlsec's error messages for the tests that check them. xmlsec is never
// shut down: the signer's initialisation is once per process.
class XmlsecEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    absl::Status init = InitXmlSecurity();
    ASSERT_TRUE(init.ok()) << init;
    xmlSecErrorsSetCallback(CollectXmlsecError);
    // A second registration is a no-op.
    absl::Status status = RegisterRsaPssTransforms();
    ASSERT_TRUE(status.ok()) << status;
  }
};

[[maybe_unused]] ::testing::Environment* const kXmlsecEnv =
    ::testing::AddGlobalTestEnvironment(new XmlsecEnvironment);

constexpr char kDocument[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<VanBan xmlns=\"urn:axis:test\" Id=\"doc-1\">\n"
    "  <TieuDe>Quyết định của Thủ tướng Chính phủ</TieuDe>\n"
    "  <NoiDung>Về việc phê duyệt Đề án trao đổi dữ liệu</NoiDung>\n"
    "</VanBan>\n";

UniquePtr<EVP_PKEY> GenerateRsa(unsigned int bits) {
  return UniquePtr<EVP_PKEY>(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{bits}));
}

// PublicOnly returns a copy of `key` without the private half.
UniquePtr<EVP_PKEY> PublicOnly(EVP_PKEY* key) {
  unsigned char* der = nullptr;
  int len = i2d_PUBKEY(key, &der);
  if (len <= 0) {
    return nullptr;
  }
  const unsigned char* p = der;
  UniquePtr<EVP_PKEY> pub(d2i_PUBKEY(nullptr, &p, len));
  OPENSSL_free(der);
  return pub;
}

// MakeXmlsecKey wraps (a new reference to) `key` as an xmlsec RSA key.
UniquePtr<xmlSecKey> MakeXmlsecKey(EVP_PKEY* key) { return XmlSecKeyFor(key); }

UniquePtr<xmlDoc> ParseDoc(const std::string& xml) {
  return UniquePtr<xmlDoc>(xmlReadMemory(xml.data(), static_cast<int>(xml.size()), "doc.xml",
                                         nullptr, XML_PARSE_NONET | XML_PARSE_NODICT));
}

std::string Serialize(xmlDoc* doc) {
  xmlChar* buf = nullptr;
  int len = 0;
  xmlDocDumpMemoryEnc(doc, &buf, &len, "UTF-8");
  UniquePtr<xmlChar> owned(buf);
  return std::string(reinterpret_cast<const char*>(buf), len);
}

// AddTemplate appends an enveloped signature template (URI="", enveloped +
// exc-c14n, SHA-256 digest, `method`, KeyInfo/KeyValue) to the root.
xmlNode* AddTemplate(xmlDoc* doc, xmlSecTransformId method) {
  xmlNode* sig = xmlSecTmplSignatureCreate(doc, xmlSecTransformExclC14NId, method, X("sig-1"));
  if (sig == nullptr) {
    return nullptr;
  }
  xmlAddChild(xmlDocGetRootElement(doc), sig);
  xmlNode* ref =
      xmlSecTmplSignatureAddReference(sig, xmlSecOpenSSLTransformSha256Id, nullptr, X(""), nullptr);
  if (ref == nullptr ||
      xmlSecTmplReferenceAddTransform(ref, xmlSecTransformEnvelopedId) == nullptr ||
      xmlSecTmplReferenceAddTransform(ref, xmlSecTransformExclC14NId) == nullptr) {
    return nullptr;
  }
  xmlNode* key_info = xmlSecTmplSignatureEnsureKeyInfo(sig, nullptr);
  if (key_info == nullptr || xmlSecTmplKeyInfoAddKeyValue(key_info) == nullptr) {
    return nullptr;
  }
  return sig;
}

xmlNode* FindSignature(xmlDoc* doc) {
  return xmlSecFindNode(xmlDocGetRootElement(doc), xmlSecNodeSignature, xmlSecDSigNs);
}

// Sign runs xmlSecDSigCtxSign on the document's signature with `key` and
// returns its result (0 on success).
int Sign(xmlDoc* doc, EVP_PKEY* key) {
  UniquePtr<xmlSecDSigCtx> ctx(xmlSecDSigCtxCreate(nullptr));
  UniquePtr<xmlSecKey> sign_key = MakeXmlsecKey(key);
  if (ctx == nullptr || sign_key == nullptr) {
    return -1;
  }
  ctx->signKey = sign_key.release();  // the context owns it now
  return xmlSecDSigCtxSign(ctx.get(), FindSignature(doc));
}

enum class Outcome { kValid, kInvalid, kError };

std::ostream& operator<<(std::ostream& os, Outcome o) {
  switch (o) {
    case Outcome::kValid:
      return os << "valid";
    case Outcome::kInvalid:
      return os << "invalid";
    case Outcome::kError:
      return os << "error";
  }
  return os;
}

// Verify runs xmlSecDSigCtxVerify on the document's signature with `key`.
Outcome Verify(xmlDoc* doc, EVP_PKEY* key) {
  UniquePtr<xmlSecDSigCtx> ctx(xmlSecDSigCtxCreate(nullptr));
  UniquePtr<xmlSecKey> verify_key = MakeXmlsecKey(key);
  xmlNode* sig = FindSignature(doc);
  if (ctx == nullptr || verify_key == nullptr || sig == nullptr) {
    return Outcome::kError;
  }
  ctx->signKey = verify_key.release();
  if (xmlSecDSigCtxVerify(ctx.get(), sig) < 0) {
    return Outcome::kError;
  }
  return ctx->status == xmlSecDSigStatusSucceeded ? Outcome::kValid : Outcome::kInvalid;
}

// SignedDocument returns kDocument signed with `key` and `method`, or "".
std::string SignedDocument(EVP_PKEY* key, xmlSecTransformId method) {
  UniquePtr<xmlDoc> doc = ParseDoc(kDocument);
  if (doc == nullptr || AddTemplate(doc.get(), method) == nullptr || Sign(doc.get(), key) < 0) {
    return "";
  }
  return Serialize(doc.get());
}

std::string SignatureMethodOf(xmlDoc* doc) {
  xmlNode* method = xmlSecFindNode(FindSignature(doc), xmlSecNodeSignatureMethod, xmlSecDSigNs);
  if (method == nullptr) {
    return "";
  }
  UniquePtr<xmlChar> alg(xmlGetProp(method, X("Algorithm")));
  return alg ? reinterpret_cast<const char*>(alg.get()) : "";
}

class RsaPssTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    key_ = GenerateRsa(2048).release();
    ASSERT_NE(key_, nullptr);
  }
  static void TearDownTestSuite() {
    EVP_PKEY_free(key_);
    key_ = nullptr;
  }
  void SetUp() override { XmlsecErrors().clear(); }

  static EVP_PKEY* key_;
};
EVP_PKEY* RsaPssTest::key_ = nullptr;

TEST_F(RsaPssTest, HrefsAndNames) {
  EXPECT_STREQ(reinterpret_cast<const char*>(RsaPssSha256TransformId()->href), kRsaPssSha256Href);
  EXPECT_STREQ(reinterpret_cast<const char*>(RsaPssSha384TransformId()->href), kRsaPssSha384Href);
  EXPECT_STREQ(reinterpret_cast<const char*>(RsaPssSha512TransformId()->href), kRsaPssSha512Href);
  EXPECT_STREQ(reinterpret_cast<const char*>(RsaPssSha256TransformId()->name), "rsa-pss-sha256");
  EXPECT_EQ(xmlSecTransformIdListFindByHref(xmlSecTransformIdsGet(), X(kRsaPssSha384Href),
                                            xmlSecTransformUsageSignatureMethod),
            RsaPssSha384TransformId());
}

TEST_F(RsaPssTest, SignsAndVerifiesEnvelopedSignature) {
  std::string signed_xml = SignedDocument(key_, RsaPssSha256TransformId());
  ASSERT_FALSE(signed_xml.empty());
  UniquePtr<xmlDoc> doc = ParseDoc(signed_xml);
  ASSERT_NE(doc, nullptr);
  EXPECT_EQ(SignatureMethodOf(doc.get()), kRsaPssSha256Href);
  EXPECT_NE(signed_xml.find("Quyết định của Thủ tướng Chính phủ"), std::string::npos);
  EXPECT_NE(signed_xml.find("RSAKeyValue"), std::string::npos);

  EXPECT_EQ(Verify(doc.get(), key_), Outcome::kValid);
  UniquePtr<EVP_PKEY> pub = PublicOnly(key_);
  ASSERT_NE(pub, nullptr);
  EXPECT_EQ(Verify(doc.get(), pub.get()), Outcome::kValid);
}

TEST_F(RsaPssTest, Sha384AndSha512) {
  for (xmlSecTransformId method : {RsaPssSha384TransformId(), RsaPssSha512TransformId()}) {
    SCOPED_TRACE(reinterpret_cast<const char*>(method->name));
    std::string signed_xml = SignedDocument(key_, method);
    ASSERT_FALSE(signed_xml.empty());
    UniquePtr<xmlDoc> doc = ParseDoc(signed_xml);
    EXPECT_EQ(SignatureMethodOf(doc.get()), reinterpret_cast<const char*>(method->href));
    EXPECT_EQ(Verify(doc.get(), key_), Outcome::kValid);
  }
}

TEST_F(RsaPssTest, SignaturesAreRandomised) {
  // PSS uses a fresh salt each time: two signatures of the same document
  // differ, yet both verify.
  std::string a = SignedDocument(key_, RsaPssSha256TransformId());
  std::string b = SignedDocument(key_, RsaPssSha256TransformId());
  ASSERT_FALSE(a.empty());
  EXPECT_NE(a, b);
  EXPECT_EQ(Verify(ParseDoc(b).get(), key_), Outcome::kValid);
}

TEST_F(RsaPssTest, FlippedSignatureValueFails) {
  UniquePtr<xmlDoc> doc = ParseDoc(SignedDocument(key_, RsaPssSha256TransformId()));
  ASSERT_NE(doc, nullptr);
  xmlNode* value = xmlSecFindNode(FindSignature(doc.get()), xmlSecNodeSignatureValue, xmlSecDSigNs);
  ASSERT_NE(value, nullptr);
  UniquePtr<xmlChar> b64(xmlNodeGetContent(value));
  std::string text;
  for (const xmlChar* p = b64.get(); *p != 0; ++p) {
    if (!isspace(*p)) {
      text += static_cast<char>(*p);
    }
  }
  std::vector<unsigned char> raw(text.size());
  int n = EVP_DecodeBlock(raw.data(), reinterpret_cast<const unsigned char*>(text.data()),
                          static_cast<int>(text.size()));
  ASSERT_GE(n, 256);
  raw[100] ^= 0x01;
  std::vector<unsigned char> encoded(4 * ((256 + 2) / 3) + 1);
  EVP_EncodeBlock(encoded.data(), raw.data(), 256);
  xmlNodeSetContent(value, encoded.data());

  EXPECT_EQ(Verify(doc.get(), key_), Outcome::kInvalid);
}

TEST_F(RsaPssTest, ChangedContentFails) {
  std::string signed_xml = SignedDocument(key_, RsaPssSha256TransformId());
  ASSERT_FALSE(signed_xml.empty());
  const std::string from = "Thủ tướng";
  size_t at = signed_xml.find(from);
  ASSERT_NE(at, std::string::npos);
  signed_xml.replace(at, from.size(), "Thủ trưởng");
  UniquePtr<xmlDoc> doc = ParseDoc(signed_xml);
  ASSERT_NE(doc, nullptr);
  EXPECT_EQ(Verify(doc.get(), key_), Outcome::kInvalid);
}

TEST_F(RsaPssTest, WrongKeyFails) {
  UniquePtr<xmlDoc> doc = ParseDoc(SignedDocument(key_, RsaPssSha256TransformId()));
  ASSERT_NE(doc, nullptr);
  UniquePtr<EVP_PKEY> other = GenerateRsa(2048);
  ASSERT_NE(other, nullptr);
  EXPECT_EQ(Verify(doc.get(), other.get()), Outcome::kInvalid);
}

TEST_F(RsaPssTest, PlainRsaSha256SignatureIsNotPss) {
  // The same document signed with PKCS#1 v1.5 but relabelled as PSS fails.
  UniquePtr<xmlDoc> doc = ParseDoc(kDocument);
  ASSERT_NE(AddTemplate(doc.get(), xmlSecOpenSSLTransformRsaSha256Id), nullptr);
  ASSERT_EQ(Sign(doc.get(), key_), 0);
  std::string xml = Serialize(doc.get());
  const std::string from = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
  size_t at = xml.find(from);
  ASSERT_NE(at, std::string::npos);
  xml.replace(at, from.size(), kRsaPssSha256Href);
  // SignedInfo changed, so this fails on the signature value, through our
  // transform's Verify.
  EXPECT_EQ(Verify(ParseDoc(xml).get(), key_), Outcome::kInvalid);
}

TEST_F(RsaPssTest, Refuses1024BitKey) {
  UniquePtr<EVP_PKEY> small = GenerateRsa(1024);
  ASSERT_NE(small, nullptr);
  EXPECT_EQ(SignedDocument(small.get(), RsaPssSha256TransformId()), "");
  bool explained = false;
  for (const std::string& e : XmlsecErrors()) {
    if (e.find("RSA key is 1024 bits; RSA-PSS signatures need at least 2048") !=
        std::string::npos) {
      explained = true;
    }
  }
  EXPECT_TRUE(explained) << "xmlsec errors do not say why the key was refused";

  // Verifying with a short key is refused too (an error, not "invalid").
  UniquePtr<xmlDoc> doc = ParseDoc(SignedDocument(key_, RsaPssSha256TransformId()));
  ASSERT_NE(doc, nullptr);
  EXPECT_EQ(Verify(doc.get(), small.get()), Outcome::kError);
}

// ---------------------------------------------------------------------------
// Interop with the JDK (tests/interop/JdkVerify.java).

using ::axis::testing::HaveJdk;

std::string JdkVerifySource() { return testing::SourceDir() + "/tests/interop/JdkVerify.java"; }

void WriteFile(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary);
  out << data;
  ASSERT_TRUE(out.good()) << path;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// SelfSignedCert makes a throw-away certificate for `key`.
UniquePtr<X509> SelfSignedCert(EVP_PKEY* key) {
  UniquePtr<X509> cert(X509_new());
  if (cert == nullptr || X509_set_version(cert.get(), X509_VERSION_3) != 1 ||
      ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1) != 1 ||
      X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600) == nullptr ||
      X509_gmtime_adj(X509_getm_notAfter(cert.get()), 86400) == nullptr) {
    return nullptr;
  }
  X509_NAME* name = X509_get_subject_name(cert.get());
  if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, X("Kiểm thử RSA-PSS"), -1, -1, 0) !=
          1 ||
      X509_set_issuer_name(cert.get(), name) != 1 || X509_set_pubkey(cert.get(), key) != 1 ||
      X509_sign(cert.get(), key, EVP_sha256()) <= 0) {
    return nullptr;
  }
  return cert;
}

TEST_F(RsaPssTest, JdkVerifiesXmlsecSignature) {
  if (!HaveJdk()) {
    GTEST_SKIP() << "no javac on PATH";
  }
  std::string dir = testing::MakeTempDir("rsa_pss");
  std::string path = dir + "/signed.xml";
  std::string signed_xml = SignedDocument(key_, RsaPssSha256TransformId());
  ASSERT_FALSE(signed_xml.empty());
  WriteFile(path, signed_xml);

  absl::StatusOr<testing::CommandResult> run =
      testing::RunCommand({"java", JdkVerifySource(), path}, "", absl::Seconds(120));
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->exit_code, 0) << run->out << run->err;
  EXPECT_EQ(run->out, "sig-1: valid\n") << run->err;

  // The JDK sees tampering too.
  std::string tampered = signed_xml;
  size_t at = tampered.find("Chính phủ");
  ASSERT_NE(at, std::string::npos);
  tampered.replace(at, std::string("Chính phủ").size(), "Chính quyền");
  WriteFile(path, tampered);
  run = testing::RunCommand({"java", JdkVerifySource(), path}, "", absl::Seconds(120));
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->exit_code, 1) << run->out << run->err;
  EXPECT_EQ(run->out, "sig-1: INVALID (signature value ok=true, references: \"\" failed)\n")
      << run->err;
}

TEST_F(RsaPssTest, XmlsecVerifiesJdkSignature) {
  if (!HaveJdk()) {
    GTEST_SKIP() << "no javac on PATH";
  }
  std::string dir = testing::MakeTempDir("rsa_pss_jdk");
  UniquePtr<X509> cert = SelfSignedCert(key_);
  ASSERT_NE(cert, nullptr);
  {
    UniquePtr<BIO> bio(BIO_new_file((dir + "/key.pem").c_str(), "w"));
    ASSERT_NE(bio, nullptr);
    // PEM_write_bio_PrivateKey writes PKCS#8 ("BEGIN PRIVATE KEY").
    ASSERT_EQ(PEM_write_bio_PrivateKey(bio.get(), key_, nullptr, nullptr, 0, nullptr, nullptr), 1);
  }
  {
    UniquePtr<BIO> bio(BIO_new_file((dir + "/cert.pem").c_str(), "w"));
    ASSERT_NE(bio, nullptr);
    ASSERT_EQ(PEM_write_bio_X509(bio.get(), cert.get()), 1);
  }
  WriteFile(dir + "/in.xml", kDocument);

  absl::StatusOr<testing::CommandResult> run =
      testing::RunCommand({"java", JdkVerifySource(), "--sign-pss", dir + "/key.pem",
                           dir + "/cert.pem", dir + "/in.xml", dir + "/out.xml"},
                          "", absl::Seconds(120));
  ASSERT_TRUE(run.ok()) << run.status();
  ASSERT_EQ(run->exit_code, 0) << run->out << run->err;

  std::string jdk_signed = ReadFile(dir + "/out.xml");
  UniquePtr<xmlDoc> doc = ParseDoc(jdk_signed);
  ASSERT_NE(doc, nullptr) << jdk_signed;
  EXPECT_EQ(SignatureMethodOf(doc.get()), kRsaPssSha256Href);
  EXPECT_EQ(Verify(doc.get(), key_), Outcome::kValid) << jdk_signed;
  UniquePtr<EVP_PKEY> pub = PublicOnly(key_);
  EXPECT_EQ(Verify(doc.get(), pub.get()), Outcome::kValid);

  // And the JDK accepts its own signature with the certificate from X509Data.
  run = testing::RunCommand({"java", JdkVerifySource(), dir + "/out.xml"}, "", absl::Seconds(120));
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->exit_code, 0) << run->out << run->err;
  EXPECT_EQ(run->out, "sig-jdk: valid\n");
}

}  // namespace
}  // namespace axis::signer::internal
