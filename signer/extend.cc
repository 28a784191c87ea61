#include "signer/extend.h"

#include <openssl/err.h>
#include <openssl/pkcs7.h>
#include <openssl/ts.h>
#include <openssl/x509.h>

#include <map>
#include <set>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "signer/internal/dsig.h"
#include "signer/internal/xades_lt.h"
#include "signer/ocsp.h"
#include "signer/verify.h"
#include "signer/xml.h"

namespace axis::signer {
namespace {

const xmlChar* X(const char* s) { return reinterpret_cast<const xmlChar*>(s); }
const xmlChar* X(const std::string& s) { return reinterpret_cast<const xmlChar*>(s.c_str()); }

std::string Base64Of(const std::string& der) { return absl::Base64Escape(der); }

std::string CrlDer(X509_CRL* crl) {
  unsigned char* der = nullptr;
  int len = i2d_X509_CRL(crl, &der);
  std::string out;
  if (len > 0) {
    out.assign(reinterpret_cast<char*>(der), static_cast<size_t>(len));
  }
  OPENSSL_free(der);
  return out;
}

// Certs is a set of certificates, deduplicated by DER.
struct Certs {
  std::vector<UniquePtr<X509>> list;
  std::set<std::string> seen;
  void Add(X509* c) {
    std::string der = CertificateDer(c);
    if (seen.insert(der).second) {
      X509_up_ref(c);
      list.emplace_back(c);
    }
  }
  X509* IssuerOf(X509* cert) const {
    for (const auto& c : list) {
      if (X509_cmp(c.get(), cert) != 0 && X509_check_issued(c.get(), cert) == X509_V_OK) {
        return c.get();
      }
    }
    return nullptr;
  }
};

// SignerCertificate is the KeyInfo certificate XAdES SigningCertificateV2
// names, or nullptr.
X509* SignerCertificate(xmlNode* qp, const std::vector<UniquePtr<X509>>& certs) {
  xmlNode* sp = FirstChildElement(qp, kXadesNs, "SignedProperties");
  xmlNode* ssp = FirstChildElement(sp, kXadesNs, "SignedSignatureProperties");
  xmlNode* sc = FirstChildElement(ssp, kXadesNs, "SigningCertificateV2");
  xmlNode* digest =
      FirstChildElement(FirstChildElement(sc, kXadesNs, "Cert"), kXadesNs, "CertDigest");
  const EVP_MD* md = internal::DigestForHref(
      AttrValue(FirstChildElement(digest, kDsigNs, "DigestMethod"), "Algorithm"));
  std::string want;
  if (md == nullptr || !DecodeBase64Text(FirstChildElement(digest, kDsigNs, "DigestValue"), &want)) {
    return nullptr;
  }
  for (const auto& c : certs) {
    unsigned char buf[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    X509_digest(c.get(), md, buf, &len);
    if (want == std::string(reinterpret_cast<char*>(buf), len)) {
      return c.get();
    }
  }
  return nullptr;
}

// TokenCertificates adds the certificates a time-stamp token carries.
void TokenCertificates(const std::string& token_der, Certs* out) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(token_der.data());
  UniquePtr<PKCS7> token(d2i_PKCS7(nullptr, &p, static_cast<long>(token_der.size())));
  if (token == nullptr || !PKCS7_type_is_signed(token.get()) || token->d.sign == nullptr) {
    return;
  }
  if (STACK_OF(X509)* carried = token->d.sign->cert; carried != nullptr) {
    for (int i = 0; i < sk_X509_num(carried); ++i) {
      out->Add(sk_X509_value(carried, i));
    }
  }
}

// TokenSigner is the certificate among `certs` whose subject is the token's
// signer (issuer and serial of its SignerInfo), or nullptr.
X509* TokenSigner(const std::string& token_der, const Certs& certs) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(token_der.data());
  UniquePtr<PKCS7> token(d2i_PKCS7(nullptr, &p, static_cast<long>(token_der.size())));
  if (token == nullptr || !PKCS7_type_is_signed(token.get())) {
    return nullptr;
  }
  STACK_OF(PKCS7_SIGNER_INFO)* infos = PKCS7_get_signer_info(token.get());
  if (infos == nullptr || sk_PKCS7_SIGNER_INFO_num(infos) != 1) {
    return nullptr;
  }
  PKCS7_ISSUER_AND_SERIAL* ias = sk_PKCS7_SIGNER_INFO_value(infos, 0)->issuer_and_serial;
  for (const auto& c : certs.list) {
    if (X509_NAME_cmp(X509_get_issuer_name(c.get()), ias->issuer) == 0 &&
        ASN1_INTEGER_cmp(X509_get0_serialNumber(c.get()), ias->serial) == 0) {
      return c.get();
    }
  }
  return nullptr;
}

// EarliestGenTime is the earliest genTime of the time-stamp tokens, or
// InfinitePast when none can be read.
absl::Time EarliestGenTime(const std::vector<internal::TimestampValue>& timestamps) {
  absl::Time earliest = absl::InfiniteFuture();
  for (const internal::TimestampValue& ts : timestamps) {
    const unsigned char* p = reinterpret_cast<const unsigned char*>(ts.token_der.data());
    UniquePtr<PKCS7> token(d2i_PKCS7(nullptr, &p, static_cast<long>(ts.token_der.size())));
    UniquePtr<TS_TST_INFO> tst(token != nullptr ? PKCS7_to_TS_TST_INFO(token.get()) : nullptr);
    absl::Time t = tst != nullptr ? Asn1TimeToAbsl(TS_TST_INFO_get_time(tst.get()))
                                  : absl::InfinitePast();
    if (t != absl::InfinitePast() && t < earliest) {
      earliest = t;
    }
  }
  ERR_clear_error();
  return earliest == absl::InfiniteFuture() ? absl::InfinitePast() : earliest;
}

// CrlFor returns the newest CRL of `extra` that `issuer` signed, or nullptr.
X509_CRL* CrlFor(const TrustStore* extra, X509* issuer) {
  if (extra == nullptr || issuer == nullptr) {
    return nullptr;
  }
  X509_CRL* newest = nullptr;
  for (const auto& crl : extra->crls()) {
    if (X509_NAME_cmp(X509_CRL_get_issuer(crl.get()), X509_get_subject_name(issuer)) == 0 &&
        X509_CRL_verify(crl.get(), X509_get0_pubkey(issuer)) == 1 &&
        (newest == nullptr || Asn1TimeToAbsl(X509_CRL_get0_lastUpdate(crl.get())) >
                                  Asn1TimeToAbsl(X509_CRL_get0_lastUpdate(newest)))) {
      newest = crl.get();
    }
  }
  ERR_clear_error();
  return newest;
}

// TakesEverySignatureOut reports whether reference `ref` carries axis's
// XPath Filter 2.0 transform "subtract //ds:Signature" (ds bound to
// XML-DSig), which leaves every signature out of its digest.
bool TakesEverySignatureOut(xmlNode* ref) {
  xmlNode* transforms = FirstChildElement(ref, kDsigNs, "Transforms");
  for (xmlNode* t : ChildElements(transforms)) {
    if (AttrValue(t, "Algorithm") != "http://www.w3.org/2002/06/xmldsig-filter2") {
      continue;
    }
    std::vector<xmlNode*> kids = ChildElements(t);
    if (kids.size() != 1 || AttrValue(kids[0], "Filter") != "subtract" ||
        absl::StripAsciiWhitespace(NodeText(kids[0])) != internal::kXPath2Expression) {
      return false;
    }
    xmlNs* ns = xmlSearchNs(kids[0]->doc, kids[0], X("ds"));
    return ns != nullptr && xmlStrcmp(ns->href, X(kDsigNs)) == 0;
  }
  return false;
}

// NotExtensible returns why the verifier's report `r` forbids extending its
// signature, or "". Without trust anchors (ExtendDocument has none) the
// chain, the revocation status and the TSA's chain cannot be established;
// every other reason (a wrong SignatureValue or digest, content outside the
// signature, a time-stamp over other data) is fatal.
std::string NotExtensible(const SignatureReport& r) {
  for (const std::string& reason : r.reasons) {
    bool needs_trust =
        absl::StartsWith(reason, "the signing certificate is not trusted at ") ||
        absl::StartsWith(reason, "revocation unknown") ||
        absl::StartsWith(reason, "the signature sits at ") ||
        (absl::StartsWith(reason, "signature time-stamp ") &&
         absl::StrContains(reason, "does not chain to a trusted root"));
    if (!needs_trust) {
      return reason;
    }
  }
  if (!r.cryptographic_ok || !r.signing_certificate_matches) {
    return "its SignatureValue was not verified";
  }
  return "";
}

absl::Status AddTimestamp(xmlDoc* doc, xmlNode* sig, const std::string& sig_id,
                          const ExtendOptions& options) {
  xmlNode* value = FirstChildElement(sig, kDsigNs, "SignatureValue");
  if (value == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("signature ", sig_id, " has no SignatureValue"));
  }
  AXIS_ASSIGN_OR_RETURN(std::string c14n,
                        internal::CanonicalizeElement(doc, value, internal::kExclusiveC14n));
  AXIS_ASSIGN_OR_RETURN(MessageImprint imprint, ImprintOf(c14n));
  absl::StatusOr<std::string> token = RequestTimestamp(options.tsa_url, imprint, options.tsa);
  if (!token.ok()) {
    return absl::Status(token.status().code(), absl::StrCat("time-stamp for signature ", sig_id,
                                                            ": ", token.status().message()));
  }
  xmlNode* usp = internal::UnsignedSignatureProperties(sig);
  xmlNs* xades = xmlSearchNsByHref(doc, usp, X(kXadesNs));
  xmlNs* ds = xmlSearchNsByHref(doc, sig, X(kDsigNs));
  xmlNode* ts = xmlNewDocNode(doc, xades, X("SignatureTimeStamp"), nullptr);
  // A time-stamp goes before the validation data that will cover its TSA.
  if (usp->children != nullptr) {
    xmlAddPrevSibling(usp->children, ts);
  } else {
    xmlAddChild(usp, ts);
  }
  xmlNode* cm = xmlNewChild(ts, ds, X("CanonicalizationMethod"), nullptr);
  xmlNewProp(cm, X("Algorithm"), X(internal::kExclusiveC14n));
  xmlNewTextChild(ts, xades, X("EncapsulatedTimeStamp"), X(Base64Of(*token)));
  return absl::OkStatus();
}

absl::Status AddLongTermValues(xmlDoc* doc, xmlNode* sig, const std::string& sig_id,
                               const internal::UnsignedValues& existing,
                               const ExtendOptions& options) {
  std::vector<UniquePtr<X509>> key_info = internal::KeyInfoCertificates(sig, nullptr);
  X509* signer = SignerCertificate(internal::QualifyingProperties(sig), key_info);
  if (signer == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "signature ", sig_id, ": no KeyInfo certificate matches its SigningCertificateV2"));
  }
  Certs values;  // what goes into CertificateValues
  for (const auto& c : key_info) {
    values.Add(c.get());
  }
  Certs tsa_certs;
  for (const internal::TimestampValue& ts : existing.timestamps) {
    TokenCertificates(ts.token_der, &tsa_certs);
  }
  for (const auto& c : tsa_certs.list) {
    values.Add(c.get());
  }
  Certs pool;  // where issuers are looked for
  for (const auto& c : values.list) {
    pool.Add(c.get());
  }
  if (options.extra != nullptr) {
    for (const auto& c : options.extra->intermediates()) {
      pool.Add(c.get());
    }
  }
  std::vector<std::string> ocsp;
  std::vector<std::string> crls;
  std::set<std::string> crl_seen;
  auto add_crl = [&](X509_CRL* crl) {
    std::string der = CrlDer(crl);
    if (!der.empty() && crl_seen.insert(der).second) {
      crls.push_back(der);
    }
  };
  OcspOptions fetch;
  fetch.url = options.ocsp_url;
  fetch.timeout = options.ocsp_timeout;
  // The signer: its status is what B-LT is for, so it must be obtained.
  X509* issuer = pool.IssuerOf(signer);
  if (issuer == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("signature ", sig_id, ": the issuer of ", DescribeCertificate(signer).subject,
                     " is neither in KeyInfo nor among the intermediates given"));
  }
  values.Add(issuer);
  absl::StatusOr<OcspResponse> answer = FetchOcsp(signer, issuer, fetch);
  if (answer.ok()) {
    ocsp.push_back(answer->der);
  } else if (X509_CRL* crl = CrlFor(options.extra, issuer)) {
    // The verifier believes a CRL that does not list the signer only when
    // it was issued no earlier than the time-stamp (verify.h).
    absl::Time issued = Asn1TimeToAbsl(X509_CRL_get0_lastUpdate(crl));
    absl::Time stamped = EarliestGenTime(existing.timestamps);
    if (internal::Predates(issued, stamped)) {
      auto utc = [](absl::Time t) {
        return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
      };
      return absl::FailedPreconditionError(absl::StrCat(
          "signature ", sig_id, ": no OCSP answer for the signer (", answer.status().message(),
          ") and the CRL of its issuer given was issued at ", utc(issued),
          ", before the time-stamp's ", utc(stamped),
          ": it cannot show the status then. Give a CRL issued after the time-stamp, or an "
          "OCSP responder"));
    }
    add_crl(crl);
  } else {
    return absl::Status(
        answer.status().code() == absl::StatusCode::kUnavailable
            ? absl::StatusCode::kUnavailable
            : absl::StatusCode::kFailedPrecondition,
        absl::StrCat("signature ", sig_id, ": no revocation data for the signer (",
                     answer.status().message(), ") and no CRL of its issuer given"));
  }
  // The TSA: best effort; its token is judged at genTime by its chain.
  for (const internal::TimestampValue& ts : existing.timestamps) {
    X509* tsa = TokenSigner(ts.token_der, tsa_certs);
    X509* tsa_issuer = tsa == nullptr ? nullptr : pool.IssuerOf(tsa);
    if (tsa_issuer == nullptr) {
      continue;
    }
    values.Add(tsa_issuer);
    if (!fetch.url.empty() || !OcspUrlFromCertificate(tsa).empty()) {
      if (absl::StatusOr<OcspResponse> r = FetchOcsp(tsa, tsa_issuer, fetch); r.ok()) {
        ocsp.push_back(r->der);
        continue;
      }
    }
    if (X509_CRL* crl = CrlFor(options.extra, tsa_issuer)) {
      add_crl(crl);
    }
  }

  xmlNode* usp = internal::UnsignedSignatureProperties(sig);
  xmlNs* xades = xmlSearchNsByHref(doc, usp, X(kXadesNs));
  xmlNode* cv = xmlNewChild(usp, xades, X("CertificateValues"), nullptr);
  for (const auto& c : values.list) {
    xmlNewTextChild(cv, xades, X("EncapsulatedX509Certificate"),
                    X(Base64Of(CertificateDer(c.get()))));
  }
  xmlNode* rv = xmlNewChild(usp, xades, X("RevocationValues"), nullptr);
  if (!crls.empty()) {
    xmlNode* cv2 = xmlNewChild(rv, xades, X("CRLValues"), nullptr);
    for (const std::string& der : crls) {
      xmlNewTextChild(cv2, xades, X("EncapsulatedCRLValue"), X(Base64Of(der)));
    }
  }
  if (!ocsp.empty()) {
    xmlNode* ov = xmlNewChild(rv, xades, X("OCSPValues"), nullptr);
    for (const std::string& der : ocsp) {
      xmlNewTextChild(ov, xades, X("EncapsulatedOCSPValue"), X(Base64Of(der)));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> ExtendDocument(absl::string_view xml, const ExtendOptions& options) {
  // Parsing tokens and trying CRLs against issuers can leave OpenSSL errors
  // queued; left on this thread they would end up in an unrelated message.
  struct ClearOpenSslErrors {
    ~ClearOpenSslErrors() { ERR_clear_error(); }
  } clear_openssl_errors;
  if (options.tsa_url.empty() && !options.ltv) {
    return absl::InvalidArgumentError("nothing to add: give a TSA URL, B-LT, or both");
  }
  AXIS_ASSIGN_OR_RETURN(UniquePtr<xmlDoc> doc, ParseXml(xml));
  std::string duplicate;
  std::map<std::string, xmlNode*> ids = internal::CollectIds(doc.get(), &duplicate);
  if (!duplicate.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("document has the Id \"", duplicate, "\" more than once"));
  }
  std::vector<xmlNode*> sigs = internal::FindSignatures(doc.get());
  if (sigs.empty()) {
    return absl::InvalidArgumentError("the document carries no signature");
  }
  // covered_by[sig]: a signature whose reference digests `sig`, which any
  // change to `sig` would break: a reference to it by Id, or to the whole
  // document or an element holding it, unless that reference takes every
  // ds:Signature out (axis's XPath Filter 2.0 subtract //ds:Signature). The
  // enveloped-signature transform takes out only the signature that carries
  // it: such a co-signature covers every other signature whole.
  xmlNode* root = xmlDocGetRootElement(doc.get());
  std::map<xmlNode*, std::string> covered_by;
  for (xmlNode* s : sigs) {
    xmlNode* si = FirstChildElement(s, kDsigNs, "SignedInfo");
    for (xmlNode* ref : ChildElements(si)) {
      bool has_uri = false;
      std::string uri = AttrValue(ref, "URI", &has_uri);
      if (!IsElement(ref, kDsigNs, "Reference") || !has_uri) {
        continue;
      }
      xmlNode* target = nullptr;
      if (uri.empty()) {
        target = root;
      } else if (uri[0] == '#') {
        auto it = ids.find(uri.substr(1));
        target = it == ids.end() ? nullptr : it->second;
      }
      if (target == nullptr) {
        continue;
      }
      bool drops_signatures = TakesEverySignatureOut(ref);
      for (xmlNode* other : sigs) {
        if (other != s && (other == target || (!drops_signatures && IsInside(other, target)))) {
          std::string by = AttrValue(s, "Id");
          covered_by.emplace(other, by.empty() ? NodePath(s) : by);
        }
      }
    }
  }
  // What is extended must verify first: validation data added to a
  // signature whose SignatureValue or digests are wrong would dress up a
  // forgery. Trust and revocation are not judged here (no trust store):
  // only the signature's own cryptography and structure.
  VerifyOptions check;
  TrustStore no_roots;
  check.trust = options.extra != nullptr ? options.extra : &no_roots;
  check.offline = true;
  AXIS_ASSIGN_OR_RETURN(Report report, VerifyDocument(xml, check));
  for (xmlNode*& sig : sigs) {
    std::string id = AttrValue(sig, "Id");
    std::string name = id.empty() ? NodePath(sig) : id;
    if (internal::QualifyingProperties(sig) == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(
          "signature ", name, " is not XAdES (no QualifyingProperties): cannot extend it"));
    }
    std::vector<std::string> problems;
    xmlNode* up =
        FirstChildElement(internal::QualifyingProperties(sig), kXadesNs, "UnsignedProperties");
    internal::UnsignedValues have = internal::ReadUnsignedProperties(up, &problems);
    if (!problems.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("signature ", name, ": ", problems.front()));
    }
    bool has_ts = !have.timestamps.empty();
    bool has_lt =
        !have.certificates.empty() && (!have.ocsp_responses.empty() || !have.crls.empty());
    bool add_ts = !has_ts && !options.tsa_url.empty();
    bool add_lt = options.ltv && !has_lt;
    if (!add_ts && !add_lt) {
      continue;
    }
    if (auto it = covered_by.find(sig); it != covered_by.end()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "signature ", name, " lacks ", add_ts ? "a time-stamp" : "long-term validation data",
          " but signature ", it->second, " covers it: adding unsigned properties now would break ",
          it->second,
          ". Time-stamp and extend each signature before the next one is added "
          "(axis sign --tsa URL --ltv)"));
    }
    if (add_lt && !has_ts && !add_ts) {
      return absl::FailedPreconditionError(
          absl::StrCat("signature ", name,
                       " has no time-stamp; B-LT needs one (B-T first): give a TSA URL (--tsa)"));
    }
    size_t index = static_cast<size_t>(&sig - sigs.data());
    if (!report.problems.empty()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the document does not verify (", report.problems.front(), "): refusing to extend it"));
    }
    if (index >= report.signatures.size()) {
      return absl::FailedPreconditionError(
          absl::StrCat("signature ", name, " was not verified: refusing to extend it"));
    }
    if (std::string why = NotExtensible(report.signatures[index]); !why.empty()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "signature ", name, " does not verify (", why, "): refusing to extend it"));
    }
    if (add_ts) {
      AXIS_RETURN_IF_ERROR(AddTimestamp(doc.get(), sig, name, options));
    }
    if (add_lt) {
      up = FirstChildElement(internal::QualifyingProperties(sig), kXadesNs, "UnsignedProperties");
      have = internal::ReadUnsignedProperties(up, &problems);
      AXIS_RETURN_IF_ERROR(AddLongTermValues(doc.get(), sig, name, have, options));
    }
  }
  return SerializeXml(doc.get());
}

}  // namespace axis::signer
