// ocsp.h: the OCSP client (RFC 6960): fetch a response for a certificate and
// decide whether it may be believed and what it says.
//
// Fetching and checking are separate so that a response fetched by one party
// (the sending security server, which staples it to the envelope) can be
// checked by another (the recipient) at its own time:
//
//   AXIS_ASSIGN_OR_RETURN(OcspResponse r, FetchOcsp(cert, issuer, {}));
//   OcspCheckOptions check;
//   check.expected_nonce = r.nonce;
//   AXIS_ASSIGN_OR_RETURN(OcspStatus s,
//                         CheckOcspResponse(r.der, cert, issuer, trust, absl::Now(), check));
#ifndef AXIS_SIGNER_OCSP_H_
#define AXIS_SIGNER_OCSP_H_

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/c_ptr.h"
#include "signer/certs.h"

namespace axis::signer {

// OcspUrlFromCertificate returns the first http:// or https:// OCSP responder
// URL in `cert`'s Authority Information Access extension, or "" when it names
// none.
std::string OcspUrlFromCertificate(X509* cert);

// OcspOptions tells FetchOcsp where and how to ask.
struct OcspOptions {
  // url, when not empty, is asked instead of the certificate's AIA URL.
  std::string url;
  absl::Duration timeout = absl::Seconds(10);
  // send_nonce adds a fresh random nonce (RFC 8954, 32 bytes) to the request,
  // which the responder must echo; see OcspResponse::nonce.
  bool send_nonce = true;
  size_t max_response_bytes = size_t{256} << 10;
};

// OcspResponse is what a responder answered, not yet believed: check it with
// CheckOcspResponse before using anything it says.
struct OcspResponse {
  std::string url;          // the responder that was asked
  std::string der;          // the OCSPResponse, as received
  std::string nonce;        // the nonce extension's value as sent; "" when none
  std::string request_der;  // the OCSPRequest that was sent
  // response_status is the outer responseStatus; always "successful" here
  // since FetchOcsp refuses every other one.
  std::string response_status;
};

// FetchOcsp asks an OCSP responder about `cert`, issued by `issuer`: the
// request has one SHA-1 CertID (what responders expect) and, by default, a
// nonce; it is POSTed as application/ocsp-request. Nothing in the answer is
// verified except that it is a DER OCSPResponse whose responseStatus is
// successful.
// Errors: FAILED_PRECONDITION when no URL is given and the certificate names
// none; INVALID_ARGUMENT when `issuer` did not issue `cert`, or the answer is
// not an OCSP response (wrong HTTP status or content type, bad DER) or is a
// refusal (malformedRequest, unauthorized, sigRequired); UNAVAILABLE, naming
// the URL, when the responder cannot be reached, times out, answers HTTP 5xx,
// tryLater or internalError; RESOURCE_EXHAUSTED over max_response_bytes.
// Thread-safe.
absl::StatusOr<OcspResponse> FetchOcsp(X509* cert, X509* issuer, const OcspOptions& options);

// OcspCheckOptions tunes CheckOcspResponse.
struct OcspCheckOptions {
  // expected_nonce, when not empty, is the nonce that was sent
  // (OcspResponse::nonce); the response must carry exactly it.
  std::string expected_nonce;
  // allow_missing_nonce accepts a response without any nonce although one
  // was sent (some responders serve pre-signed answers); a different nonce
  // is still refused.
  bool allow_missing_nonce = false;
  // leeway tolerates clock skew: thisUpdate may be up to `leeway` after
  // `at`, and nextUpdate up to `leeway` before it.
  absl::Duration leeway = absl::Minutes(5);
  // max_age, when finite, refuses responses whose thisUpdate is more than
  // max_age (+ leeway) before `at`, whatever their nextUpdate says. A response
  // without nextUpdate is accepted only when max_age is finite.
  absl::Duration max_age = absl::InfiniteDuration();
};

// OcspCertStatus is the certStatus of the single response.
enum class OcspCertStatus { kGood, kRevoked, kUnknown };

// OcspCertStatusName returns "good", "revoked" or "unknown".
const char* OcspCertStatusName(OcspCertStatus status);

// OcspProducedAt reads the producedAt of the DER OCSPResponse `der` without
// believing anything else in it: an embedded response (XAdES
// RevocationValues) is judged at the time it was produced. INVALID_ARGUMENT
// when it is not a successful basic response.
absl::StatusOr<absl::Time> OcspProducedAt(absl::string_view der);

// OcspStatus is what a verified response says about one certificate.
struct OcspStatus {
  OcspCertStatus status = OcspCertStatus::kUnknown;
  absl::Time revocation_time = absl::InfinitePast();  // when revoked
  std::string reason;  // revocation reason ("keyCompromise"); "" when none given
  absl::Time this_update = absl::InfinitePast();
  absl::Time next_update = absl::InfiniteFuture();  // InfiniteFuture when absent
  absl::Time produced_at = absl::InfinitePast();
  std::string responder;   // subject of the certificate that signed (RFC 2253)
  bool delegated = false;  // signed by a delegated responder, not the CA itself
};

// CheckOcspResponse decides whether the DER OCSPResponse `der` may be believed
// about `cert`, issued by `issuer`, at time `at`, and returns its verdict
// (good, revoked or unknown) when it may.
// Checks, in this order: `issuer` issued `cert` and chains to a root of
// `trust` at `at` (CRLs not consulted); the response parses (all bytes) and
// its responseStatus is successful; its signer is the issuer itself, or a
// delegated responder whose certificate the issuer issued, with extended key
// usage OCSPSigning, valid at `at` (its revocation is not checked: RFC 6960
// 4.2.2.2.1, id-pkix-ocsp-nocheck); the signature verifies (also by
// OCSP_basic_verify); a single response is about `cert`; the nonce;
// thisUpdate/nextUpdate freshness around `at`.
// Every refusal is INVALID_ARGUMENT naming its reason, among them
// "OCSP response signature does not verify", "responder certificate lacks
// OCSPSigning", "nonce mismatch", "response is stale: nextUpdate ...",
// "response is for another certificate"; except a responseStatus of tryLater
// or internalError, which is UNAVAILABLE. Thread-safe.
absl::StatusOr<OcspStatus> CheckOcspResponse(absl::string_view der, X509* cert, X509* issuer,
                                             const TrustStore& trust, absl::Time at,
                                             const OcspCheckOptions& options = {});

}  // namespace axis::signer

#endif  // AXIS_SIGNER_OCSP_H_
