// extend.h: XAdES baseline B-T and B-LT (ETSI EN 319 132-1): unsigned
// properties added to signatures already made.
//
//   B-T   xades:SignatureTimeStamp: an RFC 3161 token over the exclusive
//         C14N of the ds:SignatureValue element (the method is recorded in
//         ds:CanonicalizationMethod), proving the signature existed at the
//         token's genTime.
//   B-LT  B-T plus xades:CertificateValues (the signer's chain from KeyInfo,
//         the TSA's certificates from its tokens) and xades:RevocationValues
//         (OCSP responses for the signer and, when obtainable, the TSA;
//         CRLs given by the caller as the fallback), so that verification
//         needs no network.
//
// The rule for documents with several signatures: a later signature's
// reference "#<Id>" covers the whole earlier ds:Signature, unsigned
// properties included, and so does a reference to the document (or an
// element holding the signature) unless it takes every ds:Signature out
// with axis's XPath Filter 2.0 (the enveloped-signature transform takes out
// only its own signature); adding anything to a signature another one
// covers would break that one. Each signature is therefore time-stamped and
// extended before the next is added (`axis sign --tsa URL --ltv`), and
// ExtendDocument touches only signatures no other signature covers; a
// covered signature that lacks what was asked for is refused
// (FAILED_PRECONDITION naming both signatures).
#ifndef AXIS_SIGNER_EXTEND_H_
#define AXIS_SIGNER_EXTEND_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "signer/certs.h"
#include "signer/timestamp.h"

namespace axis::signer {

// ExtendOptions says what to add and where to get it.
struct ExtendOptions {
  // tsa_url: add a SignatureTimeStamp from this TSA to every uncovered
  // signature that has none. Empty: add none.
  std::string tsa_url;
  TimestampRequestOptions tsa;
  // ltv: add CertificateValues and RevocationValues (B-LT). A signature must
  // have a time-stamp (already, or from tsa_url).
  bool ltv = false;
  // ocsp_url: ask this OCSP responder instead of the certificates' AIA URL.
  std::string ocsp_url;
  absl::Duration ocsp_timeout = absl::Seconds(10);
  // extra: intermediates to find issuers beyond KeyInfo, and CRLs embedded
  // when OCSP cannot be had (the newest of the signer's issuer, which must
  // be issued after the time-stamp); also the only trust when the
  // signatures are verified before being extended. May be nullptr.
  const TrustStore* extra = nullptr;
};

// ExtendDocument adds the unsigned properties `options` asks for to every
// signature of `xml` that no other signature covers, and returns the new
// document. A signature to be extended is verified first (VerifyDocument,
// offline, with `extra` as the only trust: its SignatureValue, digests and
// strict profile, not its chain or revocation). INVALID_ARGUMENT when the
// XML is unreadable, a signature is not XAdES (no QualifyingProperties), or
// nothing is asked; FAILED_PRECONDITION when a covered signature would need
// changes (see the rule above), a signature to extend does not verify, or
// B-LT is asked for a signature without a time-stamp and no TSA, or OCSP
// fails and the newest CRL given predates the time-stamp (the verifier
// would not believe it); UNAVAILABLE when the TSA is down, or neither OCSP
// nor a CRL gives the signer's status.
absl::StatusOr<std::string> ExtendDocument(absl::string_view xml, const ExtendOptions& options);

}  // namespace axis::signer

#endif  // AXIS_SIGNER_EXTEND_H_
