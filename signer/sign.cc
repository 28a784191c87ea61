#include "signer/sign.h"

#include <xmlsec/openssl/crypto.h>
#include <xmlsec/openssl/evp.h>
#include <xmlsec/templates.h>
#include <xmlsec/xmldsig.h>
#include <xmlsec/xmltree.h>

#include <map>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/openssl_error.h"
#include "common/status_macros.h"
#include "signer/certs.h"
#include "signer/internal/dsig.h"
#include "signer/xml.h"


namespace axis::signer {
namespace {

const xmlChar* X(const char* s) { return reinterpret_cast<const xmlChar*>(s); }
const xmlChar* X(const std::string& s) { return reinterpret_cast<const xmlChar*>(s.c_str()); }

// StandInKey returns a software key of the same type as `key` (RSA, or EC on
// the same curve), made once per process. xmlsec computes the references and
// the canonical SignedInfo with it; the token key then signs those bytes.
// xmlsec 1.2.37 treats an engine key as public-only and would refuse it.
absl::StatusOr<EVP_PKEY*> StandInKey(EVP_PKEY* key) {
  static absl::Mutex mu(absl::kConstInit);
  static auto* keys = new std::map<std::string, EVP_PKEY*>();
  std::string kind;
  int id = EVP_PKEY_get_base_id(key);
  if (id == EVP_PKEY_RSA) {
    kind = "RSA";
  } else if (id == EVP_PKEY_EC) {
    int bits = EVP_PKEY_get_bits(key);
    kind = bits <= 256 ? "P-256" : bits <= 384 ? "P-384" : "P-521";
  } else {
    return absl::FailedPreconditionError("token key type is not RSA or EC");
  }
  absl::MutexLock lock(&mu);
  if (auto it = keys->find(kind); it != keys->end()) {
    return it->second;
  }
  EVP_PKEY* made = kind == "RSA" ? EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048})
                                 : EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", kind.c_str());
  if (made == nullptr) {
    return OpenSslError("cannot make a stand-in key", absl::StatusCode::kInternal);
  }
  (*keys)[kind] = made;
  return made;
}

std::string Base64(absl::string_view bytes) { return absl::Base64Escape(bytes); }

std::string Sha256Base64(absl::string_view bytes) {
  unsigned char md[32];
  EVP_Digest(bytes.data(), bytes.size(), md, nullptr, EVP_sha256(), nullptr);
  return Base64(absl::string_view(reinterpret_cast<char*>(md), sizeof(md)));
}

// AddQualifyingProperties writes the XAdES B-B signed properties into a new
// ds:Object of `sig`.
void AddQualifyingProperties(xmlNode* sig, const std::string& sig_id, X509* cert,
                             const SignOptions& options, absl::Time signing_time) {
  xmlNode* object = xmlSecTmplSignatureAddObject(sig, nullptr, nullptr, nullptr);
  xmlNode* qp = xmlNewChild(object, nullptr, X("QualifyingProperties"), nullptr);
  xmlNs* xades = xmlNewNs(qp, X(kXadesNs), X("xades"));
  xmlSetNs(qp, xades);
  xmlNewProp(qp, X("Target"), X("#" + sig_id));
  xmlNode* sp = xmlNewChild(qp, xades, X("SignedProperties"), nullptr);
  xmlNewProp(sp, X("Id"), X(sig_id + "-signedprops"));
  xmlNode* ssp = xmlNewChild(sp, xades, X("SignedSignatureProperties"), nullptr);
  std::string when = absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", signing_time, absl::UTCTimeZone());
  xmlNewTextChild(ssp, xades, X("SigningTime"), X(when));
  xmlNode* scv2 = xmlNewChild(ssp, xades, X("SigningCertificateV2"), nullptr);
  xmlNode* c = xmlNewChild(scv2, xades, X("Cert"), nullptr);
  xmlNode* digest = xmlNewChild(c, xades, X("CertDigest"), nullptr);
  xmlNs* ds = xmlSearchNsByHref(sig->doc, sig, X(kDsigNs));
  xmlNode* dm = xmlNewChild(digest, ds, X("DigestMethod"), nullptr);
  xmlNewProp(dm, X("Algorithm"), X("http://www.w3.org/2001/04/xmlenc#sha256"));
  xmlNewTextChild(digest, ds, X("DigestValue"), X(Sha256Base64(CertificateDer(cert))));
  if (!options.role.empty()) {
    xmlNode* role = xmlNewChild(ssp, xades, X("SignerRoleV2"), nullptr);
    xmlNode* claimed = xmlNewChild(role, xades, X("ClaimedRoles"), nullptr);
    xmlNewTextChild(claimed, xades, X("ClaimedRole"), X(options.role));
  }
  xmlNode* sdop = xmlNewChild(sp, xades, X("SignedDataObjectProperties"), nullptr);
  xmlNode* dof = xmlNewChild(sdop, xades, X("DataObjectFormat"), nullptr);
  xmlNewProp(dof, X("ObjectReference"), X("#" + sig_id + "-ref-doc"));
  xmlNewTextChild(dof, xades, X("MimeType"), X(options.mime_type));
  if (!options.commitment.empty()) {
    xmlNode* cti = xmlNewChild(sdop, xades, X("CommitmentTypeIndication"), nullptr);
    xmlNode* ctid = xmlNewChild(cti, xades, X("CommitmentTypeId"), nullptr);
    xmlNewTextChild(ctid, xades, X("Identifier"), X(options.commitment));
    xmlNewChild(cti, xades, X("AllSignedDataObjects"), nullptr);
  }
}

void AddKeyInfo(xmlNode* sig, const SigningKey& key) {
  xmlNode* value = xmlSecFindChild(sig, X("SignatureValue"), X(kDsigNs));
  xmlNs* ds = xmlSearchNsByHref(sig->doc, sig, X(kDsigNs));
  xmlNode* key_info = xmlNewDocNode(sig->doc, ds, X("KeyInfo"), nullptr);
  xmlAddNextSibling(value, key_info);
  xmlNode* data = xmlNewChild(key_info, ds, X("X509Data"), nullptr);
  xmlNewTextChild(data, ds, X("X509Certificate"), X(Base64(CertificateDer(key.cert.get()))));
  for (const auto& c : key.chain) {
    xmlNewTextChild(data, ds, X("X509Certificate"), X(Base64(CertificateDer(c.get()))));
  }
}

absl::Status CheckSignerMayUse(const SigningKey& key) {
  if (std::string weak = KeyStrengthProblem(X509_get0_pubkey(key.cert.get())); !weak.empty()) {
    return absl::FailedPreconditionError(absl::StrCat("signing key refused: ", weak));
  }
  if (std::string usage = DocumentSigningUsageProblem(key.cert.get()); !usage.empty()) {
    return absl::FailedPreconditionError(absl::StrCat("signing certificate refused: ", usage));
  }
  return absl::OkStatus();
}

xmlNode* FindParent(xmlDoc* doc, const SignOptions& options) {
  xmlNode* root = xmlDocGetRootElement(doc);
  if (options.parent_name.empty()) {
    return root;
  }
  xmlNode* named = FindFirstElement(root, options.parent_ns, options.parent_name);
  return named != nullptr ? named : root;
}

}  // namespace

absl::StatusOr<std::string> SignDocument(absl::string_view xml, const SigningKey& key,
                                         const SignOptions& options) {
  AXIS_RETURN_IF_ERROR(CheckSignerMayUse(key));
  AXIS_ASSIGN_OR_RETURN(UniquePtr<xmlDoc> doc, ParseXml(xml));
  std::string duplicate;
  std::map<std::string, xmlNode*> ids = internal::CollectIds(doc.get(), &duplicate);
  if (!duplicate.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("document has the Id \"", duplicate, "\" more than once"));
  }
  std::vector<xmlNode*> earlier = internal::FindSignatures(doc.get());
  std::vector<std::string> earlier_ids;
  for (xmlNode* s : earlier) {
    std::string id = AttrValue(s, "Id");
    if (id.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "the signature at ", NodePath(s), " has no Id, so a new signature cannot cover it"));
    }
    earlier_ids.push_back(id);
  }
  std::string sig_id = options.signature_id;
  if (sig_id.empty()) {
    for (int n = 1; sig_id.empty() || ids.count(sig_id) || ids.count(sig_id + "-signedprops") ||
                    ids.count(sig_id + "-ref-doc");
         ++n) {
      sig_id = absl::StrCat("sig-", n);
    }
  } else if (ids.count(sig_id)) {
    return absl::InvalidArgumentError(absl::StrCat("the Id \"", sig_id, "\" is already used"));
  }
  const internal::SignatureAlgorithm* alg =
      internal::ChooseSignatureAlgorithm(key.key.get(), options.rsa_pss);
  if (alg == nullptr) {
    return absl::FailedPreconditionError("signing key is neither RSA nor EC");
  }
  xmlNode* parent = FindParent(doc.get(), options);

  xmlNode* sig = xmlSecTmplSignatureCreateNsPref(doc.get(), xmlSecTransformExclC14NId,
                                                 alg->transform(), X(sig_id), X("ds"));
  if (sig == nullptr) {
    return absl::InternalError("cannot create the signature template");
  }
  xmlAddChild(parent, sig);
  xmlNode* ref = xmlSecTmplSignatureAddReference(sig, xmlSecOpenSSLTransformSha256Id,
                                                 X(sig_id + "-ref-doc"), X(""), nullptr);
  xmlNode* filter = xmlSecTmplReferenceAddTransform(ref, xmlSecTransformXPath2Id);
  const xmlChar* ns_list[] = {X("ds"), X(kDsigNs), nullptr};
  if (ref == nullptr || filter == nullptr ||
      xmlSecTmplTransformAddXPath2(filter, X("subtract"), X(internal::kXPath2Expression),
                                   ns_list) < 0 ||
      xmlSecTmplReferenceAddTransform(ref, xmlSecTransformExclC14NId) == nullptr) {
    return absl::InternalError("cannot add the document reference");
  }
  for (const std::string& id : earlier_ids) {
    xmlNode* r = xmlSecTmplSignatureAddReference(sig, xmlSecOpenSSLTransformSha256Id, nullptr,
                                                 X("#" + id), nullptr);
    if (r == nullptr || xmlSecTmplReferenceAddTransform(r, xmlSecTransformExclC14NId) == nullptr) {
      return absl::InternalError("cannot add a reference to an earlier signature");
    }
  }
  xmlNode* props = xmlSecTmplSignatureAddReference(sig, xmlSecOpenSSLTransformSha256Id, nullptr,
                                                   X("#" + sig_id + "-signedprops"),
                                                   X(internal::kSignedPropertiesType));
  if (props == nullptr ||
      xmlSecTmplReferenceAddTransform(props, xmlSecTransformExclC14NId) == nullptr) {
    return absl::InternalError("cannot add the SignedProperties reference");
  }
  absl::Time when = options.signing_time == absl::InfinitePast() ? absl::Now()
                                                                 : options.signing_time;
  AddQualifyingProperties(sig, sig_id, key.cert.get(), options, when);
  const xmlChar* id_attrs[] = {X("Id"), nullptr};
  xmlSecAddIDs(doc.get(), xmlDocGetRootElement(doc.get()), id_attrs);

  EVP_PKEY* xmlsec_key = key.key.get();
  if (key.on_token) {
    AXIS_ASSIGN_OR_RETURN(xmlsec_key, StandInKey(key.key.get()));
  }
  UniquePtr<xmlSecDSigCtx> ctx(xmlSecDSigCtxCreate(nullptr));
  UniquePtr<xmlSecKey> sk = internal::XmlSecKeyFor(xmlsec_key);
  if (sk == nullptr) {
    return absl::InternalError("xmlsec cannot take the key");
  }
  ctx->signKey = sk.release();
  if (key.on_token) {
    ctx->flags |= XMLSEC_DSIG_FLAGS_STORE_SIGNATURE;
  }
  if (xmlSecDSigCtxSign(ctx.get(), sig) < 0) {
    return OpenSslError("xmlsec could not sign the document", absl::StatusCode::kInternal);
  }
  if (key.on_token) {
    // Sign the canonical SignedInfo that xmlsec produced with the token key.
    xmlSecBufferPtr pre = xmlSecDSigCtxGetPreSignBuffer(ctx.get());
    if (pre == nullptr) {
      return absl::InternalError("xmlsec kept no canonical SignedInfo");
    }
    absl::string_view signed_info(reinterpret_cast<const char*>(xmlSecBufferGetData(pre)),
                                  xmlSecBufferGetSize(pre));
    AXIS_ASSIGN_OR_RETURN(std::string value,
                          SignRaw(key.key.get(), alg->md(), alg->pss, signed_info));
    xmlNodeSetContent(ctx->signValueNode, X(Base64(value)));
  }
  AddKeyInfo(sig, key);
  return SerializeXml(doc.get());
}

absl::Status CheckSigningOrder(const Report& existing, const std::string& commitment) {
  bool leader = false;
  bool seal = false;
  for (const SignatureReport& s : existing.signatures) {
    if (!s.valid) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the document's signature ", s.id, " is not valid (",
          s.reasons.empty() ? std::string("see axis verify") : s.reasons.front(),
          "); refusing to sign over it"));
    }
    leader = leader || s.commitment == kProofOfApproval;
    seal = seal || s.commitment == kProofOfOrigin;
  }
  if (!existing.signatures.empty() && !existing.Valid()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the document is not valid (", existing.problems.empty() ? "" : existing.problems.front(),
        "); refusing to sign it"));
  }
  if (commitment == kProofOfOrigin && !leader) {
    return absl::FailedPreconditionError(
        "the agency's signature goes only on a document its leader has validly signed "
        "(no valid leader signature found)");
  }
  if (commitment == kProofOfApproval && seal) {
    return absl::FailedPreconditionError(
        "the document already carries the agency's seal; the leader signs before it");
  }
  return absl::OkStatus();
}

}  // namespace axis::signer
