// report.h: what verification found, per signature, for people and machines.
#ifndef AXIS_SIGNER_REPORT_H_
#define AXIS_SIGNER_REPORT_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "signer/certs.h"

namespace axis::signer {

// ReferenceReport describes one ds:Reference of a signature.
struct ReferenceReport {
  std::string uri;
  std::string covers;  // "document", "signature sig-1", "signed properties", or "refused"
  std::vector<std::string> transforms;
  std::string digest_method;
  bool digest_ok = false;  // only meaningful when the signature was checked
};

// TimestampReport describes one time-stamp on a signature (XAdES
// SignatureTimeStamp) and whether it was believed.
struct TimestampReport {
  std::string kind = "signature time-stamp";
  bool valid = false;
  std::string error;             // why not valid
  std::string c14n_method;       // how the time-stamped ds:SignatureValue was canonicalized
  absl::Time gen_time = absl::InfinitePast();  // when known (valid token)
  std::string tsa_subject;
  std::string policy_oid;
  std::string serial_hex;
};

// RevocationCheck is one attempt to learn a certificate's revocation status.
struct RevocationCheck {
  std::string certificate;  // subject of the certificate checked
  std::string source;       // "embedded OCSP", "fetched OCSP", "CRL", "embedded CRL"
  std::string status;       // "good", "revoked", "unknown", or "refused" (not believed)
  std::string detail;       // responder, CRL issuer, or why refused
  absl::Time produced_at = absl::InfinitePast();  // OCSP producedAt
  absl::Time this_update = absl::InfinitePast();  // OCSP thisUpdate / CRL lastUpdate
  absl::Time revocation_time = absl::InfinitePast();  // when revoked
  std::string revocation_reason;                      // e.g. "keyCompromise"
};

// SignatureReport is the verdict on one ds:Signature and what it rests on.
struct SignatureReport {
  int index = 0;                    // 1-based, document order
  std::string id;                   // the Id attribute, or "#<index>"
  bool valid = false;
  std::vector<std::string> reasons;   // why it is not valid; empty when valid
  std::vector<std::string> warnings;  // noteworthy, not fatal
  std::string signature_method;
  std::optional<CertificateInfo> signer;
  std::vector<std::string> chain;   // subjects, leaf first, as validated
  bool chain_valid = false;
  bool revoked = false;
  std::string revocation;           // how revocation was checked, and the outcome
  // revocation_unavailable: no revocation data decided and none could be
  // had now (OCSP unreachable, refused, or not asked offline); one of
  // `reasons` says so. A later check may succeed, unlike the other reasons.
  bool revocation_unavailable = false;
  std::vector<RevocationCheck> revocation_checks;
  // XAdES baseline level: "B-B", "B-T" (a signature time-stamp), "B-LT"
  // (also embedded certificate and revocation values); "" for plain XML-DSig.
  std::string level;
  std::vector<TimestampReport> timestamps;
  // The time the chain and revocation were judged at: the earliest valid
  // signature time-stamp's genTime when there is one, else the evaluation
  // time; time_source says which ("time-stamp" or "evaluation time").
  absl::Time judged_at = absl::InfinitePast();
  std::string time_source;
  std::string chain_error;
  bool key_usage_ok = false;
  bool cryptographic_ok = false;    // SignatureValue and every digest verified
  bool covers_document = false;
  std::vector<std::string> covers_signatures;  // Ids of earlier signatures covered
  std::vector<ReferenceReport> references;
  // XAdES
  bool xades = false;
  bool signed_properties_covered = false;
  bool signing_certificate_matches = false;
  std::optional<absl::Time> claimed_signing_time;
  std::string role;
  std::string commitment;  // XAdES CommitmentTypeIndication identifier, if any
};

// Report is the outcome of verifying one document.
struct Report {
  std::string document;               // a name for the document (file path)
  absl::Time verified_at;             // the time the chains were evaluated at
  std::vector<std::string> problems;  // document-level refusals (duplicate Ids, ...)
  std::vector<SignatureReport> signatures;
  std::vector<std::string> signing_order;  // signature Ids, first signed first

  // Valid is true when there is at least one signature, no document-level
  // problem, and every signature is valid.
  bool Valid() const;
};

// CommitmentName names a XAdES commitment type for people.
std::string CommitmentName(const std::string& uri);

// ReportText renders `report` for people.
std::string ReportText(const Report& report);

// ReportJson renders `report` as one JSON document.
std::string ReportJson(const Report& report);

}  // namespace axis::signer

#endif  // AXIS_SIGNER_REPORT_H_
