#include "signer/verify.h"

#include <openssl/err.h>
#include <xmlsec/openssl/crypto.h>
#include <xmlsec/openssl/evp.h>
#include <xmlsec/xmldsig.h>
#include <xmlsec/xmltree.h>

#include <openssl/ocsp.h>
#include <openssl/ts.h>
#include <openssl/x509v3.h>

#include <map>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/openssl_error.h"
#include "signer/internal/dsig.h"
#include "signer/internal/xades_lt.h"
#include "signer/ocsp.h"
#include "signer/timestamp.h"


namespace axis::signer {
namespace {

constexpr char kXPath2Href[] = "http://www.w3.org/2002/06/xmldsig-filter2";
constexpr char kEnvelopedHref[] = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";

const xmlChar* X(const char* s) { return reinterpret_cast<const xmlChar*>(s); }

bool HasSignatureAncestor(xmlNode* node) {
  for (xmlNode* p = node->parent; p != nullptr && p->type == XML_ELEMENT_NODE; p = p->parent) {
    if (IsElement(p, kDsigNs, "Signature")) {
      return true;
    }
  }
  return false;
}

// CheckXPath2 accepts only the filter of axis's scheme: one dsig-xpath:XPath
// with Filter="subtract" and the text //ds:Signature, ds bound to XML-DSig.
std::string CheckXPath2(xmlNode* transform) {
  std::vector<xmlNode*> kids = ChildElements(transform);
  if (kids.size() != 1 || !IsElement(kids[0], kXPath2Href, "XPath")) {
    return "XPath Filter 2.0 transform must hold exactly one XPath element";
  }
  if (AttrValue(kids[0], "Filter") != "subtract") {
    return "XPath Filter 2.0 filter must be \"subtract\"";
  }
  if (absl::StripAsciiWhitespace(NodeText(kids[0])) != internal::kXPath2Expression) {
    return absl::StrCat("XPath Filter 2.0 expression \"", NodeText(kids[0]),
                        "\" is not the allowed \"//ds:Signature\"");
  }
  xmlNs* ns = xmlSearchNs(kids[0]->doc, kids[0], X("ds"));
  if (ns == nullptr || xmlStrcmp(ns->href, X(kDsigNs)) != 0) {
    return "XPath Filter 2.0: prefix ds is not bound to the XML-DSig namespace";
  }
  return "";
}

struct Context {
  xmlDoc* doc;
  xmlNode* root;
  const std::map<std::string, xmlNode*>* ids;
  const VerifyOptions* options;
  absl::Time at;
};

// CheckReferences classifies each reference and applies the profile's
// rules; it returns the signed-properties element when one is referenced.
// IsNcName reports whether an Id fragment is an XML NCName (ASCII subset).
// xmlsec resolves "#x" as xpointer(id('x')), and XPath's id() splits its
// argument at white space: "#a b" would select two other elements.
bool IsNcName(const std::string& id) {
  if (id.empty() || !(absl::ascii_isalpha(static_cast<unsigned char>(id[0])) || id[0] == '_')) {
    return false;
  }
  for (char c : id) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' && c != '.') {
      return false;
    }
  }
  return true;
}

// CheckReferences classifies each reference and applies the profile's
// rules; it returns the signed-properties element when one is referenced.
// `*unsafe` is set when a reference must not reach xmlsec at all.
xmlNode* CheckReferences(const Context& ctx, xmlNode* sig, xmlNode* signed_info,
                         SignatureReport* r, bool* unsafe) {
  xmlNode* signed_props = nullptr;
  int count = 0;
  for (xmlNode* ref : ChildElements(signed_info)) {
    if (!IsElement(ref, kDsigNs, "Reference")) {
      continue;
    }
    if (++count > ctx.options->max_references) {
      r->reasons.push_back(absl::StrCat("more than ", ctx.options->max_references,
                                        " references in one signature"));
      *unsafe = true;
      break;
    }
    ReferenceReport rr;
    bool has_uri = false;
    rr.uri = AttrValue(ref, "URI", &has_uri);
    int enveloping = 0;  // enveloped-signature or the XPath filter
    int c14n = 0;
    if (xmlNode* transforms = FirstChildElement(ref, kDsigNs, "Transforms")) {
      for (xmlNode* t : ChildElements(transforms)) {
        std::string alg = AttrValue(t, "Algorithm");
        rr.transforms.push_back(alg);
        if (alg == kEnvelopedHref) {
          ++enveloping;
        } else if (alg == kXPath2Href) {
          if (std::string bad = CheckXPath2(t); !bad.empty()) {
            r->reasons.push_back(bad);
            *unsafe = true;
          }
          ++enveloping;
        } else if (internal::IsC14n(alg)) {
          ++c14n;
        } else {
          r->reasons.push_back(
              absl::StrCat("reference \"", rr.uri, "\": transform ", alg, " is not allowed"));
          *unsafe = true;
        }
      }
    }
    if (c14n > 1) {
      r->reasons.push_back(absl::StrCat("reference \"", rr.uri, "\" has more than one C14N transform"));
      *unsafe = true;
    }
    rr.digest_method = AttrValue(FirstChildElement(ref, kDsigNs, "DigestMethod"), "Algorithm");
    if (!internal::IsAllowedDigest(rr.digest_method)) {
      r->reasons.push_back(absl::StrCat("reference \"", rr.uri, "\": digest method ",
                                        rr.digest_method.empty() ? "(none)" : rr.digest_method,
                                        " is not allowed (SHA-256 or stronger)"));
      *unsafe = true;
    }
    // A filter on a reference to a signature or to SignedProperties could
    // digest nothing while the report claims coverage: only C14N there.
    auto only_c14n = [&](const char* what) {
      if (enveloping != 0) {
        r->reasons.push_back(absl::StrCat("reference ", rr.uri, " to ", what,
                                          " may carry only a C14N transform"));
        *unsafe = true;
        return false;
      }
      return true;
    };
    auto takes_signatures_out = [&]() {
      if (enveloping != 1) {
        r->reasons.push_back(absl::StrCat(
            "reference \"", rr.uri,
            "\" to the document must take signatures out with exactly one enveloped-signature "
            "or XPath Filter 2.0 transform"));
        *unsafe = true;
        return false;
      }
      return true;
    };
    rr.covers = "refused";
    if (!has_uri) {
      r->reasons.push_back("a reference has no URI (detached content is refused)");
      *unsafe = true;
    } else if (rr.uri.empty()) {
      if (takes_signatures_out()) {
        rr.covers = "document";
        r->covers_document = true;
      }
    } else if (rr.uri[0] != '#' || !IsNcName(rr.uri.substr(1))) {
      r->reasons.push_back(absl::StrCat("reference \"", rr.uri,
                                        "\" is external, an XPointer or not a plain Id; refused"));
      *unsafe = true;
    } else {
      std::string id = rr.uri.substr(1);
      auto it = ctx.ids->find(id);
      xmlNode* target = it == ctx.ids->end() ? nullptr : it->second;
      if (target == nullptr) {
        r->reasons.push_back(absl::StrCat("reference ", rr.uri, " points to no element"));
        *unsafe = true;
      } else if (target == ctx.root) {
        if (takes_signatures_out()) {
          rr.covers = "document";
          r->covers_document = true;
        }
      } else if (IsElement(target, kDsigNs, "Signature") && target != sig) {
        if (only_c14n("a signature")) {
          rr.covers = absl::StrCat("signature ", id);
          r->covers_signatures.push_back(id);
        }
      } else if (IsElement(target, kXadesNs, "SignedProperties") && IsInside(target, sig)) {
        if (!only_c14n("SignedProperties")) {
          r->references.push_back(std::move(rr));
          continue;
        }
        rr.covers = "signed properties";
        if (AttrValue(ref, "Type") != internal::kSignedPropertiesType) {
          r->warnings.push_back("the SignedProperties reference lacks its Type attribute");
        }
        signed_props = target;
      } else {
        r->reasons.push_back(absl::StrCat(
            "reference ", rr.uri, " points to ", reinterpret_cast<const char*>(target->name),
            " at ", NodePath(target),
            ", which is not the document root, another signature or this signature's "
            "SignedProperties"));
        *unsafe = true;
      }
    }
    r->references.push_back(std::move(rr));
  }
  if (r->references.empty()) {
    r->reasons.push_back("SignedInfo has no reference");
  }
  if (!r->covers_document) {
    r->reasons.push_back("the signature leaves the document content uncovered");
  }
  return signed_props;
}

// CheckObjects refuses any ds:Object that is not the holder of the signed
// XAdES properties: its content would be outside every digest.
xmlNode* CheckObjects(xmlNode* sig, xmlNode* signed_props, SignatureReport* r) {
  xmlNode* qp_found = nullptr;
  for (xmlNode* obj : ChildElements(sig)) {
    if (!IsElement(obj, kDsigNs, "Object")) {
      continue;
    }
    xmlNode* qp = FirstChildElement(obj, kXadesNs, "QualifyingProperties");
    bool holds_signed = signed_props != nullptr && qp != nullptr && signed_props->parent == qp &&
                        ChildElements(obj).size() == 1 && qp_found == nullptr;
    if (!holds_signed) {
      r->reasons.push_back(absl::StrCat("ds:Object at ", NodePath(obj),
                                        " is not covered by the signature (unsigned content)"));
      continue;
    }
    qp_found = qp;
    if (AttrValue(qp, "Target") != "#" + r->id) {
      r->reasons.push_back(absl::StrCat("QualifyingProperties Target \"", AttrValue(qp, "Target"),
                                        "\" is not this signature (#", r->id, ")"));
    }
  }
  return qp_found;
}

// ForeignElement returns the first element at or below `node` whose
// namespace is not XML-DSig, XML-DSig 1.1 or XAdES (1.3.2 / 1.4.1), or
// nullptr.
xmlNode* ForeignElement(xmlNode* node) {
  static const char* const kAllowed[] = {kDsigNs, "http://www.w3.org/2009/xmldsig11#", kXadesNs,
                                         "http://uri.etsi.org/01903/v1.4.1#"};
  if (node == nullptr || node->type != XML_ELEMENT_NODE) {
    return nullptr;
  }
  bool allowed = false;
  for (const char* ns : kAllowed) {
    allowed = allowed || (node->ns != nullptr && node->ns->href != nullptr &&
                          xmlStrcmp(node->ns->href, X(ns)) == 0);
  }
  if (!allowed) {
    return node;
  }
  for (xmlNode* c : ChildElements(node)) {
    if (xmlNode* f = ForeignElement(c)) {
      return f;
    }
  }
  return nullptr;
}

// CheckUnsignedParts refuses foreign elements in the parts of a signature
// no digest covers. The XPath filter takes every ds:Signature out of the
// content digest, so an element of the document's own vocabulary hidden in
// KeyInfo, SignatureValue, next to the SignedProperties or directly in the
// signature would be unsigned content that a reader could take for the
// document's.
void CheckUnsignedParts(xmlNode* sig, xmlNode* signed_props, SignatureReport* r,
                        internal::UnsignedValues* values) {
  auto refuse = [r](xmlNode* f) {
    r->reasons.push_back(absl::StrCat("element ", reinterpret_cast<const char*>(f->name), " at ",
                                      NodePath(f),
                                      " is not covered by the signature (unsigned content)"));
  };
  for (xmlNode* c = sig->children; c != nullptr; c = c->next) {
    if (c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) {
      UniquePtr<xmlChar> text(xmlNodeGetContent(c));
      if (text != nullptr && !absl::StripAsciiWhitespace(reinterpret_cast<char*>(text.get())).empty()) {
        r->reasons.push_back(absl::StrCat("text directly in ", NodePath(sig),
                                          " is not covered by the signature (unsigned content)"));
        break;
      }
    }
  }
  std::vector<xmlNode*> kids = ChildElements(sig);
  for (size_t i = 1; i < kids.size(); ++i) {
    xmlNode* k = kids[i];
    if (IsElement(k, kDsigNs, "Object")) {
      for (xmlAttr* a = k->properties; a != nullptr; a = a->next) {
        std::string name = reinterpret_cast<const char*>(a->name);
        if (a->ns != nullptr || (name != "Id" && name != "MimeType" && name != "Encoding")) {
          r->reasons.push_back(absl::StrCat("attribute ", name, " on ", NodePath(k),
                                            " is not covered by the signature (unsigned content)"));
        }
      }
    }
    if (IsElement(k, kDsigNs, "SignatureValue") || IsElement(k, kDsigNs, "KeyInfo")) {
      if (xmlNode* f = ForeignElement(k)) {
        refuse(f);
      }
    } else if (IsElement(k, kDsigNs, "Object")) {
      // CheckObjects allows one ds:Object, holding QualifyingProperties;
      // what sits beside the SignedProperties is not signed.
      // Unsigned properties: exactly those of B-T and B-LT, nothing else
      // (internal/xades_lt.h).
      xmlNode* qp = FirstChildElement(k, kXadesNs, "QualifyingProperties");
      int unsigned_props = 0;
      for (xmlNode* q : ChildElements(qp)) {
        if (q == signed_props) {
          continue;
        }
        // A second SignedProperties, which no reference names, is unsigned
        // content a reader taking the first one would believe.
        if (!IsElement(q, kXadesNs, "UnsignedProperties")) {
          refuse(q);
        } else if (++unsigned_props > 1) {
          r->reasons.push_back(absl::StrCat("second UnsignedProperties at ", NodePath(q),
                                            " is not allowed"));
        } else {
          std::vector<std::string> problems;
          *values = internal::ReadUnsignedProperties(q, &problems);
          for (std::string& p : problems) {
            r->reasons.push_back(std::move(p));
          }
        }
      }
    } else {
      refuse(k);
    }
  }
}

// SigningCertificateDigest reads XAdES SigningCertificateV2 (or V1)
// Cert/CertDigest: the digest method and decoded value.
bool SigningCertificateDigest(xmlNode* signed_props, std::string* method, std::string* value) {
  xmlNode* ssp = FirstChildElement(signed_props, kXadesNs, "SignedSignatureProperties");
  xmlNode* sc = FirstChildElement(ssp, kXadesNs, "SigningCertificateV2");
  if (sc == nullptr) {
    sc = FirstChildElement(ssp, kXadesNs, "SigningCertificate");
  }
  xmlNode* cert = FirstChildElement(sc, kXadesNs, "Cert");
  xmlNode* digest = FirstChildElement(cert, kXadesNs, "CertDigest");
  if (digest == nullptr) {
    return false;
  }
  *method = AttrValue(FirstChildElement(digest, kDsigNs, "DigestMethod"), "Algorithm");
  return DecodeBase64Text(FirstChildElement(digest, kDsigNs, "DigestValue"), value);
}

void ReadXades(xmlNode* signed_props, SignatureReport* r) {
  xmlNode* ssp = FirstChildElement(signed_props, kXadesNs, "SignedSignatureProperties");
  std::string when = std::string(absl::StripAsciiWhitespace(
      NodeText(FirstChildElement(ssp, kXadesNs, "SigningTime"))));
  absl::Time t;
  std::string err;
  if (!when.empty()) {
    if (absl::ParseTime(absl::RFC3339_full, when, &t, &err)) {
      r->claimed_signing_time = t;
    } else {
      r->reasons.push_back(absl::StrCat("SigningTime \"", when, "\" is not an xs:dateTime"));
    }
  }
  xmlNode* role = FirstChildElement(ssp, kXadesNs, "SignerRoleV2");
  if (role == nullptr) {
    role = FirstChildElement(ssp, kXadesNs, "SignerRole");
  }
  xmlNode* claimed = FirstChildElement(FirstChildElement(role, kXadesNs, "ClaimedRoles"), kXadesNs,
                                       "ClaimedRole");
  r->role = std::string(absl::StripAsciiWhitespace(NodeText(claimed)));
  xmlNode* sdop = FirstChildElement(signed_props, kXadesNs, "SignedDataObjectProperties");
  xmlNode* cti = FirstChildElement(sdop, kXadesNs, "CommitmentTypeIndication");
  r->commitment = std::string(absl::StripAsciiWhitespace(NodeText(FirstChildElement(
      FirstChildElement(cti, kXadesNs, "CommitmentTypeId"), kXadesNs, "Identifier"))));
}

// LeafCertificate picks the signer among KeyInfo's certificates when no
// XAdES SigningCertificate names it: X509Data may list a chain in any order
// (xmlsec's own vectors put the root first), so take the first certificate
// that issued none of the others. The choice grants nothing: the chain and
// the SignatureValue are still checked against the picked certificate.
X509* LeafCertificate(const std::vector<UniquePtr<X509>>& certs) {
  for (const auto& candidate : certs) {
    bool issued_another = false;
    for (const auto& other : certs) {
      if (other.get() != candidate.get() &&
          X509_check_issued(candidate.get(), other.get()) == X509_V_OK) {
        issued_another = true;
        break;
      }
    }
    if (!issued_another) {
      return candidate.get();
    }
  }
  return certs[0].get();  // a cycle of cross-issued certificates
}

// RunXmlSec checks the SignatureValue and every digest with xmlsec, with the
// key taken from the validated certificate (never from KeyInfo).
void RunXmlSec(xmlNode* sig, EVP_PKEY* pub, const internal::SignatureAlgorithm* alg,
               SignatureReport* r) {
  UniquePtr<xmlSecDSigCtx> ctx(xmlSecDSigCtxCreate(nullptr));
  UniquePtr<xmlSecKey> key = internal::XmlSecKeyFor(pub);
  if (key == nullptr) {
    r->reasons.push_back("the signing certificate's key cannot be used");
    return;
  }
  ctx->signKey = key.release();
  ctx->flags |= XMLSEC_DSIG_FLAGS_STORE_SIGNEDINFO_REFERENCES | XMLSEC_DSIG_FLAGS_IGNORE_MANIFESTS;
  ctx->enabledReferenceUris = static_cast<xmlSecTransformUriType>(
      xmlSecTransformUriTypeEmpty | xmlSecTransformUriTypeSameDocument);
  const xmlSecTransformId c14n[] = {xmlSecTransformInclC14NId,   xmlSecTransformInclC14NWithCommentsId,
                                    xmlSecTransformExclC14NId,   xmlSecTransformExclC14NWithCommentsId,
                                    xmlSecTransformInclC14N11Id, xmlSecTransformInclC14N11WithCommentsId};
  for (xmlSecTransformId t : c14n) {
    xmlSecDSigCtxEnableReferenceTransform(ctx.get(), t);
    xmlSecDSigCtxEnableSignatureTransform(ctx.get(), t);
  }
  xmlSecDSigCtxEnableReferenceTransform(ctx.get(), xmlSecTransformEnvelopedId);
  xmlSecDSigCtxEnableReferenceTransform(ctx.get(), xmlSecTransformXPath2Id);
  xmlSecDSigCtxEnableReferenceTransform(ctx.get(), xmlSecOpenSSLTransformSha256Id);
  xmlSecDSigCtxEnableReferenceTransform(ctx.get(), xmlSecOpenSSLTransformSha384Id);
  xmlSecDSigCtxEnableReferenceTransform(ctx.get(), xmlSecOpenSSLTransformSha512Id);
  xmlSecDSigCtxEnableSignatureTransform(ctx.get(), alg->transform());
  if (xmlSecDSigCtxVerify(ctx.get(), sig) < 0) {
    r->reasons.push_back(std::string(OpenSslError("the signature could not be processed").message()));
    return;
  }
  bool all_refs = true;
  xmlSecSize n = xmlSecPtrListGetSize(&ctx->signedInfoReferences);
  for (xmlSecSize i = 0; i < n; ++i) {
    auto* ref = static_cast<xmlSecDSigReferenceCtxPtr>(
        xmlSecPtrListGetItem(&ctx->signedInfoReferences, i));
    bool ok = ref != nullptr && ref->status == xmlSecDSigStatusSucceeded;
    if (i < r->references.size()) {
      r->references[i].digest_ok = ok;
    }
    if (!ok) {
      all_refs = false;
      std::string uri = ref != nullptr && ref->uri != nullptr
                            ? reinterpret_cast<const char*>(ref->uri)
                            : std::string();
      r->reasons.push_back(absl::StrCat("digest of reference \"", uri,
                                        "\" does not match: the content it covers was altered"));
    }
  }
  if (ctx->status == xmlSecDSigStatusSucceeded) {
    r->cryptographic_ok = true;
  } else if (all_refs) {
    r->reasons.push_back("SignatureValue does not verify with the signing certificate's key");
  }
}

std::string Utc(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

// WithIntermediates is `trust` plus `extra` as intermediates (untrusted:
// they only help build chains to the same roots).
TrustStore WithIntermediates(const TrustStore& trust, const std::vector<X509*>& extra) {
  TrustStore out;
  for (const auto& c : trust.roots()) {
    X509_up_ref(c.get());
    out.AddRoot(UniquePtr<X509>(c.get()));
  }
  for (const auto& c : trust.intermediates()) {
    X509_up_ref(c.get());
    out.AddIntermediate(UniquePtr<X509>(c.get()));
  }
  for (X509* c : extra) {
    X509_up_ref(c);
    out.AddIntermediate(UniquePtr<X509>(c));
  }
  for (const auto& crl : trust.crls()) {
    X509_CRL_up_ref(crl.get());
    out.AddCrl(UniquePtr<X509_CRL>(crl.get()));
  }
  return out;
}

// TokenHashNid is the hash algorithm of a time-stamp token's imprint
// (SHA-256 when the token cannot be read; verification then says why).
int TokenHashNid(const std::string& der) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  UniquePtr<PKCS7> token(d2i_PKCS7(nullptr, &p, static_cast<long>(der.size())));
  if (token == nullptr) {
    ERR_clear_error();
    return NID_sha256;
  }
  UniquePtr<TS_TST_INFO> tst(PKCS7_to_TS_TST_INFO(token.get()));
  if (tst == nullptr) {
    ERR_clear_error();
    return NID_sha256;
  }
  const ASN1_OBJECT* obj = nullptr;
  X509_ALGOR_get0(&obj, nullptr, nullptr,
                  TS_MSG_IMPRINT_get_algo(TS_TST_INFO_get_msg_imprint(tst.get())));
  int nid = obj == nullptr ? NID_undef : OBJ_obj2nid(obj);
  return nid == NID_undef ? NID_sha256 : nid;
}

UniquePtr<X509> TsaCertificate(const std::string& der, const std::vector<X509*>& untrusted);
std::string TsaRevocationProblem(const Context& ctx, X509* tsa,
                                 const std::vector<X509*>& untrusted,
                                 const internal::UnsignedValues& values, absl::Time gen_time);

// CheckTimestamps verifies every SignatureTimeStamp against this
// signature's SignatureValue; the earliest valid genTime becomes the time
// the signature is judged at.
void CheckTimestamps(const Context& ctx, xmlNode* sig, const internal::UnsignedValues& values,
                     const std::vector<X509*>& untrusted, SignatureReport* r) {
  TrustStore trust = WithIntermediates(*ctx.options->trust, untrusted);
  xmlNode* value = FirstChildElement(sig, kDsigNs, "SignatureValue");
  std::optional<absl::Time> earliest;
  std::map<std::string, std::string> tsa_problems;  // TSA certificate DER -> why revoked
  int n = 0;
  for (const internal::TimestampValue& ts : values.timestamps) {
    ++n;
    TimestampReport tr;
    tr.c14n_method = ts.c14n_method;
    absl::StatusOr<std::string> c14n =
        value == nullptr ? absl::InvalidArgumentError("the signature has no SignatureValue")
                         : internal::CanonicalizeElement(ctx.doc, value, ts.c14n_method);
    absl::StatusOr<MessageImprint> imprint =
        c14n.ok() ? ImprintOf(*c14n, TokenHashNid(ts.token_der))
                  : absl::StatusOr<MessageImprint>(c14n.status());
    absl::StatusOr<TimestampInfo> info =
        imprint.ok() ? VerifyTimestampToken(ts.token_der, *imprint, trust)
                     : absl::StatusOr<TimestampInfo>(imprint.status());
    ERR_clear_error();
    if (info.ok()) {
      // Once per TSA certificate: every token may come from the same TSA.
      if (UniquePtr<X509> tsa = TsaCertificate(ts.token_der, untrusted); tsa != nullptr) {
        std::string der = CertificateDer(tsa.get());
        auto it = tsa_problems.find(der);
        if (it == tsa_problems.end()) {
          it = tsa_problems
                   .emplace(der, TsaRevocationProblem(ctx, tsa.get(), untrusted, values,
                                                      info->gen_time))
                   .first;
        }
        if (!it->second.empty()) {
          info = absl::InvalidArgumentError(it->second);
        }
      }
    }
    if (!info.ok()) {
      tr.error = std::string(info.status().message());
      if (absl::StrContains(tr.error, "over other data")) {
        absl::StrAppend(&tr.error, " (not a time-stamp of this signature's SignatureValue: "
                                   "copied from another signature?)");
      }
      r->reasons.push_back(absl::StrCat("signature time-stamp ", n, " refused: ", tr.error));
    } else {
      tr.valid = true;
      tr.gen_time = info->gen_time;
      tr.tsa_subject = info->tsa_subject;
      tr.policy_oid = info->policy_oid;
      tr.serial_hex = info->serial_hex;
      if (!earliest.has_value() || info->gen_time < *earliest) {
        earliest = info->gen_time;
      }
      if (r->claimed_signing_time.has_value() &&
          info->gen_time + absl::Minutes(5) < *r->claimed_signing_time) {
        r->warnings.push_back(absl::StrCat("the claimed signing time ",
                                           Utc(*r->claimed_signing_time),
                                           " is after the time-stamp's ", Utc(info->gen_time)));
      }
    }
    r->timestamps.push_back(std::move(tr));
  }
  if (earliest.has_value()) {
    r->judged_at = *earliest;
    r->time_source = "time-stamp";
  }
}

// IssuerOf finds the certificate that issued `cert`: the built chain's
// second element, else any candidate that issued it.
X509* IssuerOf(X509* cert, const ChainResult& chain, const std::vector<X509*>& untrusted,
               const TrustStore& trust) {
  if (chain.certs.size() >= 2) {
    return chain.certs[1].get();
  }
  std::vector<X509*> candidates = untrusted;
  for (const auto& c : trust.intermediates()) {
    candidates.push_back(c.get());
  }
  for (const auto& c : trust.roots()) {
    candidates.push_back(c.get());
  }
  for (X509* c : candidates) {
    if (X509_cmp(c, cert) != 0 && X509_check_issued(c, cert) == X509_V_OK) {
      return c;
    }
  }
  return nullptr;
}

// CrlEntry looks `cert` up in the first of `crls` that `issuer` signed:
// status "revoked" (with time and reason), "good", or "" when no CRL of
// that issuer is there.
template <typename Crls>
RevocationCheck CrlEntry(const Crls& crls, X509* cert, X509* issuer) {
  RevocationCheck c;
  c.certificate = DescribeCertificate(cert).subject;
  if (issuer == nullptr) {
    return c;
  }
  for (const auto& crl : crls) {
    if (X509_NAME_cmp(X509_CRL_get_issuer(crl.get()), X509_get_subject_name(issuer)) != 0 ||
        X509_CRL_verify(crl.get(), X509_get0_pubkey(issuer)) != 1) {
      ERR_clear_error();
      continue;
    }
    c.this_update = Asn1TimeToAbsl(X509_CRL_get0_lastUpdate(crl.get()));
    c.detail = absl::StrCat("CRL of ", DescribeCertificate(issuer).subject, ", lastUpdate ",
                            Utc(c.this_update));
    X509_REVOKED* entry = nullptr;
    if (X509_CRL_get0_by_cert(crl.get(), &entry, cert) == 1 && entry != nullptr) {
      c.status = "revoked";
      c.revocation_time = Asn1TimeToAbsl(X509_REVOKED_get0_revocationDate(entry));
      UniquePtr<ASN1_STRING> reason(static_cast<ASN1_STRING*>(
          X509_REVOKED_get_ext_d2i(entry, NID_crl_reason, nullptr, nullptr)));
      if (reason != nullptr) {
        c.revocation_reason = OCSP_crl_reason_str(ASN1_ENUMERATED_get(reason.get()));
      }
    } else {
      c.status = "good";
    }
    return c;
  }
  return c;
}

RevocationCheck FromOcsp(X509* cert, const OcspStatus& st, const std::string& source) {
  RevocationCheck c;
  c.certificate = DescribeCertificate(cert).subject;
  c.source = source;
  c.status = OcspCertStatusName(st.status);
  c.detail = absl::StrCat("responder ", st.responder, st.delegated ? " (delegated)" : "");
  c.produced_at = st.produced_at;
  c.this_update = st.this_update;
  c.revocation_time = st.revocation_time;
  c.revocation_reason = st.reason;
  return c;
}

RevocationCheck Refused(X509* cert, const std::string& source, absl::string_view why) {
  RevocationCheck c;
  c.certificate = DescribeCertificate(cert).subject;
  c.source = source;
  c.status = "refused";
  c.detail = std::string(why);
  return c;
}

// TsaCertificate returns the certificate that signed the time-stamp token
// `der`, found among the token's certificates and `untrusted`, or nullptr.
UniquePtr<X509> TsaCertificate(const std::string& der, const std::vector<X509*>& untrusted) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  UniquePtr<PKCS7> token(d2i_PKCS7(nullptr, &p, static_cast<long>(der.size())));
  if (token == nullptr || !PKCS7_type_is_signed(token.get())) {
    ERR_clear_error();
    return nullptr;
  }
  UniquePtr<STACK_OF(X509)> extra(sk_X509_new_null());
  for (X509* c : untrusted) {
    X509_up_ref(c);
    if (sk_X509_push(extra.get(), c) <= 0) {
      X509_free(c);
    }
  }
  UniquePtr<X509> out;
  STACK_OF(X509)* signers = PKCS7_get0_signers(token.get(), extra.get(), 0);
  if (signers != nullptr && sk_X509_num(signers) == 1) {
    X509* s = sk_X509_value(signers, 0);
    X509_up_ref(s);
    out.reset(s);
  }
  sk_X509_free(signers);  // borrowed certificates
  ERR_clear_error();
  return out;
}

// TsaRevocationProblem says, when the CA has revoked the certificate `tsa`
// of the TSA that signed a token that verified (genTime `gen_time`), why
// the token is worthless; "" otherwise. Whoever holds a compromised TSA key
// can make tokens with any genTime, so a revocation for a compromise (or
// for no stated reason) counts whenever it happened; one for another
// reason (the TSA ceased operation, its certificate was superseded) only
// when it happened at or before genTime (RFC 3161, 4). Evidence: the
// embedded OCSP responses about the TSA certificate (any one saying
// revoked decides) and, unless offline and when nothing embedded answers
// good, the OCSP responder.
std::string TsaRevocationProblem(const Context& ctx, X509* tsa,
                                 const std::vector<X509*>& untrusted,
                                 const internal::UnsignedValues& values, absl::Time gen_time) {
  const TrustStore& trust = *ctx.options->trust;
  ChainResult chain = ValidateChain(tsa, untrusted, trust, gen_time, /*check_crls=*/false);
  X509* issuer = IssuerOf(tsa, chain, untrusted, trust);
  if (issuer == nullptr) {
    return "";
  }
  auto revoked = [&](const OcspStatus& st, const char* source) -> std::string {
    bool compromise = st.reason != "affiliationChanged" && st.reason != "superseded" &&
                      st.reason != "cessationOfOperation" && st.reason != "privilegeWithdrawn" &&
                      st.reason != "certificateHold";
    if (!compromise && st.revocation_time > gen_time) {
      return "";
    }
    return absl::StrCat("TSA certificate ", DescribeCertificate(tsa).subject,
                        " was revoked at ", Utc(st.revocation_time),
                        st.reason.empty() ? "" : absl::StrCat(" (", st.reason, ")"), ", per ",
                        source,
                        compromise ? ": its key may have made tokens with any time"
                                   : ", not after the token's genTime");
  };
  bool good = false;
  for (const std::string& der : values.ocsp_responses) {
    absl::StatusOr<absl::Time> produced = OcspProducedAt(der);
    if (!produced.ok()) {
      continue;
    }
    OcspCheckOptions check;
    check.max_age = absl::Hours(24);
    absl::StatusOr<OcspStatus> st = CheckOcspResponse(der, tsa, issuer, trust, *produced, check);
    ERR_clear_error();
    if (!st.ok()) {
      continue;
    }
    if (st->status == OcspCertStatus::kRevoked) {
      if (std::string why = revoked(*st, "embedded OCSP"); !why.empty()) {
        return why;
      }
    }
    good = good || st->status != OcspCertStatus::kUnknown;
  }
  if (good || ctx.options->offline || !chain.valid) {
    return "";
  }
  OcspOptions fetch;
  fetch.url = ctx.options->ocsp_url;
  fetch.timeout = ctx.options->ocsp_timeout;
  if (fetch.url.empty() && OcspUrlFromCertificate(tsa).empty()) {
    return "";
  }
  absl::StatusOr<OcspResponse> answer = FetchOcsp(tsa, issuer, fetch);
  if (answer.ok()) {
    OcspCheckOptions check;
    check.expected_nonce = answer->nonce;
    check.max_age = absl::Hours(24);
    absl::StatusOr<OcspStatus> st =
        CheckOcspResponse(answer->der, tsa, issuer, trust, absl::Now(), check);
    if (st.ok() && st->status == OcspCertStatus::kRevoked) {
      ERR_clear_error();
      return revoked(*st, "fetched OCSP");  // "" when revoked later, not for a compromise
    }
  }
  ERR_clear_error();
  return "";
}

// CheckRevocation establishes the signing certificate's status at
// r->judged_at: embedded OCSP, embedded CRLs, the trust store's CRLs, then
// (unless offline) a fetched OCSP response. Every attempt is reported.
void CheckRevocation(const Context& ctx, X509* signer, X509* issuer,
                     const internal::UnsignedValues& values, bool chain_valid,
                     SignatureReport* r) {
  const TrustStore& trust = *ctx.options->trust;
  const absl::Time judged = r->judged_at;
  std::optional<RevocationCheck> decided;
  // Evidence of revocation outweighs a "good" from another source (a
  // responder that had not yet learned of it): the embedded values are
  // all read, in whatever order they come.
  auto consider = [&](RevocationCheck c) {
    r->revocation_checks.push_back(c);
    if ((!decided.has_value() && (c.status == "good" || c.status == "revoked")) ||
        (decided.has_value() && decided->status == "good" && c.status == "revoked")) {
      decided = std::move(c);
    }
  };
  auto undecided_or_good = [&] { return !decided.has_value() || decided->status == "good"; };
  if (issuer == nullptr) {
    r->revocation = "unknown: the signing certificate's issuer was not found";
    r->reasons.push_back("revocation unknown: the signing certificate's issuer was not found");
    return;
  }
  for (const std::string& der : values.ocsp_responses) {
    if (!undecided_or_good()) {
      break;
    }
    absl::StatusOr<absl::Time> produced = OcspProducedAt(der);
    if (!produced.ok()) {
      consider(Refused(signer, "embedded OCSP", produced.status().message()));
      continue;
    }
    OcspCheckOptions check;
    check.max_age = absl::Hours(24);  // a response without nextUpdate, judged when produced
    absl::StatusOr<OcspStatus> st = CheckOcspResponse(der, signer, issuer, trust, *produced, check);
    ERR_clear_error();
    if (!st.ok()) {
      if (absl::StrContains(st.status().message(), "for another certificate")) {
        continue;  // the TSA's, or another chain member's
      }
      consider(Refused(signer, "embedded OCSP", st.status().message()));
      continue;
    }
    if (internal::Predates(*produced, judged)) {
      consider(Refused(signer, "embedded OCSP",
                       absl::StrCat("produced at ", Utc(*produced),
                                    ", before the signature's time ", Utc(judged),
                                    ": it says nothing about the status then")));
      continue;
    }
    // A responder fed by CRLs signs now what it knew at thisUpdate: a
    // "good" as of before the signature's time misses a revocation since.
    if (st->status == OcspCertStatus::kGood && internal::Predates(st->this_update, judged)) {
      consider(Refused(signer, "embedded OCSP",
                       absl::StrCat("\"good\" as of thisUpdate ", Utc(st->this_update),
                                    ", before the signature's time ", Utc(judged),
                                    ": it says nothing about the status then")));
      continue;
    }
    consider(FromOcsp(signer, *st, "embedded OCSP"));
  }
  if (undecided_or_good() && !values.crls.empty()) {
    std::vector<UniquePtr<X509_CRL>> crls;
    for (const std::string& der : values.crls) {
      const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
      UniquePtr<X509_CRL> crl(d2i_X509_CRL(nullptr, &p, static_cast<long>(der.size())));
      if (crl == nullptr || p != reinterpret_cast<const unsigned char*>(der.data()) + der.size()) {
        ERR_clear_error();
        consider(Refused(signer, "embedded CRL", "not a DER CRL"));
        continue;
      }
      crls.push_back(std::move(crl));
    }
    // Each CRL of the issuer on its own, listings first: a CRL that lists
    // the certificate proves its revocation whenever it was issued, but one
    // that does not only says it was not revoked at its thisUpdate. From
    // before the judged time (a CA's archived CRL, which anyone can copy)
    // that says nothing about the status then.
    std::vector<RevocationCheck> unlisted;
    for (const auto& crl : crls) {
      X509_CRL_up_ref(crl.get());
      std::vector<UniquePtr<X509_CRL>> one;
      one.emplace_back(crl.get());
      RevocationCheck c = CrlEntry(one, signer, issuer);
      if (c.status.empty()) {
        continue;  // another issuer's (the TSA's)
      }
      c.source = "embedded CRL";
      if (c.status == "revoked") {
        consider(std::move(c));
      } else if (internal::Predates(c.this_update, judged)) {
        unlisted.push_back(Refused(signer, "embedded CRL",
                                   absl::StrCat(c.detail, ", before the signature's time ",
                                                Utc(judged),
                                                ": it says nothing about the status then")));
      } else {
        unlisted.push_back(std::move(c));
      }
    }
    for (RevocationCheck& c : unlisted) {
      consider(std::move(c));
    }
  }
  if (!decided.has_value() && !trust.crls().empty()) {
    RevocationCheck c = CrlEntry(trust.crls(), signer, issuer);
    if (!c.status.empty()) {
      c.source = "CRL";
      c.detail = absl::StrCat("checked against the CRLs given: ", c.detail);
      consider(std::move(c));
    }
  }
  std::string fetch_note;
  // A certificate that does not chain to a root gets no network request:
  // its AIA URL is the signer's choice.
  if (!decided.has_value() && !ctx.options->offline && chain_valid) {
    OcspOptions fetch;
    fetch.url = ctx.options->ocsp_url;
    fetch.timeout = ctx.options->ocsp_timeout;
    absl::StatusOr<OcspResponse> answer = FetchOcsp(signer, issuer, fetch);
    if (!answer.ok()) {
      consider(Refused(signer, "fetched OCSP", answer.status().message()));
    } else {
      OcspCheckOptions check;
      check.expected_nonce = answer->nonce;
      check.max_age = absl::Hours(24);
      absl::StatusOr<OcspStatus> st =
          CheckOcspResponse(answer->der, signer, issuer, trust, absl::Now(), check);
      ERR_clear_error();
      consider(st.ok() ? FromOcsp(signer, *st, "fetched OCSP")
                       : Refused(signer, "fetched OCSP", st.status().message()));
    }
  } else if (!decided.has_value()) {
    fetch_note = ctx.options->offline ? "; OCSP not asked (offline)"
                                      : "; OCSP not asked (the chain is not trusted)";
  }
  if (!decided.has_value()) {
    std::string tried;
    for (const RevocationCheck& c : r->revocation_checks) {
      absl::StrAppend(&tried, tried.empty() ? "" : "; ", c.source, " ", c.status,
                      c.detail.empty() ? "" : ": ", c.detail);
    }
    if (tried.empty()) {
      tried = "no embedded OCSP response or CRL and no CRL given";
    }
    r->revocation = absl::StrCat("unknown (", tried, fetch_note, ")");
    r->revocation_unavailable = true;
    r->reasons.push_back(absl::StrCat("revocation unknown at ", Utc(judged),
                                      ": the signing certificate's status could not be "
                                      "established (",
                                      tried, fetch_note, ")"));
    return;
  }
  const RevocationCheck& d = *decided;
  if (d.status == "good") {
    r->revocation = absl::StrCat("good (", d.source, ", ", d.detail, ")");
    return;
  }
  std::string when = absl::StrCat(
      "revoked at ", Utc(d.revocation_time),
      d.revocation_reason.empty() ? "" : absl::StrCat(" (", d.revocation_reason, ")"));
  if (d.revocation_time <= judged) {
    r->revoked = true;
    r->revocation = absl::StrCat("REVOKED: ", when, " (", d.source, ")");
    r->reasons.push_back(absl::StrCat("the signing certificate was ", when, ", before ",
                                      Utc(judged), " (", r->time_source, "), per ", d.source));
  } else {
    r->revocation = absl::StrCat("good at ", Utc(judged), " (", d.source, "; ", when, ", later)");
    r->warnings.push_back(absl::StrCat("the signing certificate was ", when, ", after ",
                                       Utc(judged), " (", r->time_source,
                                       "): the signature was made before"));
  }
}

SignatureReport VerifyOne(const Context& ctx, xmlNode* sig, int index) {
  SignatureReport r;
  r.index = index;
  r.id = AttrValue(sig, "Id");
  if (r.id.empty()) {
    r.id = absl::StrCat("#", index);
  }
  if (HasSignatureAncestor(sig)) {
    r.reasons.push_back("the signature is nested inside another signature");
    return r;
  }
  std::vector<xmlNode*> kids = ChildElements(sig);
  if (kids.empty() || !IsElement(kids[0], kDsigNs, "SignedInfo")) {
    r.reasons.push_back("ds:Signature does not start with ds:SignedInfo");
    return r;
  }
  xmlNode* signed_info = kids[0];
  bool unsafe_c14n = false;
  std::string c14n =
      AttrValue(FirstChildElement(signed_info, kDsigNs, "CanonicalizationMethod"), "Algorithm");
  if (!internal::IsC14n(c14n)) {
    r.reasons.push_back(absl::StrCat("canonicalization method ", c14n.empty() ? "(none)" : c14n,
                                     " is not allowed"));
    unsafe_c14n = true;
  }
  r.signature_method =
      AttrValue(FirstChildElement(signed_info, kDsigNs, "SignatureMethod"), "Algorithm");
  const internal::SignatureAlgorithm* alg = internal::FindSignatureAlgorithm(r.signature_method);
  if (alg == nullptr) {
    r.reasons.push_back(absl::StrCat("signature method ", r.signature_method,
                                     " is not allowed (RSA or ECDSA with SHA-256 or stronger; "
                                     "SHA-1, MD5, DSA and HMAC are refused)"));
  }
  bool unsafe = unsafe_c14n;
  xmlNode* signed_props = CheckReferences(ctx, sig, signed_info, &r, &unsafe);
  xmlNode* qp = CheckObjects(sig, signed_props, &r);
  internal::UnsignedValues values;
  CheckUnsignedParts(sig, signed_props, &r, &values);
  r.xades = qp != nullptr;
  if (r.xades) {
    r.level = values.timestamps.empty() ? "B-B"
              : (!values.certificates.empty() &&
                 (!values.ocsp_responses.empty() || !values.crls.empty()))
                  ? "B-LT"
                  : "B-T";
  }
  r.signed_properties_covered = signed_props != nullptr;
  if (r.xades) {
    ReadXades(signed_props, &r);
  } else if (ctx.options->require_xades) {
    r.reasons.push_back("no XAdES SignedProperties (required for official documents)");
  }

  // Certificates: KeyInfo is a hint; the signed properties name the signer.
  std::vector<UniquePtr<X509>> certs = internal::KeyInfoCertificates(sig, &r.reasons);
  X509* signer = nullptr;
  if (r.xades) {
    std::string method, digest;
    const EVP_MD* md = nullptr;
    if (!SigningCertificateDigest(signed_props, &method, &digest)) {
      r.reasons.push_back("XAdES SigningCertificateV2 is missing or unreadable");
    } else if ((md = internal::DigestForHref(method)) == nullptr) {
      r.reasons.push_back(absl::StrCat("SigningCertificateV2 digest method ", method,
                                       " is not allowed"));
    } else {
      for (const auto& c : certs) {
        unsigned char buf[EVP_MAX_MD_SIZE];
        unsigned int len = 0;
        X509_digest(c.get(), md, buf, &len);
        if (digest == std::string(reinterpret_cast<char*>(buf), len)) {
          signer = c.get();
          break;
        }
      }
      if (signer == nullptr) {
        r.reasons.push_back(
            "no certificate in KeyInfo matches XAdES SigningCertificateV2 (KeyInfo swapped?)");
      } else {
        r.signing_certificate_matches = true;
      }
    }
  } else if (!certs.empty()) {
    signer = LeafCertificate(certs);
  }
  if (certs.empty()) {
    r.reasons.push_back("no signing certificate in KeyInfo (X509Data/X509Certificate)");
  }
  if (signer == nullptr) {
    return r;
  }
  r.signer = DescribeCertificate(signer);
  EVP_PKEY* pub = X509_get0_pubkey(signer);
  if (pub == nullptr) {
    r.reasons.push_back("the signing certificate has no usable public key");
    return r;
  }
  if (std::string weak = KeyStrengthProblem(pub); !weak.empty()) {
    r.reasons.push_back(absl::StrCat("signing key refused: ", weak));
  }
  if (alg != nullptr && EVP_PKEY_get_base_id(pub) != alg->key_type) {
    r.reasons.push_back("the signature method does not fit the signing certificate's key type");
    alg = nullptr;
  }
  std::string usage = DocumentSigningUsageProblem(signer);
  r.key_usage_ok = usage.empty();
  if (!r.key_usage_ok) {
    r.reasons.push_back(absl::StrCat("the signing certificate may not sign documents: ", usage));
  }
  std::vector<X509*> untrusted;
  for (const auto& c : certs) {
    if (c.get() != signer) {
      untrusted.push_back(c.get());
    }
  }
  // CertificateValues (B-LT) help build chains; like KeyInfo they are hints.
  std::vector<UniquePtr<X509>> value_certs;
  for (const std::string& der : values.certificates) {
    absl::StatusOr<UniquePtr<X509>> cert = ParseDerCertificate(der);
    if (!cert.ok()) {
      r.reasons.push_back(absl::StrCat("CertificateValues holds an unreadable certificate: ",
                                       cert.status().message()));
      continue;
    }
    untrusted.push_back(cert->get());
    value_certs.push_back(std::move(*cert));
  }
  r.judged_at = ctx.at;
  r.time_source = "evaluation time";
  if (!values.timestamps.empty()) {
    CheckTimestamps(ctx, sig, values, untrusted, &r);
  }
  const absl::Time judged = r.judged_at;
  ChainResult chain = ValidateChain(signer, untrusted, *ctx.options->trust, judged);
  X509* issuer = IssuerOf(signer, chain, untrusted, *ctx.options->trust);
  if (chain.revoked) {
    // OpenSSL calls a listed certificate revoked whatever the date; one
    // revoked after the judged time (a time-stamp proves the signature is
    // older) was good then.
    RevocationCheck entry = CrlEntry(ctx.options->trust->crls(), signer, issuer);
    if (entry.status == "revoked" && entry.revocation_time > judged) {
      chain = ValidateChain(signer, untrusted, *ctx.options->trust, judged, /*check_crls=*/false);
    }
  }
  r.chain_valid = chain.valid;
  r.revoked = chain.revoked;
  r.chain_error = chain.error;
  r.chain = chain.chain;
  if (!chain.valid) {
    r.reasons.push_back(absl::StrCat("the signing certificate is not trusted at ",
                                     absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", judged,
                                                      absl::UTCTimeZone()),
                                     r.time_source == "time-stamp" ? " (its time-stamp)" : "",
                                     ": ", chain.error));
  }
  CheckRevocation(ctx, signer, issuer, values, chain.valid, &r);
  // Only a signature whose structure passed the profile reaches xmlsec: an
  // XSLT transform or an external URI must never run.
  bool structure_ok = alg != nullptr && !unsafe;
  if (structure_ok) {
    RunXmlSec(sig, pub, alg, &r);
  }
  r.valid = r.reasons.empty();
  return r;
}

// SigningOrder lists signatures so that each comes after those it covers.
std::vector<std::string> SigningOrder(const std::vector<SignatureReport>& sigs) {
  std::vector<std::string> order;
  std::set<std::string> placed;
  while (order.size() < sigs.size()) {
    bool progress = false;
    for (const SignatureReport& s : sigs) {
      if (placed.count(s.id)) {
        continue;
      }
      bool ready = true;
      for (const std::string& dep : s.covers_signatures) {
        bool known = false;
        for (const SignatureReport& o : sigs) {
          known = known || o.id == dep;
        }
        ready = ready && (!known || placed.count(dep));
      }
      if (ready) {
        order.push_back(s.id);
        placed.insert(s.id);
        progress = true;
      }
    }
    if (!progress) {
      break;  // a cycle cannot verify anyway; leave the order partial
    }
  }
  return order;
}

}  // namespace

absl::StatusOr<Report> VerifyDocument(absl::string_view xml, const VerifyOptions& options) {
  // A refused signature leaves OpenSSL errors queued (xmlsec's RSA "invalid
  // padding", key decoding errors from certificates in KeyInfo); the report
  // already says why. Left on this thread's queue they would be drained into
  // the message of some unrelated later OpenSslError.
  struct ClearOpenSslErrors {
    ~ClearOpenSslErrors() { ERR_clear_error(); }
  } clear_openssl_errors;
  if (options.trust == nullptr) {
    return absl::InvalidArgumentError("VerifyDocument: no trust store");
  }
  absl::StatusOr<UniquePtr<xmlDoc>> doc = ParseXml(xml, options.document_name, options.limits);
  if (!doc.ok()) {
    return doc.status();
  }
  Report report;
  report.document = options.document_name;
  report.verified_at = options.at == absl::InfinitePast() ? absl::Now() : options.at;
  std::string duplicate;
  std::map<std::string, xmlNode*> ids = internal::CollectIds(doc->get(), &duplicate);
  std::vector<xmlNode*> sigs = internal::FindSignatures(doc->get());
  if (!duplicate.empty()) {
    // Signature wrapping relies on two elements answering to one Id.
    report.problems.push_back(
        absl::StrCat("the Id \"", duplicate, "\" occurs more than once (signature wrapping?)"));
  }
  if (sigs.empty()) {
    report.problems.push_back("the document carries no signature");
    return report;
  }
  if (static_cast<int>(sigs.size()) > options.max_signatures) {
    report.problems.push_back(absl::StrCat("the document carries ", sigs.size(),
                                           " signatures, over the limit of ",
                                           options.max_signatures));
    return report;
  }
  xmlNode* root = xmlDocGetRootElement(doc->get());
  if (IsElement(root, kDsigNs, "Signature")) {
    report.problems.push_back("the root element is a ds:Signature (enveloping signatures are refused)");
  }
  for (xmlNode* n = doc->get()->children; n != nullptr; n = n->next) {
    if (n->type == XML_PI_NODE) {
      // A signature over the root by Id does not cover an <?xml-stylesheet?>
      // before it, which could change what a reader is shown.
      report.problems.push_back(absl::StrCat("processing instruction <?",
                                             reinterpret_cast<const char*>(n->name),
                                             "?> outside the root element is refused"));
    }
  }
  xmlNode* home = root;
  if (!options.signature_parent_name.empty()) {
    if (xmlNode* named =
            FindFirstElement(root, options.signature_parent_ns, options.signature_parent_name)) {
      home = named;
    }
  }
  const xmlChar* id_attrs[] = {X("Id"), nullptr};
  xmlSecAddIDs(doc->get(), xmlDocGetRootElement(doc->get()), id_attrs);
  Context ctx{doc->get(), xmlDocGetRootElement(doc->get()), &ids, &options, report.verified_at};
  for (size_t i = 0; i < sigs.size(); ++i) {
    SignatureReport r = VerifyOne(ctx, sigs[i], static_cast<int>(i + 1));
    if (sigs[i]->parent != home) {
      r.reasons.push_back(absl::StrCat(
          "the signature sits at ", NodePath(sigs[i]), ", not where signatures belong (",
          "a child of " + NodePath(home),
          ")"));
      r.valid = false;
    }
    if (!duplicate.empty()) {
      r.valid = false;
    }
    report.signatures.push_back(std::move(r));
  }
  report.signing_order = SigningOrder(report.signatures);
  for (const SignatureReport& s : report.signatures) {
    for (const SignatureReport& earlier : report.signatures) {
      if (earlier.index >= s.index) {
        break;
      }
      bool covered = false;
      for (const std::string& c : s.covers_signatures) {
        covered = covered || c == earlier.id;
      }
      if (!covered) {
        report.signatures[s.index - 1].warnings.push_back(absl::StrCat(
            "does not cover the earlier signature ", earlier.id, " (a co-signature, not a counter-signature)"));
      }
    }
  }
  return report;
}

}  // namespace axis::signer
