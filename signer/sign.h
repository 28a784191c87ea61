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

namespace axis::signer {

// SignOptions tunes one signature.
struct SignOptions {
  std::string role;                  // SignerRoleV2/ClaimedRole, e.g. "Thủ tướng"; empty: none
  absl::Time signing_time = absl::InfinitePast();  // InfinitePast: now
  bool rsa_pss = false;              // RSA keys: RSASSA-PSS (RFC 6931) instead of PKCS#1 v1.5
  std::string mime_type = "text/xml";  // DataObjectFormat/MimeType of the document
  std::string signature_id;          // default: the first free "sig-N"
  // The signature goes in the first element with this namespace and local
  // name (e.g. edXML's edXMLHeader); empty: the document's root element.
  std::string parent_ns;
  std::string parent_name;
};

// SignDocument adds one signature by `key` to `xml` and returns the new
// document's bytes. Content outside the new ds:Signature is kept as parsed.
// INVALID_ARGUMENT when the XML is unreadable, has duplicate Ids, or an
// earlier signature has no Id; FAILED_PRECONDITION when the key or its
// certificate may not sign documents (weak key, no digitalSignature or
// nonRepudiation key usage).
absl::StatusOr<std::string> SignDocument(absl::string_view xml, const SigningKey& key,
                                         const SignOptions& options = SignOptions());

}  // namespace axis::signer

#endif  // AXIS_SIGNER_SIGN_H_
