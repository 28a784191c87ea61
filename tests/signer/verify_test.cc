// verify_test.cc: VerifyDocument's strict profile. Every refusal has a test
// that tampers with a real signed document (as text or through libxml2) and
// expects the exact reason; signature-wrapping variants must never verify.
#include "signer/internal/dsig.h"
#include "signer/verify.h"

#include <xmlsec/openssl/crypto.h>
#include <xmlsec/openssl/evp.h>
#include <xmlsec/templates.h>
#include <xmlsec/xmldsig.h>
#include <xmlsec/xmltree.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "tests/signer/signer_fixture.h"


namespace axis::signer::test {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

constexpr char kRsaSha1[] = "http://www.w3.org/2000/09/xmldsig#rsa-sha1";
constexpr char kRsaSha256[] = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
constexpr char kExcC14n[] = "http://www.w3.org/2001/10/xml-exc-c14n#";
constexpr char kSha256[] = "http://www.w3.org/2001/04/xmlenc#sha256";

// PlainSignature adds a plain XML-DSig signature (no XAdES) made with xmlsec
// directly: one reference `uri` with the enveloped-signature and exclusive
// C14N transforms, KeyInfo with the certificate. It makes documents that
// SignDocument never writes (a reference by Id to the root; keys it
// refuses) so that the verifier's side can be tested on its own.
std::string PlainSignature(const std::string& xml, const SigningKey& key, const std::string& uri,
                           const std::string& id = "plain-1") {
  absl::StatusOr<UniquePtr<xmlDoc>> doc = ParseXml(xml);
  EXPECT_TRUE(doc.ok()) << doc.status();
  if (!doc.ok()) {
    return "";
  }
  bool ec = EVP_PKEY_get_base_id(key.key.get()) == EVP_PKEY_EC;
  xmlNode* sig = xmlSecTmplSignatureCreateNsPref(
      doc->get(), xmlSecTransformExclC14NId,
      ec ? xmlSecOpenSSLTransformEcdsaSha256Id : xmlSecOpenSSLTransformRsaSha256Id,
      BAD_CAST id.c_str(), BAD_CAST "ds");
  xmlAddChild(xmlDocGetRootElement(doc->get()), sig);
  xmlNode* ref = xmlSecTmplSignatureAddReference(sig, xmlSecOpenSSLTransformSha256Id, nullptr,
                                                 BAD_CAST uri.c_str(), nullptr);
  xmlSecTmplReferenceAddTransform(ref, xmlSecTransformEnvelopedId);
  xmlSecTmplReferenceAddTransform(ref, xmlSecTransformExclC14NId);
  const xmlChar* id_attrs[] = {BAD_CAST "Id", nullptr};
  xmlSecAddIDs(doc->get(), xmlDocGetRootElement(doc->get()), id_attrs);

  UniquePtr<xmlSecDSigCtx> ctx(xmlSecDSigCtxCreate(nullptr));
  UniquePtr<xmlSecKey> sk(xmlSecKeyCreate());
  EVP_PKEY_up_ref(key.key.get());
  xmlSecKeySetValue(sk.get(), xmlSecOpenSSLEvpKeyAdopt(key.key.get()));
  ctx->signKey = sk.release();
  EXPECT_GE(xmlSecDSigCtxSign(ctx.get(), sig), 0);

  xmlNs* ds = xmlSearchNsByHref(doc->get(), sig, BAD_CAST kDsigNs);
  xmlNode* key_info = xmlNewChild(sig, ds, BAD_CAST "KeyInfo", nullptr);
  xmlNode* data = xmlNewChild(key_info, ds, BAD_CAST "X509Data", nullptr);
  xmlNewTextChild(data, ds, BAD_CAST "X509Certificate",
                  BAD_CAST absl::Base64Escape(CertificateDer(key.cert.get())).c_str());
  return SerializeXml(doc->get());
}

// ExpectNotValid is the common verdict of tampering: the document is not
// valid, and so is the named signature.
void ExpectSignatureInvalid(const Report& report, const std::string& id) {
  EXPECT_FALSE(report.Valid()) << ReportText(report);
  const SignatureReport* s = SignatureById(report, id);
  ASSERT_NE(s, nullptr) << id << " missing from\n" << ReportText(report);
  EXPECT_FALSE(s->valid) << ReportText(report);
}

// ---------------------------------------------------------------------------
// What a good document yields.

TEST(VerifierTest, AcceptsLeaderThenSealAndReportsTheOrder) {
  Report report = Verify(LeaderThenSeal());
  ASSERT_TRUE(report.Valid()) << ReportText(report);
  EXPECT_THAT(report.problems, IsEmpty());
  ASSERT_EQ(report.signatures.size(), 2u);
  EXPECT_THAT(report.signing_order, ElementsAre("sig-1", "sig-2"));
  EXPECT_EQ(report.verified_at, EvaluationTime());

  const SignatureReport& leader = report.signatures[0];
  EXPECT_EQ(leader.id, "sig-1");
  EXPECT_EQ(leader.index, 1);
  EXPECT_THAT(leader.reasons, IsEmpty());
  EXPECT_TRUE(leader.cryptographic_ok);
  EXPECT_TRUE(leader.chain_valid);
  EXPECT_TRUE(leader.key_usage_ok);
  EXPECT_TRUE(leader.covers_document);
  EXPECT_THAT(leader.covers_signatures, IsEmpty());
  EXPECT_TRUE(leader.xades);
  EXPECT_TRUE(leader.signed_properties_covered);
  EXPECT_TRUE(leader.signing_certificate_matches);
  EXPECT_EQ(leader.role, "Thủ tướng");
  ASSERT_TRUE(leader.claimed_signing_time.has_value());
  EXPECT_EQ(*leader.claimed_signing_time, SigningTime());
  EXPECT_EQ(leader.signature_method, kRsaSha256);
  ASSERT_TRUE(leader.signer.has_value());
  EXPECT_THAT(leader.signer->subject, HasSubstr("CN=Trần Văn Thử"));
  EXPECT_THAT(leader.signer->subject, HasSubstr("OU=000.00.00.G22"));
  EXPECT_EQ(leader.signer->serial_hex, "1001");
  ASSERT_EQ(leader.chain.size(), 3u);
  EXPECT_THAT(leader.chain[2], HasSubstr("CN=Axis Test Root CA G1"));
  ASSERT_EQ(leader.references.size(), 2u);
  EXPECT_EQ(leader.references[0].uri, "");
  EXPECT_EQ(leader.references[0].covers, "document");
  EXPECT_TRUE(leader.references[0].digest_ok);
  EXPECT_EQ(leader.references[1].uri, "#sig-1-signedprops");
  EXPECT_EQ(leader.references[1].covers, "signed properties");
  EXPECT_TRUE(leader.references[1].digest_ok);

  const SignatureReport& seal = report.signatures[1];
  EXPECT_EQ(seal.id, "sig-2");
  EXPECT_TRUE(seal.valid);
  EXPECT_THAT(seal.covers_signatures, ElementsAre("sig-1"));
  EXPECT_EQ(seal.role, "");
  ASSERT_EQ(seal.references.size(), 3u);
  EXPECT_EQ(seal.references[1].covers, "signature sig-1");
  EXPECT_THAT(seal.warnings, IsEmpty());
  EXPECT_THAT(seal.signer->subject, HasSubstr("CN=Văn phòng Chính phủ"));
}

TEST(VerifierTest, ReportsTheRoleOfEachSigner) {
  Report report = Verify(LeaderThenSeal());
  EXPECT_THAT(ReportText(report), HasSubstr("role:     Thủ tướng"));
  EXPECT_THAT(ReportJson(report), HasSubstr("\"role\": \"Thủ tướng\""));
  EXPECT_THAT(ReportJson(report), HasSubstr("\"valid\": true"));
}

TEST(VerifierTest, RefusesDocumentWithoutSignature) {
  Report report = Verify(kDocument);
  EXPECT_FALSE(report.Valid());
  EXPECT_THAT(report, HasProblem("the document carries no signature"));
  EXPECT_THAT(report.signatures, IsEmpty());
}

TEST(VerifierTest, RequiresATrustStore) {
  VerifyOptions options;
  absl::StatusOr<Report> report = VerifyDocument(LeaderThenSeal(), options);
  EXPECT_EQ(report.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(report.status().message(), HasSubstr("no trust store"));
}

TEST(VerifierTest, AcceptsPlainSignatureReferencingTheRootByIdWithEnvelopedTransform) {
  std::string xml = PlainSignature(kDocument, TestKeys().vpcp_leader, "#vanban-1");
  Report report = Verify(xml, EvaluationTime(), true, /*require_xades=*/false);
  ASSERT_TRUE(report.Valid()) << ReportText(report);
  const SignatureReport& s = report.signatures[0];
  EXPECT_TRUE(s.covers_document);
  EXPECT_FALSE(s.xades);
  EXPECT_EQ(s.references[0].covers, "document");
  EXPECT_TRUE(s.references[0].digest_ok);
}

TEST(VerifierTest, RefusesPlainSignatureByDefault) {
  std::string xml = PlainSignature(kDocument, TestKeys().vpcp_leader, "");
  VerifyOptions options;
  options.trust = &Trust();
  options.at = EvaluationTime();
  absl::StatusOr<Report> report = VerifyDocument(xml, options);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_FALSE(report->Valid());
  EXPECT_THAT(report->signatures[0],
              HasReason("no XAdES SignedProperties (required for official documents)"));
}

// ---------------------------------------------------------------------------
// Tampering with what is signed.

TEST(VerifierTest, RefusesDocumentWhoseContentWasAltered) {
  std::string xml = ReplaceOnce(LeaderThenSeal(), "Điều 1.", "Điều 2.");
  Report report = Verify(xml);
  ExpectSignatureInvalid(report, "sig-1");
  ExpectSignatureInvalid(report, "sig-2");
  for (const SignatureReport& s : report.signatures) {
    EXPECT_THAT(s, HasReason("digest of reference \"\" does not match: the content it covers "
                             "was altered"));
    EXPECT_FALSE(s.cryptographic_ok);
    EXPECT_FALSE(s.references[0].digest_ok);
  }
}

TEST(VerifierTest, AlteredLeaderSignatureValueInvalidatesLeaderAndSeal) {
  const std::string& good = LeaderThenSeal();
  std::string value = ElementText(good, "ds:SignatureValue");
  std::string xml = ReplaceOnce(good, value, FlipBase64(value));
  Report report = Verify(xml);
  ExpectSignatureInvalid(report, "sig-1");
  ExpectSignatureInvalid(report, "sig-2");
  EXPECT_THAT(*SignatureById(report, "sig-1"),
              HasReason("SignatureValue does not verify with the signing certificate's key"));
  EXPECT_THAT(*SignatureById(report, "sig-2"),
              HasReason("digest of reference \"#sig-1\" does not match"));
  // The seal's other references still hold: only the leader changed.
  EXPECT_TRUE(SignatureById(report, "sig-2")->references[0].digest_ok);
  EXPECT_FALSE(SignatureById(report, "sig-2")->references[1].digest_ok);
}

TEST(VerifierTest, AlteredSealSignatureValueLeavesTheLeaderValid) {
  const std::string& good = LeaderThenSeal();
  size_t seal = good.find("Id=\"sig-2\"");
  std::string value = ElementText(good, "ds:SignatureValue", seal);
  std::string xml = ReplaceOnce(good, value, FlipBase64(value));
  Report report = Verify(xml);
  EXPECT_FALSE(report.Valid());
  EXPECT_TRUE(SignatureById(report, "sig-1")->valid) << ReportText(report);
  EXPECT_THAT(*SignatureById(report, "sig-2"),
              HasReason("SignatureValue does not verify with the signing certificate's key"));
}

TEST(VerifierTest, RefusesAlteredSigningTime) {
  std::string xml = ReplaceOnce(LeaderThenSeal(), "<xades:SigningTime>2026-05-20T08:30:00Z",
                                "<xades:SigningTime>2026-05-19T08:30:00Z");
  Report report = Verify(xml);
  ExpectSignatureInvalid(report, "sig-1");
  EXPECT_THAT(*SignatureById(report, "sig-1"),
              HasReason("digest of reference \"#sig-1-signedprops\" does not match"));
  EXPECT_THAT(*SignatureById(report, "sig-2"),
              HasReason("digest of reference \"#sig-1\" does not match"));
}

TEST(VerifierTest, RefusesAlteredRole) {
  std::string xml = ReplaceOnce(LeaderThenSeal(), "<xades:ClaimedRole>Thủ tướng",
                                "<xades:ClaimedRole>Phó Thủ tướng");
  Report report = Verify(xml);
  ExpectSignatureInvalid(report, "sig-1");
  EXPECT_THAT(*SignatureById(report, "sig-1"),
              HasReason("digest of reference \"#sig-1-signedprops\" does not match"));
}

TEST(VerifierTest, RefusesUnreadableSigningTime) {
  std::string xml = ReplaceOnce(LeaderThenSeal(), "<xades:SigningTime>2026-05-20T08:30:00Z",
                                "<xades:SigningTime>hôm qua");
  Report report = Verify(xml);
  EXPECT_THAT(*SignatureById(report, "sig-1"),
              HasReason("SigningTime \"hôm qua\" is not an xs:dateTime"));
  EXPECT_FALSE(report.Valid());
}

// ---------------------------------------------------------------------------
// Algorithm policy.

class RefusedSignatureMethodTest : public ::testing::TestWithParam<const char*> {};

TEST_P(RefusedSignatureMethodTest, RefusesSignatureMethodByPolicy) {
  std::string xml = ReplaceOnce(LeaderThenSeal(), absl::StrCat("Algorithm=\"", kRsaSha256, "\""),
                                absl::StrCat("Algorithm=\"", GetParam(), "\""));
  Report report = Verify(xml);
  ExpectSignatureInvalid(report, "sig-1");
  const SignatureReport& s = *SignatureById(report, "sig-1");
  EXPECT_THAT(s, HasReason(absl::StrCat("signature method ", GetParam(), " is not allowed")));
  EXPECT_FALSE(s.cryptographic_ok);
}

INSTANTIATE_TEST_SUITE_P(WeakOrSymmetric, RefusedSignatureMethodTest,
                         ::testing::Values(kRsaSha1, "http://www.w3.org/2000/09/xmldsig#hmac-sha1",
                                           "http://www.w3.org/2001/04/xmldsig-more#hmac-sha256",
                                           "http://www.w3.org/2000/09/xmldsig#dsa-sha1",
                                           "http://www.w3.org/2009/xmldsig11#dsa-sha256",
                                           "http://www.w3.org/2001/04/xmldsig-more#rsa-md5",
                                           "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha1"));

TEST(VerifierTest, RefusesSignatureMethodThatDoesNotFitTheKey) {
  std::string xml =
      ReplaceOnce(LeaderThenSeal(), absl::StrCat("Algorithm=\"", kRsaSha256, "\""),
                  "Algorithm=\"http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256\"");
  Report report = Verify(xml);
  EXPECT_THAT(*SignatureById(report, "sig-1"),
              HasReason("the signature method does not fit the signing certificate's key type"));
  EXPECT_FALSE(report.Valid());
}

TEST(VerifierTest, RefusesSha1Digest) {
  std::string xml = ReplaceOnce(LeaderThenSeal(), absl::StrCat("Algorithm=\"", kSha256, "\""),
                                "Algorithm=\"http://www.w3.org/2000/09/xmldsig#sha1\"");
  Report report = Verify(xml);
  ExpectSignatureInvalid(report, "sig-1");
  const SignatureReport& s = *SignatureById(report, "sig-1");
  EXPECT_THAT(s, HasReason("reference \"\": digest method http://www.w3.org/2000/09/xmldsig#sha1 "
                           "is not allowed (SHA-256 or stronger)"));
  EXPECT_FALSE(s.cryptographic_ok);
}

TEST(VerifierTest, RefusesUnknownCanonicalizationMethod) {
  std::string xml = ReplaceOnce(
      LeaderThenSeal(), absl::StrCat("<ds:CanonicalizationMethod Algorithm=\"", kExcC14n, "\""),
      "<ds:CanonicalizationMethod Algorithm=\"http://www.w3.org/TR/1999/REC-xslt-19991116\"");
  Report report = Verify(xml);
  EXPECT_THAT(*SignatureById(report, "sig-1"),
              HasReason("canonicalization method http://www.w3.org/TR/1999/REC-xslt-19991116 is "
                        "not allowed"));
  EXPECT_FALSE(SignatureById(report, "sig-1")->cryptographic_ok);
}

// ---------------------------------------------------------------------------
// Transforms and references.

TEST(VerifierTest, RefusesXsltTransformWithoutRunningIt) {
  // The stylesheet would replace the document by a constant; were it run,
  // xmlsec would report the digest of reference "" as wrong (or right).
  std::string xslt =
      "<ds:Transform Algorithm=\"http://www.w3.org/TR/1999/REC-xslt-19991116\">"
      "<xsl:stylesheet xmlns:xsl=\"http://www.w3.org/1999/XSL/Transform\" version=\"1.0\">"
      "<xsl:template match=\"/\"><xsl:message terminate=\"yes\">ran</xsl:message>"
      "</xsl:template></xsl:stylesheet></ds:Transform>\n";
  std::string xml = ReplaceOnce(LeaderThenSeal(),
                                absl::StrCat("<ds:Transform Algorithm=\"", kExcC14n, "\"/>"), xslt);
  Report report = Verify(xml);
  ExpectSignatureInvalid(report, "sig-1");
  const SignatureReport& s = *SignatureById(report, "sig-1");
  EXPECT_THAT(s, HasReason("reference \"\": transform http://www.w3.org/TR/1999/REC-xslt-19991116 "
                           "is not allowed"));
  // xmlsec never saw it: no digest verdict, no processing error.
  EXPECT_FALSE(s.cryptographic_ok);
  EXPECT_FALSE(s.references[0].digest_ok);
  EXPECT_THAT(s, Not(HasReason("does not match")));
  EXPECT_THAT(s, Not(HasReason("could not be processed")));
}

class RefusedTransformTest : public ::testing::TestWithParam<const char*> {};

TEST_P(RefusedTransformTest, RefusesTransformOutsideTheProfile) {
  std::string xml =
      ReplaceOnce(LeaderThenSeal(), absl::StrCat("<ds:Transform Algorithm=\"", kExcC14n, "\"/>"),
                  absl::StrCat("<ds:Transform Algorithm=\"", GetParam(), "\"/>"));
  Report report = Verify(xml);
  ExpectSignatureInvalid(report, "sig-1");
  const SignatureReport& s = *SignatureById(report, "sig-1");
  EXPECT_THAT(s, HasReason(absl::StrCat("transform ", GetParam(), " is not allowed")));
  EXPECT_THAT(s, Not(HasReason("does not match")));
}

INSTANTIATE_TEST_SUITE_P(NotAllowed, RefusedTransformTest,
                         ::testing::Values("http://www.w3.org/TR/1999/REC-xpath-19991116",
                                           "http://www.w3.org/2000/09/xmldsig#base64",
                                           "http://www.w3.org/2002/07/decrypt#XML",
                                           "http://www.w3.org/TR/2001/WD-xptr-20010108",
                                           "urn:axis:no-such-transform"));

TEST(VerifierTest, RefusesXPathFilterWithAnotherExpression) {
  std::string xml =
      ReplaceOnce(LeaderThenSeal(), "Filter=\"subtract\">//ds:Signature<",
                  "Filter=\"subtract\">//ds:Signature | //*[local-name()='NoiDung']<");
  Report report = Verify(xml);
  ExpectSignatureInvalid(report, "sig-1");
  EXPECT_THAT(*SignatureById(report, "sig-1"), HasReason("is not the allowed \"//ds:Signature\""));
  EXPECT_THAT(*SignatureById(report, "sig-1"), Not(HasReason("does not match")));
}

TEST(VerifierTest, RefusesXPathFilterThatIntersects) {
  std::string xml = ReplaceOnce(LeaderThenSeal(), "Filter=\"subtract\"", "Filter=\"intersect\"");
  Report report = Verify(xml);
  EXPECT_THAT(*SignatureById(report, "sig-1"),
              HasReason("XPath Filter 2.0 filter must be \"subtract\""));
  EXPECT_FALSE(report.Valid());
}

TEST(VerifierTest, RefusesXPathFilterWithOtherPrefixBinding) {
  // The same text, //ds:Signature, with ds bound elsewhere would subtract
  // some other element (here: the document's own content namespace).
  std::string xml = ReplaceOnce(
      LeaderThenSeal(), "xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\" Filter=\"subtract\"",
      "xmlns:ds=\"urn:axis:test:vanban\" Filter=\"subtract\"");
  Report report = Verify(xml);
  ExpectSignatureInvalid(report, "sig-1");
  EXPECT_THAT(*SignatureById(report, "sig-1"),
              HasReason("XPath Filter 2.0: prefix ds is not bound to the XML-DSig namespace"));
}

TEST(VerifierTest, RefusesXPathFilterWithTwoExpressions) {
  EditableDoc doc(LeaderThenSeal());
  xmlNode* xpath = doc.All("//ds:Signature[@Id='sig-1']//*[local-name()='XPath']")[0];
  xmlAddNextSibling(xpath, xmlCopyNode(xpath, 1));
  Report report = Verify(doc.Serialize());
  EXPECT_THAT(*SignatureById(report, "sig-1"),
              HasReason("XPath Filter 2.0 transform must hold exactly one XPath element"));
  EXPECT_FALSE(report.Valid());
}

class RefusedUriTest : public ::testing::TestWithParam<const char*> {};

TEST_P(RefusedUriTest, RefusesExternalOrXPointerReference) {
  std::string xml = ReplaceOnce(LeaderThenSeal(), "URI=\"#sig-1-signedprops\"",
                                absl::StrCat("URI=\"", GetParam(), "\""));
  Report report = Verify(xml);
  ExpectSignatureInvalid(report, "sig-1");
  const SignatureReport& s = *SignatureById(report, "sig-1");
  EXPECT_THAT(s, HasReason(absl::StrCat("reference \"", GetParam(),
                                        "\" is external, an XPointer or not a plain Id; refused")));
  EXPECT_EQ(s.references[1].covers, "refused");
  // Nothing was fetched: xmlsec did not run.
  EXPECT_FALSE(s.cryptographic_ok);
  EXPECT_THAT(s, Not(HasReason("does not match")));
}

INSTANTIATE_TEST_SUITE_P(Uris, RefusedUriTest,
                         ::testing::Values("http://127.0.0.1:9/decision.xml", "file:///etc/passwd",
                                           "decision.xml", "#xpointer(/)",
                                           "#xpointer(id('sig-1-signedprops'))"));

TEST(VerifierTest, RefusesReferenceWithoutUri) {
  std::string xml = ReplaceOnce(LeaderThenSeal(), " URI=\"#sig-1-signedprops\"", "");
  Report report = Verify(xml);
  EXPECT_THAT(*SignatureById(report, "sig-1"),
              HasReason("a reference has no URI (detached content is refused)"));
  EXPECT_FALSE(report.Valid());
}

TEST(VerifierTest, RefusesReferenceToAnIdThatDoesNotExist) {
  std::string xml = ReplaceOnce(LeaderThenSeal(), "URI=\"#sig-1-signedprops\"", "URI=\"#nowhere\"");
  Report report = Verify(xml);
  EXPECT_THAT(*SignatureById(report, "sig-1"),
              HasReason("reference #nowhere points to no element"));
  EXPECT_FALSE(report.Valid());
}

TEST(VerifierTest, RefusesReferenceToAContentElement) {
  std::string xml = ReplaceOnce(LeaderThenSeal(), "<NoiDung>", "<NoiDung Id=\"noidung\">");
  xml = ReplaceOnce(xml, "URI=\"#sig-1-signedprops\"", "URI=\"#noidung\"");
  Report report = Verify(xml);
  ExpectSignatureInvalid(report, "sig-1");
  EXPECT_THAT(*SignatureById(report, "sig-1"),
              HasReason("reference #noidung points to NoiDung at /*/*[3], which is not the "
                        "document root, another signature or this signature's SignedProperties"));
}

TEST(VerifierTest, RefusesReferenceToAnotherSignaturesSignedProperties) {
  std::string xml =
      ReplaceOnce(LeaderThenSeal(), "URI=\"#sig-1-signedprops\"", "URI=\"#sig-2-signedprops\"");
  Report report = Verify(xml);
  EXPECT_THAT(*SignatureById(report, "sig-1"),
              HasReason("reference #sig-2-signedprops points to SignedProperties"));
  EXPECT_FALSE(report.Valid());
}

TEST(VerifierTest, RefusesSignatureThatLeavesTheDocumentUncovered) {
  EditableDoc doc(LeaderThenSeal());
  xmlNode* ref = doc.One("//ds:Signature[@Id='sig-1']/ds:SignedInfo/ds:Reference[@URI='']");
  xmlUnlinkNode(ref);
  xmlFreeNode(ref);
  Report report = Verify(doc.Serialize());
  ExpectSignatureInvalid(report, "sig-1");
  const SignatureReport& s = *SignatureById(report, "sig-1");
  EXPECT_THAT(s, HasReason("the signature leaves the document content uncovered"));
  EXPECT_FALSE(s.covers_document);
}

TEST(VerifierTest, RefusesWholeDocumentReferenceThatKeepsTheSignature) {
  // URI="" with only C14N would digest the signature itself.
  EditableDoc doc(LeaderThenSeal());
  xmlNode* filter = doc.One(
      "//ds:Signature[@Id='sig-1']//ds:Reference[@URI='']//ds:Transform[@Algorithm="
      "'http://www.w3.org/2002/06/xmldsig-filter2']");
  xmlUnlinkNode(filter);
  xmlFreeNode(filter);
  Report report = Verify(doc.Serialize());
  EXPECT_THAT(*SignatureById(report, "sig-1"),
              HasReason("to the document must take signatures out with exactly one "
                        "enveloped-signature or XPath Filter 2.0 transform"));
  EXPECT_FALSE(report.Valid());
}

TEST(VerifierTest, RefusesUnsignedExtraObject) {
  EditableDoc doc(LeaderThenSeal());
  xmlNode* sig = doc.One("//ds:Signature[@Id='sig-1']");
  xmlNs* ds = xmlSearchNsByHref(doc.doc(), sig, BAD_CAST kDsigNs);
  xmlNode* object = xmlNewChild(sig, ds, BAD_CAST "Object", nullptr);
  xmlNewTextChild(object, nullptr, BAD_CAST "NoiDung", BAD_CAST "Điều 2. Nội dung chèn thêm.");
  Report report = Verify(doc.Serialize());
  ExpectSignatureInvalid(report, "sig-1");
  EXPECT_THAT(*SignatureById(report, "sig-1"),
              HasReason("ds:Object at /*/ds:Signature[1]/ds:Object[2] is not covered by the "
                        "signature (unsigned content)"));
}

TEST(VerifierTest, RefusesUnsignedContentBesideTheSignedProperties) {
  EditableDoc doc(LeaderThenSeal());
  xmlNode* object = doc.One("//ds:Signature[@Id='sig-1']/ds:Object");
  xmlNewTextChild(object, nullptr, BAD_CAST "NoiDung", BAD_CAST "Điều 2. Nội dung chèn thêm.");
  Report report = Verify(doc.Serialize());
  EXPECT_THAT(*SignatureById(report, "sig-1"),
              HasReason("is not covered by the signature (unsigned content)"));
  EXPECT_FALSE(report.Valid());
}

TEST(VerifierTest, RefusesQualifyingPropertiesThatTargetAnotherSignature) {
  std::string xml = ReplaceOnce(LeaderThenSeal(), "Target=\"#sig-1\"", "Target=\"#sig-2\"");
  Report report = Verify(xml);
  EXPECT_THAT(*SignatureById(report, "sig-1"),
              HasReason("QualifyingProperties Target \"#sig-2\" is not this signature (#sig-1)"));
  EXPECT_FALSE(report.Valid());
}

TEST(VerifierTest, RefusesNestedSignature) {
  EditableDoc doc(LeaderThenSeal());
  xmlNode* seal = doc.One("//ds:Signature[@Id='sig-2']");
  xmlNode* object = doc.One("//ds:Signature[@Id='sig-1']/ds:KeyInfo");
  xmlUnlinkNode(seal);
  xmlAddChild(object, seal);
  Report report = Verify(doc.Serialize());
  EXPECT_FALSE(report.Valid());
  ExpectSignatureInvalid(report, "sig-2");
  EXPECT_THAT(*SignatureById(report, "sig-2"),
              HasReason("the signature is nested inside another signature"));
}

// ---------------------------------------------------------------------------
// The XML itself.

TEST(VerifierTest, RefusesDoctypeBeforeXmlsecSeesIt) {
  std::string xml = ReplaceOnce(LeaderThenSeal(), "<VanBan ",
                                "<!DOCTYPE VanBan [<!ENTITY so \"123\">]>\n<VanBan ");
  VerifyOptions options;
  options.trust = &Trust();
  options.document_name = "decision.xml";
  absl::StatusOr<Report> report = VerifyDocument(xml, options);
  EXPECT_EQ(report.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(report.status().message(),
              HasSubstr("decision.xml: has a DOCTYPE; DTDs are refused"));
}

// Bomb is a "billion laughs" document with `levels` levels of tenfold
// entity references.
std::string Bomb(int levels) {
  std::string bomb = "<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n<!ENTITY lol0 \"lol\">\n";
  for (int i = 1; i <= levels; ++i) {
    absl::StrAppend(&bomb, "<!ENTITY lol", i, " \"");
    for (int j = 0; j < 10; ++j) {
      absl::StrAppend(&bomb, "&lol", i - 1, ";");
    }
    absl::StrAppend(&bomb, "\">\n");
  }
  absl::StrAppend(&bomb, "]>\n<lolz>&lol", levels, ";</lolz>\n");
  return bomb;
}

TEST(VerifierTest, RefusesEntityExpansionBomb) {
  VerifyOptions options;
  options.trust = &Trust();
  options.document_name = "bomb.xml";
  absl::Time start = absl::Now();
  absl::StatusOr<Report> report = VerifyDocument(Bomb(9), options);
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  EXPECT_EQ(report.status().code(), absl::StatusCode::kInvalidArgument);
  // libxml2 (no entity substitution) stops the amplification itself; the
  // DOCTYPE refusal would follow otherwise.
  EXPECT_THAT(report.status().message(),
              ::testing::AnyOf(HasSubstr("bomb.xml: has a DOCTYPE"),
                               HasSubstr("bomb.xml: not well-formed XML: line 14: Detected an "
                                         "entity reference loop")));
}

TEST(VerifierTest, RefusesExternalEntityDocument) {
  std::string xml =
      "<?xml version=\"1.0\"?>\n<!DOCTYPE d [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>\n"
      "<d>&x;</d>\n";
  VerifyOptions options;
  options.trust = &Trust();
  absl::StatusOr<Report> report = VerifyDocument(xml, options);
  EXPECT_EQ(report.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(report.status().message(), HasSubstr("has a DOCTYPE"));
}

TEST(VerifierTest, RefusesTooDeepNesting) {
  std::string xml = "<a>";
  for (int i = 0; i < 100; ++i) {
    xml += "<b>";
  }
  for (int i = 0; i < 100; ++i) {
    xml += "</b>";
  }
  xml += "</a>";
  VerifyOptions options;
  options.trust = &Trust();
  options.document_name = "deep.xml";
  absl::StatusOr<Report> report = VerifyDocument(xml, options);
  EXPECT_EQ(report.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(report.status().message(),
              HasSubstr("deep.xml: elements nest deeper than the limit of 64"));
}

TEST(VerifierTest, HonoursATighterDepthLimit) {
  VerifyOptions options;
  options.trust = &Trust();
  options.limits.max_depth = 2;
  // VanBan > ds:Signature > ds:SignedInfo is already three levels.
  absl::StatusOr<Report> report = VerifyDocument(LeaderThenSeal(), options);
  EXPECT_EQ(report.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(report.status().message(), HasSubstr("nest deeper than the limit of 2"));
}

TEST(VerifierTest, RefusesOversizeDocumentWithResourceExhausted) {
  VerifyOptions options;
  options.trust = &Trust();
  options.document_name = "big.xml";
  options.limits.max_bytes = 1000;
  const std::string& xml = LeaderThenSeal();
  absl::StatusOr<Report> report = VerifyDocument(xml, options);
  EXPECT_EQ(report.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(report.status().message(),
              HasSubstr(absl::StrCat("big.xml: ", xml.size(), " bytes is over the limit of 1000")));
}

TEST(VerifierTest, RefusesMalformedXml) {
  VerifyOptions options;
  options.trust = &Trust();
  options.document_name = "broken.xml";
  std::string xml = LeaderThenSeal();
  xml.resize(xml.size() / 2);
  absl::StatusOr<Report> report = VerifyDocument(xml, options);
  EXPECT_EQ(report.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(report.status().message(), HasSubstr("broken.xml: not well-formed XML"));
}

// ---------------------------------------------------------------------------
// Signature wrapping: none of these may yield a valid report.

TEST(VerifierTest, RefusesDocumentWithDuplicateRootId) {
  std::string xml = ReplaceOnce(LeaderThenSeal(), "<NoiDung>", "<NoiDung Id=\"vanban-1\">");
  Report report = Verify(xml);
  EXPECT_FALSE(report.Valid());
  EXPECT_THAT(report,
              HasProblem("the Id \"vanban-1\" occurs more than once (signature wrapping?)"));
  for (const SignatureReport& s : report.signatures) {
    EXPECT_FALSE(s.valid);
  }
}

TEST(VerifierTest, RefusesDocumentWithDuplicateSignedPropertiesId) {
  // A copy of the genuine SignedProperties, moved into the content where a
  // naive reader might find it first, and the original edited: the Id
  // lookup must not be allowed to pick either silently.
  EditableDoc doc(LeaderThenSeal());
  xmlNode* props = doc.One("//xades:SignedProperties[@Id='sig-1-signedprops']");
  xmlAddPrevSibling(xmlFirstElementChild(doc.root()), xmlCopyNode(props, 1));
  Report report = Verify(doc.Serialize());
  EXPECT_FALSE(report.Valid());
  EXPECT_THAT(report, HasProblem("the Id \"sig-1-signedprops\" occurs more than once"));
}

TEST(VerifierTest, RefusesDocumentWithDuplicateSignatureId) {
  EditableDoc doc(LeaderThenSeal());
  xmlNode* seal = doc.One("//ds:Signature[@Id='sig-2']");
  xmlSetProp(seal, BAD_CAST "Id", BAD_CAST "sig-1");
  Report report = Verify(doc.Serialize());
  EXPECT_FALSE(report.Valid());
  EXPECT_THAT(report, HasProblem("the Id \"sig-1\" occurs more than once"));
}

TEST(VerifierTest, RefusesSignedElementMovedElsewhere) {
  EditableDoc doc(LeaderThenSeal());
  xmlNode* body = doc.One("/vb:VanBan/vb:NoiDung");
  xmlNode* to = doc.One("/vb:VanBan/vb:NoiNhan");
  xmlUnlinkNode(body);
  xmlAddChild(to, body);
  Report report = Verify(doc.Serialize());
  EXPECT_FALSE(report.Valid());
  for (const SignatureReport& s : report.signatures) {
    EXPECT_THAT(s, HasReason("digest of reference \"\" does not match"));
  }
}

TEST(VerifierTest, RefusesSignedContentDuplicatedWithAModifiedCopy) {
  EditableDoc doc(LeaderThenSeal());
  xmlNode* title = doc.One("/vb:VanBan/vb:TrichYeu");
  xmlNode* copy = xmlCopyNode(title, 1);
  xmlNodeSetContent(copy, BAD_CAST "Quyết định số 124/QĐ-TTg của Thủ tướng Chính phủ");
  xmlAddPrevSibling(title, copy);
  Report report = Verify(doc.Serialize());
  EXPECT_FALSE(report.Valid());
  for (const SignatureReport& s : report.signatures) {
    EXPECT_THAT(s, HasReason("digest of reference \"\" does not match"));
  }
}

TEST(VerifierTest, RefusesUnsignedSiblingAddedAfterTheContent) {
  EditableDoc doc(LeaderThenSeal());
  xmlNewTextChild(doc.root(), doc.root()->ns, BAD_CAST "PhuLuc",
                  BAD_CAST "Phụ lục: danh sách bổ sung.");
  Report report = Verify(doc.Serialize());
  EXPECT_FALSE(report.Valid());
  for (const SignatureReport& s : report.signatures) {
    EXPECT_THAT(s, HasReason("digest of reference \"\" does not match"));
  }
}

TEST(VerifierTest, RefusesProcessingInstructionAddedAfterTheRoot) {
  std::string xml = LeaderThenSeal() + "<?dms-action approve?>\n";
  Report report = Verify(xml);
  EXPECT_FALSE(report.Valid());
  EXPECT_THAT(report.signatures[0], HasReason("digest of reference \"\" does not match"));
}

TEST(VerifierTest, RefusesSignatureCopiedFromAnotherDocument) {
  SignOptions other_options;
  other_options.signature_id = "sig-9";
  std::string other =
      Sign(ReplaceOnce(kDocument, "Điều 1.", "Điều 9."), TestKeys().mic_leader, other_options);
  EditableDoc source(other);
  EditableDoc doc(LeaderThenSeal());
  xmlNode* copied = xmlDocCopyNode(source.One("//ds:Signature"), doc.doc(), 1);
  xmlAddChild(doc.root(), copied);
  Report report = Verify(doc.Serialize());
  EXPECT_FALSE(report.Valid());
  ExpectSignatureInvalid(report, "sig-9");
  EXPECT_THAT(*SignatureById(report, "sig-9"),
              HasReason("digest of reference \"\" does not match"));
  // The genuine ones are unaffected, and say they do not cover the stranger.
  EXPECT_TRUE(SignatureById(report, "sig-1")->valid);
  EXPECT_TRUE(SignatureById(report, "sig-2")->valid);
}

TEST(VerifierTest, RefusesHandMadeSignatureHidingContent) {
  // XPath Filter 2.0 takes every ds:Signature out of the digest, so content
  // wrapped in one would be unsigned yet look part of the document.
  EditableDoc doc(LeaderThenSeal());
  xmlNode* fake = xmlNewDocNode(doc.doc(), nullptr, BAD_CAST "Signature", nullptr);
  xmlSetNs(fake, xmlNewNs(fake, BAD_CAST kDsigNs, BAD_CAST "ds"));
  xmlSetProp(fake, BAD_CAST "Id", BAD_CAST "sig-0");
  xmlNewTextChild(fake, doc.root()->ns, BAD_CAST "NoiDung",
                  BAD_CAST "Điều 2. Giao Bộ Tài chính chi 100 tỷ đồng.");
  xmlAddPrevSibling(doc.One("/vb:VanBan/vb:NoiNhan"), fake);
  Report report = Verify(doc.Serialize());
  EXPECT_FALSE(report.Valid());
  ExpectSignatureInvalid(report, "sig-0");
  EXPECT_THAT(*SignatureById(report, "sig-0"),
              HasReason("ds:Signature does not start with ds:SignedInfo"));
}

TEST(VerifierTest, RefusesContentHiddenInsideKeyInfo) {
  // KeyInfo is not signed and the filter hides the whole signature from the
  // content digest: foreign elements there are unsigned content.
  EditableDoc doc(LeaderThenSeal());
  xmlNode* key_info = doc.One("//ds:Signature[@Id='sig-1']/ds:KeyInfo");
  xmlNewTextChild(key_info, doc.root()->ns, BAD_CAST "NoiDung",
                  BAD_CAST "Điều 2. Giao Bộ Tài chính chi 100 tỷ đồng.");
  Report report = Verify(doc.Serialize());
  EXPECT_FALSE(report.Valid());
  ExpectSignatureInvalid(report, "sig-1");
  EXPECT_THAT(*SignatureById(report, "sig-1"),
              HasReason("element NoiDung at /*/ds:Signature[1]/ds:KeyInfo/*[2] is not covered "
                        "by the signature (unsigned content)"));
  // The signature itself is intact: the refusal is the hidden element.
  EXPECT_TRUE(SignatureById(report, "sig-1")->cryptographic_ok);
}

TEST(VerifierTest, RefusesContentHiddenInsideX509Data) {
  EditableDoc doc(LeaderThenSeal());
  xmlNode* data = doc.One("//ds:Signature[@Id='sig-2']/ds:KeyInfo/ds:X509Data");
  xmlNewTextChild(data, doc.root()->ns, BAD_CAST "NoiDung", BAD_CAST "Điều 3. Hiệu lực.");
  Report report = Verify(doc.Serialize());
  ExpectSignatureInvalid(report, "sig-2");
  EXPECT_THAT(*SignatureById(report, "sig-2"), HasReason("unsigned content"));
}

TEST(VerifierTest, RefusesUnexpectedElementInsideTheSignature) {
  EditableDoc doc(LeaderThenSeal());
  xmlNode* sig = doc.One("//ds:Signature[@Id='sig-1']");
  xmlNewTextChild(sig, doc.root()->ns, BAD_CAST "NoiDung", BAD_CAST "Điều 2. Chèn thêm.");
  Report report = Verify(doc.Serialize());
  ExpectSignatureInvalid(report, "sig-1");
  EXPECT_THAT(*SignatureById(report, "sig-1"),
              HasReason("element NoiDung at /*/ds:Signature[1]/*[5] is not covered by the "
                        "signature (unsigned content)"));
}

TEST(VerifierTest, RefusesContentBesideTheSignedPropertiesInQualifyingProperties) {
  EditableDoc doc(LeaderThenSeal());
  xmlNode* qp = doc.One("//ds:Signature[@Id='sig-1']//xades:QualifyingProperties");
  xmlNewTextChild(qp, doc.root()->ns, BAD_CAST "NoiDung", BAD_CAST "Điều 2. Chèn thêm.");
  Report report = Verify(doc.Serialize());
  ExpectSignatureInvalid(report, "sig-1");
  EXPECT_THAT(*SignatureById(report, "sig-1"),
              HasReason("element NoiDung at /*/ds:Signature[1]/ds:Object/"
                        "xades:QualifyingProperties/*[2] is not covered by the signature "
                        "(unsigned content)"));
}

TEST(VerifierTest, RefusesForeignContentInUnsignedProperties) {
  EditableDoc doc(LeaderThenSeal());
  xmlNode* qp = doc.One("//ds:Signature[@Id='sig-1']//xades:QualifyingProperties");
  xmlNs* xades = xmlSearchNsByHref(doc.doc(), qp, BAD_CAST kXadesNs);
  xmlNode* unsigned_props = xmlNewChild(qp, xades, BAD_CAST "UnsignedProperties", nullptr);
  xmlNode* usp =
      xmlNewChild(unsigned_props, xades, BAD_CAST "UnsignedSignatureProperties", nullptr);
  xmlNewTextChild(usp, doc.root()->ns, BAD_CAST "NoiDung", BAD_CAST "Điều 2. Chèn thêm.");
  Report report = Verify(doc.Serialize());
  ExpectSignatureInvalid(report, "sig-1");
  EXPECT_THAT(*SignatureById(report, "sig-1"),
              HasReason("element NoiDung at /*/ds:Signature[1]/ds:Object/"
                        "xades:QualifyingProperties/xades:UnsignedProperties/"
                        "xades:UnsignedSignatureProperties/*"));
}

TEST(VerifierTest, AcceptsEmptyXadesUnsignedProperties) {
  // Unsigned properties in the XAdES vocabulary (time-stamps later) are
  // where they belong and break nothing.
  EditableDoc doc(LeaderThenSeal());
  xmlNode* qp = doc.One("//ds:Signature[@Id='sig-2']//xades:QualifyingProperties");
  xmlNs* xades = xmlSearchNsByHref(doc.doc(), qp, BAD_CAST kXadesNs);
  xmlNode* unsigned_props = xmlNewChild(qp, xades, BAD_CAST "UnsignedProperties", nullptr);
  xmlNewChild(unsigned_props, xades, BAD_CAST "UnsignedSignatureProperties", nullptr);
  Report report = Verify(doc.Serialize());
  EXPECT_TRUE(report.Valid()) << ReportText(report);
}

TEST(VerifierTest, RefusesKeyInfoSwappedToAnotherAgencysCertificate) {
  const std::string& good = LeaderThenSeal();
  std::string leader_cert = ElementText(good, "ds:X509Certificate");
  std::string other = absl::Base64Escape(CertificateDer(TestKeys().quangninh_seal.cert.get()));
  std::string xml = ReplaceOnce(good, leader_cert, other);
  Report report = Verify(xml);
  ExpectSignatureInvalid(report, "sig-1");
  const SignatureReport& s = *SignatureById(report, "sig-1");
  EXPECT_THAT(s, HasReason("no certificate in KeyInfo matches XAdES SigningCertificateV2"));
  EXPECT_FALSE(s.signing_certificate_matches);
  EXPECT_FALSE(s.signer.has_value());
}

TEST(VerifierTest, RefusesKeyInfoSwappedTogetherWithSigningCertificateV2) {
  const std::string& good = LeaderThenSeal();
  X509* other_cert = TestKeys().quangninh_seal.cert.get();
  std::string leader_cert = ElementText(good, "ds:X509Certificate");
  std::string xml = ReplaceOnce(good, leader_cert, absl::Base64Escape(CertificateDer(other_cert)));
  unsigned char md[32];
  unsigned int len = 0;
  X509_digest(other_cert, EVP_sha256(), md, &len);
  size_t cert_digest = xml.find("<xades:CertDigest>");
  std::string old_digest = ElementText(xml, "ds:DigestValue", cert_digest);
  xml = ReplaceOnce(xml, old_digest,
                    absl::Base64Escape(std::string(reinterpret_cast<char*>(md), len)));
  Report report = Verify(xml);
  ExpectSignatureInvalid(report, "sig-1");
  const SignatureReport& s = *SignatureById(report, "sig-1");
  // The swap is consistent, so the signer now looks like the province's
  // seal; the signed properties no longer match their digest.
  EXPECT_TRUE(s.signing_certificate_matches);
  EXPECT_THAT(s.signer->subject, HasSubstr("OU=000.00.00.H49"));
  EXPECT_THAT(s, HasReason("digest of reference \"#sig-1-signedprops\" does not match"));
  EXPECT_FALSE(s.cryptographic_ok);
}

TEST(VerifierTest, RefusesSignatureWithoutCertificate) {
  EditableDoc doc(LeaderThenSeal());
  xmlNode* key_info = doc.One("//ds:Signature[@Id='sig-1']/ds:KeyInfo");
  xmlUnlinkNode(key_info);
  xmlFreeNode(key_info);
  Report report = Verify(doc.Serialize());
  ExpectSignatureInvalid(report, "sig-1");
  EXPECT_THAT(*SignatureById(report, "sig-1"),
              HasReason("no signing certificate in KeyInfo (X509Data/X509Certificate)"));
}

TEST(VerifierTest, RefusesUnreadableCertificateInKeyInfo) {
  const std::string& good = LeaderThenSeal();
  std::string leader_cert = ElementText(good, "ds:X509Certificate");
  std::string xml = ReplaceOnce(good, leader_cert, absl::Base64Escape("not a certificate"));
  Report report = Verify(xml);
  EXPECT_THAT(*SignatureById(report, "sig-1"),
              HasReason("KeyInfo holds an unreadable certificate: certificate: not a DER X.509 "
                        "certificate"));
  EXPECT_FALSE(report.Valid());
}

// ---------------------------------------------------------------------------
// Signers the PKI does not stand behind.

TEST(VerifierTest, RefusesRevokedSignerWhenTheCrlIsChecked) {
  std::string xml = Sign(kDocument, LoadKey("negative/revoked-leader"));
  Report report = Verify(xml);
  ExpectSignatureInvalid(report, "sig-1");
  const SignatureReport& s = report.signatures[0];
  EXPECT_TRUE(s.revoked);
  EXPECT_FALSE(s.chain_valid);
  EXPECT_TRUE(s.cryptographic_ok);
  EXPECT_THAT(s, HasReason("the signing certificate is not trusted at 2026-06-01T00:00:00Z: "
                           "certificate revoked"));
  EXPECT_THAT(s, HasReason("the signing certificate was revoked at 2026-01-01T00:00:00Z "
                           "(keyCompromise), before 2026-06-01T00:00:00Z"));
  // Without the CRL (offline), nothing says whether it was revoked: the
  // strict profile refuses a signer whose status is unknown.
  Report unchecked = Verify(xml, EvaluationTime(), /*with_crl=*/false);
  EXPECT_FALSE(unchecked.Valid());
  EXPECT_TRUE(unchecked.signatures[0].chain_valid);
  EXPECT_THAT(unchecked.signatures[0], HasReason("revocation unknown at 2026-06-01T00:00:00Z"));
}

TEST(VerifierTest, FlagsRevocationUnavailableOnlyWhenNothingDecidedIt) {
  std::string xml = Sign(kDocument, LoadKey("agencies/vpcp/leader"));
  Report decided = Verify(xml);
  EXPECT_TRUE(decided.Valid());
  EXPECT_FALSE(decided.signatures[0].revocation_unavailable);
  // Offline and no CRL: an outage-like state a later check may resolve.
  Report undecided = Verify(xml, EvaluationTime(), /*with_crl=*/false);
  EXPECT_FALSE(undecided.Valid());
  EXPECT_TRUE(undecided.signatures[0].revocation_unavailable);
  EXPECT_EQ(undecided.signatures[0].reasons.size(), 1u);
  // A revoked signer is decided, not unavailable.
  Report revoked = Verify(Sign(kDocument, LoadKey("negative/revoked-leader")));
  EXPECT_FALSE(revoked.signatures[0].revocation_unavailable);
}

TEST(VerifierTest, RefusesEveryChainBeforeTheCrlIsValid) {
  // The CRL's lastUpdate is 2026-01-01: evaluated before it, OpenSSL cannot
  // use it, so even the revoked leader's signature from 2025 (and any other)
  // is not trusted with the CRL in the store.
  std::string xml = Sign(kDocument, LoadKey("negative/revoked-leader"));
  absl::Time before = absl::FromCivil(absl::CivilSecond(2025, 6, 1, 0, 0, 0), absl::UTCTimeZone());
  Report report = Verify(xml, before);
  EXPECT_FALSE(report.Valid());
  EXPECT_FALSE(report.signatures[0].revoked);
  EXPECT_THAT(report.signatures[0], HasReason("CRL is not yet valid"));
  // Without it the chain is fine, but revocation is then unknown.
  Report without = Verify(xml, before, /*with_crl=*/false);
  EXPECT_TRUE(without.signatures[0].chain_valid);
  EXPECT_THAT(without.signatures[0], HasReason("revocation unknown"));
}

TEST(VerifierTest, RefusesExpiredSignerNow) {
  std::string xml = Sign(kDocument, LoadKey("negative/expired-leader"));
  Report report = Verify(xml);
  ExpectSignatureInvalid(report, "sig-1");
  EXPECT_THAT(report.signatures[0], HasReason("certificate has expired"));
  EXPECT_TRUE(report.signatures[0].cryptographic_ok);
}

TEST(VerifierTest, ExpiredSignerIsNotTrustedEvenWithinItsOwnValidity) {
  // At 2020-06-01 the leader certificate (2020..2021) was valid, but its
  // issuers only exist from 2025-01-01: no evaluation time makes the chain
  // valid (pki-testdata/README.md), and the verifier must say so rather
  // than check the leaf alone.
  std::string xml = Sign(kDocument, LoadKey("negative/expired-leader"));
  absl::Time in_2020 = absl::FromCivil(absl::CivilSecond(2020, 6, 1, 0, 0, 0), absl::UTCTimeZone());
  Report report = Verify(xml, in_2020, /*with_crl=*/false);
  EXPECT_FALSE(report.Valid());
  EXPECT_EQ(report.verified_at, in_2020);
  EXPECT_THAT(report.signatures[0],
              HasReason("the signing certificate is not trusted at 2020-06-01T00:00:00Z: "
                        "certificate is not yet valid (at chain depth"));
}

TEST(VerifierTest, EvaluationTimeDecidesValidity) {
  // A good leader's signature is valid during the certificate's life and
  // not after it (the CAs outlive it until 2055).
  const std::string& xml = LeaderThenSeal();
  absl::Time in_2050 = absl::FromCivil(absl::CivilSecond(2050, 6, 1, 0, 0, 0), absl::UTCTimeZone());
  EXPECT_TRUE(Verify(xml, EvaluationTime()).Valid());
  Report late = Verify(xml, in_2050);
  EXPECT_FALSE(late.Valid());
  EXPECT_THAT(late.signatures[0],
              HasReason("the signing certificate is not trusted at 2050-06-01T00:00:00Z: "
                        "certificate has expired"));
}

TEST(VerifierTest, RefusesNotYetValidSigner) {
  std::string xml = Sign(kDocument, LoadKey("negative/notyet-leader"));
  Report report = Verify(xml);
  ExpectSignatureInvalid(report, "sig-1");
  EXPECT_THAT(report.signatures[0], HasReason("certificate is not yet valid"));
  // After 2090 the leaf is valid but the CAs (until 2055) have expired.
  absl::Time in_2091 = absl::FromCivil(absl::CivilSecond(2091, 1, 1, 0, 0, 0), absl::UTCTimeZone());
  Report later = Verify(xml, in_2091, /*with_crl=*/false);
  EXPECT_FALSE(later.Valid());
  EXPECT_THAT(later.signatures[0], HasReason("certificate has expired (at chain depth"));
}

TEST(VerifierTest, RefusesSignerFromAnUntrustedRoot) {
  std::string xml = Sign(kDocument, LoadKey("negative/untrusted-leader"));
  Report report = Verify(xml);
  ExpectSignatureInvalid(report, "sig-1");
  const SignatureReport& s = report.signatures[0];
  EXPECT_FALSE(s.chain_valid);
  EXPECT_FALSE(s.revoked);
  EXPECT_TRUE(s.cryptographic_ok);
  EXPECT_THAT(s, HasReason("unable to get local issuer certificate"));
}

TEST(VerifierTest, RefusesUntrustedRootCarriedInKeyInfo) {
  // The attacker ships its own root in KeyInfo: only the trust store counts.
  KeySpec spec;
  spec.key = Pki("negative/untrusted-leader.key.pem");
  spec.cert_path = Pki("negative/untrusted-leader.cert.pem");
  spec.chain_path = Pki("negative/untrusted-root.cert.pem");
  absl::StatusOr<SigningKey> key = LoadSigningKey(spec, NoSecret());
  ASSERT_TRUE(key.ok()) << key.status();
  Report report = Verify(Sign(kDocument, *key));
  EXPECT_FALSE(report.Valid());
  EXPECT_THAT(report.signatures[0], HasReason("self-signed certificate in certificate chain"));
}

TEST(VerifierTest, RefusesSignerWithoutSigningKeyUsage) {
  std::string xml = PlainSignature(kDocument, LoadKey("negative/wrong-usage-leader"), "");
  Report report = Verify(xml, EvaluationTime(), true, /*require_xades=*/false);
  ExpectSignatureInvalid(report, "plain-1");
  const SignatureReport& s = report.signatures[0];
  EXPECT_FALSE(s.key_usage_ok);
  EXPECT_THAT(s, HasReason("the signing certificate may not sign documents: its key usage has "
                           "neither digitalSignature nor nonRepudiation"));
}

TEST(VerifierTest, RefusesRsa1024Signer) {
  std::string xml = PlainSignature(kDocument, LoadKey("negative/rsa1024-leader"), "");
  Report report = Verify(xml);
  ExpectSignatureInvalid(report, "plain-1");
  EXPECT_THAT(report.signatures[0],
              HasReason("signing key refused: RSA key of 1024 bits is below the minimum of 2048"));
  // The chain itself is fine: the refusal is the application's policy.
  EXPECT_TRUE(report.signatures[0].chain_valid);
}

// ---------------------------------------------------------------------------
// Reports.

TEST(VerifierTest, WarnsAboutACoSignatureThatDoesNotCoverAnEarlierOne) {
  // Two independent signatures over the same content, put together: both
  // valid, the second only noted as not being a counter-signature.
  std::string first = Sign(kDocument, TestKeys().vpcp_leader);
  SignOptions options;
  options.signature_id = "sig-2";
  std::string second = Sign(kDocument, TestKeys().mic_leader, options);
  EditableDoc a(first);
  EditableDoc b(second);
  xmlAddChild(a.root(), xmlDocCopyNode(b.One("//ds:Signature"), a.doc(), 1));
  Report report = Verify(a.Serialize());
  EXPECT_TRUE(report.Valid()) << ReportText(report);
  const SignatureReport& co = *SignatureById(report, "sig-2");
  EXPECT_THAT(co.covers_signatures, IsEmpty());
  EXPECT_THAT(co.warnings,
              ElementsAre("does not cover the earlier signature sig-1 (a co-signature, not a "
                          "counter-signature)"));
}

TEST(VerifierTest, ReportJsonCarriesTheVerdictAndReasons) {
  std::string xml = ReplaceOnce(LeaderThenSeal(), "Điều 1.", "Điều 2.");
  std::string json = ReportJson(Verify(xml));
  EXPECT_THAT(json, HasSubstr("\"valid\": false"));
  EXPECT_THAT(json, HasSubstr("\"verdict\": \"invalid\""));
  EXPECT_THAT(json, HasSubstr("digest of reference \\\"\\\" does not match"));
  EXPECT_THAT(json, HasSubstr("\"signing_order\": [\n    \"sig-1\",\n    \"sig-2\"\n  ]"));
}

}  // namespace
}  // namespace axis::signer::test

// ---------------------------------------------------------------------------
// Holes a security review found, each closed.

namespace axis::signer::test {
namespace {

TEST(VerifierTest, RefusesSignerWhoseExtendedKeyUsageIsNotDocumentSigning) {
  // A TLS certificate of the same trusted CA signs no decree.
  SigningKey tls = LoadKey("agencies/vpcp/server");
  EXPECT_EQ(SignDocument(kDocument, tls).status().code(), absl::StatusCode::kFailedPrecondition);
  std::string xml = PlainSignature(kDocument, tls, "");
  Report report = Verify(xml, EvaluationTime(), true, /*require_xades=*/false);
  ExpectSignatureInvalid(report, "plain-1");
  EXPECT_THAT(report.signatures[0], HasReason("does not allow document signing"));
  EXPECT_THAT(report.signatures[0], HasReason("TLS Web Server Authentication"));
}

TEST(VerifierTest, RefusesASignatureMovedIntoTheContent) {
  EditableDoc doc(LeaderThenSeal());
  xmlNode* seal = doc.One("//ds:Signature[@Id='sig-2']");
  xmlNode* body = doc.One("//*[local-name()='NoiDung']");
  xmlUnlinkNode(seal);
  xmlAddChild(body, seal);
  Report report = Verify(doc.Serialize());
  ExpectSignatureInvalid(report, "sig-2");
  EXPECT_THAT(*SignatureById(report, "sig-2"), HasReason("not where signatures belong"));
}

TEST(VerifierTest, RefusesAProcessingInstructionOutsideTheRoot) {
  std::string xml = ReplaceOnce(LeaderThenSeal(), "?>\n",
                                "?>\n<?xml-stylesheet type=\"text/xsl\" href=\"x.xsl\"?>\n");
  Report report = Verify(xml);
  EXPECT_FALSE(report.Valid());
  EXPECT_THAT(report, HasProblem("processing instruction <?xml-stylesheet?> outside the root"));
}

TEST(VerifierTest, RefusesASecondSignedPropertiesThatNoReferenceCovers) {
  // A copy of the signed properties, with another signing time and no Id,
  // put first in QualifyingProperties: a reader taking the first one would
  // believe a time no digest covers.
  std::string xml = Sign(kDocument, TestKeys().vpcp_leader);
  ASSERT_TRUE(Verify(xml).Valid());
  EditableDoc doc(xml);
  xmlNode* sp = doc.One("//xades:SignedProperties");
  ASSERT_NE(sp, nullptr);
  xmlNode* fake = xmlDocCopyNode(sp, doc.doc(), 1);
  xmlUnsetProp(fake, BAD_CAST "Id");
  xmlAddPrevSibling(sp, fake);
  xmlNode* when = doc.All("//xades:SignedProperties[1]//xades:SigningTime")[0];
  xmlNodeSetContent(when, BAD_CAST "2020-01-01T00:00:00Z");
  Report report = Verify(doc.Serialize());
  EXPECT_FALSE(report.Valid()) << ReportText(report);
  EXPECT_THAT(report.signatures[0], HasReason("is not covered by the signature (unsigned content)"));
}

TEST(VerifierTest, RefusesTextDirectlyInsideASignature) {
  std::string xml = ReplaceOnce(LeaderThenSeal(), "</ds:SignatureValue>",
                                "</ds:SignatureValue>Số tiền: 999.999.999 đồng");
  Report report = Verify(xml);
  EXPECT_FALSE(report.Valid());
  EXPECT_THAT(report.signatures[0], HasReason("text directly in"));
}

TEST(VerifierTest, RefusesAFilterOnTheSignedPropertiesReference) {
  // With the signatures filtered out, the SignedProperties digest would be
  // over nothing, and a forged role or signing time would pass unseen.
  std::string xml = ReplaceOnce(
      LeaderThenSeal(),
      "URI=\"#sig-1-signedprops\">\n<ds:Transforms>",
      "URI=\"#sig-1-signedprops\">\n<ds:Transforms><ds:Transform "
      "Algorithm=\"http://www.w3.org/2000/09/xmldsig#enveloped-signature\"/>");
  Report report = Verify(xml);
  ExpectSignatureInvalid(report, "sig-1");
  EXPECT_THAT(*SignatureById(report, "sig-1"), HasReason("may carry only a C14N transform"));
}

TEST(VerifierTest, RefusesAnIdFragmentWithWhiteSpace) {
  // xmlsec resolves "#a b" as id('a b'): the elements with Ids a and b.
  std::string xml = ReplaceOnce(LeaderThenSeal(), "URI=\"#sig-1\"", "URI=\"#sig-1 vanban-1\"");
  Report report = Verify(xml);
  ExpectSignatureInvalid(report, "sig-2");
  EXPECT_THAT(*SignatureById(report, "sig-2"), HasReason("not a plain Id"));
}

TEST(VerifierTest, RefusesANamespacedIdThatShadowsAnother) {
  std::string xml = ReplaceOnce(LeaderThenSeal(), "<NoiDung>",
                                "<NoiDung xmlns:p=\"urn:p\" p:Id=\"sig-1\">");
  Report report = Verify(xml);
  EXPECT_FALSE(report.Valid());
  EXPECT_THAT(report, HasProblem("the Id \"sig-1\" occurs more than once"));
}

TEST(VerifierTest, RefusesMoreSignaturesThanTheLimitBeforeAnyWork) {
  VerifyOptions options;
  options.trust = &Trust();
  options.at = EvaluationTime();
  options.max_signatures = 1;
  absl::StatusOr<Report> report = VerifyDocument(LeaderThenSeal(), options);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_FALSE(report->Valid());
  EXPECT_THAT(*report, HasProblem("2 signatures, over the limit of 1"));
  EXPECT_TRUE(report->signatures.empty());
}

TEST(VerifierTest, SaysWhenRevocationIsUnknownAndRefusesTheSignature) {
  Report without = Verify(LeaderThenSeal(), EvaluationTime(), /*with_crl=*/false);
  EXPECT_THAT(without.signatures[0].revocation, HasSubstr("unknown"));
  EXPECT_THAT(without.signatures[0].revocation, HasSubstr("OCSP not asked (offline)"));
  EXPECT_FALSE(without.Valid());
  Report with = Verify(LeaderThenSeal(), EvaluationTime(), /*with_crl=*/true);
  EXPECT_THAT(with.signatures[0].revocation, HasSubstr("checked against the CRLs"));
}

}  // namespace
}  // namespace axis::signer::test
