#include "security-server/message_log.h"

#include <openssl/evp.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/c_ptr.h"
#include "common/files.h"
#include "common/status_macros.h"

namespace axis::ss {
namespace {

constexpr char kSchema[] = R"sql(
CREATE TABLE IF NOT EXISTS message_log (
  seq INTEGER PRIMARY KEY,
  at_us INTEGER NOT NULL,
  event INTEGER NOT NULL,
  message_id TEXT NOT NULL,
  peer TEXT NOT NULL,
  data BLOB NOT NULL,
  prev_hash BLOB NOT NULL,
  hash BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS message_log_by_message ON message_log(message_id);
CREATE TABLE IF NOT EXISTS message_log_head (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  seq INTEGER NOT NULL,
  hash BLOB NOT NULL,
  batches INTEGER NOT NULL,
  batch_hash BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS message_log_batches (
  id INTEGER PRIMARY KEY,
  first_seq INTEGER NOT NULL,
  last_seq INTEGER NOT NULL,
  root BLOB NOT NULL,
  token BLOB NOT NULL,
  gen_time_us INTEGER NOT NULL,
  prev_hash BLOB NOT NULL,
  hash BLOB NOT NULL);
CREATE TRIGGER IF NOT EXISTS message_log_no_update BEFORE UPDATE ON message_log
  BEGIN SELECT RAISE(ABORT, 'message_log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS message_log_no_delete BEFORE DELETE ON message_log
  BEGIN SELECT RAISE(ABORT, 'message_log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS message_log_batches_no_update BEFORE UPDATE ON message_log_batches
  BEGIN SELECT RAISE(ABORT, 'message_log_batches is append-only'); END;
CREATE TRIGGER IF NOT EXISTS message_log_batches_no_delete BEFORE DELETE ON message_log_batches
  BEGIN SELECT RAISE(ABORT, 'message_log_batches is append-only'); END;
-- The head row is created only with an empty log: a log whose head was
-- removed must not silently restart at record 1.
INSERT INTO message_log_head (id, seq, hash, batches, batch_hash)
  SELECT 1, 0, zeroblob(32), 0, zeroblob(32)
  WHERE NOT EXISTS (SELECT 1 FROM message_log_head) AND NOT EXISTS (SELECT 1 FROM message_log);
)sql";

constexpr char kSelectHead[] = "SELECT seq, hash FROM message_log_head WHERE id = 1";
constexpr char kInsertRecord[] =
    "INSERT INTO message_log (seq, at_us, event, message_id, peer, data, prev_hash, hash) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
constexpr char kUpdateHead[] = "UPDATE message_log_head SET seq = ?1, hash = ?2 WHERE id = 1";
constexpr const char* kCachedSql[] = {kSelectHead, kInsertRecord, kUpdateHead};

absl::Status SqliteError(sqlite3* db, absl::string_view what) {
  return absl::InternalError(absl::StrCat("message log: ", what, ": ", sqlite3_errmsg(db)));
}

// CachedStatement finds this module's statement for `sql` among those the
// connection owns, or prepares it. Searching the connection's own list
// (rather than a side table keyed by the pointer) cannot meet a statement of
// an earlier connection that happened to live at the same address.
absl::StatusOr<sqlite3_stmt*> CachedStatement(sqlite3* db, const char* sql) {
  for (sqlite3_stmt* s = sqlite3_next_stmt(db, nullptr); s != nullptr;
       s = sqlite3_next_stmt(db, s)) {
    const char* text = sqlite3_sql(s);
    if (text != nullptr && std::strcmp(text, sql) == 0) {
      sqlite3_reset(s);
      sqlite3_clear_bindings(s);
      return s;
    }
  }
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr) != SQLITE_OK) {
    return SqliteError(db, "prepare");
  }
  return s;
}

void PutBigEndian(uint64_t v, unsigned char out[8]) {
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<unsigned char>(v & 0xff);
    v >>= 8;
  }
}

void DigestInteger(EVP_MD_CTX* ctx, uint64_t v) {
  unsigned char b[8];
  PutBigEndian(v, b);
  EVP_DigestUpdate(ctx, b, sizeof b);
}

void DigestField(EVP_MD_CTX* ctx, absl::string_view field) {
  DigestInteger(ctx, field.size());
  EVP_DigestUpdate(ctx, field.data(), field.size());
}

// StatementResetter resets a cached statement when a call leaves, so it
// holds no read lock or bound pointers between calls.
struct StatementResetter {
  sqlite3_stmt* s;
  ~StatementResetter() {
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
  }
};

}  // namespace

const char* LogEventName(LogEvent event) {
  switch (event) {
    case LogEvent::kAccepted:
      return "accepted";
    case LogEvent::kSent:
      return "sent";
    case LogEvent::kReceived:
      return "received";
    case LogEvent::kReceipt:
      return "receipt";
    case LogEvent::kRefused:
      return "refused";
    case LogEvent::kStatus:
      return "status";
  }
  return "unknown";
}

std::string GenesisHash() { return std::string(32, '\0'); }

std::string RecordHash(int64_t seq, int64_t at_us, int64_t event, absl::string_view message_id,
                       absl::string_view peer, absl::string_view data,
                       absl::string_view prev_hash) {
  static constexpr char kDomain[] = "axis-log-v1";
  UniquePtr<EVP_MD_CTX> ctx(EVP_MD_CTX_new());
  EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr);
  EVP_DigestUpdate(ctx.get(), kDomain, sizeof kDomain - 1);
  DigestInteger(ctx.get(), static_cast<uint64_t>(seq));
  DigestInteger(ctx.get(), static_cast<uint64_t>(at_us));
  DigestInteger(ctx.get(), static_cast<uint64_t>(event));
  DigestField(ctx.get(), message_id);
  DigestField(ctx.get(), peer);
  DigestField(ctx.get(), data);
  DigestField(ctx.get(), prev_hash);
  std::string out(32, '\0');
  EVP_DigestFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), nullptr);
  return out;
}

std::string BatchHash(int64_t id, int64_t first_seq, int64_t last_seq, absl::string_view root,
                      absl::string_view token, int64_t gen_time_us, absl::string_view prev_hash) {
  static constexpr char kDomain[] = "axis-log-batch-v1";
  UniquePtr<EVP_MD_CTX> ctx(EVP_MD_CTX_new());
  EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr);
  EVP_DigestUpdate(ctx.get(), kDomain, sizeof kDomain - 1);
  DigestInteger(ctx.get(), static_cast<uint64_t>(id));
  DigestInteger(ctx.get(), static_cast<uint64_t>(first_seq));
  DigestInteger(ctx.get(), static_cast<uint64_t>(last_seq));
  DigestField(ctx.get(), root);
  DigestField(ctx.get(), token);
  DigestInteger(ctx.get(), static_cast<uint64_t>(gen_time_us));
  DigestField(ctx.get(), prev_hash);
  std::string out(32, '\0');
  EVP_DigestFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), nullptr);
  return out;
}

absl::Status ExecSql(sqlite3* db, const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string message = err != nullptr ? err : sqlite3_errmsg(db);
    sqlite3_free(err);
    return absl::InternalError(absl::StrCat("message log: ", message));
  }
  return absl::OkStatus();
}

absl::Status CreateLogSchema(sqlite3* db) {
  if (sqlite3_get_autocommit(db) != 0) {
    // journal_mode cannot change inside a transaction; WAL is persistent.
    AXIS_RETURN_IF_ERROR(ExecSql(db, "PRAGMA journal_mode = WAL"));
  }
  return ExecSql(db, kSchema);
}

absl::StatusOr<int64_t> AppendLog(sqlite3* db, const LogEntry& entry, absl::Time at) {
  if (sqlite3_get_autocommit(db) != 0) {
    return absl::FailedPreconditionError(
        "message log: AppendLog needs the caller's open write transaction (BEGIN IMMEDIATE)");
  }
  if (entry.event < LogEvent::kAccepted || entry.event > LogEvent::kStatus) {
    return absl::InvalidArgumentError(
        absl::StrCat("message log: unknown event ", static_cast<int>(entry.event)));
  }
  AXIS_ASSIGN_OR_RETURN(sqlite3_stmt * head, CachedStatement(db, kSelectHead));
  int64_t prev_seq = 0;
  std::string prev_hash;
  {
    StatementResetter reset{head};
    int rc = sqlite3_step(head);
    if (rc == SQLITE_DONE) {
      return absl::DataLossError(
          "message log: the head row is missing (message_log_head was altered)");
    }
    if (rc != SQLITE_ROW) {
      return SqliteError(db, "read head");
    }
    prev_seq = sqlite3_column_int64(head, 0);
    prev_hash.assign(static_cast<const char*>(sqlite3_column_blob(head, 1)),
                     static_cast<size_t>(sqlite3_column_bytes(head, 1)));
  }
  if (prev_hash.size() != 32) {
    return absl::DataLossError("message log: the head's hash is not 32 bytes");
  }
  const int64_t seq = prev_seq + 1;
  const int64_t at_us = absl::ToUnixMicros(at);
  const int64_t event = static_cast<int64_t>(entry.event);
  std::string hash =
      RecordHash(seq, at_us, event, entry.message_id, entry.peer, entry.data, prev_hash);

  AXIS_ASSIGN_OR_RETURN(sqlite3_stmt * insert, CachedStatement(db, kInsertRecord));
  {
    StatementResetter reset{insert};
    sqlite3_bind_int64(insert, 1, seq);
    sqlite3_bind_int64(insert, 2, at_us);
    sqlite3_bind_int64(insert, 3, event);
    sqlite3_bind_text(insert, 4, entry.message_id.data(), static_cast<int>(entry.message_id.size()),
                      SQLITE_STATIC);
    sqlite3_bind_text(insert, 5, entry.peer.data(), static_cast<int>(entry.peer.size()),
                      SQLITE_STATIC);
    sqlite3_bind_blob(insert, 6, entry.data.data(), static_cast<int>(entry.data.size()),
                      SQLITE_STATIC);
    sqlite3_bind_blob(insert, 7, prev_hash.data(), 32, SQLITE_STATIC);
    sqlite3_bind_blob(insert, 8, hash.data(), 32, SQLITE_STATIC);
    if (sqlite3_step(insert) != SQLITE_DONE) {
      return SqliteError(db, absl::StrCat("append record ", seq));
    }
  }
  AXIS_ASSIGN_OR_RETURN(sqlite3_stmt * update, CachedStatement(db, kUpdateHead));
  {
    StatementResetter reset{update};
    sqlite3_bind_int64(update, 1, seq);
    sqlite3_bind_blob(update, 2, hash.data(), 32, SQLITE_STATIC);
    if (sqlite3_step(update) != SQLITE_DONE) {
      return SqliteError(db, "update head");
    }
  }
  return seq;
}

void ReleaseLogStatements(sqlite3* db) {
  sqlite3_stmt* s = sqlite3_next_stmt(db, nullptr);
  while (s != nullptr) {
    sqlite3_stmt* next = sqlite3_next_stmt(db, s);
    const char* text = sqlite3_sql(s);
    for (const char* sql : kCachedSql) {
      if (text != nullptr && std::strcmp(text, sql) == 0) {
        sqlite3_finalize(s);
        break;
      }
    }
    s = next;
  }
}

void LogDbCloser::operator()(sqlite3* db) const {
  sqlite3_stmt* s;
  while ((s = sqlite3_next_stmt(db, nullptr)) != nullptr) {
    sqlite3_finalize(s);
  }
  sqlite3_close(db);
}

absl::StatusOr<LogDb> OpenLogDb(const std::string& path, bool read_only) {
  if (read_only) {
    struct stat st;
    if (stat(path.c_str(), &st) != 0) {
      return PosixError(path, "open", errno);
    }
  }
  sqlite3* raw = nullptr;
  int flags = read_only ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  LogDb db(raw);
  if (rc != SQLITE_OK) {
    return absl::InternalError(absl::StrCat(
        path, ": cannot open: ", raw != nullptr ? sqlite3_errmsg(raw) : "out of memory"));
  }
  sqlite3_busy_timeout(db.get(), 5000);
  // Reading the schema proves the file is a database at all.
  rc = sqlite3_exec(db.get(), "SELECT count(*) FROM sqlite_master", nullptr, nullptr, nullptr);
  if (rc == SQLITE_NOTADB || rc == SQLITE_CORRUPT) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": not a SQLite database: ", sqlite3_errmsg(db.get())));
  }
  if (rc != SQLITE_OK) {
    return absl::InternalError(absl::StrCat(path, ": ", sqlite3_errmsg(db.get())));
  }
  if (!read_only) {
    AXIS_RETURN_IF_ERROR(ExecSql(db.get(), "PRAGMA synchronous = FULL"));
  }
  return db;
}

}  // namespace axis::ss
