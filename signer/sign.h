// sign.h: enveloped XAdES (baseline B-B) signatures on any XML document.
//
// The multi-signature scheme (ARCHITECTURE.md, "A multi-signature scheme
// known to interoperate"): every signature carries its own Id and
//   1. a reference URI="" whose transforms are XPath Filter 2.0
//      subtract //ds:Signature, then exclusive C14N: the document content
//      without any signature, so later signatures never break it;
//   2. one reference URI="#<Id>" (exclusive C14N) per signature already in
//      the document: the new signature covers every earlier one, so the order
//      in which they were made is provable;
//   3. a reference to its own xades:SignedProperties (SigningTime,
//      SigningCertificateV2, SignerRoleV2, DataObjectFormat).
// KeyInfo carries the signer's certificate first, then its chain.
#ifndef AXIS_SIGNER_SIGN_H_
#define AXIS_SIGNER_SIGN_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "signer/keys.h"
#include "signer/report.h"

namespace axis::signer {

// SignOptions tunes one signature.
struct SignOptions {
  std::string role;                  // SignerRoleV2/ClaimedRole, e.g. "Thủ tướng"; empty: none
  absl::Time signing_time = absl::InfinitePast();  // InfinitePast: now
  bool rsa_pss = false;              // RSA keys: RSASSA-PSS (RFC 6931) instead of PKCS#1 v1.5
  std::string mime_type = "text/xml";  // DataObjectFormat/MimeType of the document
  std::string signature_id;          // default: the first free "sig-N"
  // The signature goes in the first element with this namespace and local
  // name (e.g. edXML's edXMLHeader) when the document has one; otherwise,
  // and when empty, in the document's root element.
  std::string parent_ns;
  std::string parent_name;
  // XAdES CommitmentTypeIndication: what the signer commits to, e.g.
  // kProofOfApproval (a leader approving a decree) or kProofOfOrigin (the
  // agency's seal). Empty: none.
  std::string commitment;
};

// ETSI TS 101 903 commitment types.
inline constexpr char kProofOfOrigin[] = "http://uri.etsi.org/01903/v1.2.2#ProofOfOrigin";
inline constexpr char kProofOfApproval[] = "http://uri.etsi.org/01903/v1.2.2#ProofOfApproval";
// kProofOfReceipt: an agency answering a document it received (the status
// messages a security server sends by itself).
inline constexpr char kProofOfReceipt[] = "http://uri.etsi.org/01903/v1.2.2#ProofOfReceipt";

// SignDocument adds one signature by `key` to `xml` and returns the new
// document's bytes. Content outside the new ds:Signature is kept as parsed.
// INVALID_ARGUMENT when the XML is unreadable, has duplicate Ids, or an
// earlier signature has no Id; FAILED_PRECONDITION when the key or its
// certificate may not sign documents (weak key, no digitalSignature or
// nonRepudiation key usage).
absl::StatusOr<std::string> SignDocument(absl::string_view xml, const SigningKey& key,
                                         const SignOptions& options = SignOptions());

// CheckSigningOrder says whether a signature committing to `commitment` may
// join a document whose existing signatures `existing` describes (Nghị định
// 30/2020, Điều 32-33: the leader signs first, the agency's seal goes only
// on a document the leader has validly signed). Every existing signature
// must be valid; a seal (kProofOfOrigin) needs a leader's signature
// (kProofOfApproval); a leader may not sign after a seal. FAILED_PRECONDITION
// with the reason otherwise.
absl::Status CheckSigningOrder(const Report& existing, const std::string& commitment);

}  // namespace axis::signer

#endif  // AXIS_SIGNER_SIGN_H_
