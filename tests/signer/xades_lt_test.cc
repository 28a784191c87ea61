// xades_lt_test: XAdES B-T and B-LT (signer/extend.h) and their
// verification (signer/verify.h) against the real axis-tsa and the real
// `openssl ocsp` responder on loopback. The responder binds every
// interface, so this binary first moves into a loopback-only network
// namespace (tests/ocsp/responder.h); without that privilege it skips.
//
// Time: the TSA and the responder stamp the wall clock, so signatures here
// are made "now"; the test PKI's leaves expire at the end of 2049 and the
// CAs in 2055, and negative/revoked-leader was revoked on 2026-01-01
// (keyCompromise). A TSA run under libfaketime gives a genTime in the past.
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/ts.h>
#include <xmlsec/openssl/crypto.h>
#include <xmlsec/openssl/evp.h>
#include <xmlsec/templates.h>
#include <xmlsec/xmldsig.h>
#include <xmlsec/xmltree.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "common/files.h"
#include "signer/extend.h"
#include "signer/internal/dsig.h"
#include "signer/internal/xades_lt.h"
#include "tests/ocsp/responder.h"
#include "tests/signer/signer_fixture.h"
#include "tests/testing/process.h"
#include "tests/tsa/trust_services_test.h"
#include "tests/tsa/tsa_process.h"

namespace axis::signer::test {
namespace {

using ::testing::HasSubstr;
namespace at = ::axis::testing;

absl::Time Utc(int y, int mo, int d) {
  return absl::FromCivil(absl::CivilSecond(y, mo, d, 0, 0, 0), absl::UTCTimeZone());
}

// Base64Element returns the decoded text of the n-th element `qname`.
std::string Base64Element(const std::string& xml, const std::string& qname, int n = 0) {
  size_t from = 0;
  for (int i = 0; i < n; ++i) {
    from = xml.find("<" + qname, from) + 1;
  }
  std::string text = ElementText(xml, qname, from);
  std::string der;
  EXPECT_TRUE(absl::Base64Unescape(text, &der)) << qname;
  return der;
}

// EmptyIssuingCaCrl is a CRL of the test PKI's issuing CA dated
// `last_update` that lists no certificate: what the CA published before any
// revocation, which anyone can copy from its archive.
std::string EmptyIssuingCaCrl(absl::Time last_update) {
  UniquePtr<X509> ca = CertOf("issuing-ca/issuing-ca.cert.pem");
  UniquePtr<BIO> bio(BIO_new_file(Pki("issuing-ca/issuing-ca.key.pem").c_str(), "r"));
  UniquePtr<EVP_PKEY> key(bio != nullptr
                              ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr)
                              : nullptr);
  UniquePtr<X509_CRL> crl(X509_CRL_new());
  UniquePtr<ASN1_STRING> last(ASN1_TIME_set(nullptr, absl::ToTimeT(last_update)));
  UniquePtr<ASN1_STRING> next(
      ASN1_TIME_set(nullptr, absl::ToTimeT(last_update + absl::Hours(24 * 30))));
  bool ok = ca != nullptr && key != nullptr && crl != nullptr && last != nullptr &&
            next != nullptr && X509_CRL_set_version(crl.get(), 1) == 1 &&
            X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(ca.get())) == 1 &&
            X509_CRL_set1_lastUpdate(crl.get(), last.get()) == 1 &&
            X509_CRL_set1_nextUpdate(crl.get(), next.get()) == 1 &&
            X509_CRL_sign(crl.get(), key.get(), EVP_sha256()) > 0;
  EXPECT_TRUE(ok);
  unsigned char* der = nullptr;
  int len = ok ? i2d_X509_CRL(crl.get(), &der) : 0;
  std::string out = len > 0 ? std::string(reinterpret_cast<char*>(der), len) : std::string();
  OPENSSL_free(der);
  return out;
}

// PemCrlDer is the DER of the CRL in PEM file `path`.
std::string PemCrlDer(const std::string& path) {
  UniquePtr<BIO> bio(BIO_new_file(path.c_str(), "r"));
  UniquePtr<X509_CRL> crl(bio != nullptr ? PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr)
                                         : nullptr);
  EXPECT_NE(crl, nullptr) << path;
  unsigned char* der = nullptr;
  int len = crl != nullptr ? i2d_X509_CRL(crl.get(), &der) : 0;
  std::string out = len > 0 ? std::string(reinterpret_cast<char*>(der), len) : std::string();
  OPENSSL_free(der);
  return out;
}

// AddCrlValues appends RevocationValues/CRLValues holding `crls` (DER) to
// the only signature's unsigned signature properties.
std::string AddCrlValues(const std::string& xml, const std::vector<std::string>& crls) {
  EditableDoc doc(xml);
  xmlNode* usp = doc.One("//xades:UnsignedSignatureProperties");
  if (usp == nullptr) {
    return "";
  }
  xmlNode* rv = xmlNewChild(usp, usp->ns, BAD_CAST "RevocationValues", nullptr);
  xmlNode* values = xmlNewChild(rv, usp->ns, BAD_CAST "CRLValues", nullptr);
  for (const std::string& der : crls) {
    xmlNewTextChild(values, usp->ns, BAD_CAST "EncapsulatedCRLValue",
                    BAD_CAST absl::Base64Escape(der).c_str());
  }
  return doc.Serialize();
}

// GoodAnswerAsOf is an OCSP answer "good" about `cert_rel` signed now by
// the test PKI's delegated responder, with thisUpdate `this_update`: what a
// responder fed by its CA's last CRL says before it learns of a revocation.
std::string GoodAnswerAsOf(const std::string& cert_rel, absl::Time this_update) {
  UniquePtr<X509> cert = CertOf(cert_rel);
  UniquePtr<X509> ca = CertOf("issuing-ca/issuing-ca.cert.pem");
  UniquePtr<X509> responder = CertOf("ocsp/ocsp.cert.pem");
  UniquePtr<BIO> bio(BIO_new_file(Pki("ocsp/ocsp.key.pem").c_str(), "r"));
  UniquePtr<EVP_PKEY> key(bio != nullptr
                              ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr)
                              : nullptr);
  UniquePtr<OCSP_BASICRESP> basic(OCSP_BASICRESP_new());
  OCSP_CERTID* id = OCSP_cert_to_id(EVP_sha1(), cert.get(), ca.get());  // the status owns a copy
  UniquePtr<OCSP_CERTID> id_owner(id);
  UniquePtr<ASN1_STRING> thisupd(ASN1_TIME_set(nullptr, absl::ToTimeT(this_update)));
  UniquePtr<ASN1_STRING> nextupd(
      ASN1_TIME_set(nullptr, absl::ToTimeT(this_update + absl::Hours(24))));
  bool ok = cert && ca && responder && key && basic && id &&
            OCSP_basic_add1_status(basic.get(), id, V_OCSP_CERTSTATUS_GOOD, 0, nullptr,
                                   thisupd.get(), nextupd.get()) != nullptr &&
            OCSP_basic_sign(basic.get(), responder.get(), key.get(), EVP_sha256(), nullptr, 0) == 1;
  EXPECT_TRUE(ok);
  UniquePtr<OCSP_RESPONSE> resp(
      ok ? OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, basic.get()) : nullptr);
  unsigned char* der = nullptr;
  int len = resp != nullptr ? i2d_OCSP_RESPONSE(resp.get(), &der) : 0;
  std::string out = len > 0 ? std::string(reinterpret_cast<char*>(der), len) : std::string();
  OPENSSL_free(der);
  return out;
}

// EnvelopedCoSignature adds what many XAdES tools write: a signature with a
// reference URI="" and the enveloped-signature transform, which takes out
// only itself, so its digest covers every earlier signature whole. It has
// a QualifyingProperties (no signed properties: enough for ExtendDocument
// to take it for XAdES) and the certificate in KeyInfo.
std::string EnvelopedCoSignature(const std::string& xml, const SigningKey& key) {
  absl::StatusOr<UniquePtr<xmlDoc>> doc = ParseXml(xml);
  EXPECT_TRUE(doc.ok()) << doc.status();
  if (!doc.ok()) {
    return "";
  }
  xmlNode* sig = xmlSecTmplSignatureCreateNsPref(doc->get(), xmlSecTransformExclC14NId,
                                                 xmlSecOpenSSLTransformRsaSha256Id,
                                                 BAD_CAST "cosig-1", BAD_CAST "ds");
  xmlAddChild(xmlDocGetRootElement(doc->get()), sig);
  xmlNode* ref =
      xmlSecTmplSignatureAddReference(sig, xmlSecOpenSSLTransformSha256Id, nullptr, BAD_CAST "",
                                      nullptr);
  xmlSecTmplReferenceAddTransform(ref, xmlSecTransformEnvelopedId);
  xmlSecTmplReferenceAddTransform(ref, xmlSecTransformExclC14NId);
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
  xmlNode* object = xmlNewChild(sig, ds, BAD_CAST "Object", nullptr);
  xmlNode* qp = xmlNewChild(object, nullptr, BAD_CAST "QualifyingProperties", nullptr);
  xmlSetNs(qp, xmlNewNs(qp, BAD_CAST kXadesNs, BAD_CAST "xades"));
  xmlNewProp(qp, BAD_CAST "Target", BAD_CAST "#cosig-1");
  return SerializeXml(doc->get());
}

class XadesLtTest : public at::TrustServicesTest {
 protected:
  void SetUp() override { SetUpTrustServices("xades-lt"); }

  // SignNow is a B-B signature made now (the TSA and responder run on the
  // wall clock).
  static std::string SignNow(const std::string& xml, const SigningKey& key,
                             absl::Time when = absl::Now()) {
    SignOptions options;
    options.signing_time = when;
    return Sign(xml, key, options);
  }

  // Extend adds a time-stamp from `tsa_url` (default: the suite's TSA) and,
  // with `ltv`, validation data from `ocsp_url` (default: the suite's
  // responder). Fails the test when it cannot.
  static std::string Extend(const std::string& xml, bool ltv, std::string tsa_url = "",
                            std::string ocsp_url = "") {
    ExtendOptions options;
    options.tsa_url = tsa_url.empty() ? tsa_->url : tsa_url;
    options.ltv = ltv;
    options.ocsp_url = ocsp_url.empty() ? ocsp_->url : ocsp_url;
    absl::StatusOr<std::string> out = ExtendDocument(xml, options);
    EXPECT_TRUE(out.ok()) << out.status();
    return out.ok() ? *out : std::string();
  }

  // Judge verifies without the CRL: revocation comes from what is embedded,
  // or (online) from `ocsp_url`.
  static Report Judge(const std::string& xml, absl::Time when = absl::Now(), bool offline = true,
                      const std::string& ocsp_url = "") {
    VerifyOptions options;
    options.trust = &Trust(/*with_crl=*/false);
    options.at = when;
    options.offline = offline;
    options.ocsp_url = ocsp_url;
    options.ocsp_timeout = absl::Seconds(5);
    options.document_name = "decision.xml";
    absl::StatusOr<Report> report = VerifyDocument(xml, options);
    EXPECT_TRUE(report.ok()) << report.status();
    return report.ok() ? std::move(*report) : Report();
  }

  std::string Write(const std::string& name, const std::string& data) {
    std::string path = dir_ + "/" + name;
    EXPECT_TRUE(WriteFileAtomic(path, data).ok()) << path;
    return path;
  }

  // OcspAnswer is the test OCSP responder's signed answer about `cert_rel`
  // (below pki-testdata) from the issuing CA's database with `edit`
  // replaced by `replacement`: what the responder would have said with
  // other knowledge.
  std::string OcspAnswer(const std::string& cert_rel, const std::string& edit,
                         const std::string& replacement) {
    std::string index = ReadTestFile(Pki("issuing-ca/index.txt"));
    std::string edited = ReplaceOnce(index, edit, replacement);
    EXPECT_NE(edited, index) << edit;
    std::string idx = Write("index.txt", edited);
    std::string req = dir_ + "/req.der";
    std::string resp = dir_ + "/resp.der";
    absl::StatusOr<at::CommandResult> r1 = at::RunCommand(
        {"openssl", "ocsp", "-issuer", Pki("chain.pem"), "-cert", Pki(cert_rel), "-reqout", req,
         "-no_nonce"});
    EXPECT_TRUE(r1.ok() && r1->exit_code == 0) << (r1.ok() ? r1->err : "");
    absl::StatusOr<at::CommandResult> r2 = at::RunCommand(
        {"openssl", "ocsp", "-index", idx, "-CA", Pki("chain.pem"), "-rsigner",
         Pki("ocsp/ocsp.cert.pem"), "-rkey", Pki("ocsp/ocsp.key.pem"), "-reqin", req, "-respout",
         resp, "-nmin", "60"});
    EXPECT_TRUE(r2.ok() && r2->exit_code == 0) << (r2.ok() ? r2->err : "");
    return ReadTestFile(resp);
  }

};


TEST_F(XadesLtTest, TimeStampIsOverTheExclusiveC14nOfSignatureValueAndVerifiesInOpenssl) {
  std::string xml = Extend(SignNow(kDocument, TestKeys().vpcp_leader), /*ltv=*/false);
  EXPECT_THAT(xml, HasSubstr("<xades:SignatureTimeStamp><ds:CanonicalizationMethod "
                             "Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/>"
                             "<xades:EncapsulatedTimeStamp>"));
  Report report = Judge(xml, absl::Now(), /*offline=*/false, ocsp_->url);
  ASSERT_TRUE(report.Valid()) << ReportText(report);
  const SignatureReport& s = report.signatures[0];
  EXPECT_EQ(s.level, "B-T");
  ASSERT_EQ(s.timestamps.size(), 1u);
  EXPECT_TRUE(s.timestamps[0].valid);
  EXPECT_EQ(s.timestamps[0].policy_oid, at::kTestTsaPolicy);
  EXPECT_THAT(s.timestamps[0].tsa_subject, HasSubstr("CN=Axis Test TSA G1"));
  EXPECT_EQ(s.judged_at, s.timestamps[0].gen_time);
  EXPECT_EQ(s.time_source, "time-stamp");
  EXPECT_LT(absl::AbsDuration(s.timestamps[0].gen_time - absl::Now()), absl::Minutes(5));

  // openssl, on data canonicalized here by hand: exclusive C14N of
  // <ds:SignatureValue> declares only the ds prefix it uses.
  std::string c14n = absl::StrCat("<ds:SignatureValue xmlns:ds=\"", kDsigNs, "\">",
                                  ElementText(xml, "ds:SignatureValue"), "</ds:SignatureValue>");
  std::string token = Write("token.der", Base64Element(xml, "xades:EncapsulatedTimeStamp"));
  auto openssl_verify = [&](const std::string& data) {
    absl::StatusOr<at::CommandResult> r =
        at::RunCommand({"openssl", "ts", "-verify", "-in", token, "-token_in", "-data",
                        Write("data.bin", data), "-CAfile", Pki("ca-bundle.pem")});
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : at::CommandResult();
  };
  at::CommandResult ok = openssl_verify(c14n);
  EXPECT_EQ(ok.exit_code, 0) << ok.out << ok.err;
  EXPECT_THAT(ok.out, HasSubstr("Verification: OK"));
  // The same check fails on other bytes (here: the SignatureValue's text
  // without its element), so it is not vacuous.
  EXPECT_NE(openssl_verify(ElementText(xml, "ds:SignatureValue")).exit_code, 0);
}

TEST_F(XadesLtTest, LongTermSignatureVerifiesOfflineWithTheResponderDown) {
  absl::StatusOr<at::OcspResponder> own = at::StartOcspResponder();
  ASSERT_TRUE(own.ok()) << own.status();
  std::string xml =
      Extend(SignNow(kDocument, TestKeys().mic_leader), /*ltv=*/true, tsa_->url, own->url);
  own->process->Stop();
  Report offline = Judge(xml);
  ASSERT_TRUE(offline.Valid()) << ReportText(offline);
  const SignatureReport& s = offline.signatures[0];
  EXPECT_EQ(s.level, "B-LT");
  ASSERT_FALSE(s.revocation_checks.empty());
  EXPECT_EQ(s.revocation_checks[0].source, "embedded OCSP");
  EXPECT_EQ(s.revocation_checks[0].status, "good");
  EXPECT_GE(s.revocation_checks[0].produced_at + absl::Seconds(1), s.timestamps[0].gen_time);
  EXPECT_THAT(s.revocation, HasSubstr("good (embedded OCSP, responder CN=Axis Test OCSP"));
  // Online, with the responder down, the embedded answer still decides.
  Report online = Judge(xml, absl::Now(), /*offline=*/false, own->url);
  EXPECT_TRUE(online.Valid()) << ReportText(online);
  // The JSON report lists the time-stamp and the revocation check.
  std::string json = ReportJson(offline);
  EXPECT_THAT(json, HasSubstr("\"source\": \"embedded OCSP\""));
  EXPECT_THAT(json, HasSubstr("\"policy\": \"1.3.6.1.4.1.99999.1.1\""));
  EXPECT_THAT(json, HasSubstr("\"level\": \"B-LT\""));

  // xmlsec1 still verifies the signature: unsigned properties are outside
  // every digest.
  if (!at::OnPath("xmlsec1")) {
    GTEST_SKIP() << "no xmlsec1 on PATH";
  }
  absl::StatusOr<at::CommandResult> r =
      at::RunCommand({"xmlsec1", "--verify", "--verification-time", "2026-06-01 00:00:00",
                      "--id-attr:Id", absl::StrCat(kDsigNs, ":Signature"), "--id-attr:Id",
                      absl::StrCat(kXadesNs, ":SignedProperties"), "--node-id", "sig-1",
                      "--enabled-reference-uris", "empty,same-doc", "--trusted-pem",
                      Pki("roots.pem"), "--untrusted-pem", Pki("chain.pem"), Write("blt.xml", xml)},
                     "", absl::Seconds(30));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->exit_code, 0) << r->out << r->err;
  EXPECT_THAT(r->out + r->err, HasSubstr("OK\nSignedInfo References (ok/all): 2/2"));
}

TEST_F(XadesLtTest, BasicSignatureWithoutRevocationDataIsUnknownOfflineAndGoodOnline) {
  std::string xml = SignNow(kDocument, TestKeys().vpcp_seal);
  Report offline = Judge(xml);
  EXPECT_FALSE(offline.Valid());
  EXPECT_TRUE(offline.signatures[0].chain_valid);
  EXPECT_THAT(offline.signatures[0], HasReason("revocation unknown"));
  EXPECT_THAT(offline.signatures[0].revocation, HasSubstr("OCSP not asked (offline)"));
  Report online = Judge(xml, absl::Now(), /*offline=*/false, ocsp_->url);
  ASSERT_TRUE(online.Valid()) << ReportText(online);
  EXPECT_EQ(online.signatures[0].revocation_checks.back().source, "fetched OCSP");
  EXPECT_EQ(online.signatures[0].revocation_checks.back().status, "good");
}

TEST_F(XadesLtTest, SignerRevokedBeforeTheTimeStampIsInvalidWithTheRevocationTime) {
  std::string xml = Extend(SignNow(kDocument, LoadKey("negative/revoked-leader")), /*ltv=*/true);
  Report report = Judge(xml);
  ASSERT_EQ(report.signatures.size(), 1u);
  const SignatureReport& s = report.signatures[0];
  EXPECT_FALSE(report.Valid());
  EXPECT_TRUE(s.revoked);
  EXPECT_THAT(s, HasReason("the signing certificate was revoked at 2026-01-01T00:00:00Z "
                           "(keyCompromise), before "));
  EXPECT_EQ(s.revocation_checks[0].status, "revoked");
  EXPECT_EQ(s.revocation_checks[0].revocation_time, Utc(2026, 1, 1));
  EXPECT_THAT(ReportText(report), HasSubstr("embedded OCSP: revoked at 2026-01-01T00:00:00Z "
                                            "(keyCompromise)"));
}

TEST_F(XadesLtTest, SignerRevokedAfterAnEarlierTimeStampStaysValid) {
  if (at::LibFaketime().empty()) {
    GTEST_SKIP() << "libfaketime is not installed";
  }
  // A TSA whose clock reads mid-2025: the time-stamp proves the signature
  // existed before the revocation on 2026-01-01.
  absl::StatusOr<at::TsaProcess> past =
      at::StartTsaProcess(at::TestPkiTsa(at::BinDir(), at::PkiDir()), Utc(2025, 6, 1));
  ASSERT_TRUE(past.ok()) << past.status();
  std::string xml = Extend(SignNow(kDocument, LoadKey("negative/revoked-leader"), Utc(2025, 6, 1)),
                           /*ltv=*/true, past->url);
  Report report = Judge(xml);
  ASSERT_TRUE(report.Valid()) << ReportText(report);
  const SignatureReport& s = report.signatures[0];
  EXPECT_LT(s.judged_at, Utc(2025, 6, 2));
  EXPECT_EQ(s.revocation_checks[0].status, "revoked");
  bool warned = false;
  for (const std::string& w : s.warnings) {
    warned = warned || absl::StrContains(w,
                                         "revoked at 2026-01-01T00:00:00Z (keyCompromise), "
                                         "after 2025-06-01");
  }
  EXPECT_TRUE(warned) << ReportText(report);
  // The same signature time-stamped now is refused.
  std::string late = Extend(SignNow(kDocument, LoadKey("negative/revoked-leader"), Utc(2025, 6, 1)),
                            /*ltv=*/true);
  EXPECT_FALSE(Judge(late).Valid());
}

TEST_F(XadesLtTest, SignatureStillVerifiesAfterTheCertificateExpiredThanksToItsTimeStamp) {
  std::string basic = SignNow(kDocument, TestKeys().vpcp_leader);
  std::string lt = Extend(basic, /*ltv=*/true);
  absl::Time in_2050 = Utc(2050, 6, 1);
  Report report = Judge(lt, in_2050);
  ASSERT_TRUE(report.Valid()) << ReportText(report);
  EXPECT_EQ(report.signatures[0].time_source, "time-stamp");
  EXPECT_LT(report.signatures[0].judged_at, Utc(2049, 1, 1));
  // Without its time-stamp the same signature is judged in 2050: expired.
  Report without = Verify(basic, in_2050);
  EXPECT_FALSE(without.Valid());
  EXPECT_THAT(without.signatures[0],
              HasReason("the signing certificate is not trusted at 2050-06-01T00:00:00Z: "
                        "certificate has expired"));
}

TEST_F(XadesLtTest, RefusesAnAlteredTimeStampToken) {
  std::string xml = Extend(SignNow(kDocument, TestKeys().vpcp_leader), /*ltv=*/false);
  std::string token = Base64Element(xml, "xades:EncapsulatedTimeStamp");
  // genTime is the TSTInfo's GeneralizedTime (tag 0x18) "20YYMMDDhhmmss...":
  // change its seconds' last digit.
  size_t at = token.find(std::string("\x18", 1));
  while (at != std::string::npos && token.compare(at + 2, 2, "20") != 0) {
    at = token.find(std::string("\x18", 1), at + 1);
  }
  ASSERT_NE(at, std::string::npos);
  char& digit = token[at + 2 + 13];
  digit = digit == '0' ? '1' : '0';
  std::string altered =
      ReplaceOnce(xml, ElementText(xml, "xades:EncapsulatedTimeStamp"), absl::Base64Escape(token));
  Report report = Judge(altered, absl::Now(), /*offline=*/false, ocsp_->url);
  EXPECT_FALSE(report.Valid());
  EXPECT_THAT(report.signatures[0],
              HasReason("signature time-stamp 1 refused: time-stamp token signature does not "
                        "verify"));
  EXPECT_FALSE(report.signatures[0].timestamps[0].valid);
}

TEST_F(XadesLtTest, RefusesATimeStampCopiedFromAnotherSignature) {
  std::string mine = Extend(SignNow(kDocument, TestKeys().vpcp_leader), /*ltv=*/false);
  std::string other = Extend(SignNow(kDocument, TestKeys().mic_leader), /*ltv=*/false);
  std::string copied = ReplaceOnce(mine, ElementText(mine, "xades:EncapsulatedTimeStamp"),
                                   ElementText(other, "xades:EncapsulatedTimeStamp"));
  Report report = Judge(copied, absl::Now(), /*offline=*/false, ocsp_->url);
  EXPECT_FALSE(report.Valid());
  EXPECT_THAT(report.signatures[0], HasReason("the time-stamp is over other data"));
  EXPECT_THAT(report.signatures[0], HasReason("copied from another signature?"));
  // The signature itself and its chain are fine: only the time-stamp fails.
  EXPECT_TRUE(report.signatures[0].cryptographic_ok);
  EXPECT_TRUE(Judge(other, absl::Now(), false, ocsp_->url).Valid());
}

TEST_F(XadesLtTest, RefusesATimeStampFromATsaOutsideTheTrustStore) {
  // A TSA certificate with the right usage, issued by the untrusted root.
  std::string ext = Write("ext.cnf",
                          "[v3]\nkeyUsage=critical,digitalSignature\n"
                          "extendedKeyUsage=critical,timeStamping\n");
  std::string key = dir_ + "/tsa.key.pem";
  std::string csr = dir_ + "/tsa.csr";
  std::string cert = dir_ + "/tsa.cert.pem";
  absl::StatusOr<at::CommandResult> req =
      at::RunCommand({"openssl", "req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                      "-subj", "/C=VN/O=Untrusted/CN=Untrusted Test TSA", "-out", csr});
  ASSERT_TRUE(req.ok() && req->exit_code == 0) << (req.ok() ? req->err : "");
  absl::StatusOr<at::CommandResult> sign = at::RunCommand(
      {"openssl", "x509", "-req", "-in", csr, "-CA", Pki("negative/untrusted-root.cert.pem"),
       "-CAkey", Pki("negative/untrusted-root.key.pem"), "-set_serial", "77", "-days", "365",
       "-extfile", ext, "-extensions", "v3", "-out", cert});
  ASSERT_TRUE(sign.ok() && sign->exit_code == 0) << (sign.ok() ? sign->err : "");
  absl::StatusOr<at::TsaProcess> untrusted = at::StartTsaProcess(
      {at::BinDir() + "/axis-tsa", key, cert, Pki("negative/untrusted-root.cert.pem")});
  ASSERT_TRUE(untrusted.ok()) << untrusted.status();
  std::string xml =
      Extend(SignNow(kDocument, TestKeys().vpcp_leader), /*ltv=*/false, untrusted->url);
  Report report = Judge(xml, absl::Now(), /*offline=*/false, ocsp_->url);
  EXPECT_FALSE(report.Valid());
  EXPECT_THAT(report.signatures[0],
              HasReason("TSA certificate CN=Untrusted Test TSA,O=Untrusted,C=VN does not chain "
                        "to a trusted root"));
}

TEST_F(XadesLtTest, ExtendRefusesASignatureThatALaterSignatureCovers) {
  std::string leader = SignNow(kDocument, TestKeys().vpcp_leader);
  std::string sealed = SignNow(leader, TestKeys().vpcp_seal);
  ExtendOptions options;
  options.tsa_url = tsa_->url;
  absl::StatusOr<std::string> out = ExtendDocument(sealed, options);
  EXPECT_EQ(out.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(out.status().message()),
              HasSubstr("signature sig-1 lacks a time-stamp but signature sig-2 covers it"));
  // Had it been added anyway, the seal would break: the seal's digest of
  // sig-1 covers the leader's unsigned properties.
  EditableDoc doc(sealed);
  xmlNode* leader_sig = doc.One("//ds:Signature[@Id='sig-1']");
  ASSERT_NE(internal::UnsignedSignatureProperties(leader_sig), nullptr);
  Report broken = Verify(doc.Serialize());
  EXPECT_TRUE(SignatureById(broken, "sig-1")->valid) << ReportText(broken);
  EXPECT_THAT(*SignatureById(broken, "sig-2"), HasReason("digest of reference \"#sig-1\""));
}

TEST_F(XadesLtTest, LeaderThenSealEachExtendedBeforeTheNextVerifyOffline) {
  std::string leader = Extend(SignNow(kDocument, TestKeys().vpcp_leader), /*ltv=*/true);
  std::string sealed = Extend(SignNow(leader, TestKeys().vpcp_seal), /*ltv=*/true);
  Report report = Judge(sealed);
  ASSERT_TRUE(report.Valid()) << ReportText(report);
  ASSERT_EQ(report.signatures.size(), 2u);
  EXPECT_EQ(report.signatures[0].level, "B-LT");
  EXPECT_EQ(report.signatures[1].level, "B-LT");
  EXPECT_EQ(report.signatures[1].covers_signatures, std::vector<std::string>{"sig-1"});
  // Extending again has nothing left to do for either signature.
  ExtendOptions options;
  options.tsa_url = tsa_->url;
  options.ltv = true;
  absl::StatusOr<std::string> again = ExtendDocument(sealed, options);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(Judge(*again).Valid());
  // xmlsec1 verifies both: the seal's digest of sig-1 includes the leader's
  // unsigned properties, exactly as they were when the seal was made.
  if (at::OnPath("xmlsec1")) {
    std::string path = Write("two.xml", sealed);
    for (const auto& [id, refs] :
         std::vector<std::pair<std::string, int>>{{"sig-1", 2}, {"sig-2", 3}}) {
      absl::StatusOr<at::CommandResult> r =
          at::RunCommand({"xmlsec1", "--verify", "--verification-time", "2026-06-01 00:00:00",
                          "--id-attr:Id", absl::StrCat(kDsigNs, ":Signature"), "--id-attr:Id",
                          absl::StrCat(kXadesNs, ":SignedProperties"), "--node-id", id,
                          "--enabled-reference-uris", "empty,same-doc", "--trusted-pem",
                          Pki("roots.pem"), "--untrusted-pem", Pki("chain.pem"), path},
                         "", absl::Seconds(30));
      ASSERT_TRUE(r.ok()) << r.status();
      EXPECT_EQ(r->exit_code, 0) << id << "\n" << r->out << r->err;
      EXPECT_THAT(r->out + r->err,
                  HasSubstr(absl::StrCat("OK\nSignedInfo References (ok/all): ", refs, "/", refs)))
          << id;
    }
  }
  // Both tokens verify in openssl over their own SignatureValue.
  for (int i = 0; i < 2; ++i) {
    size_t from = 0;
    for (int k = 0; k < i; ++k) {
      from = sealed.find("<ds:SignatureValue", from) + 1;
    }
    std::string c14n =
        absl::StrCat("<ds:SignatureValue xmlns:ds=\"", kDsigNs, "\">",
                     ElementText(sealed, "ds:SignatureValue", from), "</ds:SignatureValue>");
    absl::StatusOr<at::CommandResult> r = at::RunCommand(
        {"openssl", "ts", "-verify", "-in",
         Write("t.der", Base64Element(sealed, "xades:EncapsulatedTimeStamp", i)), "-token_in",
         "-data", Write("d.bin", c14n), "-CAfile", Pki("ca-bundle.pem")});
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->exit_code, 0) << i << ": " << r->out << r->err;
  }
}

TEST_F(XadesLtTest, ExtendNeedsATimeStampForLongTermData) {
  ExtendOptions options;
  options.ltv = true;
  options.ocsp_url = ocsp_->url;
  absl::StatusOr<std::string> out =
      ExtendDocument(SignNow(kDocument, TestKeys().vpcp_leader), options);
  EXPECT_EQ(out.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(out.status().message()), HasSubstr("B-LT needs one"));
}

TEST_F(XadesLtTest, RefusesUnsignedPropertiesOtherThanThoseOfLongTermSignatures) {
  std::string xml = Extend(SignNow(kDocument, TestKeys().vpcp_leader), /*ltv=*/true);
  ASSERT_TRUE(Judge(xml).Valid());
  // An XAdES element axis does not accept (an unchecked counter-signature
  // could carry anything) and a foreign one beside the time-stamp.
  for (const char* name : {"CounterSignature", "ArchiveTimeStamp"}) {
    EditableDoc doc(xml);
    xmlNode* usp = doc.One("//xades:UnsignedSignatureProperties");
    xmlNewTextChild(usp, usp->ns, BAD_CAST name, BAD_CAST "x");
    Report report = Judge(doc.Serialize());
    EXPECT_FALSE(report.Valid()) << name;
    EXPECT_THAT(report.signatures[0], HasReason(absl::StrCat("element ", name, " at "))) << name;
    EXPECT_THAT(report.signatures[0],
                HasReason("is not covered by the signature (unsigned content)"));
  }
  {
    // An attribute no digest covers, and a second UnsignedProperties.
    EditableDoc doc(xml);
    xmlNewProp(doc.One("//xades:EncapsulatedTimeStamp"), BAD_CAST "Foo", BAD_CAST "bar");
    xmlNode* qp = doc.One("//xades:QualifyingProperties");
    xmlNewChild(qp, qp->ns, BAD_CAST "UnsignedProperties", nullptr);
    Report report = Judge(doc.Serialize());
    EXPECT_FALSE(report.Valid());
    EXPECT_THAT(report.signatures[0], HasReason("carries attribute Foo (only Id is allowed)"));
    EXPECT_THAT(report.signatures[0], HasReason("second UnsignedProperties at "));
  }
  EditableDoc doc(xml);
  xmlNode* ts = doc.One("//xades:SignatureTimeStamp");
  xmlNewTextChild(ts, doc.root()->ns, BAD_CAST "NoiDung", BAD_CAST "Điều 2. Chèn thêm.");
  Report report = Judge(doc.Serialize());
  EXPECT_FALSE(report.Valid());
  EXPECT_THAT(report.signatures[0], HasReason("element NoiDung at "));
}

TEST_F(XadesLtTest, RefusesEmbeddedOcspProducedBeforeTheTimeStamp) {
  if (at::LibFaketime().empty()) {
    GTEST_SKIP() << "libfaketime is not installed";
  }
  // A TSA two hours ahead: the responder's answer, fetched now, predates
  // the time-stamp and so says nothing about the status at that time.
  absl::StatusOr<at::TsaProcess> ahead =
      at::StartTsaProcess(at::TestPkiTsa(at::BinDir(), at::PkiDir()), absl::Now() + absl::Hours(2));
  ASSERT_TRUE(ahead.ok()) << ahead.status();
  std::string xml = Extend(SignNow(kDocument, TestKeys().vpcp_leader), /*ltv=*/true, ahead->url);
  Report report = Judge(xml);
  EXPECT_FALSE(report.Valid());
  const SignatureReport& s = report.signatures[0];
  ASSERT_FALSE(s.revocation_checks.empty()) << ReportText(report);
  EXPECT_EQ(s.revocation_checks[0].status, "refused");
  EXPECT_THAT(s.revocation_checks[0].detail, HasSubstr(", before the signature's time "));
  EXPECT_THAT(s, HasReason("revocation unknown"));
}

TEST_F(XadesLtTest, IgnoresEmbeddedOcspAboutAnotherCertificate) {
  std::string mine = Extend(SignNow(kDocument, TestKeys().vpcp_leader), /*ltv=*/true);
  std::string other = Extend(SignNow(kDocument, TestKeys().mic_leader), /*ltv=*/true);
  // The mic leader's answers (and the TSA's) in the vpcp leader's signature.
  std::string swapped = ReplaceOnce(mine, ElementText(mine, "xades:RevocationValues"),
                                    ElementText(other, "xades:RevocationValues"));
  Report report = Judge(swapped);
  EXPECT_FALSE(report.Valid());
  EXPECT_THAT(report.signatures[0], HasReason("revocation unknown"));
  EXPECT_TRUE(Judge(mine).Valid());
  // An altered embedded answer about the right certificate is refused.
  std::string ocsp = ElementText(mine, "xades:EncapsulatedOCSPValue");
  std::string altered = ReplaceOnce(mine, ocsp, FlipBase64(ocsp));
  Report tampered = Judge(altered);
  EXPECT_FALSE(tampered.Valid());
  ASSERT_FALSE(tampered.signatures[0].revocation_checks.empty()) << ReportText(tampered);
  EXPECT_EQ(tampered.signatures[0].revocation_checks[0].status, "refused");
}

TEST_F(XadesLtTest, AnEmbeddedCrlIssuedBeforeTheSignatureTimeDoesNotMakeARevokedSignerGood) {
  // negative/revoked-leader (revoked 2026-01-01) signs and is time-stamped
  // now; the CA's CRL of mid-2025, from before the revocation, is embedded.
  std::string bt = Extend(SignNow(kDocument, LoadKey("negative/revoked-leader")), /*ltv=*/false);
  std::string stale = EmptyIssuingCaCrl(Utc(2025, 6, 1));
  std::string forged = AddCrlValues(bt, {stale});
  Report offline = Judge(forged);
  EXPECT_FALSE(offline.Valid()) << ReportText(offline);
  EXPECT_THAT(offline.signatures[0], HasReason("revocation unknown"));
  ASSERT_FALSE(offline.signatures[0].revocation_checks.empty()) << ReportText(offline);
  EXPECT_EQ(offline.signatures[0].revocation_checks[0].status, "refused");
  EXPECT_THAT(offline.signatures[0].revocation_checks[0].detail,
              HasSubstr(", before the signature's time "));
  // Online the stale CRL must not keep the responder from being asked.
  Report online = Judge(forged, absl::Now(), /*offline=*/false, ocsp_->url);
  EXPECT_FALSE(online.Valid()) << ReportText(online);
  EXPECT_TRUE(online.signatures[0].revoked) << ReportText(online);
  // A CRL that lists the signer proves the revocation whenever it was
  // issued, even after a stale one that does not.
  Report listed = Judge(AddCrlValues(bt, {stale, PemCrlDer(Pki("crl.pem"))}));
  EXPECT_FALSE(listed.Valid());
  EXPECT_TRUE(listed.signatures[0].revoked) << ReportText(listed);
  // A CRL issued after the time-stamp that does not list the signer is
  // believed: the same evidence, in time, makes a good signer valid.
  std::string good = Extend(SignNow(kDocument, TestKeys().vpcp_leader), /*ltv=*/false);
  Report fresh = Judge(AddCrlValues(good, {EmptyIssuingCaCrl(absl::Now() + absl::Seconds(2))}));
  EXPECT_TRUE(fresh.Valid()) << ReportText(fresh);
  EXPECT_EQ(fresh.signatures[0].revocation_checks.back().source, "embedded CRL");
}

TEST_F(XadesLtTest, RefusesATimeStampWhoseTsaCertificateWasRevoked) {
  // The TSA's key was compromised and the CA revoked its certificate
  // (serial 3001), even after the token's genTime: whoever holds the key
  // can back-date tokens. The CA's answer "revoked", embedded after the
  // responder's earlier "good", must refuse the token.
  std::string xml = Extend(SignNow(kDocument, TestKeys().vpcp_leader), /*ltv=*/true);
  ASSERT_TRUE(Judge(xml).Valid()) << ReportText(Judge(xml));
  auto with_tsa_answer = [&](const std::string& revocation) {
    std::string answer = OcspAnswer("tsa/tsa.cert.pem", "V\t491231235959Z\t\t3001\t",
                                    absl::StrCat("R\t491231235959Z\t", revocation, "\t3001\t"));
    EditableDoc doc(xml);
    xmlNode* values = doc.One("//xades:OCSPValues");
    EXPECT_NE(values, nullptr);
    xmlNewTextChild(values, values->ns, BAD_CAST "EncapsulatedOCSPValue",
                    BAD_CAST absl::Base64Escape(answer).c_str());
    return Judge(doc.Serialize());
  };
  Report compromised = with_tsa_answer("270101000000Z,keyCompromise");
  EXPECT_FALSE(compromised.Valid()) << ReportText(compromised);
  EXPECT_THAT(compromised.signatures[0],
              HasReason("TSA certificate CN=Axis Test TSA G1"));
  EXPECT_THAT(compromised.signatures[0],
              HasReason("was revoked at 2027-01-01T00:00:00Z (keyCompromise), per embedded OCSP"));
  ASSERT_EQ(compromised.signatures[0].timestamps.size(), 1u);
  EXPECT_FALSE(compromised.signatures[0].timestamps[0].valid);
  EXPECT_NE(compromised.signatures[0].time_source, "time-stamp");
  // A TSA that ceased operation after the token keeps its tokens; one that
  // had ceased before does not.
  Report ceased_later = with_tsa_answer("270101000000Z,cessationOfOperation");
  EXPECT_TRUE(ceased_later.Valid()) << ReportText(ceased_later);
  Report ceased_before = with_tsa_answer("260301000000Z,cessationOfOperation");
  EXPECT_FALSE(ceased_before.Valid()) << ReportText(ceased_before);
  EXPECT_THAT(ceased_before.signatures[0], HasReason("not after the token's genTime"));
}

TEST_F(XadesLtTest, AnEmbeddedRevokedAnswerOutweighsAGoodOneListedBeforeIt) {
  // A responder that learned of the revocation late (from its next CRL)
  // said "good" after the time-stamp; its later answer says revoked since
  // 2026-01-01. Listing the stale "good" first must not hide the revocation.
  std::string xml = Extend(SignNow(kDocument, LoadKey("negative/revoked-leader")), /*ltv=*/true);
  ASSERT_FALSE(Judge(xml).Valid());
  std::string good = OcspAnswer("negative/revoked-leader.cert.pem",
                                "R\t491231235959Z\t260101000000Z,keyCompromise\tF001\t",
                                "V\t491231235959Z\t\tF001\t");
  EditableDoc doc(xml);
  std::vector<xmlNode*> answers = doc.All("//xades:EncapsulatedOCSPValue");
  ASSERT_FALSE(answers.empty());
  xmlNode* first = xmlNewDocNode(doc.doc(), answers[0]->ns, BAD_CAST "EncapsulatedOCSPValue",
                                 BAD_CAST absl::Base64Escape(good).c_str());
  xmlAddPrevSibling(answers[0], first);
  Report report = Judge(doc.Serialize());
  EXPECT_FALSE(report.Valid()) << ReportText(report);
  EXPECT_TRUE(report.signatures[0].revoked) << ReportText(report);
  ASSERT_GE(report.signatures[0].revocation_checks.size(), 2u) << ReportText(report);
  EXPECT_EQ(report.signatures[0].revocation_checks[0].status, "good");
}

TEST_F(XadesLtTest, AnEmbeddedGoodAnswerAsOfBeforeTheTimeStampIsNotBelieved) {
  // Signed with a key whose certificate is revoked, time-stamped now, with
  // a "good" signed now by a responder whose knowledge dates from twelve
  // hours ago (its CA's last CRL): it says nothing about the status at the
  // time-stamp.
  std::string bt = Extend(SignNow(kDocument, LoadKey("negative/revoked-leader")), /*ltv=*/false);
  std::string lagging =
      GoodAnswerAsOf("negative/revoked-leader.cert.pem", absl::Now() - absl::Hours(12));
  ASSERT_FALSE(lagging.empty());
  EditableDoc doc(bt);
  xmlNode* usp = doc.One("//xades:UnsignedSignatureProperties");
  ASSERT_NE(usp, nullptr);
  xmlNode* rv = xmlNewChild(usp, usp->ns, BAD_CAST "RevocationValues", nullptr);
  xmlNode* ov = xmlNewChild(rv, usp->ns, BAD_CAST "OCSPValues", nullptr);
  xmlNewTextChild(ov, usp->ns, BAD_CAST "EncapsulatedOCSPValue",
                  BAD_CAST absl::Base64Escape(lagging).c_str());
  Report report = Judge(doc.Serialize());
  EXPECT_FALSE(report.Valid()) << ReportText(report);
  EXPECT_THAT(report.signatures[0], HasReason("revocation unknown"));
  ASSERT_FALSE(report.signatures[0].revocation_checks.empty()) << ReportText(report);
  EXPECT_EQ(report.signatures[0].revocation_checks[0].status, "refused");
  EXPECT_THAT(report.signatures[0].revocation_checks[0].detail, HasSubstr("thisUpdate"));
  // The same answer as of a moment after the time-stamp is believed (for a
  // certificate the CA never revoked).
  std::string good = Extend(SignNow(kDocument, TestKeys().vpcp_leader), /*ltv=*/false);
  EditableDoc doc2(good);
  xmlNode* usp2 = doc2.One("//xades:UnsignedSignatureProperties");
  ASSERT_NE(usp2, nullptr);
  xmlNode* rv2 = xmlNewChild(usp2, usp2->ns, BAD_CAST "RevocationValues", nullptr);
  xmlNode* ov2 = xmlNewChild(rv2, usp2->ns, BAD_CAST "OCSPValues", nullptr);
  xmlNewTextChild(ov2, usp2->ns, BAD_CAST "EncapsulatedOCSPValue",
                  BAD_CAST absl::Base64Escape(GoodAnswerAsOf("agencies/vpcp/leader.cert.pem",
                                                             absl::Now() + absl::Seconds(2)))
                      .c_str());
  Report fresh = Judge(doc2.Serialize());
  EXPECT_TRUE(fresh.Valid()) << ReportText(fresh);
}

TEST_F(XadesLtTest, RevocationDataFromTheTimeStampsSecondOrTheOneBeforeIsBelieved) {
  // OCSP and CRL times have whole seconds, genTime milliseconds, and the
  // responder's clock may lag the TSA's by a few milliseconds: an answer
  // dated in the second before the time-stamp's is of its time (CI once
  // refused one produced at hh:mm:10 for a genTime of hh:mm:11.00x).
  std::string bt = Extend(SignNow(kDocument, TestKeys().vpcp_leader), /*ltv=*/false);
  Report plain = Judge(bt);
  ASSERT_EQ(plain.signatures.size(), 1u);
  ASSERT_EQ(plain.signatures[0].timestamps.size(), 1u);
  absl::Time gen_time = plain.signatures[0].timestamps[0].gen_time;
  absl::Time second = absl::FromUnixSeconds(absl::ToUnixSeconds(gen_time));
  auto with_answer_as_of = [&](absl::Time this_update) {
    EditableDoc doc(bt);
    xmlNode* usp = doc.One("//xades:UnsignedSignatureProperties");
    EXPECT_NE(usp, nullptr);
    xmlNode* rv = xmlNewChild(usp, usp->ns, BAD_CAST "RevocationValues", nullptr);
    xmlNode* ov = xmlNewChild(rv, usp->ns, BAD_CAST "OCSPValues", nullptr);
    xmlNewTextChild(
        ov, usp->ns, BAD_CAST "EncapsulatedOCSPValue",
        BAD_CAST absl::Base64Escape(GoodAnswerAsOf("agencies/vpcp/leader.cert.pem", this_update))
            .c_str());
    return Judge(doc.Serialize());
  };
  Report one_before = with_answer_as_of(second - absl::Seconds(1));
  EXPECT_TRUE(one_before.Valid()) << ReportText(one_before);
  Report two_before = with_answer_as_of(second - absl::Seconds(2));
  EXPECT_FALSE(two_before.Valid()) << ReportText(two_before);
  ASSERT_FALSE(two_before.signatures[0].revocation_checks.empty());
  EXPECT_EQ(two_before.signatures[0].revocation_checks[0].status, "refused");
}

TEST_F(XadesLtTest, ExtendEmbedsOnlyACrlIssuedAfterTheTimeStamp) {
  // No OCSP responder answers (nothing listens on port 1): the CRL given is
  // the fallback. crl.pem (lastUpdate 2026-01-01) predates a time-stamp
  // made now, so the verifier could not believe it: extend says so rather
  // than write a B-LT signature whose revocation is unknown.
  std::string bb = SignNow(kDocument, TestKeys().vpcp_leader);
  absl::StatusOr<TrustStore> old_crl = TrustStore::FromPemFiles({}, {}, {Pki("crl.pem")});
  ASSERT_TRUE(old_crl.ok()) << old_crl.status();
  ExtendOptions options;
  options.tsa_url = tsa_->url;
  options.ltv = true;
  options.ocsp_url = "http://127.0.0.1:1/";
  options.ocsp_timeout = absl::Seconds(2);
  options.extra = &*old_crl;
  absl::StatusOr<std::string> refused = ExtendDocument(bb, options);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition) << refused.status();
  EXPECT_THAT(std::string(refused.status().message()),
              HasSubstr("was issued at 2026-01-01T00:00:00Z, before the time-stamp"));
  // A CRL issued after the time-stamp is embedded, and decides offline.
  std::string der = EmptyIssuingCaCrl(absl::Now() + absl::Seconds(2));
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  UniquePtr<X509_CRL> crl(d2i_X509_CRL(nullptr, &p, static_cast<long>(der.size())));
  ASSERT_NE(crl, nullptr);
  TrustStore fresh;
  fresh.AddCrl(std::move(crl));
  options.extra = &fresh;
  absl::StatusOr<std::string> lt = ExtendDocument(bb, options);
  ASSERT_TRUE(lt.ok()) << lt.status();
  Report report = Judge(*lt);
  EXPECT_TRUE(report.Valid()) << ReportText(report);
  EXPECT_EQ(report.signatures[0].revocation_checks.back().source, "embedded CRL");
}

TEST_F(XadesLtTest, RefusesWrappingThroughTheUnsignedProperties) {
  std::string xml = Extend(SignNow(kDocument, TestKeys().vpcp_leader), /*ltv=*/true);
  ASSERT_TRUE(Judge(xml).Valid());
  {
    // An Id in the unsigned properties that a signed element already has.
    EditableDoc doc(xml);
    xmlNewProp(doc.One("//xades:SignatureTimeStamp"), BAD_CAST "Id", BAD_CAST "sig-1-signedprops");
    Report report = Judge(doc.Serialize());
    EXPECT_FALSE(report.Valid());
    EXPECT_THAT(report, HasProblem("the Id \"sig-1-signedprops\" occurs more than once"));
  }
  {
    // A signature hidden in a time-stamp's element.
    EditableDoc doc(xml);
    xmlNode* token = doc.One("//xades:EncapsulatedTimeStamp");
    xmlNode* sig = doc.One("//ds:Signature");
    xmlAddChild(token, xmlDocCopyNode(doc.One("//ds:SignedInfo"), doc.doc(), 1));
    xmlNode* nested = xmlNewChild(token, sig->ns, BAD_CAST "Signature", nullptr);
    xmlNewProp(nested, BAD_CAST "Id", BAD_CAST "hidden-1");
    Report report = Judge(doc.Serialize());
    EXPECT_FALSE(report.Valid());
    EXPECT_THAT(report.signatures[0], HasReason("unexpected element inside EncapsulatedTimeStamp"));
  }
  {
    // A reference to the unsigned properties: they may not be "signed".
    EditableDoc doc(xml);
    xmlNewProp(doc.One("//xades:UnsignedProperties"), BAD_CAST "Id", BAD_CAST "up-1");
    xmlSetProp(doc.All("//ds:SignedInfo/ds:Reference")[0], BAD_CAST "URI", BAD_CAST "#up-1");
    Report report = Judge(doc.Serialize());
    EXPECT_FALSE(report.Valid());
    EXPECT_THAT(report.signatures[0], HasReason("reference #up-1 points to UnsignedProperties"));
  }
  {
    // Undecodable base64, and a certificate with trailing bytes.
    EditableDoc doc(xml);
    xmlNodeSetContent(doc.All("//xades:EncapsulatedX509Certificate")[0], BAD_CAST "@@not base64@@");
    Report report = Judge(doc.Serialize());
    EXPECT_FALSE(report.Valid());
    EXPECT_THAT(report.signatures[0], HasReason("is not base64"));
    EditableDoc doc2(xml);
    xmlNode* cert = doc2.All("//xades:EncapsulatedX509Certificate")[0];
    std::string der;
    ASSERT_TRUE(absl::Base64Unescape(NodeText(cert), &der));
    xmlNodeSetContent(cert, BAD_CAST absl::Base64Escape(der + std::string("\0\0", 2)).c_str());
    Report trailing = Judge(doc2.Serialize());
    EXPECT_FALSE(trailing.Valid());
    EXPECT_THAT(trailing.signatures[0], HasReason("trailing bytes"));
  }
}

TEST_F(XadesLtTest, ExtendRefusesASignatureThatAnEnvelopedCoSignatureCovers) {
  std::string leader = SignNow(kDocument, TestKeys().vpcp_leader);
  std::string both = EnvelopedCoSignature(leader, TestKeys().vpcp_seal);
  ASSERT_FALSE(both.empty());
  ExtendOptions options;
  options.tsa_url = tsa_->url;
  absl::StatusOr<std::string> out = ExtendDocument(both, options);
  EXPECT_EQ(out.status().code(), absl::StatusCode::kFailedPrecondition) << out.status();
  EXPECT_THAT(std::string(out.status().message()),
              HasSubstr("signature sig-1 lacks a time-stamp but signature cosig-1 covers it"));
  // Why: the co-signature's digest of the document includes sig-1 whole.
  EditableDoc doc(both);
  ASSERT_NE(internal::UnsignedSignatureProperties(doc.One("//ds:Signature[@Id='sig-1']")),
            nullptr);
  Report broken = Verify(doc.Serialize());
  EXPECT_THAT(*SignatureById(broken, "cosig-1"), HasReason("digest of reference \"\""));
  EXPECT_THAT(*SignatureById(Verify(both), "cosig-1"),
              ::testing::Not(HasReason("digest of reference")));
}

TEST_F(XadesLtTest, ExtendRefusesASignatureThatDoesNotVerify) {
  std::string signed_xml = SignNow(kDocument, TestKeys().vpcp_leader);
  std::string altered = ReplaceOnce(signed_xml, "Điều 1.", "Điều 9.");
  ASSERT_NE(altered, signed_xml);
  ExtendOptions options;
  options.tsa_url = tsa_->url;
  options.ltv = true;
  options.ocsp_url = ocsp_->url;
  absl::StatusOr<std::string> out = ExtendDocument(altered, options);
  EXPECT_EQ(out.status().code(), absl::StatusCode::kFailedPrecondition) << out.status();
  EXPECT_THAT(std::string(out.status().message()), HasSubstr("signature sig-1 does not verify"));
  EXPECT_THAT(std::string(out.status().message()), HasSubstr("digest of reference"));
  // Nor one carrying content no digest covers: a second SignedProperties,
  // first, naming another signing time (the cryptography still verifies).
  EditableDoc doc(signed_xml);
  xmlNode* sp = doc.One("//xades:SignedProperties");
  ASSERT_NE(sp, nullptr);
  xmlNode* fake = xmlDocCopyNode(sp, doc.doc(), 1);
  xmlUnsetProp(fake, BAD_CAST "Id");
  xmlAddPrevSibling(sp, fake);
  absl::StatusOr<std::string> wrapped = ExtendDocument(doc.Serialize(), options);
  EXPECT_EQ(wrapped.status().code(), absl::StatusCode::kFailedPrecondition) << wrapped.status();
  EXPECT_THAT(std::string(wrapped.status().message()), HasSubstr("unsigned content"));
  // The unaltered signature is extended.
  EXPECT_TRUE(ExtendDocument(signed_xml, options).ok());
}

}  // namespace
}  // namespace axis::signer::test
