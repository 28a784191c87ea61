// message_log.h: the security server's append-only, hash-chained message log.
//
// Every event a document goes through (accepted from a DMS, sent to a peer,
// received, receipt, refused, business status) is one record. A record's
// hash is SHA-256 over an unambiguous encoding of its sequence number, time,
// event, message id, peer, data and the previous record's hash (RecordHash),
// so changing, removing or reordering any record breaks the chain. The
// Timestamper (timestamper.h) later puts batches of records under RFC 3161
// time-stamps over their Merkle root; AuditLog (log_audit.h) checks it all.
//
// Tables (in the security server's own SQLite file, WAL mode):
//   message_log(seq, at_us, event, message_id, peer, data, prev_hash, hash)
//   message_log_head(id = 1, seq, hash, batches, batch_hash): the newest
//     record and the newest batch, so deleting the last ones is seen
//   message_log_batches(id, first_seq, last_seq, root, token, gen_time_us,
//     prev_hash, hash): batches chain like records (BatchHash), so a byte
//     changed anywhere in a token, even in a part its signature does not
//     cover (the certificates), is seen
// Triggers refuse UPDATE and DELETE of records and batches.
#ifndef AXIS_SECURITY_SERVER_MESSAGE_LOG_H_
#define AXIS_SECURITY_SERVER_MESSAGE_LOG_H_

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace axis::ss {

enum class LogEvent {
  kAccepted = 1,
  kSent = 2,
  kReceived = 3,
  kReceipt = 4,
  kRefused = 5,
  kStatus = 6
};

// LogEventName is "accepted", "sent", ... ("unknown" outside the enum).
const char* LogEventName(LogEvent event);

// LogEntry is what a caller logs.
struct LogEntry {
  LogEvent event;
  std::string message_id;
  std::string peer;  // the other party: DMS subsystem, peer server, ...
  std::string data;  // envelope header bytes, receipt, reason, status, ...
};

// LogRecord is a stored record.
struct LogRecord {
  int64_t seq = 0;
  int64_t at_us = 0;  // Unix microseconds
  int64_t event = 0;
  std::string message_id;
  std::string peer;
  std::string data;
  std::string prev_hash;  // 32 bytes; kGenesisHash for record 1
  std::string hash;       // 32 bytes
};

// GenesisHash is the previous hash of record 1: 32 zero bytes.
std::string GenesisHash();

// RecordHash is SHA-256 over "axis-log-v1", then seq, at_us and event as
// 8-byte big-endian integers, then message_id, peer, data and prev_hash each
// preceded by its 8-byte big-endian length.
std::string RecordHash(int64_t seq, int64_t at_us, int64_t event, absl::string_view message_id,
                       absl::string_view peer, absl::string_view data, absl::string_view prev_hash);
inline std::string RecordHash(const LogRecord& r) {
  return RecordHash(r.seq, r.at_us, r.event, r.message_id, r.peer, r.data, r.prev_hash);
}

// BatchHash is SHA-256 over "axis-log-batch-v1", then id, first_seq and
// last_seq as 8-byte big-endian integers, root and token each preceded by
// its 8-byte length, gen_time_us, and prev_hash (length-prefixed; the
// previous batch's hash, GenesisHash() for batch 1).
std::string BatchHash(int64_t id, int64_t first_seq, int64_t last_seq, absl::string_view root,
                      absl::string_view token, int64_t gen_time_us, absl::string_view prev_hash);

// CreateLogSchema creates the log's tables, triggers and head row when they
// are missing and switches the file to WAL (unless called inside a
// transaction). Idempotent. INTERNAL naming SQLite's message on failure.
absl::Status CreateLogSchema(sqlite3* db);

// AppendLog appends one record inside the caller's open write transaction
// (the caller did BEGIN IMMEDIATE and will COMMIT, so the log write and the
// outbox/inbox change are one transaction; a ROLLBACK removes the record
// too). Returns the record's sequence number. FAILED_PRECONDITION when no
// transaction is open; INTERNAL for SQLite errors (the caller should roll
// back). Caches its prepared statements on `db`: finalize them with
// ReleaseLogStatements(db) (or finalize every statement) before
// sqlite3_close. Not thread-safe per connection, as SQLite connections are not.
absl::StatusOr<int64_t> AppendLog(sqlite3* db, const LogEntry& entry, absl::Time at);

// ReleaseLogStatements finalizes the statements AppendLog cached on `db`.
void ReleaseLogStatements(sqlite3* db);

// LogDbCloser finalizes every statement of a connection and closes it.
struct LogDbCloser {
  void operator()(sqlite3* db) const;
};
using LogDb = std::unique_ptr<sqlite3, LogDbCloser>;

// OpenLogDb opens (creating when `read_only` is false) the SQLite file at
// `path` with busy_timeout 5 s and, when writable, synchronous FULL.
// NOT_FOUND when a read-only open finds no file; INVALID_ARGUMENT when it is
// not a database; INTERNAL otherwise; all naming the path.
absl::StatusOr<LogDb> OpenLogDb(const std::string& path, bool read_only = false);

// ExecSql runs `sql` (no results) on `db`; INTERNAL with SQLite's message.
absl::Status ExecSql(sqlite3* db, const char* sql);

}  // namespace axis::ss

#endif  // AXIS_SECURITY_SERVER_MESSAGE_LOG_H_
