#include "security-server/log_audit.h"

#include <openssl/ts.h>

#include <optional>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/c_ptr.h"
#include "common/status_macros.h"
#include "security-server/merkle.h"

namespace axis::ss {
namespace {

// Stmt owns a prepared statement.
struct StmtCloser {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using Stmt = std::unique_ptr<sqlite3_stmt, StmtCloser>;

absl::StatusOr<Stmt> Prepare(sqlite3* db, const char* sql) {
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(db, sql, -1, &s, nullptr) != SQLITE_OK) {
    return absl::InternalError(absl::StrCat("message log: ", sqlite3_errmsg(db)));
  }
  return Stmt(s);
}

const char* TypeName(int type) {
  switch (type) {
    case SQLITE_INTEGER:
      return "INTEGER";
    case SQLITE_FLOAT:
      return "REAL";
    case SQLITE_TEXT:
      return "TEXT";
    case SQLITE_BLOB:
      return "BLOB";
    default:
      return "NULL";
  }
}

std::string ColumnBytes(sqlite3_stmt* s, int col) {
  const void* p = sqlite3_column_blob(s, col);
  int n = sqlite3_column_bytes(s, col);
  return p == nullptr ? std::string()
                      : std::string(static_cast<const char*>(p), static_cast<size_t>(n));
}

// ColumnTypeProblem returns why columns [0, n) of the current row do not
// have `types` ("" when they do): a stored value whose type changed would
// otherwise hash as something else and blur the reason.
std::string ColumnTypeProblem(sqlite3_stmt* s, const std::vector<int>& types) {
  for (size_t i = 0; i < types.size(); ++i) {
    int actual = sqlite3_column_type(s, static_cast<int>(i));
    if (actual != types[i]) {
      return absl::StrCat("column ", sqlite3_column_name(s, static_cast<int>(i)), " holds ",
                          TypeName(actual), ", not ", TypeName(types[i]));
    }
  }
  return "";
}

bool IsCorruption(int rc) {
  int primary = rc & 0xff;
  return primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB;
}

// UnverifiedToken is what a token says, read without checking its signature.
struct UnverifiedToken {
  std::string imprint;
  absl::Time gen_time;
};

absl::StatusOr<UnverifiedToken> ParseTokenUnverified(const std::string& der) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  UniquePtr<PKCS7> token(d2i_PKCS7(nullptr, &p, static_cast<long>(der.size())));
  if (token == nullptr || p != reinterpret_cast<const unsigned char*>(der.data()) + der.size()) {
    return absl::InvalidArgumentError("malformed time-stamp token");
  }
  UniquePtr<TS_TST_INFO> info(PKCS7_to_TS_TST_INFO(token.get()));
  if (info == nullptr) {
    return absl::InvalidArgumentError("malformed time-stamp token (no TSTInfo)");
  }
  TS_MSG_IMPRINT* mi = TS_TST_INFO_get_msg_imprint(info.get());
  ASN1_OCTET_STRING* digest = TS_MSG_IMPRINT_get_msg(mi);
  UnverifiedToken out;
  out.imprint.assign(reinterpret_cast<const char*>(ASN1_STRING_get0_data(digest)),
                     static_cast<size_t>(ASN1_STRING_length(digest)));
  out.gen_time = signer::Asn1TimeToAbsl(TS_TST_INFO_get_time(info.get()));
  return out;
}

// Auditor walks one snapshot of the log and stops at the first fault.
class Auditor {
 public:
  Auditor(sqlite3* db, const signer::TrustStore* trust) : db_(db), trust_(trust) {
    result_.tokens_verified = trust != nullptr;
  }

  absl::StatusOr<LogAuditResult> Run() {
    AXIS_RETURN_IF_ERROR(CheckTablesExist());
    if (sqlite3_exec(db_, "BEGIN", nullptr, nullptr, nullptr) != SQLITE_OK) {
      return absl::InternalError(absl::StrCat("message log: ", sqlite3_errmsg(db_)));
    }
    AXIS_RETURN_IF_ERROR(Walk());
    if (!broken_) {
      AXIS_RETURN_IF_ERROR(Head());
    }
    if (!broken_) {
      AXIS_RETURN_IF_ERROR(IntegrityCheck());
    }
    sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr);
    result_.ok = !broken_;
    return result_;
  }

 private:
  void Broken(int64_t seq, int64_t batch, std::string reason) {
    broken_ = true;
    result_.first_broken_seq = seq;
    result_.first_broken_batch = batch;
    result_.reason = std::move(reason);
  }

  // StepFailed turns a failed sqlite3_step into a verdict (corruption) or
  // an error.
  absl::Status StepFailed(int rc, int64_t seq, int64_t batch, absl::string_view where) {
    if (IsCorruption(rc)) {
      Broken(seq, batch,
             absl::StrCat("database file is corrupt (", where, "): ", sqlite3_errmsg(db_)));
      return absl::OkStatus();
    }
    return absl::InternalError(absl::StrCat("message log: ", where, ": ", sqlite3_errmsg(db_)));
  }

  absl::Status CheckTablesExist() {
    AXIS_ASSIGN_OR_RETURN(
        Stmt s, Prepare(db_,
                        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN "
                        "('message_log', 'message_log_head', 'message_log_batches')"));
    int rc = sqlite3_step(s.get());
    if (rc != SQLITE_ROW) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot read the database schema: ", sqlite3_errmsg(db_)));
    }
    if (sqlite3_column_int(s.get(), 0) != 3) {
      return absl::InvalidArgumentError(
          "no message log here (tables message_log, message_log_head, message_log_batches)");
    }
    return absl::OkStatus();
  }

  // PendingBatch is the batch whose records the walk is reading.
  struct PendingBatch {
    int64_t id = 0;
    int64_t first = 0;
    int64_t last = 0;
    std::string root;
    std::string token;
    int64_t gen_time_us = 0;
    std::string prev_hash;
    std::string hash;
    std::vector<std::string> leaves;
  };

  // NextBatch reads the next batch row into pending_ (none when the table
  // is done) and checks that it follows the previous one.
  absl::Status NextBatch(sqlite3_stmt* s) {
    pending_.reset();
    const int64_t expected_id = batch_count_ + 1;
    const std::string name = absl::StrCat("batch ", expected_id);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) {
      return absl::OkStatus();
    }
    if (rc != SQLITE_ROW) {
      return StepFailed(rc, next_first_, expected_id, absl::StrCat("reading ", name));
    }
    static const std::vector<int> kTypes = {SQLITE_INTEGER, SQLITE_INTEGER, SQLITE_INTEGER,
                                            SQLITE_BLOB,    SQLITE_BLOB,    SQLITE_INTEGER,
                                            SQLITE_BLOB,    SQLITE_BLOB};
    PendingBatch b;
    b.id = sqlite3_column_int64(s, 0);
    if (b.id != expected_id) {
      Broken(next_first_, expected_id, absl::StrCat(name, " missing"));
      return absl::OkStatus();
    }
    if (std::string problem = ColumnTypeProblem(s, kTypes); !problem.empty()) {
      Broken(next_first_, b.id, absl::StrCat(name, ": ", problem));
      return absl::OkStatus();
    }
    b.first = sqlite3_column_int64(s, 1);
    b.last = sqlite3_column_int64(s, 2);
    b.root = ColumnBytes(s, 3);
    b.token = ColumnBytes(s, 4);
    b.gen_time_us = sqlite3_column_int64(s, 5);
    b.prev_hash = ColumnBytes(s, 6);
    b.hash = ColumnBytes(s, 7);
    if (b.first != next_first_) {
      Broken(next_first_, b.id,
             absl::StrCat(name, ": starts at record ", b.first, ", not at record ", next_first_));
      return absl::OkStatus();
    }
    if (b.last < b.first) {
      Broken(b.first, b.id,
             absl::StrCat(name, ": covers no records (", b.first, "..", b.last, ")"));
      return absl::OkStatus();
    }
    pending_ = std::move(b);
    return absl::OkStatus();
  }

  // CheckBatch checks pending_, whose records have all been read.
  void CheckBatch() {
    PendingBatch& b = *pending_;
    const std::string name = absl::StrCat("batch ", b.id);
    if (MerkleRoot(b.leaves) != b.root) {
      Broken(b.first, b.id, absl::StrCat(name, ": stored Merkle root does not match its records"));
      return;
    }
    const absl::Time gen_time = absl::FromUnixMicros(b.gen_time_us);
    if (std::string problem = TokenProblem(b.token, b.root, gen_time); !problem.empty()) {
      Broken(b.first, b.id, absl::StrCat(name, ": ", problem));
      return;
    }
    // Last, the batch's own hash: it covers the bytes of the token its
    // signature does not (the certificates), and the order of batches.
    if (BatchHash(b.id, b.first, b.last, b.root, b.token, b.gen_time_us, b.prev_hash) != b.hash) {
      Broken(b.first, b.id, absl::StrCat(name, ": hash does not match its content"));
      return;
    }
    if (b.prev_hash != last_batch_hash_) {
      Broken(b.first, b.id, absl::StrCat(name, ": previous-hash link broken"));
      return;
    }
    batch_count_ = b.id;
    last_batch_hash_ = b.hash;
    next_first_ = b.last + 1;
    result_.batches = b.id;
    result_.stamped = b.last;
    result_.last_stamp = gen_time;
  }

  // Walk reads the records in order and the batches beside them, so memory
  // holds one batch's leaves, not the whole log's hashes.
  absl::Status Walk() {
    AXIS_ASSIGN_OR_RETURN(Stmt records, Prepare(db_,
                                                "SELECT seq, at_us, event, message_id, peer, "
                                                "data, prev_hash, hash FROM message_log "
                                                "ORDER BY seq"));
    AXIS_ASSIGN_OR_RETURN(Stmt batches, Prepare(db_,
                                                "SELECT id, first_seq, last_seq, root, token, "
                                                "gen_time_us, prev_hash, hash FROM "
                                                "message_log_batches ORDER BY id"));
    AXIS_RETURN_IF_ERROR(NextBatch(batches.get()));
    static const std::vector<int> kTypes = {SQLITE_INTEGER, SQLITE_INTEGER, SQLITE_INTEGER,
                                            SQLITE_TEXT,    SQLITE_TEXT,    SQLITE_BLOB,
                                            SQLITE_BLOB,    SQLITE_BLOB};
    int64_t expected = 1;
    int rc;
    while (!broken_ && (rc = sqlite3_step(records.get())) == SQLITE_ROW) {
      sqlite3_stmt* s = records.get();
      LogRecord r;
      r.seq = sqlite3_column_int64(s, 0);
      if (r.seq != expected) {
        Broken(expected, 0,
               r.seq > expected ? absl::StrCat("record ", expected, " missing")
                                : absl::StrCat("record ", r.seq, ": sequence number out of range"));
        return absl::OkStatus();
      }
      if (std::string problem = ColumnTypeProblem(s, kTypes); !problem.empty()) {
        Broken(r.seq, 0, absl::StrCat("record ", r.seq, ": ", problem));
        return absl::OkStatus();
      }
      r.at_us = sqlite3_column_int64(s, 1);
      r.event = sqlite3_column_int64(s, 2);
      r.message_id = ColumnBytes(s, 3);
      r.peer = ColumnBytes(s, 4);
      r.data = ColumnBytes(s, 5);
      r.prev_hash = ColumnBytes(s, 6);
      r.hash = ColumnBytes(s, 7);
      if (RecordHash(r) != r.hash) {
        Broken(r.seq, 0, absl::StrCat("record ", r.seq, ": hash does not match its content"));
        return absl::OkStatus();
      }
      if (r.prev_hash != last_hash_) {
        Broken(r.seq, 0, absl::StrCat("record ", r.seq, ": previous-hash link broken"));
        return absl::OkStatus();
      }
      if (r.event < static_cast<int64_t>(LogEvent::kAccepted) ||
          r.event > static_cast<int64_t>(LogEvent::kStatus)) {
        Broken(r.seq, 0, absl::StrCat("record ", r.seq, ": unknown event ", r.event));
        return absl::OkStatus();
      }
      last_hash_ = r.hash;
      result_.records = r.seq;
      ++expected;
      if (pending_.has_value()) {
        // Batches start at next_first_, and records come without gaps, so
        // this record belongs to the pending batch.
        pending_->leaves.push_back(std::move(r.hash));
        if (r.seq == pending_->last) {
          CheckBatch();
          if (!broken_) {
            AXIS_RETURN_IF_ERROR(NextBatch(batches.get()));
          }
        }
      }
    }
    if (broken_) {
      return absl::OkStatus();
    }
    if (rc != SQLITE_DONE) {
      return StepFailed(rc, expected, 0, absl::StrCat("reading record ", expected));
    }
    if (pending_.has_value()) {
      Broken(pending_->first, pending_->id,
             absl::StrCat("batch ", pending_->id, ": covers records ", pending_->first, "..",
                          pending_->last, ", outside the log's records 1..", result_.records));
    }
    return absl::OkStatus();
  }

  absl::Status Head() {
    AXIS_ASSIGN_OR_RETURN(
        Stmt s, Prepare(db_, "SELECT id, seq, hash, batches, batch_hash FROM message_log_head"));
    const int64_t last = result_.records;
    int rc = sqlite3_step(s.get());
    if (rc == SQLITE_DONE) {
      Broken(last, 0, "the head row is missing (message_log_head)");
      return absl::OkStatus();
    }
    if (rc != SQLITE_ROW) {
      return StepFailed(rc, last, 0, "reading the head");
    }
    static const std::vector<int> kTypes = {SQLITE_INTEGER, SQLITE_INTEGER, SQLITE_BLOB,
                                            SQLITE_INTEGER, SQLITE_BLOB};
    if (std::string problem = ColumnTypeProblem(s.get(), kTypes); !problem.empty()) {
      Broken(last, 0, absl::StrCat("head: ", problem));
      return absl::OkStatus();
    }
    const int64_t id = sqlite3_column_int64(s.get(), 0);
    const int64_t seq = sqlite3_column_int64(s.get(), 1);
    const std::string hash = ColumnBytes(s.get(), 2);
    const int64_t batches = sqlite3_column_int64(s.get(), 3);
    const std::string batch_hash = ColumnBytes(s.get(), 4);
    if (id != 1) {
      Broken(last, 0, absl::StrCat("head: row id is ", id, ", not 1"));
    } else if (seq > last) {
      Broken(last + 1, 0,
             absl::StrCat("record ", last + 1, " missing (the log ends at record ", last,
                          ", its head at record ", seq, ")"));
    } else if (seq < last) {
      Broken(seq + 1, 0,
             absl::StrCat("record ", seq + 1, ": not in the head (the head ends at record ", seq,
                          ")"));
    } else if (hash != last_hash_) {
      Broken(last, 0,
             last == 0 ? std::string("head: hash of the empty log is not zero")
                       : absl::StrCat("record ", last, ": hash differs from the head's"));
    } else if (batches > batch_count_) {
      Broken(next_first_, batch_count_ + 1,
             absl::StrCat("batch ", batch_count_ + 1, " missing (the head records ", batches,
                          " batches)"));
    } else if (batches < batch_count_) {
      Broken(result_.stamped, batches + 1,
             absl::StrCat("batch ", batches + 1, ": not in the head (the head records ", batches,
                          " batches)"));
    } else if (batch_hash != last_batch_hash_) {
      Broken(result_.stamped, batch_count_,
             batch_count_ == 0
                 ? std::string("head: batch hash of a log without batches is not zero")
                 : absl::StrCat("batch ", batch_count_, ": hash differs from the head's"));
    }
    if (broken_) {
      return absl::OkStatus();
    }
    rc = sqlite3_step(s.get());
    if (rc == SQLITE_ROW) {
      Broken(last, 0, "head: more than one head row");
    } else if (rc != SQLITE_DONE) {
      return StepFailed(rc, last, 0, "reading the head");
    }
    return absl::OkStatus();
  }

  // TokenProblem returns why `token` does not time-stamp `root` at
  // `gen_time`, or "".
  std::string TokenProblem(const std::string& token, const std::string& root, absl::Time gen_time) {
    if (trust_ != nullptr) {
      absl::StatusOr<signer::TimestampInfo> info =
          signer::VerifyTimestampToken(token, signer::MessageImprint{NID_sha256, root}, *trust_);
      if (!info.ok()) {
        if (absl::StrContains(info.status().message(), "over other data")) {
          return "time-stamp imprint is not the Merkle root";
        }
        return absl::StrCat("time-stamp token: ", std::string(info.status().message()));
      }
      if (info->gen_time != gen_time) {
        return absl::StrCat("stored time ", absl::FormatTime(gen_time),
                            " is not the token's genTime ", absl::FormatTime(info->gen_time));
      }
      return "";
    }
    absl::StatusOr<UnverifiedToken> parsed = ParseTokenUnverified(token);
    if (!parsed.ok()) {
      return absl::StrCat("time-stamp token: ", std::string(parsed.status().message()));
    }
    if (parsed->imprint != root) {
      return "time-stamp imprint is not the Merkle root";
    }
    // ASN1_TIME_to_tm drops fractions of a second: compare whole seconds.
    if (absl::ToUnixSeconds(parsed->gen_time) != absl::ToUnixSeconds(gen_time)) {
      return absl::StrCat("stored time ", absl::FormatTime(gen_time),
                          " is not the token's genTime ", absl::FormatTime(parsed->gen_time));
    }
    return "";
  }

  absl::Status IntegrityCheck() {
    AXIS_ASSIGN_OR_RETURN(Stmt s, Prepare(db_, "PRAGMA integrity_check"));
    int rc = sqlite3_step(s.get());
    if (rc == SQLITE_ROW) {
      std::string first = ColumnBytes(s.get(), 0);
      if (first != "ok") {
        Broken(0, 0, absl::StrCat("database file is corrupt: ", first));
      }
      return absl::OkStatus();
    }
    return StepFailed(rc, 0, 0, "integrity check");
  }

  sqlite3* db_;
  const signer::TrustStore* trust_;
  LogAuditResult result_;
  bool broken_ = false;
  std::string last_hash_ = GenesisHash();  // the newest record's hash
  std::optional<PendingBatch> pending_;
  int64_t batch_count_ = 0;                      // batches checked
  std::string last_batch_hash_ = GenesisHash();  // the newest checked batch's hash
  int64_t next_first_ = 1;                       // the next batch's first record
};

}  // namespace

absl::Status AuditStatus(const LogAuditResult& result) {
  if (result.ok) {
    return absl::OkStatus();
  }
  return absl::DataLossError(result.reason);
}

absl::StatusOr<LogAuditResult> AuditLog(const std::string& db_path,
                                        const signer::TrustStore* tsa_trust) {
  absl::StatusOr<LogDb> db = OpenLogDb(db_path, /*read_only=*/true);
  if (!db.ok()) {
    // A file SQLite cannot even read the header of is corrupt, but with no
    // record to name it is unreadable to us.
    return db.status();
  }
  Auditor auditor(db->get(), tsa_trust);
  absl::StatusOr<LogAuditResult> result = auditor.Run();
  if (!result.ok()) {
    return absl::Status(result.status().code(),
                        absl::StrCat(db_path, ": ", std::string(result.status().message())));
  }
  return result;
}

absl::StatusOr<RecordProof> MerkleProof(sqlite3* db, int64_t seq) {
  RecordProof proof;
  {
    AXIS_ASSIGN_OR_RETURN(Stmt s, Prepare(db,
                                          "SELECT seq, at_us, event, message_id, peer, data, "
                                          "prev_hash, hash FROM message_log WHERE seq = ?1"));
    sqlite3_bind_int64(s.get(), 1, seq);
    int rc = sqlite3_step(s.get());
    if (rc == SQLITE_DONE) {
      return absl::NotFoundError(absl::StrCat("message log: no record ", seq));
    }
    if (rc != SQLITE_ROW) {
      return absl::InternalError(
          absl::StrCat("message log: record ", seq, ": ", sqlite3_errmsg(db)));
    }
    LogRecord& r = proof.record;
    r.seq = sqlite3_column_int64(s.get(), 0);
    r.at_us = sqlite3_column_int64(s.get(), 1);
    r.event = sqlite3_column_int64(s.get(), 2);
    r.message_id = ColumnBytes(s.get(), 3);
    r.peer = ColumnBytes(s.get(), 4);
    r.data = ColumnBytes(s.get(), 5);
    r.prev_hash = ColumnBytes(s.get(), 6);
    r.hash = ColumnBytes(s.get(), 7);
  }
  {
    AXIS_ASSIGN_OR_RETURN(Stmt s, Prepare(db,
                                          "SELECT id, first_seq, last_seq, root, token, "
                                          "gen_time_us FROM message_log_batches "
                                          "WHERE first_seq <= ?1 AND last_seq >= ?1 "
                                          "ORDER BY id LIMIT 1"));
    sqlite3_bind_int64(s.get(), 1, seq);
    int rc = sqlite3_step(s.get());
    if (rc == SQLITE_DONE) {
      return absl::FailedPreconditionError(
          absl::StrCat("message log: record ", seq, " is not time-stamped yet"));
    }
    if (rc != SQLITE_ROW) {
      return absl::InternalError(
          absl::StrCat("message log: batch of record ", seq, ": ", sqlite3_errmsg(db)));
    }
    proof.batch_id = sqlite3_column_int64(s.get(), 0);
    proof.batch_first_seq = sqlite3_column_int64(s.get(), 1);
    proof.batch_size = sqlite3_column_int64(s.get(), 2) - proof.batch_first_seq + 1;
    proof.index = seq - proof.batch_first_seq;
    proof.root = ColumnBytes(s.get(), 3);
    proof.token = ColumnBytes(s.get(), 4);
    proof.gen_time = absl::FromUnixMicros(sqlite3_column_int64(s.get(), 5));
  }
  std::vector<std::string> leaves;
  leaves.reserve(static_cast<size_t>(proof.batch_size));
  {
    AXIS_ASSIGN_OR_RETURN(Stmt s,
                          Prepare(db,
                                  "SELECT seq, hash FROM message_log WHERE seq BETWEEN ?1 AND ?2 "
                                  "ORDER BY seq"));
    sqlite3_bind_int64(s.get(), 1, proof.batch_first_seq);
    sqlite3_bind_int64(s.get(), 2, proof.batch_first_seq + proof.batch_size - 1);
    int rc;
    while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
      if (sqlite3_column_int64(s.get(), 0) !=
          proof.batch_first_seq + static_cast<int64_t>(leaves.size())) {
        return absl::DataLossError(absl::StrCat("message log: batch ", proof.batch_id,
                                                " lacks record ",
                                                proof.batch_first_seq + leaves.size()));
      }
      leaves.push_back(ColumnBytes(s.get(), 1));
    }
    if (rc != SQLITE_DONE) {
      return absl::InternalError(
          absl::StrCat("message log: batch ", proof.batch_id, ": ", sqlite3_errmsg(db)));
    }
  }
  if (static_cast<int64_t>(leaves.size()) != proof.batch_size) {
    return absl::DataLossError(
        absl::StrCat("message log: batch ", proof.batch_id, " lacks its last records"));
  }
  proof.path = MerklePath(leaves, static_cast<size_t>(proof.index));
  return proof;
}

absl::StatusOr<signer::TimestampInfo> CheckRecordProof(const RecordProof& proof,
                                                       const signer::TrustStore& trust) {
  if (RecordHash(proof.record) != proof.record.hash) {
    return absl::DataLossError(
        absl::StrCat("record ", proof.record.seq, ": hash does not match its content"));
  }
  if (proof.index < 0 || proof.record.seq != proof.batch_first_seq + proof.index) {
    return absl::DataLossError(absl::StrCat("record ", proof.record.seq,
                                            ": Merkle index does not match its sequence number"));
  }
  absl::Status path =
      VerifyMerklePath(proof.record.hash, static_cast<uint64_t>(proof.index),
                       static_cast<uint64_t>(proof.batch_size), proof.path, proof.root);
  if (!path.ok()) {
    return absl::DataLossError(
        absl::StrCat("record ", proof.record.seq, ": ", std::string(path.message())));
  }
  return signer::VerifyTimestampToken(proof.token, signer::MessageImprint{NID_sha256, proof.root},
                                      trust);
}

}  // namespace axis::ss
