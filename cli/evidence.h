// evidence.h: an auditor's offline check of one message's evidence (the
// package `axis audit export` writes), and the story it tells.
//
// CheckEvidence trusts nothing in the package but what chains to the
// auditor's own roots: each envelope's signature over its header bytes by
// the sending member's seal (subject OU = the member code) and that the
// header names this message and this payload's SHA-256; each receipt's
// signature by the recipient member's seal over a body that names this
// message and the SHA-256 of an envelope in the package; each message-log
// record's hash against its content and, once time-stamped, its Merkle path
// to the batch root and the RFC 3161 token over that root; and the
// document's own XML signatures (verified offline: embedded revocation data
// and the auditor's CRLs only).
#ifndef AXIS_CLI_EVIDENCE_H_
#define AXIS_CLI_EVIDENCE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "evidence.pb.h"
#include "signer/certs.h"
#include "signer/report.h"

namespace axis::cli {

// EvidenceCheck is one thing checked and what came of it.
struct EvidenceCheck {
  std::string what;    // e.g. "envelope to VN/GOV/000.00.00.G12/QLVB"
  bool ok = false;
  std::string detail;  // who signed and when, or why it failed
};

struct EvidenceReport {
  std::string message_id;
  std::vector<EvidenceCheck> checks;
  bool has_document_report = false;
  signer::Report document;  // the payload's XML signatures, when it is XML
  bool Ok() const;
};

// CheckEvidence checks `evidence` with `payload` (the document bytes) against
// the auditor's `trust`. `offline` keeps the document verification from
// fetching OCSP. Returns INVALID_ARGUMENT only when the evidence itself is
// unreadable; every failed check is in the report.
absl::StatusOr<EvidenceReport> CheckEvidence(const Evidence& evidence, absl::string_view payload,
                                             const signer::TrustStore& trust, bool offline);

// EvidenceText renders the message's story and the checks for people.
std::string EvidenceText(const Evidence& evidence, const EvidenceReport& report);

// EvidenceJson renders the same as one JSON document.
std::string EvidenceJson(const Evidence& evidence, const EvidenceReport& report);

// AuditHtml renders a self-contained HTML page (inline style, no scripts, no
// external resources): the verdict, the story, every check, and the
// signatures' report. `evidence` and `checks` may be empty (a document
// audited on its own). Text is escaped by libxml2's writer.
std::string AuditHtml(const std::string& title, bool ok, const std::string& story,
                      const std::vector<EvidenceCheck>& checks,
                      const std::string& signatures_text);

// EvidenceStory is the story part of EvidenceText (who sent what to whom,
// what became of it).
std::string EvidenceStory(const Evidence& evidence);

}  // namespace axis::cli

#endif  // AXIS_CLI_EVIDENCE_H_
