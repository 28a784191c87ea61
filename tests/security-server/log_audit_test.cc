// Tests of AuditLog: an intact log passes, and any byte changed in the log
// database (through SQL, in every stored column of every table, or in the
// file itself) is found and the first broken record or batch is named.
#include "security-server/log_audit.h"

#include <sqlite3.h>

#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "security-server/timestamper.h"
#include "tests/security-server/log_fixture.h"
#include "tests/testing/process.h"

namespace axis::ss {
namespace {

using ::testing::HasSubstr;
namespace at = ::axis::testing;

// The pristine log: records 1..36; batch 1 stamps 1..20, batch 2 21..30;
// 31..36 wait for a stamp. Built once (with the real TSA), checkpointed
// into the main file, then copied for each case.
constexpr int kRecords = 36;

class LogAuditTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(at::MakeTempDir("log-audit"));
    pristine_ = new std::string(*dir_ + "/pristine.db");
    test::TsaProcess tsa(*dir_);
    tsa.Start();
    absl::StatusOr<LogDb> db = OpenLogDb(*pristine_);
    ASSERT_TRUE(db.ok()) << db.status();
    ASSERT_TRUE(CreateLogSchema(db->get()).ok());
    test::AppendNumbered(db->get(), 30);
    {
      Timestamper::Options o;
      o.db_path = *pristine_;
      o.tsa_url = tsa.url();
      o.tsa_trust = test::TsaTrust();
      o.run_thread = false;
      o.max_batch = 20;
      absl::StatusOr<std::unique_ptr<Timestamper>> t = Timestamper::Start(o);
      ASSERT_TRUE(t.ok()) << t.status();
      ASSERT_TRUE((*t)->StampNow().ok());
      ASSERT_TRUE((*t)->StampNow().ok());
    }
    test::AppendNumbered(db->get(), kRecords - 30);
    ASSERT_TRUE(ExecSql(db->get(), "PRAGMA wal_checkpoint(TRUNCATE)").ok());
    tsa.Stop();
  }

  static void TearDownTestSuite() {
    delete dir_;
    delete pristine_;
  }

  // Copy makes a fresh copy of the pristine log.
  std::string Copy() {
    std::string path = absl::StrCat(*dir_, "/case-", ++cases_, ".db");
    test::CopyDb(*pristine_, path);
    return path;
  }

  // Tamper runs `sql` on `path` as an attacker would: without the
  // append-only triggers and CHECK constraints.
  void Tamper(const std::string& path, const std::string& sql,
              const std::vector<std::string>& blobs = {}) {
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &raw), SQLITE_OK);
    LogDb db(raw);
    ASSERT_TRUE(ExecSql(db.get(),
                        "DROP TRIGGER message_log_no_update; DROP TRIGGER message_log_no_delete; "
                        "DROP TRIGGER message_log_batches_no_update; "
                        "DROP TRIGGER message_log_batches_no_delete; "
                        "PRAGMA ignore_check_constraints = ON")
                    .ok());
    sqlite3_stmt* s = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db.get(), sql.c_str(), -1, &s, nullptr), SQLITE_OK)
        << sqlite3_errmsg(db.get());
    for (size_t i = 0; i < blobs.size(); ++i) {
      sqlite3_bind_blob(s, static_cast<int>(i + 1), blobs[i].data(),
                        static_cast<int>(blobs[i].size()), SQLITE_TRANSIENT);
    }
    int rc = sqlite3_step(s);
    sqlite3_finalize(s);
    ASSERT_EQ(rc, SQLITE_DONE) << sql << ": " << sqlite3_errmsg(db.get());
    ASSERT_EQ(sqlite3_changes(db.get()), 1) << sql;
    ASSERT_TRUE(ExecSql(db.get(), "PRAGMA wal_checkpoint(TRUNCATE)").ok());
  }

  // ChangeOneByte rewrites column `column` of the row `where` in `table`
  // with one byte changed: for an integer, its second-lowest byte (so a
  // sequence number moves away from its neighbours); for text or a blob,
  // the byte at `offset` (the middle when negative).
  void ChangeOneByte(const std::string& path, const std::string& table, const std::string& column,
                     const std::string& where, int offset = -1) {
    std::string value;
    int type = 0;
    {
      sqlite3* raw = nullptr;
      ASSERT_EQ(sqlite3_open(path.c_str(), &raw), SQLITE_OK);
      LogDb db(raw);
      std::string sql = absl::StrCat("SELECT ", column, " FROM ", table, " WHERE ", where);
      sqlite3_stmt* s = nullptr;
      ASSERT_EQ(sqlite3_prepare_v2(db.get(), sql.c_str(), -1, &s, nullptr), SQLITE_OK) << sql;
      ASSERT_EQ(sqlite3_step(s), SQLITE_ROW) << sql;
      type = sqlite3_column_type(s, 0);
      if (type == SQLITE_INTEGER) {
        value = std::to_string(sqlite3_column_int64(s, 0) ^ 0x100);
      } else {
        const char* p = static_cast<const char*>(sqlite3_column_blob(s, 0));
        value.assign(p, static_cast<size_t>(sqlite3_column_bytes(s, 0)));
      }
      sqlite3_finalize(s);
    }
    std::string set;
    std::vector<std::string> blobs;
    if (type == SQLITE_INTEGER) {
      set = value;
    } else {
      ASSERT_FALSE(value.empty()) << table << "." << column;
      size_t at = offset < 0 ? value.size() / 2 : static_cast<size_t>(offset);
      ASSERT_LT(at, value.size());
      value[at] ^= 0x01;
      set = type == SQLITE_TEXT ? "CAST(?1 AS TEXT)" : "?1";
      blobs.push_back(value);
    }
    Tamper(path, absl::StrCat("UPDATE ", table, " SET ", column, " = ", set, " WHERE ", where),
           blobs);
  }

  LogAuditResult Audit(const std::string& path) {
    std::shared_ptr<const signer::TrustStore> trust = test::TsaTrust();
    absl::StatusOr<LogAuditResult> r = AuditLog(path, trust.get());
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : LogAuditResult{};
  }

  static std::string* dir_;
  static std::string* pristine_;
  int cases_ = 0;
};

std::string* LogAuditTest::dir_ = nullptr;
std::string* LogAuditTest::pristine_ = nullptr;

TEST_F(LogAuditTest, IntactLogPassesWithEveryRecordAndBatchChecked) {
  LogAuditResult r = Audit(Copy());
  EXPECT_TRUE(r.ok) << r.reason;
  EXPECT_EQ(r.records, kRecords);
  EXPECT_EQ(r.stamped, 30);
  EXPECT_EQ(r.batches, 2);
  EXPECT_TRUE(r.tokens_verified);
  EXPECT_TRUE(AuditStatus(r).ok());
}

TEST_F(LogAuditTest, AnyByteChangedInAnyRecordColumnNamesThatRecord) {
  const std::vector<std::string> columns = {"seq",  "at_us", "event",     "message_id",
                                            "peer", "data",  "prev_hash", "hash"};
  for (int seq : {1, 17, 25, kRecords}) {
    for (const std::string& column : columns) {
      SCOPED_TRACE(absl::StrCat("record ", seq, " column ", column));
      std::string path = Copy();
      ChangeOneByte(path, "message_log", column, absl::StrCat("seq = ", seq));
      LogAuditResult r = Audit(path);
      EXPECT_FALSE(r.ok);
      EXPECT_EQ(r.first_broken_seq, seq) << r.reason;
      EXPECT_EQ(r.first_broken_batch, 0) << r.reason;
      EXPECT_THAT(r.reason, HasSubstr(absl::StrCat("record ", seq))) << r.reason;
      EXPECT_EQ(AuditStatus(r).code(), absl::StatusCode::kDataLoss);
    }
  }
}

TEST_F(LogAuditTest, ContentChangeIsReportedAsAHashMismatch) {
  std::string path = Copy();
  ChangeOneByte(path, "message_log", "data", "seq = 17");
  LogAuditResult r = Audit(path);
  EXPECT_EQ(r.reason, "record 17: hash does not match its content");
}

TEST_F(LogAuditTest, RecordRehashedAfterAChangeBreaksTheLinkOfTheNext) {
  std::string path = Copy();
  // An attacker who recomputes record 33's hash still breaks record 34.
  std::string prev;
  {
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &raw), SQLITE_OK);
    LogDb db(raw);
    sqlite3_stmt* s = nullptr;
    ASSERT_EQ(
        sqlite3_prepare_v2(db.get(), "SELECT prev_hash, at_us FROM message_log WHERE seq = 33", -1,
                           &s, nullptr),
        SQLITE_OK);
    ASSERT_EQ(sqlite3_step(s), SQLITE_ROW);
    prev.assign(static_cast<const char*>(sqlite3_column_blob(s, 0)), 32);
    int64_t at_us = sqlite3_column_int64(s, 1);
    sqlite3_finalize(s);
    std::string hash =
        RecordHash(33, at_us, 1, "msg-33", "VN/GOV/000.00.00.G12/dms", "forged", prev);
    db.reset();
    Tamper(path, "UPDATE message_log SET data = CAST('forged' AS BLOB), hash = ?1 WHERE seq = 33",
           {hash});
  }
  LogAuditResult r = Audit(path);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.reason, "record 34: previous-hash link broken");
  EXPECT_EQ(r.first_broken_seq, 34);
}

TEST_F(LogAuditTest, DeletedMiddleRecordIsNamedMissing) {
  std::string path = Copy();
  Tamper(path, "DELETE FROM message_log WHERE seq = 17");
  LogAuditResult r = Audit(path);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.reason, "record 17 missing");
  EXPECT_EQ(r.first_broken_seq, 17);
}

TEST_F(LogAuditTest, DeletedLastRecordIsFoundThroughTheHead) {
  std::string path = Copy();
  Tamper(path, absl::StrCat("DELETE FROM message_log WHERE seq = ", kRecords));
  LogAuditResult r = Audit(path);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_broken_seq, kRecords);
  EXPECT_THAT(r.reason, HasSubstr(absl::StrCat("record ", kRecords, " missing")));
}

TEST_F(LogAuditTest, AnyByteChangedInTheHeadIsFound) {
  for (std::string column : {"id", "seq", "hash", "batches", "batch_hash"}) {
    SCOPED_TRACE(column);
    std::string path = Copy();
    ChangeOneByte(path, "message_log_head", column, "1 = 1");
    LogAuditResult r = Audit(path);
    EXPECT_FALSE(r.ok);
    EXPECT_THAT(r.reason, HasSubstr("head")) << r.reason;
  }
  std::string path = Copy();
  Tamper(path, "DELETE FROM message_log_head");
  LogAuditResult r = Audit(path);
  EXPECT_FALSE(r.ok);
  EXPECT_THAT(r.reason, HasSubstr("head row is missing"));
}

TEST_F(LogAuditTest, AnyByteChangedInAnyBatchColumnNamesThatBatch) {
  struct Case {
    std::string column;
    int offset;
  };
  // The token is changed at several places: its header, its middle (the
  // embedded certificates) and near its end (the signature).
  const std::vector<Case> cases = {
      {"id", -1},    {"first_seq", -1}, {"last_seq", -1},    {"root", -1},      {"token", 10},
      {"token", -1}, {"token", 200},    {"gen_time_us", -1}, {"prev_hash", -1}, {"hash", -1}};
  for (int batch : {1, 2}) {
    for (const Case& c : cases) {
      SCOPED_TRACE(absl::StrCat("batch ", batch, " column ", c.column, " offset ", c.offset));
      std::string path = Copy();
      ChangeOneByte(path, "message_log_batches", c.column, absl::StrCat("id = ", batch), c.offset);
      LogAuditResult r = Audit(path);
      EXPECT_FALSE(r.ok);
      EXPECT_EQ(r.first_broken_batch, batch) << r.reason;
      EXPECT_THAT(r.reason, HasSubstr(absl::StrCat("batch ", batch))) << r.reason;
    }
  }
}

TEST_F(LogAuditTest, EveryByteOfATokenIsCovered) {
  // Sweep a stride of the token's bytes: each change must be found, whether
  // the signature covers that byte or not.
  std::string token;
  {
    absl::StatusOr<LogDb> db = OpenLogDb(*pristine_, true);
    ASSERT_TRUE(db.ok());
    sqlite3_stmt* s = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db->get(), "SELECT token FROM message_log_batches WHERE id = 2",
                                 -1, &s, nullptr),
              SQLITE_OK);
    ASSERT_EQ(sqlite3_step(s), SQLITE_ROW);
    token.assign(static_cast<const char*>(sqlite3_column_blob(s, 0)),
                 static_cast<size_t>(sqlite3_column_bytes(s, 0)));
    sqlite3_finalize(s);
  }
  ASSERT_GT(token.size(), 500u);
  for (size_t at = 0; at < token.size(); at += 97) {
    SCOPED_TRACE(at);
    std::string path = Copy();
    ChangeOneByte(path, "message_log_batches", "token", "id = 2", static_cast<int>(at));
    LogAuditResult r = Audit(path);
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.first_broken_batch, 2) << r.reason;
  }
}

TEST_F(LogAuditTest, TokenOverAnotherBatchIsNotTheMerkleRoot) {
  std::string path = Copy();
  Tamper(path,
         "UPDATE message_log_batches SET token = (SELECT token FROM message_log_batches "
         "WHERE id = 1) WHERE id = 2");
  LogAuditResult r = Audit(path);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.reason, "batch 2: time-stamp imprint is not the Merkle root");
}

TEST_F(LogAuditTest, DeletedBatchesAreNamedMissing) {
  for (int batch : {1, 2}) {
    SCOPED_TRACE(batch);
    std::string path = Copy();
    Tamper(path, absl::StrCat("DELETE FROM message_log_batches WHERE id = ", batch));
    LogAuditResult r = Audit(path);
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.first_broken_batch, batch) << r.reason;
    EXPECT_THAT(r.reason, HasSubstr(absl::StrCat("batch ", batch, " missing"))) << r.reason;
  }
}

TEST_F(LogAuditTest, TokensOfAnUntrustedTsaFailTheAudit) {
  absl::StatusOr<signer::TrustStore> other =
      signer::TrustStore::FromPemFiles({at::PkiPath("negative/untrusted-root.cert.pem")}, {}, {});
  ASSERT_TRUE(other.ok());
  absl::StatusOr<LogAuditResult> r = AuditLog(Copy(), &*other);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r->ok);
  EXPECT_EQ(r->first_broken_batch, 1);
  EXPECT_THAT(r->reason, HasSubstr("trusted root"));
}

TEST_F(LogAuditTest, WithoutTrustTokensAreStillMatchedToTheirRoots) {
  absl::StatusOr<LogAuditResult> r = AuditLog(Copy(), nullptr);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->ok) << r->reason;
  EXPECT_FALSE(r->tokens_verified);
  std::string path = Copy();
  Tamper(path,
         "UPDATE message_log_batches SET token = (SELECT token FROM message_log_batches "
         "WHERE id = 2) WHERE id = 1");
  r = AuditLog(path, nullptr);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->reason, "batch 1: time-stamp imprint is not the Merkle root");
}

// FindBytes returns the offset of `needle` in the file at `path`, or npos.
size_t FindInFile(const std::string& path, const std::string& needle) {
  absl::StatusOr<std::string> bytes = ReadFile(path, size_t{1} << 30);
  return bytes.ok() ? bytes->find(needle) : std::string::npos;
}

void FlipFileByte(const std::string& path, size_t offset) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  ASSERT_TRUE(f.good());
  f.seekg(static_cast<std::streamoff>(offset));
  char c = 0;
  f.read(&c, 1);
  c = static_cast<char>(c ^ 0x01);
  f.seekp(static_cast<std::streamoff>(offset));
  f.write(&c, 1);
  ASSERT_TRUE(f.good());
}

TEST_F(LogAuditTest, AnyByteFlippedInTheFileAroundARecordIsFound) {
  // Every byte of record 17's stored cell (header, sequence number, text,
  // data, hashes) and its neighbours' nearby bytes, flipped in the file.
  std::string probe = Copy();
  size_t data_at = FindInFile(probe, test::DataOf(17));
  ASSERT_NE(data_at, std::string::npos) << "record 17's data is not in the checkpointed file";
  int found_by_hash = 0;
  int found_as_corruption = 0;
  for (size_t off = data_at - 48; off < data_at + test::DataOf(17).size() + 72; ++off) {
    SCOPED_TRACE(absl::StrCat("file offset ", off, " (data at ", data_at, ")"));
    std::string path = Copy();
    FlipFileByte(path, off);
    std::shared_ptr<const signer::TrustStore> trust = test::TsaTrust();
    absl::StatusOr<LogAuditResult> r = AuditLog(path, trust.get());
    if (!r.ok()) {
      // SQLite refused the file outright: a clear message, still a failure.
      EXPECT_THAT(std::string(r.status().message()), HasSubstr("malformed"));
      ++found_as_corruption;
      continue;
    }
    EXPECT_FALSE(r->ok);
    if (absl::StrContains(r->reason, "corrupt")) {
      ++found_as_corruption;
    } else {
      ++found_by_hash;
    }
  }
  RecordProperty("found_by_hash", found_by_hash);
  RecordProperty("found_as_corruption", found_as_corruption);
  // Most flips land in record content, found by the hash chain.
  EXPECT_GT(found_by_hash, 0);
}

TEST_F(LogAuditTest, FlippedByteInATokenInTheFileIsFound) {
  std::string probe = Copy();
  absl::StatusOr<std::string> bytes = ReadFile(probe, size_t{1} << 30);
  ASSERT_TRUE(bytes.ok());
  // Find the first token by its CMS signedData OID (1.2.840.113549.1.7.2).
  const std::string signed_data("\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x07\x02", 11);
  size_t at = bytes->find(signed_data);
  ASSERT_NE(at, std::string::npos);
  for (size_t off : {at + 40, at + 400, at + 900}) {
    SCOPED_TRACE(off);
    std::string path = Copy();
    FlipFileByte(path, off);
    std::shared_ptr<const signer::TrustStore> trust = test::TsaTrust();
    absl::StatusOr<LogAuditResult> r = AuditLog(path, trust.get());
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_FALSE(r->ok);
    EXPECT_GT(r->first_broken_batch, 0) << r->reason;
  }
}

TEST_F(LogAuditTest, MissingFileAndNonDatabaseAreErrorsNotVerdicts) {
  EXPECT_EQ(AuditLog(*dir_ + "/none.db", nullptr).status().code(), absl::StatusCode::kNotFound);
  std::string junk = *dir_ + "/junk.db";
  ASSERT_TRUE(WriteFileAtomic(junk, std::string(8192, 'x')).ok());
  EXPECT_EQ(AuditLog(junk, nullptr).status().code(), absl::StatusCode::kInvalidArgument);
  std::string empty = *dir_ + "/other.db";
  {
    absl::StatusOr<LogDb> db = OpenLogDb(empty);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE(ExecSql(db->get(), "CREATE TABLE t(x)").ok());
  }
  absl::StatusOr<LogAuditResult> r = AuditLog(empty, nullptr);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("no message log"));
}

}  // namespace
}  // namespace axis::ss
