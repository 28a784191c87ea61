// Tests of the time-stamper against the real axis-tsa on loopback: batches,
// proofs, and the TSA going down and coming back.
#include "security-server/timestamper.h"

#include <sqlite3.h>

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "security-server/log_audit.h"
#include "security-server/merkle.h"
#include "tests/security-server/log_fixture.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/process.h"

namespace axis::ss {
namespace {

using ::testing::HasSubstr;

class TimestamperTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = axis::testing::MakeTempDir("timestamper");
    tsa_ = std::make_unique<test::TsaProcess>(dir_);
    tsa_->Start();
    path_ = dir_ + "/server.db";
    absl::StatusOr<LogDb> db = OpenLogDb(path_);
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
    ASSERT_TRUE(CreateLogSchema(db_.get()).ok());
  }

  Timestamper::Options Opts(bool run_thread = false) {
    Timestamper::Options o;
    o.db_path = path_;
    o.tsa_url = tsa_->url();
    o.tsa_trust = test::TsaTrust();
    o.run_thread = run_thread;
    o.interval = absl::Milliseconds(50);
    o.max_backoff = absl::Milliseconds(200);
    o.request_timeout = absl::Seconds(5);
    return o;
  }

  std::unique_ptr<Timestamper> StartStamper(Timestamper::Options o) {
    absl::StatusOr<std::unique_ptr<Timestamper>> t = Timestamper::Start(std::move(o));
    EXPECT_TRUE(t.ok()) << t.status();
    return t.ok() ? std::move(*t) : nullptr;
  }

  // Batches reads (first_seq, last_seq) of every batch.
  std::vector<std::pair<int64_t, int64_t>> Batches() {
    std::vector<std::pair<int64_t, int64_t>> out;
    sqlite3_stmt* s = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db_.get(),
                                 "SELECT first_seq, last_seq FROM message_log_batches ORDER BY id",
                                 -1, &s, nullptr),
              SQLITE_OK);
    while (sqlite3_step(s) == SQLITE_ROW) {
      out.emplace_back(sqlite3_column_int64(s, 0), sqlite3_column_int64(s, 1));
    }
    sqlite3_finalize(s);
    return out;
  }

  // WaitFor polls `done` every 20 ms for at most `limit`.
  template <typename F>
  bool WaitFor(F done, absl::Duration limit = absl::Seconds(15)) {
    absl::Time deadline = absl::Now() + limit;
    while (!done()) {
      if (absl::Now() > deadline) {
        return false;
      }
      absl::SleepFor(absl::Milliseconds(20));
    }
    return true;
  }

  std::string dir_;
  std::string path_;
  std::unique_ptr<test::TsaProcess> tsa_;
  LogDb db_;
};

TEST_F(TimestamperTest, StampsTheUnstampedRecordsAsOneBatchWithAProofPerRecord) {
  test::AppendNumbered(db_.get(), 10);
  std::unique_ptr<Timestamper> t = StartStamper(Opts());
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->Unstamped(), 10);
  absl::Time before = absl::Now() - absl::Seconds(2);
  absl::Status s = t->StampNow();
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(t->Unstamped(), 0);
  EXPECT_EQ(Batches(), (std::vector<std::pair<int64_t, int64_t>>{{1, 10}}));
  EXPECT_GE(t->LastStamp(), before);
  EXPECT_LE(t->LastStamp(), absl::Now() + absl::Seconds(2));

  std::shared_ptr<const signer::TrustStore> trust = test::TsaTrust();
  for (int64_t seq : {1, 5, 10}) {
    absl::StatusOr<RecordProof> proof = MerkleProof(db_.get(), seq);
    ASSERT_TRUE(proof.ok()) << proof.status();
    EXPECT_EQ(proof->batch_id, 1);
    EXPECT_EQ(proof->batch_size, 10);
    EXPECT_EQ(proof->record.data, test::DataOf(seq));
    absl::StatusOr<signer::TimestampInfo> info = CheckRecordProof(*proof, *trust);
    ASSERT_TRUE(info.ok()) << info.status();
    EXPECT_EQ(info->gen_time, t->LastStamp());
    EXPECT_THAT(info->tsa_subject, HasSubstr("TSA"));

    RecordProof bad = *proof;
    bad.path[0][3] ^= 0x10;
    EXPECT_EQ(CheckRecordProof(bad, *trust).status().code(), absl::StatusCode::kDataLoss);
    bad = *proof;
    bad.record.data += "x";
    EXPECT_EQ(CheckRecordProof(bad, *trust).status().code(), absl::StatusCode::kDataLoss);
    bad = *proof;
    bad.token[bad.token.size() - 5] ^= 0x01;
    EXPECT_FALSE(CheckRecordProof(bad, *trust).ok());
  }
}

TEST_F(TimestamperTest, BatchesAreContiguousAndNoLargerThanMaxBatch) {
  test::AppendNumbered(db_.get(), 10);
  Timestamper::Options o = Opts();
  o.max_batch = 4;
  std::unique_ptr<Timestamper> t = StartStamper(o);
  ASSERT_NE(t, nullptr);
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(t->StampNow().ok());
  }
  EXPECT_EQ(Batches(), (std::vector<std::pair<int64_t, int64_t>>{{1, 4}, {5, 8}, {9, 10}}));
  EXPECT_EQ(t->Unstamped(), 0);
  absl::StatusOr<RecordProof> proof = MerkleProof(db_.get(), 6);
  ASSERT_TRUE(proof.ok()) << proof.status();
  EXPECT_EQ(proof->batch_id, 2);
  EXPECT_EQ(proof->index, 1);
}

TEST_F(TimestamperTest, ProofOfAnUnstampedRecordIsNotAvailableYet) {
  test::AppendNumbered(db_.get(), 2);
  EXPECT_EQ(MerkleProof(db_.get(), 2).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(MerkleProof(db_.get(), 3).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(TimestamperTest, WhileTheTsaIsDownAppendsSucceedAndTheBacklogIsStampedWhenItReturns) {
  test::AppendNumbered(db_.get(), 3);
  std::unique_ptr<Timestamper> t = StartStamper(Opts(/*run_thread=*/true));
  ASSERT_NE(t, nullptr);
  ASSERT_TRUE(WaitFor([&] { return t->Unstamped() == 0; })) << t->LastError();

  tsa_->Stop();
  test::AppendNumbered(db_.get(), 5);
  // StampNow runs after any attempt of the thread in flight, so from here on
  // every attempt fails and LastStamp must stay put.
  EXPECT_EQ(t->StampNow().code(), absl::StatusCode::kUnavailable);
  const absl::Time stamped = t->LastStamp();
  absl::StatusOr<RecordProof> first = MerkleProof(db_.get(), 1);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_GE(stamped, first->gen_time);
  // The thread keeps failing meanwhile; appends still go through.
  absl::SleepFor(absl::Milliseconds(300));
  test::AppendNumbered(db_.get(), 2);
  EXPECT_EQ(t->Unstamped(), 7);
  EXPECT_EQ(t->LastStamp(), stamped);
  EXPECT_EQ(t->LastError().code(), absl::StatusCode::kUnavailable);

  tsa_->Start();
  ASSERT_TRUE(WaitFor([&] { return t->Unstamped() == 0; })) << t->LastError();
  EXPECT_GT(t->LastStamp(), stamped);
  std::vector<std::pair<int64_t, int64_t>> batches = Batches();
  ASSERT_GE(batches.size(), 2u);
  EXPECT_EQ(batches.front().first, 1);
  EXPECT_EQ(batches.back().second, 10);

  std::shared_ptr<const signer::TrustStore> trust = test::TsaTrust();
  absl::StatusOr<LogAuditResult> audit = AuditLog(path_, trust.get());
  ASSERT_TRUE(audit.ok()) << audit.status();
  EXPECT_TRUE(audit->ok) << audit->reason;
  EXPECT_EQ(audit->stamped, 10);
}

TEST_F(TimestamperTest, StampsBesideConcurrentAppendsAndTheResultAudits) {
  Timestamper::Options o = Opts(/*run_thread=*/true);
  o.interval = absl::Milliseconds(10);
  std::unique_ptr<Timestamper> t = StartStamper(o);
  ASSERT_NE(t, nullptr);
  // 400 records in transactions of 4 while the thread stamps every 10 ms:
  // every append must succeed (busy_timeout covers the stamper's short
  // write transactions).
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(ExecSql(db_.get(), "BEGIN IMMEDIATE").ok());
    for (int k = 0; k < 4; ++k) {
      absl::StatusOr<int64_t> seq = AppendLog(
          db_.get(), LogEntry{LogEvent::kSent, absl::StrCat("m", i, "-", k), "peer", "data"},
          absl::Now());
      ASSERT_TRUE(seq.ok()) << seq.status();
      ASSERT_EQ(*seq, i * 4 + k + 1);
    }
    ASSERT_TRUE(ExecSql(db_.get(), "COMMIT").ok());
  }
  ASSERT_TRUE(WaitFor([&] { return t->Unstamped() == 0; })) << t->LastError();
  EXPECT_GE(test::CountBatches(db_.get()), 1);
  std::shared_ptr<const signer::TrustStore> trust = test::TsaTrust();
  absl::StatusOr<LogAuditResult> audit = AuditLog(path_, trust.get());
  ASSERT_TRUE(audit.ok()) << audit.status();
  EXPECT_TRUE(audit->ok) << audit->reason;
  EXPECT_EQ(audit->records, 400);
  EXPECT_EQ(audit->stamped, 400);
}

TEST_F(TimestamperTest, LastStampAtStartIsTheNewestBatchWhileRecordsWait) {
  test::AppendNumbered(db_.get(), 3);
  absl::Time first_stamp;
  {
    std::unique_ptr<Timestamper> t = StartStamper(Opts());
    ASSERT_NE(t, nullptr);
    ASSERT_TRUE(t->StampNow().ok());
    first_stamp = t->LastStamp();
  }
  test::AppendNumbered(db_.get(), 1);
  tsa_->Stop();
  std::unique_ptr<Timestamper> again = StartStamper(Opts());
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(again->LastStamp(), first_stamp);
  EXPECT_EQ(again->Unstamped(), 1);
}

TEST_F(TimestamperTest, AnIdleFullyStampedLogIsNeverLate) {
  std::unique_ptr<Timestamper> t = StartStamper(Opts());
  ASSERT_NE(t, nullptr);
  absl::Time start = t->LastStamp();
  absl::SleepFor(absl::Milliseconds(20));
  tsa_->Stop();
  ASSERT_TRUE(t->StampNow().ok());  // nothing to stamp: no TSA needed
  EXPECT_GT(t->LastStamp(), start);
}

TEST_F(TimestamperTest, IsOverdueOnlyAfterTheLimitWithoutAStampAndRecovers) {
  axis::testing::FakeClock clock(absl::Now());
  Timestamper::Options o = Opts();
  o.clock = &clock;
  o.max_unstamped_age = absl::Hours(4);
  std::unique_ptr<Timestamper> t = StartStamper(o);
  ASSERT_NE(t, nullptr);
  tsa_->Stop();
  test::AppendNumbered(db_.get(), 3);
  EXPECT_EQ(t->StampNow().code(), absl::StatusCode::kUnavailable);
  clock.Set(clock.Now() + absl::Hours(4) - absl::Seconds(1));
  EXPECT_FALSE(t->Overdue());
  clock.Set(clock.Now() + absl::Seconds(2));
  EXPECT_TRUE(t->Overdue());
  EXPECT_EQ(t->StampNow().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(t->Overdue());

  tsa_->Start();
  ASSERT_TRUE(t->StampNow().ok());
  // The token's genTime is the real time; bring the test clock back to it.
  clock.Set(absl::Now());
  EXPECT_FALSE(t->Overdue());
  EXPECT_EQ(t->Unstamped(), 0);
}

TEST_F(TimestamperTest, TokensOfAnUntrustedTsaAreNotStored) {
  test::AppendNumbered(db_.get(), 2);
  Timestamper::Options o = Opts();
  o.tsa_trust = nullptr;
  o.tsa_roots_files = {axis::testing::PkiPath("negative/untrusted-root.cert.pem")};
  std::unique_ptr<Timestamper> t = StartStamper(o);
  ASSERT_NE(t, nullptr);
  absl::Status s = t->StampNow();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("trusted root"));
  EXPECT_EQ(test::CountBatches(db_.get()), 0);
  EXPECT_EQ(t->Unstamped(), 2);
}

TEST_F(TimestamperTest, RefusesToStartWithoutTsaTrustOrUrl) {
  Timestamper::Options o = Opts();
  o.tsa_trust = nullptr;
  EXPECT_EQ(Timestamper::Start(o).status().code(), absl::StatusCode::kInvalidArgument);
  o = Opts();
  o.tsa_url = "";
  EXPECT_EQ(Timestamper::Start(o).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace axis::ss
