// verify.h: verification of every signature in a document, strict profile.
//
// The strict profile for official documents:
// - references only to the whole document (URI=""), or by an Id that occurs
//   exactly once to the document's root element, to other ds:Signature
//   elements, and to the signature's own xades:SignedProperties; no
//   external URIs, no XPointer;
// - transforms only enveloped-signature, the C14N family, and the XPath
//   Filter 2.0 "subtract //ds:Signature" of axis's multi-signature scheme;
// - each signature must cover the document content; since the filter takes
//   every ds:Signature out of that content, every ds:Signature is itself
//   verified, may not nest in another, and may hold no ds:Object other than
//   its signed XAdES properties;
// - SignatureMethod RSA (>= 2048 bits, PKCS#1 v1.5 or PSS) or ECDSA
//   (P-256/384/521) with SHA-256 or stronger; digests SHA-256 or stronger;
// - the signing certificate (KeyInfo is only a hint: the one XAdES
//   SigningCertificateV2 names, else the KeyInfo certificate that issued
//   none of the others) chains to a trust anchor at the evaluation time and
//   has digitalSignature or nonRepudiation;
// - unsigned properties only of XAdES B-T/B-LT (internal/xades_lt.h):
//   SignatureTimeStamp, CertificateValues, RevocationValues; every
//   time-stamp must verify (token signature, TSA chaining to a root of the
//   trust store with the timeStamping EKU, imprint over this signature's
//   canonical ds:SignatureValue, TSA certificate not revoked per an
//   embedded or (unless offline) fetched OCSP answer: for a compromise at
//   any time, for another reason at or before genTime);
// - time: the earliest valid signature time-stamp's genTime, else the
//   evaluation time, is when the chain and revocation are judged;
// - revocation of the signing certificate must be established at that time,
//   from (in this order) embedded OCSP responses (about this certificate,
//   signed by its CA or a delegated responder, produced no earlier than that
//   time, and a "good" one as of (thisUpdate) no earlier), embedded CRLs
//   (one that does not list the certificate counts only when issued no
//   earlier than that time), the trust store's CRLs, and (unless offline)
//   an OCSP responder; embedded evidence of revocation outweighs an
//   embedded "good", whatever their order; "revocation unknown" makes a
//   signature invalid. A certificate revoked after that time leaves the
//   signature valid, with a warning.
// The XML itself is parsed with no DTD, no entities, no network, bounded.
#ifndef AXIS_SIGNER_VERIFY_H_
#define AXIS_SIGNER_VERIFY_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "signer/certs.h"
#include "signer/report.h"
#include "signer/xml.h"

namespace axis::signer {

// VerifyOptions says against what and when signatures are judged.
struct VerifyOptions {
  const TrustStore* trust = nullptr;  // required
  absl::Time at = absl::InfinitePast();  // InfinitePast: now
  // Official documents need XAdES: without SigningCertificateV2 the signer's
  // identity comes from KeyInfo, which no digest covers.
  bool require_xades = true;
  std::string document_name = "document";
  XmlLimits limits;
  // Bounds on work: each signature digests the whole document.
  int max_signatures = 32;
  int max_references = 40;
  // Where signatures belong: children of the first element with this
  // namespace and local name (e.g. edXML's edXMLHeader) when the document
  // has one; otherwise, and when empty, the root.
  std::string signature_parent_ns;
  std::string signature_parent_name;
  // Revocation: offline uses only embedded data and the trust store's CRLs;
  // otherwise OCSP is asked (ocsp_url, else the certificate's AIA URL) when
  // those do not decide.
  bool offline = false;
  std::string ocsp_url;
  absl::Duration ocsp_timeout = absl::Seconds(10);
};

// VerifyDocument checks every ds:Signature of `xml`. Returns a report
// (possibly with invalid verdicts) when the XML is readable; the report's
// Valid() is the document's verdict. INVALID_ARGUMENT when the XML cannot be
// parsed (malformed, DOCTYPE, too deep), RESOURCE_EXHAUSTED when too large.
// Thread-safe.
absl::StatusOr<Report> VerifyDocument(absl::string_view xml, const VerifyOptions& options);

}  // namespace axis::signer

#endif  // AXIS_SIGNER_VERIFY_H_
