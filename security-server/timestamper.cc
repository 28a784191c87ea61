#include "security-server/timestamper.h"

#include <openssl/obj_mac.h>

#include <algorithm>
#include <optional>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "security-server/merkle.h"
#include "signer/timestamp.h"

namespace axis::ss {
namespace {

struct StmtCloser {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using Stmt = std::unique_ptr<sqlite3_stmt, StmtCloser>;

absl::Status SqliteError(sqlite3* db, absl::string_view what) {
  return absl::InternalError(absl::StrCat("time-stamper: ", what, ": ", sqlite3_errmsg(db)));
}

absl::StatusOr<Stmt> Prepare(sqlite3* db, const char* sql) {
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(db, sql, -1, &s, nullptr) != SQLITE_OK) {
    return SqliteError(db, "prepare");
  }
  return Stmt(s);
}

// StampedState is how far the log is stamped.
struct StampedState {
  int64_t batches = 0;
  int64_t last_seq = 0;
  std::optional<absl::Time> newest_gen_time;
  std::string last_hash;  // the newest batch's hash; GenesisHash() with none
};

absl::StatusOr<StampedState> ReadStampedState(sqlite3* db) {
  AXIS_ASSIGN_OR_RETURN(Stmt s, Prepare(db,
                                        "SELECT id, last_seq, gen_time_us, hash FROM "
                                        "message_log_batches ORDER BY id DESC LIMIT 1"));
  StampedState out;
  out.last_hash = GenesisHash();
  int rc = sqlite3_step(s.get());
  if (rc == SQLITE_ROW) {
    out.batches = sqlite3_column_int64(s.get(), 0);
    out.last_seq = sqlite3_column_int64(s.get(), 1);
    out.newest_gen_time = absl::FromUnixMicros(sqlite3_column_int64(s.get(), 2));
    const void* p = sqlite3_column_blob(s.get(), 3);
    out.last_hash.assign(p == nullptr ? "" : static_cast<const char*>(p),
                         static_cast<size_t>(sqlite3_column_bytes(s.get(), 3)));
  } else if (rc != SQLITE_DONE) {
    return SqliteError(db, "read batches");
  }
  return out;
}

// RollbackUnlessDone rolls back an open transaction when a scope is left
// early.
struct RollbackUnlessDone {
  sqlite3* db;
  bool done = false;
  ~RollbackUnlessDone() {
    if (!done && sqlite3_get_autocommit(db) == 0) {
      sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
    }
  }
};

}  // namespace

Timestamper::Timestamper(Options options, LogDb db, LogDb reader,
                         std::shared_ptr<const signer::TrustStore> trust)
    : options_(std::move(options)),
      trust_(std::move(trust)),
      db_(std::move(db)),
      reader_(std::move(reader)) {}

absl::Time Timestamper::Now() const {
  return options_.clock != nullptr ? options_.clock->Now() : absl::Now();
}

absl::StatusOr<std::unique_ptr<Timestamper>> Timestamper::Start(Options options) {
  if (options.tsa_url.empty()) {
    return absl::InvalidArgumentError("time-stamper: no TSA URL");
  }
  if (options.max_batch < 1) {
    return absl::InvalidArgumentError("time-stamper: max_batch must be at least 1");
  }
  if (options.interval <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("time-stamper: interval must be positive");
  }
  std::shared_ptr<const signer::TrustStore> trust = options.tsa_trust;
  if (trust == nullptr) {
    if (options.tsa_roots_files.empty()) {
      return absl::InvalidArgumentError(
          "time-stamper: no TSA trust (tsa_trust or tsa_roots_files)");
    }
    AXIS_ASSIGN_OR_RETURN(signer::TrustStore store,
                          signer::TrustStore::FromPemFiles(options.tsa_roots_files,
                                                           options.tsa_intermediate_files, {}));
    trust = std::make_shared<const signer::TrustStore>(std::move(store));
  }
  AXIS_ASSIGN_OR_RETURN(LogDb db, OpenLogDb(options.db_path));
  AXIS_RETURN_IF_ERROR(CreateLogSchema(db.get()));
  AXIS_ASSIGN_OR_RETURN(LogDb reader, OpenLogDb(options.db_path));

  // LastStamp at start: the newest batch's genTime when records wait, else
  // the oldest waiting record's time (no batch yet), else now.
  AXIS_ASSIGN_OR_RETURN(StampedState state, ReadStampedState(db.get()));
  std::optional<absl::Time> oldest_waiting;
  {
    AXIS_ASSIGN_OR_RETURN(Stmt s,
                          Prepare(db.get(), "SELECT at_us FROM message_log WHERE seq = ?1"));
    sqlite3_bind_int64(s.get(), 1, state.last_seq + 1);
    int rc = sqlite3_step(s.get());
    if (rc == SQLITE_ROW) {
      oldest_waiting = absl::FromUnixMicros(sqlite3_column_int64(s.get(), 0));
    } else if (rc != SQLITE_DONE) {
      return SqliteError(db.get(), "read the oldest unstamped record");
    }
  }
  absl::Time now = options.clock != nullptr ? options.clock->Now() : absl::Now();
  absl::Time last_stamp = now;
  if (oldest_waiting.has_value()) {
    last_stamp = state.newest_gen_time.value_or(*oldest_waiting);
  }

  std::unique_ptr<Timestamper> t(
      new Timestamper(std::move(options), std::move(db), std::move(reader), std::move(trust)));
  {
    absl::MutexLock lock(&t->mu_);
    t->last_stamp_ = last_stamp;
  }
  if (t->options_.run_thread) {
    t->thread_ = std::thread([p = t.get()] { p->Run(); });
  }
  return t;
}

Timestamper::~Timestamper() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  if (thread_.joinable()) {
    thread_.join();
  }
}

void Timestamper::Run() {
  absl::Duration wait = options_.interval;
  for (;;) {
    {
      mu_.LockWhenWithTimeout(absl::Condition(&stop_), wait);
      bool stop = stop_;
      mu_.Unlock();
      if (stop) {
        return;
      }
    }
    absl::Status s = StampNow();
    if (s.ok()) {
      // A full batch leaves more behind: go on at once.
      wait = Unstamped() >= options_.max_batch ? absl::ZeroDuration() : options_.interval;
    } else {
      wait = std::min(std::max(wait, options_.interval) * 2, options_.max_backoff);
    }
  }
}

absl::Status Timestamper::StampNow() {
  absl::MutexLock lock(&stamp_mu_);
  absl::Status s = StampLocked();
  absl::MutexLock state_lock(&mu_);
  last_error_ = s;
  return s;
}

absl::Status Timestamper::StampLocked() {
  sqlite3* db = db_.get();
  StampedState state;
  std::vector<std::string> hashes;
  {
    // One read snapshot: the stamped state and the records after it agree.
    RollbackUnlessDone txn{db};
    if (sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr) != SQLITE_OK) {
      return SqliteError(db, "begin");
    }
    AXIS_ASSIGN_OR_RETURN(state, ReadStampedState(db));
    AXIS_ASSIGN_OR_RETURN(
        Stmt s,
        Prepare(db, "SELECT seq, hash FROM message_log WHERE seq > ?1 ORDER BY seq LIMIT ?2"));
    sqlite3_bind_int64(s.get(), 1, state.last_seq);
    sqlite3_bind_int64(s.get(), 2, options_.max_batch);
    int rc;
    while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
      int64_t seq = sqlite3_column_int64(s.get(), 0);
      if (seq != state.last_seq + 1 + static_cast<int64_t>(hashes.size())) {
        return absl::DataLossError(absl::StrCat("time-stamper: message log record ",
                                                state.last_seq + 1 + hashes.size(), " missing"));
      }
      const void* p = sqlite3_column_blob(s.get(), 1);
      hashes.emplace_back(static_cast<const char*>(p),
                          static_cast<size_t>(sqlite3_column_bytes(s.get(), 1)));
    }
    if (rc != SQLITE_DONE) {
      return SqliteError(db, "read records");
    }
    s.reset();
    sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
    txn.done = true;
  }
  if (hashes.empty()) {
    // Nothing waits: the log is fully stamped as of now.
    absl::MutexLock lock(&mu_);
    last_stamp_ = std::max(last_stamp_, Now());
    return absl::OkStatus();
  }

  const int64_t first = state.last_seq + 1;
  const int64_t last = state.last_seq + static_cast<int64_t>(hashes.size());
  const std::string root = MerkleRoot(hashes);
  const signer::MessageImprint imprint{NID_sha256, root};
  signer::TimestampRequestOptions request;
  request.timeout = options_.request_timeout;
  // No database lock is held while the TSA answers.
  AXIS_ASSIGN_OR_RETURN(std::string token,
                        signer::RequestTimestamp(options_.tsa_url, imprint, request));
  AXIS_ASSIGN_OR_RETURN(signer::TimestampInfo info,
                        signer::VerifyTimestampToken(token, imprint, *trust_));

  {
    RollbackUnlessDone txn{db};
    if (sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK) {
      return SqliteError(db, "begin immediate");
    }
    AXIS_ASSIGN_OR_RETURN(StampedState now_state, ReadStampedState(db));
    if (now_state.batches != state.batches || now_state.last_seq != state.last_seq) {
      return absl::AbortedError(
          "time-stamper: another writer stored a batch meanwhile (two time-stampers?)");
    }
    const int64_t id = state.batches + 1;
    const int64_t gen_us = absl::ToUnixMicros(info.gen_time);
    const std::string hash = BatchHash(id, first, last, root, token, gen_us, now_state.last_hash);
    {
      AXIS_ASSIGN_OR_RETURN(
          Stmt s, Prepare(db,
                          "INSERT INTO message_log_batches (id, first_seq, last_seq, root, "
                          "token, gen_time_us, prev_hash, hash) "
                          "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"));
      sqlite3_bind_int64(s.get(), 1, id);
      sqlite3_bind_int64(s.get(), 2, first);
      sqlite3_bind_int64(s.get(), 3, last);
      sqlite3_bind_blob(s.get(), 4, root.data(), static_cast<int>(root.size()), SQLITE_STATIC);
      sqlite3_bind_blob(s.get(), 5, token.data(), static_cast<int>(token.size()), SQLITE_STATIC);
      sqlite3_bind_int64(s.get(), 6, gen_us);
      sqlite3_bind_blob(s.get(), 7, now_state.last_hash.data(),
                        static_cast<int>(now_state.last_hash.size()), SQLITE_STATIC);
      sqlite3_bind_blob(s.get(), 8, hash.data(), static_cast<int>(hash.size()), SQLITE_STATIC);
      if (sqlite3_step(s.get()) != SQLITE_DONE) {
        return SqliteError(db, absl::StrCat("store batch ", id));
      }
    }
    {
      AXIS_ASSIGN_OR_RETURN(Stmt s,
                            Prepare(db,
                                    "UPDATE message_log_head SET batches = ?1, batch_hash = ?2 "
                                    "WHERE id = 1"));
      sqlite3_bind_int64(s.get(), 1, id);
      sqlite3_bind_blob(s.get(), 2, hash.data(), static_cast<int>(hash.size()), SQLITE_STATIC);
      if (sqlite3_step(s.get()) != SQLITE_DONE || sqlite3_changes(db) != 1) {
        return SqliteError(db, "update head");
      }
    }
    if (sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) {
      return SqliteError(db, "commit");
    }
    txn.done = true;
  }
  absl::MutexLock lock(&mu_);
  last_stamp_ = std::max(last_stamp_, info.gen_time);
  return absl::OkStatus();
}

absl::Time Timestamper::LastStamp() const {
  absl::MutexLock lock(&mu_);
  return last_stamp_;
}

bool Timestamper::Overdue() const { return Now() - LastStamp() > options_.max_unstamped_age; }

absl::Status Timestamper::LastError() const {
  absl::MutexLock lock(&mu_);
  return last_error_;
}

int64_t Timestamper::Unstamped() const {
  absl::MutexLock lock(&reader_mu_);
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(reader_.get(),
                         "SELECT (SELECT seq FROM message_log_head WHERE id = 1) - "
                         "(SELECT COALESCE(MAX(last_seq), 0) FROM message_log_batches)",
                         -1, &raw, nullptr) != SQLITE_OK) {
    return -1;
  }
  Stmt s(raw);
  if (sqlite3_step(s.get()) != SQLITE_ROW || sqlite3_column_type(s.get(), 0) == SQLITE_NULL) {
    return -1;
  }
  return sqlite3_column_int64(s.get(), 0);
}

}  // namespace axis::ss
