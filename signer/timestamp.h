// timestamp.h: RFC 3161 time-stamp client and token verification.
//
// A time-stamp token proves that some data (known by its hash, the message
// imprint) existed at the token's genTime, on the word of a TSA whose
// certificate chains to a trusted root. RequestTimestamp asks a TSA over
// HTTP; VerifyTimestampToken checks a token, e.g. one kept for years beside
// a message-log batch or a signature.
#ifndef AXIS_SIGNER_TIMESTAMP_H_
#define AXIS_SIGNER_TIMESTAMP_H_

#include <optional>
#include <string>
#include <vector>

#include <openssl/obj_mac.h>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "signer/certs.h"

namespace axis::signer {

// MessageImprint is what a token is over: a hash algorithm (an OpenSSL NID:
// NID_sha256, NID_sha384 or NID_sha512; nothing weaker is accepted) and the
// digest of the data under it.
struct MessageImprint {
  int hash_nid = NID_sha256;
  std::string digest;  // raw bytes
};

// ImprintOf hashes `data` with `hash_nid` (SHA-256 by default).
// INVALID_ARGUMENT for an algorithm outside the allow-list.
absl::StatusOr<MessageImprint> ImprintOf(absl::string_view data, int hash_nid = NID_sha256);

// TimestampRequestOptions tune RequestTimestamp.
struct TimestampRequestOptions {
  std::string policy_oid;  // ask for this TSA policy; empty: the TSA's default
  absl::Duration timeout = absl::Seconds(10);
  size_t max_response_bytes = size_t{1} << 20;
};

// RequestTimestamp asks the TSA at `url` (http:// or https://) for a token
// over `imprint`, with a random 64-bit nonce and certReq set, and returns
// the token: the DER TimeStampToken (a CMS ContentInfo). It checks that the
// TSA granted the request and that the token is over `imprint`, answers the
// nonce and, when asked for, the policy; it does NOT check the TSA's
// signature or certificate: call VerifyTimestampToken for that.
// UNAVAILABLE when the TSA cannot be reached or answers with an HTTP error;
// FAILED_PRECONDITION when it refuses the request (its status text and
// failure info in the message); INVALID_ARGUMENT for a malformed reply or a
// token that does not answer this request. Thread-safe.
absl::StatusOr<std::string> RequestTimestamp(absl::string_view url, const MessageImprint& imprint,
                                             const TimestampRequestOptions& options = {});

// TimestampInfo is what a verified token says.
struct TimestampInfo {
  absl::Time gen_time;
  absl::Duration accuracy;  // zero when the token gives none
  std::string tsa_subject;  // the signing certificate's subject, RFC 2253
  std::vector<std::string> tsa_chain;  // subjects, TSA certificate first
  std::string policy_oid;   // dotted
  std::string serial_hex;   // upper-case hex
  std::string nonce_hex;    // upper-case hex, empty when absent
};

// VerifyTimestampToken checks that DER `token` is a well-formed
// TimeStampToken signed (with an ESS signing-certificate attribute binding
// the signer) by a certificate carrying a critical timeStamping-only
// extended key usage that chains to a root of `trust` at time `at` (the
// token's genTime when absent), and that it is over `imprint`. The checks
// run in that order, so an altered token reports the signature, not the
// imprint. INVALID_ARGUMENT naming the reason otherwise:
//   "malformed time-stamp token ..."
//   "time-stamp token signature does not verify (the token was altered ...)"
//   "TSA certificate ... does not chain to a trusted root: ..."
//   "TSA certificate ... is not a time-stamping certificate: ..."
//   "the time-stamp is over other data ..."
// Thread-safe.
absl::StatusOr<TimestampInfo> VerifyTimestampToken(absl::string_view token,
                                                   const MessageImprint& imprint,
                                                   const TrustStore& trust,
                                                   std::optional<absl::Time> at = std::nullopt);

}  // namespace axis::signer

#endif  // AXIS_SIGNER_TIMESTAMP_H_
