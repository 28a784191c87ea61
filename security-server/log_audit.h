// log_audit.h: checking a message log, and one record's proof of existence.
//
// AuditLog re-reads a security server's log database and checks everything
// that protects it: each record's hash against its content, the chain of
// previous hashes, the head row (so removing the newest records is seen),
// the batches (contiguous, each Merkle root recomputed from its records'
// hashes, each batch's RFC 3161 token over the root from a trusted TSA at
// the stored time, and the batches' own hash chain, which covers every byte
// of the tokens) and finally SQLite's integrity check of the file. It names
// the first broken record or batch.
//
// MerkleProof and CheckRecordProof give one record's evidence: the record,
// its Merkle path to its batch's root and the batch's token.
#ifndef AXIS_SECURITY_SERVER_LOG_AUDIT_H_
#define AXIS_SECURITY_SERVER_LOG_AUDIT_H_

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "security-server/message_log.h"
#include "signer/certs.h"
#include "signer/timestamp.h"

namespace axis::ss {

// LogAuditResult is an audit's verdict. When !ok, `reason` names the first
// broken record or batch ("record 17: hash does not match its content",
// "record 40 missing", "batch 3: time-stamp imprint is not the Merkle root",
// "database file is corrupt: ..."), first_broken_seq is that record (for a
// batch: its first record; 0 when no record can be named) and
// first_broken_batch the batch (0 when the fault is not in a batch).
struct LogAuditResult {
  int64_t records = 0;  // records read (up to the first fault)
  int64_t stamped = 0;  // records under a checked time-stamp
  int64_t batches = 0;  // batches checked
  bool ok = false;
  int64_t first_broken_seq = 0;
  std::string reason;
  int64_t first_broken_batch = 0;
  bool tokens_verified = false;  // tokens' signatures checked against a TSA trust store
  absl::Time last_stamp = absl::InfinitePast();  // newest batch's genTime
};

// AuditStatus is OK for an intact log, DATA_LOSS carrying `reason` otherwise.
absl::Status AuditStatus(const LogAuditResult& result);

// AuditLog checks the log in the SQLite file `db_path`, read-only (a running
// server may keep appending; the audit reads one snapshot). With `tsa_trust`,
// each token's signature and TSA certificate are verified at its genTime;
// without it (nullptr) a token is only parsed and its imprint and time
// compared, so an altered signature goes unseen (tokens_verified = false).
// Returns the verdict, broken or not. NOT_FOUND when the file is missing,
// INVALID_ARGUMENT when it is not a SQLite database or holds no message log,
// INTERNAL for other read errors. Corruption found inside the file is a
// verdict ("database file is corrupt: ..."), not an error.
absl::StatusOr<LogAuditResult> AuditLog(const std::string& db_path,
                                        const signer::TrustStore* tsa_trust);

// RecordProof is one stamped record's evidence.
struct RecordProof {
  LogRecord record;
  int64_t batch_id = 0;
  int64_t batch_first_seq = 0;
  int64_t batch_size = 0;         // records in the batch
  int64_t index = 0;              // record.seq - batch_first_seq
  std::vector<std::string> path;  // Merkle audit path, nearest sibling first
  std::string root;               // the batch's Merkle root
  std::string token;              // DER RFC 3161 TimeStampToken over `root`
  absl::Time gen_time;            // as stored beside the token
};

// MerkleProof reads record `seq` and its batch's proof from `db` (a
// connection to the log database). NOT_FOUND when there is no such record;
// FAILED_PRECONDITION when it is not time-stamped yet; DATA_LOSS when the
// stored data is inconsistent; INTERNAL for SQLite errors.
absl::StatusOr<RecordProof> MerkleProof(sqlite3* db, int64_t seq);

// CheckRecordProof checks a proof on its own: the record's hash against its
// content, its Merkle path to the root and the token over the root by a TSA
// of `trust`. Returns what the token says. DATA_LOSS for a hash or path
// mismatch; the token's errors as VerifyTimestampToken reports them.
absl::StatusOr<signer::TimestampInfo> CheckRecordProof(const RecordProof& proof,
                                                       const signer::TrustStore& trust);

}  // namespace axis::ss

#endif  // AXIS_SECURITY_SERVER_LOG_AUDIT_H_
