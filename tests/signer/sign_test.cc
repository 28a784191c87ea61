// sign_test.cc: SignDocument makes enveloped XAdES signatures that the
// verifier accepts, for every key type of the test PKI, keeps the document's
// bytes, chains later signatures onto earlier ones, and refuses keys and
// documents it must not sign.
#include "signer/sign.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "signer/internal/rsa_pss.h"
#include "tests/signer/signer_fixture.h"

namespace axis::signer::test {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

// SignatureValueBytes decodes the n-th SignatureValue of `xml`.
std::string SignatureValueBytes(const std::string& xml, int n = 0) {
  size_t from = 0;
  for (int i = 0; i < n; ++i) {
    from = xml.find("<ds:SignatureValue>", from) + 1;
  }
  std::string text = ElementText(xml, "ds:SignatureValue", from);
  std::string clean;
  for (char c : text) {
    if (c != '\n' && c != '\r' && c != ' ') {
      clean.push_back(c);
    }
  }
  std::string bytes;
  EXPECT_TRUE(absl::Base64Unescape(clean, &bytes)) << text;
  return bytes;
}

// SignatureElement returns the text of the ds:Signature with `id`.
std::string SignatureElement(const std::string& xml, const std::string& id) {
  size_t start = xml.find(absl::StrCat("<ds:Signature xmlns:ds=\"", kDsigNs, "\" Id=\"", id, "\""));
  if (start == std::string::npos) {
    return "";
  }
  size_t end = xml.find("</ds:Signature>", start);
  return xml.substr(start, end + 15 - start);
}

struct RoundTrip {
  const char* name;
  const char* key;
  bool pss;
  const char* method;
  size_t signature_bytes;
  const char* key_type;
};

class SignRoundTripTest : public ::testing::TestWithParam<RoundTrip> {};

TEST_P(SignRoundTripTest, SignedDocumentVerifies) {
  const RoundTrip& p = GetParam();
  SignOptions options;
  options.rsa_pss = p.pss;
  std::string xml = Sign(kDocument, LoadKey(p.key), options);
  Report report = Verify(xml);
  ASSERT_TRUE(report.Valid()) << ReportText(report);
  ASSERT_EQ(report.signatures.size(), 1u);
  const SignatureReport& s = report.signatures[0];
  EXPECT_EQ(s.signature_method, p.method);
  EXPECT_TRUE(s.cryptographic_ok);
  EXPECT_TRUE(s.chain_valid);
  EXPECT_EQ(s.signer->key_type, p.key_type);
  // XML-DSig wants raw signatures: the RSA modulus size, or r||s for ECDSA.
  EXPECT_EQ(SignatureValueBytes(xml).size(), p.signature_bytes);

  // And the content is protected.
  Report tampered = Verify(ReplaceOnce(xml, "quốc gia", "địa phương"));
  EXPECT_FALSE(tampered.Valid());
  EXPECT_THAT(tampered.signatures[0], HasReason("digest of reference \"\" does not match"));
}

INSTANTIATE_TEST_SUITE_P(
    KeyTypes, SignRoundTripTest,
    ::testing::Values(
        RoundTrip{"Rsa2048Pkcs1", "agencies/vpcp/leader", false,
                  "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256", 256, "RSA-2048"},
        RoundTrip{"Rsa2048Pss", "agencies/vpcp/leader", true, internal::kRsaPssSha256Href, 256,
                  "RSA-2048"},
        RoundTrip{"EcdsaP256", "agencies/mic/leader", false,
                  "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256", 64, "EC-P-256"},
        RoundTrip{"EcdsaP384", "agencies/quangninh/leader", false,
                  "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384", 96, "EC-P-384"},
        RoundTrip{"RsaSealOfEcdsaProvince", "agencies/quangninh/seal", false,
                  "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256", 256, "RSA-2048"}),
    [](const ::testing::TestParamInfo<RoundTrip>& info) { return std::string(info.param.name); });

TEST(SignerTest, KeepsTheDocumentBytesExactly) {
  std::string xml = Sign(kDocument, TestKeys().vpcp_leader);
  // Everything up to the point where the signature went in is unchanged,
  // Vietnamese text included (no re-encoding, no character references).
  std::string doc(kDocument);
  std::string before_end = doc.substr(0, doc.find("</VanBan>"));
  EXPECT_EQ(xml.substr(0, before_end.size()), before_end);
  EXPECT_THAT(xml, HasSubstr(kTitle));
  EXPECT_THAT(xml, HasSubstr("</ds:Signature></VanBan>"));
  EXPECT_THAT(xml, Not(HasSubstr("&#")));
}

TEST(SignerTest, LeaderThenSealMakesTwoOrderedSignatures) {
  const std::string& xml = LeaderThenSeal();
  Report report = Verify(xml);
  ASSERT_TRUE(report.Valid()) << ReportText(report);
  EXPECT_THAT(report.signing_order, ElementsAre("sig-1", "sig-2"));
  EXPECT_THAT(SignatureById(report, "sig-1")->covers_signatures, IsEmpty());
  EXPECT_THAT(SignatureById(report, "sig-2")->covers_signatures, ElementsAre("sig-1"));
  EXPECT_EQ(SignatureById(report, "sig-1")->role, "Thủ tướng");
  // The Vietnamese content survives both signatures byte for byte.
  std::string doc(kDocument);
  std::string before_end = doc.substr(0, doc.find("</VanBan>"));
  EXPECT_EQ(xml.substr(0, before_end.size()), before_end);
}

TEST(SignerTest, AddingASignatureLeavesTheEarlierOneUntouched) {
  SignOptions leader;
  leader.role = "Thủ tướng";
  std::string once = Sign(kDocument, TestKeys().vpcp_leader, leader);
  std::string twice = Sign(once, TestKeys().vpcp_seal);
  std::string first = SignatureElement(once, "sig-1");
  ASSERT_FALSE(first.empty());
  EXPECT_EQ(SignatureElement(twice, "sig-1"), first);
  EXPECT_EQ(twice.substr(0, once.rfind("</VanBan>")), once.substr(0, once.rfind("</VanBan>")));
}

TEST(SignerTest, ThirdCoSignerCoversBothEarlierSignatures) {
  SignOptions options;
  options.role = "Thứ trưởng";
  std::string xml = Sign(LeaderThenSeal(), TestKeys().mic_leader, options);
  Report report = Verify(xml);
  ASSERT_TRUE(report.Valid()) << ReportText(report);
  ASSERT_EQ(report.signatures.size(), 3u);
  EXPECT_THAT(report.signing_order, ElementsAre("sig-1", "sig-2", "sig-3"));
  const SignatureReport& third = *SignatureById(report, "sig-3");
  EXPECT_THAT(third.covers_signatures, ElementsAre("sig-1", "sig-2"));
  EXPECT_EQ(third.role, "Thứ trưởng");
  EXPECT_THAT(third.signer->subject, HasSubstr("OU=000.00.00.G12"));

  // Altering the leader now breaks all three.
  std::string value = ElementText(xml, "ds:SignatureValue");
  Report tampered = Verify(ReplaceOnce(xml, value, FlipBase64(value)));
  for (const SignatureReport& s : tampered.signatures) {
    EXPECT_FALSE(s.valid) << s.id;
  }
  EXPECT_THAT(*SignatureById(tampered, "sig-3"),
              HasReason("digest of reference \"#sig-1\" does not match"));
  // sig-2 itself is unchanged, only no longer valid.
  EXPECT_THAT(*SignatureById(tampered, "sig-3"),
              Not(HasReason("digest of reference \"#sig-2\" does not match")));
}

TEST(SignerTest, WritesSigningTimeRoleMimeTypeAndCertificates) {
  SignOptions options;
  options.role = "Thủ tướng";
  options.mime_type = "application/vnd.edxml+xml";
  std::string xml = Sign(kDocument, TestKeys().vpcp_leader, options);
  EXPECT_THAT(xml, HasSubstr("<xades:SigningTime>2026-05-20T08:30:00Z</xades:SigningTime>"));
  EXPECT_THAT(xml, HasSubstr("<xades:ClaimedRole>Thủ tướng</xades:ClaimedRole>"));
  EXPECT_THAT(xml, HasSubstr("<xades:DataObjectFormat ObjectReference=\"#sig-1-ref-doc\">"
                             "<xades:MimeType>application/vnd.edxml+xml</xades:MimeType>"));
  EXPECT_THAT(xml, HasSubstr("Target=\"#sig-1\""));
  // KeyInfo: the signer's certificate first, then its chain.
  EditableDoc doc(xml);
  std::vector<xmlNode*> certs = doc.All("//ds:KeyInfo/ds:X509Data/ds:X509Certificate");
  ASSERT_EQ(certs.size(), 2u);
  EXPECT_EQ(NodeText(certs[0]),
            absl::Base64Escape(CertificateDer(TestKeys().vpcp_leader.cert.get())));
  EXPECT_EQ(NodeText(certs[1]), absl::Base64Escape(CertificateDer(CertOf("chain.pem").get())));
  // No role: no SignerRoleV2 at all.
  EXPECT_THAT(Sign(kDocument, TestKeys().vpcp_seal), Not(HasSubstr("SignerRoleV2")));
}

TEST(SignerTest, UsesTheGivenSignatureId) {
  SignOptions options;
  options.signature_id = "chu-ky-lanh-dao";
  std::string xml = Sign(kDocument, TestKeys().vpcp_leader, options);
  EXPECT_THAT(xml, HasSubstr("Id=\"chu-ky-lanh-dao\""));
  EXPECT_THAT(xml, HasSubstr("URI=\"#chu-ky-lanh-dao-signedprops\""));
  std::string sealed = Sign(xml, TestKeys().vpcp_seal);
  Report report = Verify(sealed);
  ASSERT_TRUE(report.Valid()) << ReportText(report);
  EXPECT_THAT(report.signing_order, ElementsAre("chu-ky-lanh-dao", "sig-1"));
  EXPECT_THAT(SignatureById(report, "sig-1")->covers_signatures, ElementsAre("chu-ky-lanh-dao"));
}

TEST(SignerTest, PicksAFreeSignatureIdWhenSigOneIsTaken) {
  std::string doc = ReplaceOnce(kDocument, "<NoiDung>", "<NoiDung Id=\"sig-1\">");
  std::string xml = Sign(doc, TestKeys().vpcp_leader);
  EXPECT_THAT(xml, HasSubstr("<ds:Signature xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\" "
                             "Id=\"sig-2\">"));
  EXPECT_TRUE(Verify(xml).Valid());
}

TEST(SignerTest, RefusesASignatureIdAlreadyUsed) {
  SignOptions options;
  options.signature_id = "vanban-1";
  absl::StatusOr<std::string> out = SignDocument(kDocument, TestKeys().vpcp_leader, options);
  EXPECT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(out.status().message(), HasSubstr("the Id \"vanban-1\" is already used"));
}

TEST(SignerTest, PlacesTheSignatureInTheNamedParent) {
  constexpr char kEnvelope[] =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<edXML:edXMLEnvelope xmlns:edXML=\"http://www.mic.gov.vn/TBT/QCVN_102_2016\">"
      "<edXML:edXMLHeader><edXML:MessageHeader>Văn phòng Chính phủ</edXML:MessageHeader>"
      "</edXML:edXMLHeader><edXML:edXMLBody>Nội dung</edXML:edXMLBody></edXML:edXMLEnvelope>";
  SignOptions options;
  options.parent_ns = "http://www.mic.gov.vn/TBT/QCVN_102_2016";
  options.parent_name = "edXMLHeader";
  std::string xml = Sign(kEnvelope, TestKeys().vpcp_leader, options);
  EXPECT_THAT(xml, HasSubstr("</ds:Signature></edXML:edXMLHeader><edXML:edXMLBody>"));
  std::string sealed = Sign(xml, TestKeys().vpcp_seal, options);
  // Where signatures belong is the verifier's to be told.
  EXPECT_THAT(Verify(sealed).signatures[0], HasReason("not where signatures belong"));
  VerifyOptions where;
  where.trust = &Trust();
  where.at = EvaluationTime();
  where.signature_parent_ns = options.parent_ns;
  where.signature_parent_name = options.parent_name;
  absl::StatusOr<Report> report = VerifyDocument(sealed, where);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->Valid()) << ReportText(*report);
  EXPECT_THAT(report->signing_order, ElementsAre("sig-1", "sig-2"));
}

TEST(SignerTest, FallsBackToTheRootWhenThePreferredParentIsMissing) {
  SignOptions options;
  options.parent_ns = "http://www.mic.gov.vn/TBT/QCVN_102_2016";
  options.parent_name = "edXMLHeader";
  std::string xml = Sign(kDocument, TestKeys().vpcp_leader, options);
  EXPECT_THAT(xml, HasSubstr("</ds:Signature></VanBan>"));
  VerifyOptions where;
  where.trust = &Trust();
  where.at = EvaluationTime();
  where.signature_parent_ns = options.parent_ns;
  where.signature_parent_name = options.parent_name;
  absl::StatusOr<Report> report = VerifyDocument(xml, where);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->Valid()) << ReportText(*report);
}

TEST(SignerTest, RecordsTheCommitmentOfLeaderAndSeal) {
  SignOptions leader;
  leader.commitment = kProofOfApproval;
  SignOptions seal;
  seal.commitment = kProofOfOrigin;
  std::string xml = Sign(Sign(kDocument, TestKeys().vpcp_leader, leader), TestKeys().vpcp_seal, seal);
  Report report = Verify(xml);
  ASSERT_TRUE(report.Valid()) << ReportText(report);
  EXPECT_EQ(report.signatures[0].commitment, kProofOfApproval);
  EXPECT_EQ(report.signatures[1].commitment, kProofOfOrigin);
  EXPECT_THAT(ReportText(report), HasSubstr("proof of origin (the agency's seal)"));
}

TEST(SignerTest, RefusesUnreadableXml) {
  absl::StatusOr<std::string> out =
      SignDocument("<VanBan><TrichYeu>Quyết định</VanBan>", TestKeys().vpcp_leader);
  EXPECT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(out.status().message(), HasSubstr("not well-formed XML"));
}

TEST(SignerTest, RefusesDocumentWithDoctype) {
  absl::StatusOr<std::string> out = SignDocument(
      "<!DOCTYPE VanBan [<!ENTITY x \"y\">]><VanBan>&x;</VanBan>", TestKeys().vpcp_leader);
  EXPECT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(out.status().message(), HasSubstr("has a DOCTYPE"));
}

TEST(SignerTest, RefusesDocumentWithDuplicateIds) {
  std::string doc = ReplaceOnce(kDocument, "<NoiDung>", "<NoiDung Id=\"vanban-1\">");
  absl::StatusOr<std::string> out = SignDocument(doc, TestKeys().vpcp_leader);
  EXPECT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(out.status().message(), HasSubstr("document has the Id \"vanban-1\" more than once"));
}

TEST(SignerTest, RefusesToCoverAnEarlierSignatureWithoutId) {
  std::string once = Sign(kDocument, TestKeys().vpcp_leader);
  std::string anonymous = ReplaceOnce(once, " Id=\"sig-1\"", "");
  absl::StatusOr<std::string> out = SignDocument(anonymous, TestKeys().vpcp_seal);
  EXPECT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(
      out.status().message(),
      HasSubstr("the signature at /*/ds:Signature has no Id, so a new signature cannot cover it"));
}

TEST(SignerTest, RefusesCertificateWithoutSigningKeyUsage) {
  absl::StatusOr<std::string> out = SignDocument(kDocument, LoadKey("negative/wrong-usage-leader"));
  EXPECT_EQ(out.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(out.status().message(),
              HasSubstr("signing certificate refused: its key usage has neither digitalSignature "
                        "nor nonRepudiation"));
}

TEST(SignerTest, RefusesRsa1024Key) {
  absl::StatusOr<std::string> out = SignDocument(kDocument, LoadKey("negative/rsa1024-leader"));
  EXPECT_EQ(out.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(out.status().message(),
              HasSubstr("signing key refused: RSA key of 1024 bits is below the minimum of 2048"));
}

TEST(SignerTest, SignsWithCertificatesOutsideTheirValidity) {
  // SignDocument judges key strength and usage only; whether the signer was
  // trusted at the time is the verifier's question (VerifierTest covers it).
  for (const char* key : {"negative/expired-leader", "negative/notyet-leader",
                          "negative/revoked-leader", "negative/untrusted-leader"}) {
    absl::StatusOr<std::string> out = SignDocument(kDocument, LoadKey(key));
    EXPECT_TRUE(out.ok()) << key << ": " << out.status();
  }
}

}  // namespace
}  // namespace axis::signer::test
