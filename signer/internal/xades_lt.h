// xades_lt.h: the unsigned XAdES properties of baseline B-T and B-LT
// (ETSI EN 319 132-1), shared by extend.cc (which writes them) and
// verify.cc (which reads them under the strict profile).
//
// The only unsigned properties axis writes or accepts:
//   xades:UnsignedProperties/xades:UnsignedSignatureProperties/
//     xades:SignatureTimeStamp   ds:CanonicalizationMethod?, xades:EncapsulatedTimeStamp
//     xades:CertificateValues    xades:EncapsulatedX509Certificate*
//     xades:RevocationValues     xades:CRLValues/xades:EncapsulatedCRLValue*,
//                                xades:OCSPValues/xades:EncapsulatedOCSPValue*
// each holding base64 DER. Nothing else may appear there: no digest covers
// it, so anything else would be content a reader could mistake for signed.
#ifndef AXIS_SIGNER_INTERNAL_XADES_LT_H_
#define AXIS_SIGNER_INTERNAL_XADES_LT_H_

#include <string>
#include <vector>

#include <libxml/tree.h>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace axis::signer::internal {

inline constexpr char kExclusiveC14n[] = "http://www.w3.org/2001/10/xml-exc-c14n#";
// XAdES: a SignatureTimeStamp without CanonicalizationMethod used C14N 1.0.
inline constexpr char kDefaultTimestampC14n[] = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315";
// Bounds on what one signature's unsigned properties may hold.
inline constexpr int kMaxUnsignedValues = 32;

// CanonicalizeElement returns the canonical form of `element` with its
// subtree (attributes and in-scope namespaces as the method wants) under
// the C14N method `href` (internal::IsC14n). INVALID_ARGUMENT for another
// method or when libxml2 fails.
absl::StatusOr<std::string> CanonicalizeElement(xmlDoc* doc, xmlNode* element,
                                                const std::string& href);

// TimestampValue is one xades:SignatureTimeStamp.
struct TimestampValue {
  std::string c14n_method;  // as recorded, or kDefaultTimestampC14n
  std::string token_der;    // the RFC 3161 TimeStampToken
};

// UnsignedValues is what a signature's unsigned properties carry (DER).
struct UnsignedValues {
  std::vector<TimestampValue> timestamps;
  std::vector<std::string> certificates;
  std::vector<std::string> ocsp_responses;
  std::vector<std::string> crls;
};

// ReadUnsignedProperties reads xades:UnsignedProperties `up` (nullptr:
// none) and appends to `problems` every structural deviation from the list
// at the top of this file (foreign or unexpected elements, attributes other
// than Id, text, undecodable base64, more than kMaxUnsignedValues values).
UnsignedValues ReadUnsignedProperties(xmlNode* up, std::vector<std::string>* problems);

// UnsignedSignatureProperties returns the signature's
// QualifyingProperties/UnsignedProperties/UnsignedSignatureProperties,
// creating the missing elements; nullptr when `sig` has no
// QualifyingProperties.
xmlNode* UnsignedSignatureProperties(xmlNode* sig);

// QualifyingProperties returns the signature's xades:QualifyingProperties
// (in its ds:Object), or nullptr.
xmlNode* QualifyingProperties(xmlNode* sig);

// Predates says whether revocation data dated `t` (an OCSP producedAt or
// thisUpdate, a CRL's thisUpdate) is from before `judged`, the signature's
// time, and so says nothing about the status then. Those times have whole
// seconds, a time-stamp's genTime has milliseconds, and the responder's
// clock (time(2), the kernel's coarse clock) may lag the TSA's by a few
// milliseconds even on one machine: so `judged` is taken to its whole
// second, and one second more is allowed.
bool Predates(absl::Time t, absl::Time judged);

}  // namespace axis::signer::internal

#endif  // AXIS_SIGNER_INTERNAL_XADES_LT_H_
