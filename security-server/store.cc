// store.cc: SqliteStore and Spool.
#include "security-server/store.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <deque>
#include <functional>
#include <map>
#include <thread>
#include <system_error>
#include <utility>

#include <openssl/evp.h>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/files.h"
#include "common/status_macros.h"
#include "security_server.pb.h"
#include "security-server/message_log.h"
#include "signer/bytes_sign.h"

namespace axis::ss {
namespace {

absl::Status SqlError(sqlite3* db, absl::string_view what) {
  int code = sqlite3_extended_errcode(db);
  std::string msg = absl::StrCat("store: ", what, ": ", sqlite3_errmsg(db));
  if ((code & 0xff) == SQLITE_CONSTRAINT) {
    return absl::AlreadyExistsError(msg);
  }
  return absl::InternalError(msg);
}

// StmtCache keeps one prepared statement per SQL text (the texts are string
// literals, so their addresses identify them) for a connection: preparing
// dominated small statements. Used only under the store's lock.
class StmtCache {
 public:
  ~StmtCache() { Clear(); }
  void Clear() {
    for (auto& [sql, stmt] : stmts_) {
      sqlite3_finalize(stmt);
    }
    stmts_.clear();
  }
  sqlite3_stmt* Get(sqlite3* db, const char* sql) {
    auto it = stmts_.find(sql);
    if (it != stmts_.end()) {
      return it->second;
    }
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr) != SQLITE_OK) {
      return nullptr;
    }
    stmts_[sql] = stmt;
    return stmt;
  }

 private:
  std::map<const char*, sqlite3_stmt*> stmts_;
};

// Stmt borrows a cached prepared statement and resets it when done.
class Stmt {
 public:
  Stmt(StmtCache* cache, sqlite3* db, const char* sql) : db_(db) {
    stmt_ = cache->Get(db, sql);
    if (stmt_ == nullptr) {
      error_ = SqlError(db, sql);
    }
  }
  ~Stmt() {
    if (stmt_ != nullptr) {
      sqlite3_reset(stmt_);
      sqlite3_clear_bindings(stmt_);
    }
  }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  const absl::Status& error() const { return error_; }
  Stmt& Bind(int i, absl::string_view text) {
    sqlite3_bind_text(stmt_, i, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& BindBlob(int i, absl::string_view b) {
    sqlite3_bind_blob(stmt_, i, b.data(), static_cast<int>(b.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& Bind(int i, int64_t v) {
    sqlite3_bind_int64(stmt_, i, v);
    return *this;
  }
  // Step returns true for a row, false when done.
  absl::StatusOr<bool> Step() {
    if (!error_.ok()) {
      return error_;
    }
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) {
      return true;
    }
    if (rc == SQLITE_DONE) {
      return false;
    }
    return SqlError(db_, sqlite3_sql(stmt_));
  }
  absl::Status Run() {
    AXIS_ASSIGN_OR_RETURN(bool row, Step());
    (void)row;
    return absl::OkStatus();
  }
  std::string Text(int i) {
    const unsigned char* p = sqlite3_column_text(stmt_, i);
    return p == nullptr ? std::string()
                        : std::string(reinterpret_cast<const char*>(p),
                                      static_cast<size_t>(sqlite3_column_bytes(stmt_, i)));
  }
  std::string Blob(int i) {
    const void* p = sqlite3_column_blob(stmt_, i);
    return p == nullptr ? std::string()
                        : std::string(static_cast<const char*>(p),
                                      static_cast<size_t>(sqlite3_column_bytes(stmt_, i)));
  }
  int64_t Int(int i) { return sqlite3_column_int64(stmt_, i); }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  absl::Status error_;
};

int64_t Micros(absl::Time t) { return absl::ToUnixMicros(t); }
absl::Time FromMicros(int64_t v) { return absl::FromUnixMicros(v); }

absl::Status Exec(sqlite3* db, const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = absl::StrCat("store: ", err == nullptr ? "?" : err, " in: ", sql);
    sqlite3_free(err);
    return absl::InternalError(msg);
  }
  return absl::OkStatus();
}

// The inbox columns, in ReadInbox's order.
#define AXIS_SS_INBOX_COLS                                                                \
  "message_id,recipient,sender,envelope_header,payload_sha256,payload_size,document_type," \
  "content_type,dms_reference,in_reply_to,status_code,status_text,received_at,report_json," \
  "receipt,acked,(SELECT chain FROM cert_chains WHERE sha256=inbox.receipt_chain)"

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS messages(
  id TEXT PRIMARY KEY, sender TEXT NOT NULL, document_type TEXT, content_type TEXT,
  dms_reference TEXT, in_reply_to TEXT, status_code TEXT, status_text TEXT,
  payload_sha256 BLOB NOT NULL, payload_size INTEGER NOT NULL, created_at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS messages_sender ON messages(sender, created_at);
CREATE INDEX IF NOT EXISTS messages_reply ON messages(in_reply_to);
CREATE TABLE IF NOT EXISTS outbox(
  message_id TEXT NOT NULL, recipient TEXT NOT NULL, envelope BLOB NOT NULL,
  state INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, next_attempt INTEGER NOT NULL,
  reason TEXT, receipt BLOB, updated_at INTEGER NOT NULL, ocsp_sha256 BLOB,
  envelope_chain BLOB, receipt_chain BLOB,
  PRIMARY KEY(message_id, recipient));
CREATE INDEX IF NOT EXISTS outbox_due ON outbox(state, next_attempt);
CREATE INDEX IF NOT EXISTS outbox_pending ON outbox(next_attempt) WHERE state IN (1,2);
CREATE TABLE IF NOT EXISTS ocsp_responses(sha256 BLOB PRIMARY KEY, der BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS inbox(
  message_id TEXT NOT NULL, recipient TEXT NOT NULL, sender TEXT NOT NULL,
  envelope_header BLOB NOT NULL, payload_sha256 BLOB NOT NULL, payload_size INTEGER NOT NULL,
  document_type TEXT, content_type TEXT, dms_reference TEXT, in_reply_to TEXT,
  status_code TEXT, status_text TEXT, received_at INTEGER NOT NULL, report_json TEXT,
  receipt BLOB NOT NULL, acked INTEGER NOT NULL DEFAULT 0, receipt_chain BLOB,
  PRIMARY KEY(message_id, recipient));
CREATE INDEX IF NOT EXISTS inbox_pending ON inbox(recipient, acked, received_at);
CREATE TABLE IF NOT EXISTS statuses(
  message_id TEXT NOT NULL, recipient TEXT NOT NULL, code TEXT NOT NULL, text TEXT,
  status_message_id TEXT NOT NULL, at INTEGER NOT NULL,
  PRIMARY KEY(status_message_id, message_id));
CREATE TABLE IF NOT EXISTS payloads(sha256 BLOB PRIMARY KEY, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS cert_chains(sha256 BLOB PRIMARY KEY, chain BLOB NOT NULL);
)sql";

// Columns that came after the first databases were made: added when missing.
constexpr std::pair<const char*, const char*> kLaterColumns[] = {
    {"outbox", "ocsp_sha256"},
    {"outbox", "envelope_chain"},
    {"outbox", "receipt_chain"},
    {"inbox", "receipt_chain"},
};

class SqliteStore : public Store {
 public:
  // `checkpoint_db` (may be null: then db_ checkpoints itself, as SQLite
  // does by default) is a second connection to the same file, used only by
  // the checkpointer thread.
  SqliteStore(sqlite3* db, sqlite3* checkpoint_db) : db_(db), checkpoint_db_(checkpoint_db) {
    if (checkpoint_db_ != nullptr) {
      // Replaces SQLite's automatic checkpoint, which ran in the committer
      // under db_mu_ and stalled every reader and writer while it copied
      // ~32 MB of pages and fsync'd the database file.
      sqlite3_wal_hook(db_, &SqliteStore::WalHook, this);
      checkpointer_ = std::thread([this] { CheckpointLoop(); });
    }
    committer_ = std::thread([this] { CommitLoop(); });
  }
  ~SqliteStore() override {
    {
      absl::MutexLock l(&queue_mu_);
      stop_ = true;
    }
    committer_.join();
    if (checkpointer_.joinable()) {
      {
        absl::MutexLock l(&ckpt_mu_);
        ckpt_stop_ = true;
      }
      checkpointer_.join();
      sqlite3_close(checkpoint_db_);
    }
    stmts_.Clear();
    ReleaseLogStatements(db_);
    sqlite3_close(db_);
  }

  absl::Status AcceptMessage(const MessageRow& m, const std::vector<OutboxRow>& rows,
                             const std::vector<LogItem>& log) override {
    return Write([&](sqlite3* db) -> absl::Status {
      AXIS_RETURN_IF_ERROR(InsertMessage(db, m, rows));
      return AppendAll(db, log);
    });
  }

  absl::Status AcceptMessage(
      const MessageRow& m, std::vector<OutboxRow>* rows, const std::vector<LogItem>& log,
      const std::function<absl::StatusOr<std::vector<OutboxRow>>()>& complete) override {
    absl::StatusOr<std::vector<OutboxRow>> made;
    std::function<void()> prepare = [&] { made = complete(); };
    return Write(
        [&](sqlite3* db) -> absl::Status {
          AXIS_RETURN_IF_ERROR(made.status());
          *rows = std::move(*made);
          AXIS_RETURN_IF_ERROR(InsertMessage(db, m, *rows));
          return AppendAll(db, log);
        },
        &prepare);
  }

  absl::StatusOr<std::vector<OutboxRow>> DueOutbox(absl::Time now, int limit,
                                                   const DuePosition& after) override {
    absl::MutexLock l(&db_mu_);
    // outbox_pending holds only these rows, in this order: no sort, and a
    // backlog is read in pieces from where the last piece ended.
    Stmt s(&stmts_, db_,
           "SELECT o.message_id,o.recipient,o.envelope,o.state,o.attempts,o.next_attempt,"
           "o.reason,o.updated_at,m.payload_sha256,m.payload_size,"
           "(SELECT chain FROM cert_chains WHERE sha256=o.envelope_chain),o.rowid "
           "FROM outbox o INDEXED BY outbox_pending JOIN messages m ON m.id=o.message_id "
           "WHERE o.state IN (1,2) AND o.next_attempt<=? AND (o.next_attempt,o.rowid)>(?,?) "
           "ORDER BY o.next_attempt,o.rowid LIMIT ?");
    s.Bind(1, Micros(now))
        .Bind(2, after.next_attempt_us)
        .Bind(3, after.rowid)
        .Bind(4, static_cast<int64_t>(limit));
    std::vector<OutboxRow> out;
    while (true) {
      AXIS_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) {
        break;
      }
      OutboxRow r;
      r.message_id = s.Text(0);
      r.recipient = s.Text(1);
      r.envelope = JoinChain<Envelope>(s.Blob(2), s.Blob(10));
      r.state = static_cast<OutboxState>(s.Int(3));
      r.attempts = static_cast<int>(s.Int(4));
      r.next_attempt = FromMicros(s.Int(5));
      r.reason = s.Text(6);
      r.updated_at = FromMicros(s.Int(7));
      r.payload_sha256 = s.Blob(8);
      r.payload_size = static_cast<uint64_t>(s.Int(9));
      r.due = DuePosition{s.Int(5), s.Int(11)};
      out.push_back(std::move(r));
    }
    return out;
  }

  absl::StatusOr<std::optional<absl::Time>> NextDue(absl::Time after) override {
    absl::MutexLock l(&db_mu_);
    Stmt s(&stmts_, db_,
           "SELECT coalesce(min(next_attempt),-1) FROM outbox WHERE state IN (1,2) "
           "AND next_attempt>? AND reason<>''");
    s.Bind(1, Micros(after));
    AXIS_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row || s.Int(0) < 0) {
      return std::optional<absl::Time>();
    }
    return std::optional<absl::Time>(FromMicros(s.Int(0)));
  }

  absl::Status UpdateOutboxes(const std::vector<OutboxUpdate>& updates) override {
    return Write([&](sqlite3* db) -> absl::Status {
      for (const OutboxUpdate& u : updates) {
        AXIS_RETURN_IF_ERROR(UpdateOutboxRow(db, u.row));
        AXIS_RETURN_IF_ERROR(AppendAll(db, u.log));
      }
      return absl::OkStatus();
    });
  }

  absl::StatusOr<std::optional<InboxRow>> FindInbox(const std::string& message_id,
                                                    const std::string& recipient) override {
    absl::MutexLock l(&db_mu_);
    Stmt s(&stmts_, db_, "SELECT " AXIS_SS_INBOX_COLS " FROM inbox WHERE message_id=? AND recipient=?");
    s.Bind(1, message_id).Bind(2, recipient);
    AXIS_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) {
      return std::optional<InboxRow>();
    }
    return std::optional<InboxRow>(ReadInbox(s));
  }

  std::vector<absl::Status> InsertInboxes(const std::vector<InboxInsert>& inserts) override {
    std::vector<std::function<absl::Status(sqlite3*)>> fns;
    fns.reserve(inserts.size());
    for (const InboxInsert& in : inserts) {
      fns.push_back([this, &in](sqlite3* db) -> absl::Status {
        const InboxRow& r = *in.row;
        if (in.answer != nullptr) {
          AXIS_RETURN_IF_ERROR(InsertMessage(db, in.answer->message, in.answer->rows));
        }
        std::string receipt, chain;
        AXIS_RETURN_IF_ERROR(SplitChain<Receipt>(db, r.receipt, &receipt, &chain));
        Stmt s(&stmts_, db,
               "INSERT INTO inbox(message_id,recipient,sender,envelope_header,payload_sha256,"
               "payload_size,document_type,content_type,dms_reference,in_reply_to,status_code,"
               "status_text,received_at,report_json,receipt,acked,receipt_chain) "
               "VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,0,?)");
        s.Bind(1, r.message_id).Bind(2, r.recipient).Bind(3, r.sender).BindBlob(4, r.envelope_header);
        s.BindBlob(5, r.payload_sha256).Bind(6, static_cast<int64_t>(r.payload_size));
        s.Bind(7, r.document_type).Bind(8, r.content_type).Bind(9, r.dms_reference);
        s.Bind(10, r.in_reply_to).Bind(11, r.status_code).Bind(12, r.status_text);
        s.Bind(13, Micros(r.received_at)).Bind(14, r.report_json).BindBlob(15, receipt);
        s.BindBlob(16, chain);
        AXIS_RETURN_IF_ERROR(s.Run());
        if (r.inline_payload.has_value()) {
          AXIS_RETURN_IF_ERROR(PutPayload(db, r.payload_sha256, *r.inline_payload));
        }
        if (in.status != nullptr && in.status->has_value()) {
          const StatusRow& st = **in.status;
          Stmt t(&stmts_, db,
                 "INSERT OR IGNORE INTO statuses(message_id,recipient,code,text,status_message_id,"
                 "at) VALUES(?,?,?,?,?,?)");
          t.Bind(1, st.message_id).Bind(2, st.recipient).Bind(3, st.code);
          t.Bind(4, st.text).Bind(5, st.status_message_id).Bind(6, Micros(st.at));
          AXIS_RETURN_IF_ERROR(t.Run());
        }
        return in.log == nullptr ? absl::OkStatus() : AppendAll(db, *in.log);
      });
    }
    return WriteMany(fns);
  }

  absl::StatusOr<std::vector<InboxRow>> PendingInbox(const std::string& recipient,
                                                     int limit) override {
    absl::MutexLock l(&db_mu_);
    Stmt s(&stmts_, db_, "SELECT " AXIS_SS_INBOX_COLS
                " FROM inbox WHERE recipient=? AND acked=0 ORDER BY received_at LIMIT ?");
    s.Bind(1, recipient).Bind(2, static_cast<int64_t>(limit));
    return ReadInboxRows(s);
  }

  absl::Status AckInbox(const std::vector<InboxKey>& keys,
                        const std::vector<LogItem>& log) override {
    return Write([&](sqlite3* db) -> absl::Status {
      for (const InboxKey& k : keys) {
        Stmt s(&stmts_, db, "UPDATE inbox SET acked=1 WHERE message_id=? AND recipient=?");
        s.Bind(1, k.message_id).Bind(2, k.recipient);
        AXIS_RETURN_IF_ERROR(s.Run());
        if (sqlite3_changes(db) == 0) {
          return absl::NotFoundError(
              absl::StrCat("message ", k.message_id, " is not in the inbox of ", k.recipient));
        }
      }
      return AppendAll(db, log);
    });
  }

  absl::StatusOr<std::vector<InboxRow>> InboxById(const std::string& message_id) override {
    absl::MutexLock l(&db_mu_);
    Stmt s(&stmts_, db_, "SELECT " AXIS_SS_INBOX_COLS " FROM inbox WHERE message_id=?");
    s.Bind(1, message_id);
    return ReadInboxRows(s);
  }

  absl::StatusOr<std::optional<MessageRow>> GetMessage(const std::string& id) override {
    absl::MutexLock l(&db_mu_);
    Stmt s(&stmts_, db_,
           "SELECT id,sender,document_type,content_type,dms_reference,in_reply_to,status_code,"
           "status_text,payload_sha256,payload_size,created_at FROM messages WHERE id=?");
    s.Bind(1, id);
    AXIS_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) {
      return std::optional<MessageRow>();
    }
    MessageRow m;
    m.id = s.Text(0);
    m.sender = s.Text(1);
    m.document_type = s.Text(2);
    m.content_type = s.Text(3);
    m.dms_reference = s.Text(4);
    m.in_reply_to = s.Text(5);
    m.status_code = s.Text(6);
    m.status_text = s.Text(7);
    m.payload_sha256 = s.Blob(8);
    m.payload_size = static_cast<uint64_t>(s.Int(9));
    m.created_at = FromMicros(s.Int(10));
    return std::optional<MessageRow>(std::move(m));
  }

  absl::StatusOr<std::vector<OutboxRow>> OutboxOf(const std::string& message_id) override {
    absl::MutexLock l(&db_mu_);
    Stmt s(&stmts_, db_,
           "SELECT o.recipient,o.state,o.attempts,o.next_attempt,o.reason,o.receipt,o.updated_at,"
           "o.envelope,r.der,(SELECT chain FROM cert_chains WHERE sha256=o.receipt_chain),"
           "(SELECT chain FROM cert_chains WHERE sha256=o.envelope_chain) "
           "FROM outbox o LEFT JOIN ocsp_responses r ON r.sha256=o.ocsp_sha256 "
           "WHERE o.message_id=? ORDER BY o.rowid");
    s.Bind(1, message_id);
    std::vector<OutboxRow> out;
    while (true) {
      AXIS_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) {
        break;
      }
      OutboxRow r;
      r.message_id = message_id;
      r.recipient = s.Text(0);
      r.state = static_cast<OutboxState>(s.Int(1));
      r.attempts = static_cast<int>(s.Int(2));
      r.next_attempt = FromMicros(s.Int(3));
      r.reason = s.Text(4);
      r.receipt = JoinChain<Receipt>(s.Blob(5), s.Blob(9));
      r.updated_at = FromMicros(s.Int(6));
      r.envelope = JoinChain<Envelope>(s.Blob(7), s.Blob(10));
      r.ocsp_response = s.Blob(8);
      out.push_back(std::move(r));
    }
    return out;
  }

  absl::StatusOr<std::vector<StatusRow>> StatusesOf(const std::string& message_id) override {
    absl::MutexLock l(&db_mu_);
    Stmt s(&stmts_, db_,
           "SELECT recipient,code,text,status_message_id,at FROM statuses WHERE message_id=? "
           "ORDER BY at");
    s.Bind(1, message_id);
    std::vector<StatusRow> out;
    while (true) {
      AXIS_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) {
        break;
      }
      StatusRow r;
      r.message_id = message_id;
      r.recipient = s.Text(0);
      r.code = s.Text(1);
      r.text = s.Text(2);
      r.status_message_id = s.Text(3);
      r.at = FromMicros(s.Int(4));
      out.push_back(std::move(r));
    }
    return out;
  }

  absl::StatusOr<std::vector<std::string>> SentBy(const std::string& sender, int limit) override {
    absl::MutexLock l(&db_mu_);
    Stmt s(&stmts_, db_, "SELECT id FROM messages WHERE sender=? ORDER BY created_at DESC LIMIT ?");
    s.Bind(1, sender).Bind(2, static_cast<int64_t>(limit));
    std::vector<std::string> out;
    while (true) {
      AXIS_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) {
        break;
      }
      out.push_back(s.Text(0));
    }
    return out;
  }

  absl::StatusOr<std::optional<std::string>> GetPayload(const std::string& sha256) override {
    AXIS_ASSIGN_OR_RETURN(std::vector<std::optional<std::string>> v, GetPayloads({sha256}));
    return std::move(v[0]);
  }

  absl::StatusOr<std::vector<std::optional<std::string>>> GetPayloads(
      const std::vector<std::string>& sha256s) override {
    std::vector<std::optional<std::string>> out;
    out.reserve(sha256s.size());
    absl::MutexLock l(&db_mu_);
    for (const std::string& sha256 : sha256s) {
      Stmt s(&stmts_, db_, "SELECT data FROM payloads WHERE sha256=?");
      s.BindBlob(1, sha256);
      AXIS_ASSIGN_OR_RETURN(bool row, s.Step());
      out.push_back(row ? std::optional<std::string>(s.Blob(0)) : std::nullopt);
    }
    return out;
  }

  absl::Status AppendLogOnly(const std::vector<LogItem>& log) override {
    return Write([&](sqlite3* db) { return AppendAll(db, log); });
  }

  absl::StatusOr<bool> HasStatusFor(const std::string& in_reply_to, const std::string& sender,
                                    const std::string& code) override {
    absl::MutexLock l(&db_mu_);
    Stmt s(&stmts_, db_,
           "SELECT 1 FROM messages WHERE in_reply_to=? AND sender=? AND document_type='status' "
           "AND status_code=? LIMIT 1");
    s.Bind(1, in_reply_to).Bind(2, sender).Bind(3, code);
    return s.Step();
  }

  absl::StatusOr<QueueCounts> Counts() override {
    absl::MutexLock l(&db_mu_);
    QueueCounts c;
    {
      Stmt s(&stmts_, db_, "SELECT state,count(*) FROM outbox GROUP BY state");
      while (true) {
        AXIS_ASSIGN_OR_RETURN(bool row, s.Step());
        if (!row) {
          break;
        }
        switch (static_cast<OutboxState>(s.Int(0))) {
          case OutboxState::kAccepted:
            c.outbox_accepted = s.Int(1);
            break;
          case OutboxState::kRelayed:
            c.outbox_relayed = s.Int(1);
            break;
          case OutboxState::kDelivered:
            c.outbox_delivered = s.Int(1);
            break;
          case OutboxState::kFailed:
            c.outbox_failed = s.Int(1);
            break;
        }
      }
    }
    Stmt s(&stmts_, db_, "SELECT acked,count(*) FROM inbox GROUP BY acked");
    while (true) {
      AXIS_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) {
        break;
      }
      (s.Int(0) != 0 ? c.inbox_acknowledged : c.inbox_pending) += s.Int(1);
    }
    return c;
  }

 private:
  // InsertMessage inserts a message we send and its outbox rows (inside Write).
  absl::Status InsertMessage(sqlite3* db, const MessageRow& m, const std::vector<OutboxRow>& rows) {
    Stmt s(&stmts_, db,
           "INSERT INTO messages(id,sender,document_type,content_type,dms_reference,"
           "in_reply_to,status_code,status_text,payload_sha256,payload_size,created_at) "
           "VALUES(?,?,?,?,?,?,?,?,?,?,?)");
    s.Bind(1, m.id).Bind(2, m.sender).Bind(3, m.document_type).Bind(4, m.content_type);
    s.Bind(5, m.dms_reference).Bind(6, m.in_reply_to).Bind(7, m.status_code);
    s.Bind(8, m.status_text).BindBlob(9, m.payload_sha256);
    s.Bind(10, static_cast<int64_t>(m.payload_size)).Bind(11, Micros(m.created_at));
    AXIS_RETURN_IF_ERROR(s.Run());
    if (m.inline_payload.has_value()) {
      AXIS_RETURN_IF_ERROR(PutPayload(db, m.payload_sha256, *m.inline_payload));
    }
    // Taken in the commit (under db_mu_, like every DueOutbox read): a read
    // before it saw rows due at or before its own `now`, which is earlier.
    // The rows' own time is the Send's start, which a read may have passed.
    const absl::Time committed = absl::Now();
    for (const OutboxRow& r : rows) {
      std::string envelope, chain;
      AXIS_RETURN_IF_ERROR(SplitChain<Envelope>(db, r.envelope, &envelope, &chain));
      Stmt o(&stmts_, db,
             "INSERT INTO outbox(message_id,recipient,envelope,state,attempts,next_attempt,"
             "reason,updated_at,envelope_chain) VALUES(?,?,?,?,0,?,'',?,?)");
      o.Bind(1, r.message_id).Bind(2, r.recipient).BindBlob(3, envelope);
      o.Bind(4, static_cast<int64_t>(r.state))
          .Bind(5, Micros(std::max(r.next_attempt, committed)));
      o.Bind(6, Micros(r.updated_at)).BindBlob(7, chain);
      AXIS_RETURN_IF_ERROR(o.Run());
    }
    return absl::OkStatus();
  }

  // Certificate chains are kept once. Every envelope a server seals carries
  // its seal's chain, and every receipt a peer returns that peer's: ~2.4 KB,
  // most of an outbox row, and rewritten (overflow pages and all) at each
  // update of the row. Rows keep the envelope or receipt without its chain
  // and refer to the chain, stored once in cert_chains, by the SHA-256 of its
  // CertChain bytes; reads put it back. A row without a reference carries its
  // own chain (rows written before).
  //
  // SplitChain stores the chain of `blob` (a serialized M: Envelope or
  // Receipt) in the caller's transaction and gives the blob without it and
  // the chain's key; a blob without a chain, or one that does not parse,
  // is kept whole with an empty key.
  template <typename M>
  absl::Status SplitChain(sqlite3* db, const std::string& blob, std::string* stripped,
                          std::string* key) {
    M m;
    key->clear();
    if (blob.empty() || !m.ParseFromString(blob) || m.cert_chain_der_size() == 0) {
      *stripped = blob;
      return absl::OkStatus();
    }
    CertChain chain;
    chain.mutable_cert_der()->Swap(m.mutable_cert_chain_der());
    std::string chain_bytes = chain.SerializeAsString();
    *key = signer::Sha256(chain_bytes);
    Stmt c(&stmts_, db, "INSERT OR IGNORE INTO cert_chains(sha256,chain) VALUES(?,?)");
    c.BindBlob(1, *key).BindBlob(2, chain_bytes);
    AXIS_RETURN_IF_ERROR(c.Run());
    *stripped = m.SerializeAsString();
    return absl::OkStatus();
  }

  // JoinChain puts a stored chain (CertChain bytes; empty: none) back into
  // a serialized M. Should the stored bytes not parse, the blob comes back
  // without a chain, which every signature check refuses.
  template <typename M>
  static std::string JoinChain(std::string stripped, const std::string& chain_bytes) {
    if (chain_bytes.empty()) {
      return stripped;
    }
    M m;
    CertChain chain;
    if (!m.ParseFromString(stripped) || !chain.ParseFromString(chain_bytes)) {
      return stripped;
    }
    m.mutable_cert_chain_der()->Swap(chain.mutable_cert_der());
    return m.SerializeAsString();
  }

  // PutPayload stores a small payload (once per digest) in the caller's
  // transaction.
  absl::Status PutPayload(sqlite3* db, const std::string& sha256, const std::string& data) {
    Stmt p(&stmts_, db, "INSERT OR IGNORE INTO payloads(sha256,data) VALUES(?,?)");
    p.BindBlob(1, sha256).BindBlob(2, data);
    return p.Run();
  }

  static InboxRow ReadInbox(Stmt& s) {
    InboxRow r;
    r.message_id = s.Text(0);
    r.recipient = s.Text(1);
    r.sender = s.Text(2);
    r.envelope_header = s.Blob(3);
    r.payload_sha256 = s.Blob(4);
    r.payload_size = static_cast<uint64_t>(s.Int(5));
    r.document_type = s.Text(6);
    r.content_type = s.Text(7);
    r.dms_reference = s.Text(8);
    r.in_reply_to = s.Text(9);
    r.status_code = s.Text(10);
    r.status_text = s.Text(11);
    r.received_at = FromMicros(s.Int(12));
    r.report_json = s.Text(13);
    r.receipt = JoinChain<Receipt>(s.Blob(14), s.Blob(16));
    r.acked = s.Int(15) != 0;
    return r;
  }

  static absl::StatusOr<std::vector<InboxRow>> ReadInboxRows(Stmt& s) {
    std::vector<InboxRow> out;
    while (true) {
      AXIS_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) {
        break;
      }
      out.push_back(ReadInbox(s));
    }
    return out;
  }

  static absl::Status AppendAll(sqlite3* db, const std::vector<LogItem>& log) {
    absl::Time now = absl::Now();
    for (const LogItem& r : log) {
      LogEntry e;
      e.event = static_cast<LogEvent>(r.event);
      e.message_id = r.message_id;
      e.peer = r.peer;
      e.data = r.data;
      AXIS_ASSIGN_OR_RETURN(int64_t seq, AppendLog(db, e, now));
      (void)seq;
    }
    return absl::OkStatus();
  }

  // UpdateOutboxRow writes one OutboxUpdate's row (UpdateOutboxes).
  absl::Status UpdateOutboxRow(sqlite3* db, const OutboxRow& r) {
    // The stapled OCSP response is kept once (it is the same for many
    // envelopes) and referred to by its SHA-256.
    std::string ocsp_sha;
    if (!r.ocsp_response.empty()) {
      ocsp_sha = signer::Sha256(r.ocsp_response);
      Stmt o(&stmts_, db, "INSERT OR IGNORE INTO ocsp_responses(sha256,der) VALUES(?,?)");
      o.BindBlob(1, ocsp_sha).BindBlob(2, r.ocsp_response);
      AXIS_RETURN_IF_ERROR(o.Run());
    }
    std::string receipt, chain;
    AXIS_RETURN_IF_ERROR(SplitChain<Receipt>(db, r.receipt, &receipt, &chain));
    Stmt s(&stmts_, db,
           "UPDATE outbox SET state=?,attempts=?,next_attempt=?,reason=?,updated_at=?,"
           "receipt=CASE WHEN ? THEN ? ELSE receipt END,"
           "receipt_chain=CASE WHEN ? THEN ? ELSE receipt_chain END,"
           "ocsp_sha256=CASE WHEN length(?)>0 THEN ? ELSE ocsp_sha256 END "
           "WHERE message_id=? AND recipient=?");
    s.Bind(1, static_cast<int64_t>(r.state)).Bind(2, static_cast<int64_t>(r.attempts));
    s.Bind(3, Micros(r.next_attempt)).Bind(4, r.reason).Bind(5, Micros(r.updated_at));
    // A new receipt (even one that was nothing but a chain) replaces the
    // old one and its chain; none given keeps both.
    const int64_t replace = r.receipt.empty() ? 0 : 1;
    s.Bind(6, replace).BindBlob(7, receipt).Bind(8, replace).BindBlob(9, chain);
    s.BindBlob(10, ocsp_sha).BindBlob(11, ocsp_sha);
    s.Bind(12, r.message_id).Bind(13, r.recipient);
    return s.Run();
  }

  // Write queues `fn` for the committer thread, which runs every queued
  // function in one transaction (each in a savepoint) and commits once:
  // concurrent writers share one fsync. `prepare`, when given, runs on the
  // committer thread before the transaction begins (outside db_mu_), for
  // every write of the batch before any function: AcceptMessage waits there
  // for the batch signature, which all its batch's Sends then share.
  absl::Status Write(const std::function<absl::Status(sqlite3*)>& fn,
                     const std::function<void()>* prepare = nullptr) {
    return WriteMany({fn}, prepare)[0];
  }

  // WriteMany runs each function in its own savepoint of one group-commit
  // transaction and returns their statuses, in order: a function that fails
  // leaves no trace and does not undo the others. `prepare`: as for Write,
  // run once before the functions.
  std::vector<absl::Status> WriteMany(const std::vector<std::function<absl::Status(sqlite3*)>>& fns,
                                      const std::function<void()>* prepare = nullptr) {
    std::vector<Pending> ps(fns.size());
    if (!ps.empty()) {
      ps[0].prepare = prepare;
    }
    {
      absl::MutexLock l(&queue_mu_);
      for (size_t i = 0; i < fns.size(); ++i) {
        ps[i].fn = &fns[i];
        queue_.push_back(&ps[i]);
      }
      queue_mu_.Await(absl::Condition(
          +[](std::vector<Pending>* v) {
            for (const Pending& p : *v) {
              if (!p.done) {
                return false;
              }
            }
            return true;
          },
          &ps));
    }
    std::vector<absl::Status> out;
    out.reserve(ps.size());
    for (Pending& p : ps) {
      out.push_back(std::move(p.status));
    }
    return out;
  }

  struct Pending {
    const std::function<absl::Status(sqlite3*)>* fn = nullptr;
    const std::function<void()>* prepare = nullptr;
    absl::Status status;
    bool done = false;
  };

  void CommitLoop() {
    while (true) {
      std::deque<Pending*> batch;
      {
        absl::MutexLock l(&queue_mu_);
        queue_mu_.Await(absl::Condition(
            +[](SqliteStore* s) ABSL_NO_THREAD_SAFETY_ANALYSIS {
              return s->stop_ || !s->queue_.empty();
            },
            this));
        if (queue_.empty() && stop_) {
          return;
        }
        batch.swap(queue_);
      }
      for (Pending* p : batch) {
        if (p->prepare != nullptr) {
          (*p->prepare)();
        }
      }
      absl::Status tx;
      {
        absl::MutexLock l(&db_mu_);
        // Prepared once (StmtCache): parsing these per write showed up.
        auto run = [this](const char* sql) { return Stmt(&stmts_, db_, sql).Run(); };
        tx = run("BEGIN IMMEDIATE");
        if (tx.ok()) {
          for (Pending* p : batch) {
            p->status = run("SAVEPOINT w");
            if (!p->status.ok()) {
              continue;
            }
            p->status = (*p->fn)(db_);
            if (p->status.ok()) {
              (void)run("RELEASE w");
            } else {
              (void)run("ROLLBACK TO w");
              (void)run("RELEASE w");
            }
          }
          tx = run("COMMIT");
          if (!tx.ok()) {
            (void)Exec(db_, "ROLLBACK");
          }
        }
      }
      absl::MutexLock l(&queue_mu_);
      for (Pending* p : batch) {
        if (!tx.ok()) {
          p->status = tx;
        }
        p->done = true;
      }
    }
  }

  // kCheckpointPages: WAL size (pages) past which the checkpointer runs.
  static constexpr int kCheckpointPages = 4000;

  // WalHook runs after each commit of db_ (under db_mu_): it wakes the
  // checkpointer when the WAL has grown past kCheckpointPages.
  // Under sustained writes the WAL only ever restarts at a commit that finds
  // all of it copied: past 4 x kCheckpointPages the committer copies the
  // rest itself (little, the checkpointer having done most).
  static int WalHook(void* self, sqlite3* db, const char*, int pages) {
    if (pages >= 4 * kCheckpointPages) {
      (void)sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    } else if (pages >= kCheckpointPages) {
      auto* s = static_cast<SqliteStore*>(self);
      absl::MutexLock l(&s->ckpt_mu_);
      s->ckpt_wanted_ = true;
    }
    return SQLITE_OK;
  }

  // CheckpointLoop copies the WAL back into the database file on its own
  // connection (PASSIVE: never blocks the committer or readers; SQLite
  // restarts the WAL at the next write once all of it is copied).
  void CheckpointLoop() {
    while (true) {
      {
        absl::MutexLock l(&ckpt_mu_);
        ckpt_mu_.Await(absl::Condition(
            +[](SqliteStore* s) ABSL_NO_THREAD_SAFETY_ANALYSIS {
              return s->ckpt_wanted_ || s->ckpt_stop_;
            },
            this));
        if (ckpt_stop_) {
          return;
        }
        ckpt_wanted_ = false;
      }
      int log = 0, done = 0;
      if (sqlite3_wal_checkpoint_v2(checkpoint_db_, nullptr, SQLITE_CHECKPOINT_PASSIVE, &log,
                                    &done) != SQLITE_OK) {
        std::fprintf(stderr, "store: checkpoint: %s\n", sqlite3_errmsg(checkpoint_db_));
      }
    }
  }

  absl::Mutex db_mu_;  // guards db_ (one connection, used by readers and the committer)
  sqlite3* db_;
  // One connection for readers and the committer: a second connection for
  // readers (not blocked during the commit's fsync) measured ~15 % more CPU
  // per document, its page cache being dropped after every commit.
  StmtCache stmts_;  // statements of db_, used under db_mu_
  absl::Mutex queue_mu_;
  std::deque<Pending*> queue_ ABSL_GUARDED_BY(queue_mu_);
  bool stop_ ABSL_GUARDED_BY(queue_mu_) = false;
  std::thread committer_;
  sqlite3* checkpoint_db_ = nullptr;
  absl::Mutex ckpt_mu_;
  bool ckpt_wanted_ ABSL_GUARDED_BY(ckpt_mu_) = false;
  bool ckpt_stop_ ABSL_GUARDED_BY(ckpt_mu_) = false;
  std::thread checkpointer_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Store>> OpenSqliteStore(const std::string& db_path) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(db_path.c_str(), &db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                      nullptr) != SQLITE_OK) {
    std::string msg = absl::StrCat(db_path, ": cannot open database: ",
                                   db == nullptr ? "out of memory" : sqlite3_errmsg(db));
    sqlite3_close(db);
    return absl::InternalError(msg);
  }
  sqlite3_busy_timeout(db, 10000);
  // A larger WAL between checkpoints writes hot pages (indexes, the log's
  // chain) back once per checkpoint instead of every 1000 pages.
  // temp_store=MEMORY: the group commit's savepoints keep their rollback
  // pages (the sub-journal) in memory; by default a batch past 64 KiB of them
  // created, wrote and deleted a temporary file every commit.
  absl::Status s = Exec(db,
                        "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; "
                        "PRAGMA wal_autocheckpoint=8000; PRAGMA cache_size=-8192; "
                        "PRAGMA temp_store=MEMORY;");
  if (s.ok()) {
    s = Exec(db, kSchema);
  }
  if (s.ok()) {
    for (const auto& [table, column] : kLaterColumns) {
      sqlite3_stmt* q = nullptr;
      bool has = false;
      std::string ask =
          absl::StrCat("SELECT 1 FROM pragma_table_info('", table, "') WHERE name='", column, "'");
      if (sqlite3_prepare_v2(db, ask.c_str(), -1, &q, nullptr) == SQLITE_OK) {
        has = sqlite3_step(q) == SQLITE_ROW;
      }
      sqlite3_finalize(q);
      if (!has && s.ok()) {
        s = Exec(db, absl::StrCat("ALTER TABLE ", table, " ADD COLUMN ", column, " BLOB;").c_str());
      }
    }
  }
  if (s.ok()) {
    s = CreateLogSchema(db);
  }
  if (!s.ok()) {
    sqlite3_close(db);
    return absl::Status(s.code(), absl::StrCat(db_path, ": ", s.message()));
  }
  // The checkpointer's connection; without one (it cannot open), db
  // checkpoints itself as before.
  sqlite3* ckpt = nullptr;
  if (sqlite3_open_v2(db_path.c_str(), &ckpt, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX,
                      nullptr) != SQLITE_OK ||
      !Exec(ckpt, "PRAGMA synchronous=FULL;").ok()) {
    sqlite3_close(ckpt);
    ckpt = nullptr;
  } else {
    sqlite3_busy_timeout(ckpt, 10000);
  }
  return std::unique_ptr<Store>(new SqliteStore(db, ckpt));
}

// ---------------------------------------------------------------------------
// Spool

std::string HexOf(absl::string_view bytes) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

absl::Status Spool::Init() {
  if (::mkdir(dir_.c_str(), 0700) != 0 && errno != EEXIST) {
    return PosixError(dir_, "mkdir", errno);
  }
  return absl::OkStatus();
}

std::string Spool::PathOf(absl::string_view sha256) const {
  return absl::StrCat(dir_, "/", HexOf(sha256));
}

absl::StatusOr<std::unique_ptr<Spool::Writer>> Spool::NewWriter(bool may_inline) {
  std::unique_ptr<Writer> w(new Writer());
  w->spool_ = this;
  w->dir_ = dir_;
  w->may_inline_ = may_inline;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (ctx == nullptr || EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr) != 1) {
    EVP_MD_CTX_free(ctx);
    return absl::InternalError("spool: SHA-256 init failed");
  }
  w->sha_ = ctx;
  return w;
}

Spool::Writer::~Writer() {
  if (writing_.valid()) {
    writing_.wait();  // it writes to fd_
  }
  if (fd_ >= 0) {
    ::close(fd_);
  }
  if (!finished_ && !tmp_path_.empty()) {
    ::unlink(tmp_path_.c_str());
  }
  EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(sha_));
}

namespace {

// Io runs one read or write (EINTR retried): bytes moved, or -errno.
template <typename Op>
ssize_t Io(Op op) {
  ssize_t n;
  do {
    n = op();
  } while (n < 0 && errno == EINTR);
  return n < 0 ? -errno : n;
}

absl::Status WriteAll(int fd, const std::string& path, absl::string_view data) {
  while (!data.empty()) {
    ssize_t n = Io([&] { return ::write(fd, data.data(), data.size()); });
    if (n < 0) {
      return PosixError(path, "write", static_cast<int>(-n));
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status Spool::Writer::Append(absl::string_view data) {
  EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(sha_), data.data(), data.size());
  if (fd_ < 0 && tmp_path_.empty()) {
    if (may_inline_ && size_ + data.size() <= kInlineMax) {
      buffer_.append(data.data(), data.size());
      size_ += data.size();
      return absl::OkStatus();
    }
    // Too big for the database: from here on a spool file.
    AXIS_RETURN_IF_ERROR(StartFile());
  }
  AXIS_RETURN_IF_ERROR(WriteFile(data));
  size_ += data.size();
  return absl::OkStatus();
}

namespace {

constexpr size_t kDirectAlign = 4096;  // memory, size and offset of O_DIRECT I/O

std::unique_ptr<char, void (*)(void*)> NewBlock() {
  return {static_cast<char*>(std::aligned_alloc(kDirectAlign, Spool::kBlock)), &::free};
}

// SetDirect turns O_DIRECT on or off for fd; false when the kernel refuses.
bool SetDirect(int fd, bool on) {
  int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0) {
    return false;
  }
  flags = on ? (flags | O_DIRECT) : (flags & ~O_DIRECT);
  return ::fcntl(fd, F_SETFL, flags) == 0;
}

std::atomic<bool> direct_io_refused{false};  // Spool::RefuseDirectIoForTesting

// DirectWrite and DirectRead are the I/O of an O_DIRECT descriptor.
ssize_t DirectWrite(int fd, const char* p, size_t n) {
  if (direct_io_refused.load(std::memory_order_relaxed)) {
    return -EINVAL;
  }
  return Io([&] { return ::write(fd, p, n); });
}

ssize_t DirectRead(int fd, char* p, size_t n) {
  if (direct_io_refused.load(std::memory_order_relaxed)) {
    return -EINVAL;
  }
  return Io([&] { return ::read(fd, p, n); });
}

// InBackground runs `io` on a thread of its own, or here and now when no
// thread can be started.
template <typename Work>
std::future<ssize_t> InBackground(Work io) {
  try {
    return std::async(std::launch::async, io);
  } catch (const std::system_error&) {
    std::promise<ssize_t> done;
    done.set_value(io());
    return done.get_future();
  }
}

}  // namespace

absl::Status Spool::Writer::WriteFile(absl::string_view data) {
  if (!direct_) {
    AXIS_RETURN_IF_ERROR(WriteAll(fd_, tmp_path_, data));
    // Start writing each full 8 MiB to disk now: Finish's fsync then waits
    // for the last few MB instead of the whole payload, so disk and network
    // overlap.
    constexpr uint64_t kWriteback = 8 << 20;
    uint64_t written = size_ + data.size();
    if (written - writeback_from_ >= kWriteback) {
      (void)::sync_file_range(fd_, static_cast<off_t>(writeback_from_),
                              static_cast<off_t>(written - writeback_from_),
                              SYNC_FILE_RANGE_WRITE);
      writeback_from_ = written;
    }
    return absl::OkStatus();
  }
  while (!data.empty()) {
    size_t n = std::min(data.size(), kBlock - block_used_);
    std::memcpy(block_.get() + block_used_, data.data(), n);
    block_used_ += n;
    data.remove_prefix(n);
    if (block_used_ == kBlock) {
      AXIS_RETURN_IF_ERROR(FlushBlock());
      if (!direct_) {
        // Direct writes were refused: the block went through the page
        // cache, and so does the rest.
        return WriteFile(data);
      }
    }
  }
  return absl::OkStatus();
}

void Spool::RefuseDirectIoForTesting(bool refuse) { direct_io_refused.store(refuse); }

absl::Status Spool::Writer::Settle(const char* data, size_t size, ssize_t n) {
  if (n < 0 && n != -EINVAL) {
    return PosixError(tmp_path_, "write", static_cast<int>(-n));
  }
  // EINVAL: this file system takes no direct writes after all. A short
  // write leaves an unaligned rest. Either way the rest, and the rest of
  // the payload, goes through the page cache.
  size_t done = n > 0 ? static_cast<size_t>(n) : 0;
  if (done < size) {
    direct_ = false;
    if (!SetDirect(fd_, false)) {
      return PosixError(tmp_path_, "fcntl", errno);
    }
    return WriteAll(fd_, tmp_path_, absl::string_view(data + done, size - done));
  }
  return absl::OkStatus();
}

absl::Status Spool::Writer::AwaitWrite() {
  if (!writing_.valid()) {
    return absl::OkStatus();
  }
  return Settle(spare_.get(), kBlock, writing_.get());
}

absl::Status Spool::Writer::FlushBlock() {
  AXIS_RETURN_IF_ERROR(AwaitWrite());
  if (spare_ == nullptr) {
    spare_ = NewBlock();
  }
  if (!direct_ || spare_ == nullptr) {  // fell back, or no memory for a second block
    const size_t used = block_used_;
    block_used_ = 0;
    return Settle(block_.get(), used, direct_ ? DirectWrite(fd_, block_.get(), used) : 0);
  }
  std::swap(block_, spare_);
  block_used_ = 0;
  writing_ = InBackground([fd = fd_, p = spare_.get()] { return DirectWrite(fd, p, kBlock); });
  return absl::OkStatus();
}

absl::Status Spool::Writer::FlushLast() {
  AXIS_RETURN_IF_ERROR(AwaitWrite());
  const size_t used = block_used_;
  block_used_ = 0;
  if (used == 0) {
    return absl::OkStatus();
  }
  // Whole 4 KiB units go straight to the device; the last partial one, and
  // everything once direct writes were refused (AwaitWrite may just have
  // found that out), through the page cache.
  const size_t aligned = direct_ ? used / kDirectAlign * kDirectAlign : 0;
  return Settle(block_.get(), used, aligned == 0 ? 0 : DirectWrite(fd_, block_.get(), aligned));
}

absl::Status Spool::Writer::StartFile() {
  tmp_path_ = absl::StrCat(dir_, "/.incoming-XXXXXX");
  fd_ = ::mkostemp(tmp_path_.data(), O_CLOEXEC);
  if (fd_ < 0) {
    int err = errno;
    std::string path = tmp_path_;
    tmp_path_.clear();
    return PosixError(path, "mkstemp", err);
  }
  block_ = NewBlock();
  direct_ = block_ != nullptr && SetDirect(fd_, true);
  AXIS_RETURN_IF_ERROR(WriteFile(buffer_));
  std::string().swap(buffer_);
  return absl::OkStatus();
}

absl::StatusOr<std::string> Spool::Writer::Finish() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(static_cast<EVP_MD_CTX*>(sha_), md, &len);
  std::string digest(reinterpret_cast<char*>(md), len);
  if (inlined()) {
    finished_ = true;
    return digest;
  }
  if (fd_ < 0 && tmp_path_.empty()) {
    AXIS_RETURN_IF_ERROR(StartFile());  // an empty payload that must be a file
  }
  AXIS_RETURN_IF_ERROR(FlushLast());
  if (::fsync(fd_) != 0) {
    return PosixError(tmp_path_, "fsync", errno);
  }
  ::close(fd_);
  fd_ = -1;
  std::string final_path = absl::StrCat(dir_, "/", HexOf(digest));
  if (::access(final_path.c_str(), F_OK) == 0) {
    // The same payload is spooled already (and was fsync'd before its commit).
    ::unlink(tmp_path_.c_str());
    finished_ = true;
    return digest;
  }
  if (::rename(tmp_path_.c_str(), final_path.c_str()) != 0) {
    return PosixError(final_path, "rename", errno);
  }
  finished_ = true;
  AXIS_RETURN_IF_ERROR(spool_->SyncDir());
  return digest;
}

absl::StatusOr<std::unique_ptr<Spool::Reader>> Spool::OpenPayload(
    absl::string_view sha256) const {
  std::unique_ptr<Reader> r(new Reader());
  r->path_ = PathOf(sha256);
  r->fd_ = ::open(r->path_.c_str(), O_RDONLY | O_CLOEXEC | O_DIRECT);
  if (r->fd_ < 0 && errno == EINVAL) {  // no direct I/O on this file system
    r->fd_ = ::open(r->path_.c_str(), O_RDONLY | O_CLOEXEC);
  } else if (r->fd_ >= 0) {
    r->block_ = NewBlock();
    r->next_ = NewBlock();
    r->direct_ = r->block_ != nullptr && r->next_ != nullptr;
  }
  if (r->fd_ < 0) {
    return PosixError(r->path_, "open", errno);
  }
  if (!r->direct_) {
    (void)SetDirect(r->fd_, false);
    ::posix_fadvise(r->fd_, 0, 0, POSIX_FADV_SEQUENTIAL);
  }
  return r;
}

Spool::Reader::~Reader() {
  if (reading_.valid()) {
    reading_.wait();  // it reads from fd_
  }
  if (fd_ >= 0) {
    ::close(fd_);
  }
}

absl::Status Spool::Reader::Refill() {
  ssize_t n = reading_.valid() ? reading_.get() : DirectRead(fd_, next_.get(), kBlock);
  if (n == -EINVAL) {
    // The file system refused the direct read after all (nothing was
    // read): go on through the page cache.
    direct_ = false;
    if (!SetDirect(fd_, false)) {
      return PosixError(path_, "fcntl", errno);
    }
    return absl::OkStatus();
  }
  if (n < 0) {
    return PosixError(path_, "read", static_cast<int>(-n));
  }
  std::swap(block_, next_);
  block_at_ = 0;
  block_size_ = static_cast<size_t>(n);
  // Only a read of nothing is the end (a short one need not be, on every
  // file system): read on ahead until then.
  eof_ = n == 0;
  if (!eof_) {
    reading_ = InBackground([fd = fd_, p = next_.get()] { return DirectRead(fd, p, kBlock); });
  }
  return absl::OkStatus();
}

absl::StatusOr<size_t> Spool::Reader::Read(char* dst, size_t n) {
  size_t got = 0;
  while (got < n) {
    if (direct_) {
      if (block_at_ == block_size_) {
        if (eof_) {
          break;
        }
        AXIS_RETURN_IF_ERROR(Refill());
        continue;
      }
      size_t k = std::min(n - got, block_size_ - block_at_);
      std::memcpy(dst + got, block_.get() + block_at_, k);
      block_at_ += k;
      got += k;
      continue;
    }
    ssize_t r = Io([&] { return ::read(fd_, dst + got, n - got); });
    if (r < 0) {
      return PosixError(path_, "read", static_cast<int>(-r));
    }
    if (r == 0) {
      break;
    }
    got += static_cast<size_t>(r);
  }
  return got;
}

absl::Status Spool::SyncDir() {
  absl::MutexLock l(&sync_mu_);
  uint64_t mine = ++sync_requested_;
  while (sync_done_ < mine) {
    if (syncing_) {
      // One is running; it may have started before our rename: wait for it,
      // then for (or run) the next.
      sync_mu_.Await(absl::Condition(
          +[](bool* busy) { return !*busy; }, &syncing_));
      continue;
    }
    syncing_ = true;
    uint64_t covers = sync_requested_;
    sync_mu_.Unlock();
    absl::Status st;
    int dfd = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) {
      st = PosixError(dir_, "open", errno);
    } else {
      if (::fsync(dfd) != 0) {
        st = PosixError(dir_, "fsync", errno);
      }
      ::close(dfd);
    }
    sync_mu_.Lock();
    syncing_ = false;
    if (!st.ok()) {
      return st;  // the others waiting try again themselves
    }
    sync_done_ = std::max(sync_done_, covers);
  }
  return absl::OkStatus();
}

}  // namespace axis::ss
