// Tests of the hash-chained message log in a real SQLite file.
#include "security-server/message_log.h"

#include <sqlite3.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/security-server/log_fixture.h"
#include "tests/testing/process.h"

namespace axis::ss {
namespace {

using ::testing::HasSubstr;

class MessageLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = axis::testing::MakeTempDir("message-log") + "/log.db";
    absl::StatusOr<LogDb> db = OpenLogDb(path_);
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
    ASSERT_TRUE(CreateLogSchema(db_.get()).ok());
  }

  std::vector<LogRecord> ReadAll() {
    std::vector<LogRecord> out;
    sqlite3_stmt* s = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db_.get(),
                                 "SELECT seq, at_us, event, message_id, peer, data, prev_hash, "
                                 "hash FROM message_log ORDER BY seq",
                                 -1, &s, nullptr),
              SQLITE_OK);
    auto bytes = [&](int i) {
      const char* p = static_cast<const char*>(sqlite3_column_blob(s, i));
      return p == nullptr ? std::string() : std::string(p, sqlite3_column_bytes(s, i));
    };
    while (sqlite3_step(s) == SQLITE_ROW) {
      out.push_back(LogRecord{sqlite3_column_int64(s, 0), sqlite3_column_int64(s, 1),
                              sqlite3_column_int64(s, 2), bytes(3), bytes(4), bytes(5), bytes(6),
                              bytes(7)});
    }
    sqlite3_finalize(s);
    return out;
  }

  absl::StatusOr<int64_t> AppendOne(const LogEntry& e, absl::Time at) {
    EXPECT_TRUE(ExecSql(db_.get(), "BEGIN IMMEDIATE").ok());
    absl::StatusOr<int64_t> seq = AppendLog(db_.get(), e, at);
    EXPECT_TRUE(ExecSql(db_.get(), "COMMIT").ok());
    return seq;
  }

  std::string path_;
  LogDb db_;
};

TEST_F(MessageLogTest, AppendsRecordsWhoseHashesChain) {
  absl::Time t0 = absl::FromUnixSeconds(1780000000);
  ASSERT_TRUE(ExecSql(db_.get(), "BEGIN IMMEDIATE").ok());
  std::vector<int64_t> seqs;
  for (int i = 0; i < 5; ++i) {
    absl::StatusOr<int64_t> seq =
        AppendLog(db_.get(),
                  LogEntry{LogEvent::kSent, absl::StrCat("m", i), "VN/GOV/000.00.00.G12",
                           std::string("bytes\0with nul", 14)},
                  t0 + absl::Seconds(i));
    ASSERT_TRUE(seq.ok()) << seq.status();
    seqs.push_back(*seq);
  }
  ASSERT_TRUE(ExecSql(db_.get(), "COMMIT").ok());
  EXPECT_EQ(seqs, (std::vector<int64_t>{1, 2, 3, 4, 5}));

  std::vector<LogRecord> records = ReadAll();
  ASSERT_EQ(records.size(), 5u);
  std::string prev = GenesisHash();
  for (const LogRecord& r : records) {
    EXPECT_EQ(r.prev_hash, prev) << "record " << r.seq;
    EXPECT_EQ(r.hash, RecordHash(r)) << "record " << r.seq;
    EXPECT_EQ(r.event, 2);
    EXPECT_EQ(r.data.size(), 14u);
    EXPECT_EQ(r.at_us, absl::ToUnixMicros(t0 + absl::Seconds(r.seq - 1)));
    prev = r.hash;
  }
}

TEST_F(MessageLogTest, RolledBackAppendLeavesNoRecordAndTheChainContinues) {
  ASSERT_TRUE(AppendOne(LogEntry{LogEvent::kAccepted, "a", "p", "d"}, absl::Now()).ok());
  ASSERT_TRUE(ExecSql(db_.get(), "BEGIN IMMEDIATE").ok());
  ASSERT_TRUE(AppendLog(db_.get(), LogEntry{LogEvent::kAccepted, "b", "p", "d"}, absl::Now()).ok());
  ASSERT_TRUE(ExecSql(db_.get(), "ROLLBACK").ok());
  absl::StatusOr<int64_t> seq = AppendOne(LogEntry{LogEvent::kSent, "c", "p", "d"}, absl::Now());
  ASSERT_TRUE(seq.ok()) << seq.status();
  EXPECT_EQ(*seq, 2);
  std::vector<LogRecord> records = ReadAll();
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[1].message_id, "c");
  EXPECT_EQ(records[1].prev_hash, records[0].hash);
}

TEST_F(MessageLogTest, RefusesToAppendOutsideATransaction) {
  absl::StatusOr<int64_t> seq =
      AppendLog(db_.get(), LogEntry{LogEvent::kAccepted, "a", "p", "d"}, absl::Now());
  EXPECT_EQ(seq.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(seq.status().message()), HasSubstr("transaction"));
  EXPECT_TRUE(ReadAll().empty());
}

TEST_F(MessageLogTest, RefusesAnUnknownEvent) {
  ASSERT_TRUE(ExecSql(db_.get(), "BEGIN IMMEDIATE").ok());
  absl::StatusOr<int64_t> seq =
      AppendLog(db_.get(), LogEntry{static_cast<LogEvent>(9), "a", "p", "d"}, absl::Now());
  ASSERT_TRUE(ExecSql(db_.get(), "ROLLBACK").ok());
  EXPECT_EQ(seq.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(MessageLogTest, SchemaCreationIsIdempotentAndTheFileIsInWalMode) {
  ASSERT_TRUE(AppendOne(LogEntry{LogEvent::kAccepted, "a", "p", "d"}, absl::Now()).ok());
  ASSERT_TRUE(CreateLogSchema(db_.get()).ok());
  ASSERT_TRUE(CreateLogSchema(db_.get()).ok());
  EXPECT_EQ(ReadAll().size(), 1u);
  sqlite3_stmt* s = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db_.get(), "PRAGMA journal_mode", -1, &s, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(s), SQLITE_ROW);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(sqlite3_column_text(s, 0))), "wal");
  sqlite3_finalize(s);
  absl::StatusOr<int64_t> seq = AppendOne(LogEntry{LogEvent::kSent, "b", "p", "d"}, absl::Now());
  EXPECT_EQ(seq.value_or(0), 2);
}

TEST_F(MessageLogTest, RecordsCannotBeUpdatedOrDeletedThroughSql) {
  ASSERT_TRUE(AppendOne(LogEntry{LogEvent::kAccepted, "a", "p", "d"}, absl::Now()).ok());
  absl::Status update = ExecSql(db_.get(), "UPDATE message_log SET data = x'00' WHERE seq = 1");
  EXPECT_THAT(std::string(update.message()), HasSubstr("append-only"));
  absl::Status del = ExecSql(db_.get(), "DELETE FROM message_log");
  EXPECT_THAT(std::string(del.message()), HasSubstr("append-only"));
  ASSERT_TRUE(
      ExecSql(db_.get(),
              "INSERT INTO message_log_batches VALUES (1, 1, 1, x'00', x'00', 0, x'00', x'00')")
          .ok());
  absl::Status batch = ExecSql(db_.get(), "DELETE FROM message_log_batches");
  EXPECT_THAT(std::string(batch.message()), HasSubstr("append-only"));
  EXPECT_EQ(ReadAll().size(), 1u);
}

TEST_F(MessageLogTest, AppendRefusesALogWhoseHeadWasRemoved) {
  ASSERT_TRUE(AppendOne(LogEntry{LogEvent::kAccepted, "a", "p", "d"}, absl::Now()).ok());
  ASSERT_TRUE(ExecSql(db_.get(), "DELETE FROM message_log_head").ok());
  ASSERT_TRUE(CreateLogSchema(db_.get()).ok());  // must not recreate it
  absl::StatusOr<int64_t> seq = AppendOne(LogEntry{LogEvent::kSent, "b", "p", "d"}, absl::Now());
  EXPECT_EQ(seq.status().code(), absl::StatusCode::kDataLoss);
}

TEST(RecordHashTest, CoversEveryFieldAndSeparatesThemUnambiguously) {
  const std::string prev(32, '\x07');
  const std::string base = RecordHash(5, 100, 1, "mid", "peer", "data", prev);
  EXPECT_NE(RecordHash(6, 100, 1, "mid", "peer", "data", prev), base);
  EXPECT_NE(RecordHash(5, 101, 1, "mid", "peer", "data", prev), base);
  EXPECT_NE(RecordHash(5, 100, 2, "mid", "peer", "data", prev), base);
  EXPECT_NE(RecordHash(5, 100, 1, "mie", "peer", "data", prev), base);
  EXPECT_NE(RecordHash(5, 100, 1, "mid", "peeq", "data", prev), base);
  EXPECT_NE(RecordHash(5, 100, 1, "mid", "peer", "dbta", prev), base);
  EXPECT_NE(RecordHash(5, 100, 1, "mid", "peer", "data", std::string(32, '\x08')), base);
  // Moving a byte across a field boundary changes the hash.
  EXPECT_NE(RecordHash(5, 100, 1, "midp", "eer", "data", prev), base);
  EXPECT_NE(RecordHash(5, 100, 1, "mid", "peerd", "ata", prev), base);
  EXPECT_EQ(RecordHash(5, 100, 1, "mid", "peer", "data", prev), base);
}

TEST_F(MessageLogTest, ReleasedStatementsLetTheConnectionClose) {
  ASSERT_TRUE(AppendOne(LogEntry{LogEvent::kAccepted, "a", "p", "d"}, absl::Now()).ok());
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &raw), SQLITE_OK);
  ASSERT_TRUE(ExecSql(raw, "BEGIN IMMEDIATE").ok());
  ASSERT_TRUE(AppendLog(raw, LogEntry{LogEvent::kSent, "b", "p", "d"}, absl::Now()).ok());
  ASSERT_TRUE(ExecSql(raw, "COMMIT").ok());
  EXPECT_NE(sqlite3_next_stmt(raw, nullptr), nullptr);  // cached
  ReleaseLogStatements(raw);
  EXPECT_EQ(sqlite3_next_stmt(raw, nullptr), nullptr);
  EXPECT_EQ(sqlite3_close(raw), SQLITE_OK);
  EXPECT_EQ(ReadAll().size(), 2u);
}

}  // namespace
}  // namespace axis::ss
