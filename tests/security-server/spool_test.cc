// spool_test.cc: the store's own storage forms. Payload files are written
// and read with direct I/O through aligned blocks (and a background thread
// a block ahead): every size around the 4 KiB unit and the block comes back
// byte for byte, whatever the pieces it was written and read in, and also
// where direct I/O is refused (a fault injected: the file systems here all
// take it). Envelopes
// and receipts are stored without their certificate chain, which is kept
// once and put back on reading.
#include <sqlite3.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <openssl/rand.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gtest/gtest.h"
#include "security-server/store.h"
#include "security_server.pb.h"
#include "signer/bytes_sign.h"
#include "tests/testing/process.h"

namespace axis::ss {
namespace {

std::string RandomBytes(size_t n) {
  std::string b(n, '\0');
  RAND_bytes(reinterpret_cast<unsigned char*>(b.data()), static_cast<int>(n));
  return b;
}

class SpoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = axis::testing::MakeTempDir("spool");
    spool_ = std::make_unique<Spool>(dir_ + "/spool");
    ASSERT_TRUE(spool_->Init().ok());
  }
  void TearDown() override { (void)axis::testing::RunCommand({"rm", "-rf", dir_}); }

  // WriteInPieces spools `data` appended `piece` bytes at a time; returns
  // the digest.
  std::string WriteInPieces(const std::string& data, size_t piece) {
    auto w = spool_->NewWriter();
    EXPECT_TRUE(w.ok());
    for (size_t at = 0; at < data.size(); at += piece) {
      EXPECT_TRUE((*w)->Append(absl::string_view(data).substr(at, piece)).ok());
    }
    absl::StatusOr<std::string> digest = (*w)->Finish();
    EXPECT_TRUE(digest.ok()) << digest.status();
    return digest.ok() ? *digest : "";
  }

  std::string ReadInPieces(const std::string& digest, size_t piece) {
    absl::StatusOr<std::unique_ptr<Spool::Reader>> r = spool_->OpenPayload(digest);
    EXPECT_TRUE(r.ok()) << r.status();
    std::string out, buf(piece, '\0');
    for (int i = 0; r.ok() && i < 100000; ++i) {
      absl::StatusOr<size_t> n = (*r)->Read(buf.data(), piece);
      EXPECT_TRUE(n.ok()) << n.status();
      if (!n.ok() || *n == 0) {
        break;
      }
      out.append(buf.data(), *n);
    }
    return out;
  }

  std::string dir_;
  std::unique_ptr<Spool> spool_;
};

TEST_F(SpoolTest, EverySizeAroundTheUnitAndTheBlockComesBackByteForByte) {
  const size_t kB = Spool::kBlock;
  const std::vector<size_t> sizes = {0,      1,      4095,       4096,       4097,
                                     kB - 1, kB,     kB + 1,     kB + 4096,  2 * kB,
                                     2 * kB + 4095, 3 * kB + 12345};
  for (size_t size : sizes) {
    SCOPED_TRACE(absl::StrCat("size ", size));
    std::string data = RandomBytes(size);
    for (size_t write_piece : {size_t{1000}, size_t{300 * 1024}, kB}) {
      std::string digest = WriteInPieces(data, write_piece);
      EXPECT_EQ(HexOf(digest), HexOf(signer::Sha256(data)));
      for (size_t read_piece : {size_t{7777}, kB, kB + 1}) {
        if (size > 0 && read_piece == 7777 && size > kB + 4096) {
          continue;  // a few hundred small reads suffice for the small sizes
        }
        std::string got = ReadInPieces(digest, read_piece);
        // Sizes and digests, not the bytes: a failure prints a line, not MBs.
        EXPECT_EQ(got.size(), data.size()) << "written in " << write_piece << ", read in "
                                           << read_piece;
        EXPECT_EQ(HexOf(signer::Sha256(got)), HexOf(digest))
            << "written in " << write_piece << ", read in " << read_piece;
      }
    }
  }
}

// A file system that takes the O_DIRECT flag but no direct I/O: writes and
// reads fall back to the page cache, from the first block or from the
// background write of one, and lose nothing.
TEST_F(SpoolTest, WithoutDirectIoEverySizeStillComesBackByteForByte) {
  const size_t kB = Spool::kBlock;
  struct Restore {
    ~Restore() { Spool::RefuseDirectIoForTesting(false); }
  } restore;
  for (size_t size : {size_t{4095}, kB, kB + kB / 2, 3 * kB + 12345}) {
    SCOPED_TRACE(absl::StrCat("size ", size));
    std::string data = RandomBytes(size);
    Spool::RefuseDirectIoForTesting(true);
    std::string digest = WriteInPieces(data, 300 * 1024);
    EXPECT_EQ(HexOf(digest), HexOf(signer::Sha256(data)));
    // Read back with direct reads refused, and (written without) with them.
    for (bool refuse : {true, false}) {
      Spool::RefuseDirectIoForTesting(refuse);
      std::string got = ReadInPieces(digest, kB);
      EXPECT_EQ(got.size(), data.size()) << "direct reads refused: " << refuse;
      EXPECT_EQ(HexOf(signer::Sha256(got)), HexOf(digest)) << "direct reads refused: " << refuse;
    }
    // And the other way round: written directly, read without.
    Spool::RefuseDirectIoForTesting(false);
    std::string other = RandomBytes(size);
    std::string other_digest = WriteInPieces(other, kB);
    Spool::RefuseDirectIoForTesting(true);
    std::string got = ReadInPieces(other_digest, 7777);
    EXPECT_EQ(got.size(), other.size());
    EXPECT_EQ(HexOf(signer::Sha256(got)), HexOf(other_digest));
  }
}

TEST_F(SpoolTest, AMissingPayloadIsNotFoundAndNamesItsFile) {
  absl::StatusOr<std::unique_ptr<Spool::Reader>> r = spool_->OpenPayload(std::string(32, 'x'));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound) << r.status();
  EXPECT_NE(r.status().message().find(spool_->PathOf(std::string(32, 'x'))), std::string::npos)
      << r.status();
}

TEST_F(SpoolTest, AnAbandonedWriterLeavesNoFileBehind) {
  {
    auto w = spool_->NewWriter();
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Append(RandomBytes(3 * Spool::kBlock + 5)).ok());
  }  // dropped while a block may still be being written
  auto ls = axis::testing::RunCommand({"ls", "-A", dir_ + "/spool"});
  ASSERT_TRUE(ls.ok());
  EXPECT_EQ(ls->out, "");
}

// The store keeps each certificate chain once; envelopes and receipts come
// back whole.
TEST(StoreChainTest, EnvelopesAndReceiptsComeBackWithTheirChainWhichIsStoredOnce) {
  std::string dir = axis::testing::MakeTempDir("chains");
  const std::string db_path = dir + "/ss.db";
  const std::vector<std::string> seal_chain = {RandomBytes(1200), RandomBytes(1100)};
  const std::vector<std::string> peer_chain = {RandomBytes(900), RandomBytes(1100)};
  std::vector<Envelope> envelopes;
  std::vector<Receipt> receipts;
  {
    absl::StatusOr<std::unique_ptr<Store>> store = OpenSqliteStore(db_path);
    ASSERT_TRUE(store.ok()) << store.status();
    for (int i = 0; i < 5; ++i) {
      MessageRow m;
      m.id = absl::StrCat("m", i);
      m.sender = "VN/GOV/000.00.00.G22/DMS";
      m.payload_sha256 = signer::Sha256(m.id);
      m.created_at = absl::Now();
      Envelope e;
      e.set_header(RandomBytes(200));
      e.set_signature(RandomBytes(256));
      for (const std::string& c : seal_chain) {
        e.add_cert_chain_der(c);
      }
      e.add_batch_path(RandomBytes(32));
      OutboxRow row;
      row.message_id = m.id;
      row.recipient = "VN/GOV/000.00.00.G12/DMS";
      row.envelope = e.SerializeAsString();
      row.next_attempt = row.updated_at = absl::Now();
      ASSERT_TRUE((*store)->AcceptMessage(m, {row}, {}).ok());
      envelopes.push_back(e);

      Receipt r;
      r.set_body(RandomBytes(150));
      r.set_signature(RandomBytes(64));
      for (const std::string& c : peer_chain) {
        r.add_cert_chain_der(c);
      }
      row.state = OutboxState::kDelivered;
      row.receipt = r.SerializeAsString();
      ASSERT_TRUE((*store)->UpdateOutbox(row, {}).ok());
      receipts.push_back(r);
    }
    for (int i = 0; i < 5; ++i) {
      absl::StatusOr<std::vector<OutboxRow>> rows = (*store)->OutboxOf(absl::StrCat("m", i));
      ASSERT_TRUE(rows.ok() && rows->size() == 1);
      Envelope e;
      ASSERT_TRUE(e.ParseFromString((*rows)[0].envelope));
      EXPECT_EQ(e.SerializeAsString(), envelopes[i].SerializeAsString());
      Receipt r;
      ASSERT_TRUE(r.ParseFromString((*rows)[0].receipt));
      EXPECT_EQ(r.SerializeAsString(), receipts[i].SerializeAsString());
    }
    // A receipt that is nothing but a chain still replaces the one before.
    {
      Receipt bare;
      bare.add_cert_chain_der(peer_chain[0]);
      absl::StatusOr<std::vector<OutboxRow>> rows = (*store)->OutboxOf("m0");
      ASSERT_TRUE(rows.ok() && rows->size() == 1);
      OutboxRow row = (*rows)[0];
      row.receipt = bare.SerializeAsString();
      ASSERT_TRUE((*store)->UpdateOutbox(row, {}).ok());
      rows = (*store)->OutboxOf("m0");
      ASSERT_TRUE(rows.ok() && rows->size() == 1);
      EXPECT_EQ((*rows)[0].receipt, bare.SerializeAsString());
    }
    absl::StatusOr<std::vector<OutboxRow>> due =
        (*store)->DueOutbox(absl::Now(), 10, DuePosition());
    ASSERT_TRUE(due.ok());
    EXPECT_TRUE(due->empty());  // all delivered
  }
  // Two chains, each once; the rows hold no certificate bytes.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  auto count = [&](const char* sql) {
    sqlite3_stmt* q = nullptr;
    int64_t n = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &q, nullptr) == SQLITE_OK && sqlite3_step(q) == SQLITE_ROW) {
      n = sqlite3_column_int64(q, 0);
    }
    sqlite3_finalize(q);
    return n;
  };
  EXPECT_EQ(count("SELECT count(*) FROM cert_chains"), 3);  // seal, peer, and the bare one
  EXPECT_LT(count("SELECT max(length(envelope)) FROM outbox"), 600);
  EXPECT_LT(count("SELECT max(length(receipt)) FROM outbox"), 300);
  sqlite3_close(db);
  (void)axis::testing::RunCommand({"rm", "-rf", dir});
}


// AcceptOne stores message `id` (made at `created`) from vpcp with one
// outbox row to mic, due at `due`; the row as given.
OutboxRow AcceptOne(Store* store, const std::string& id, absl::Time created, absl::Time due) {
  MessageRow m;
  m.id = id;
  m.sender = "VN/GOV/000.00.00.G22/DMS";
  m.payload_sha256 = signer::Sha256(id);
  m.created_at = created;
  OutboxRow row;
  row.message_id = id;
  row.recipient = "VN/GOV/000.00.00.G12/DMS";
  row.envelope = "e";
  row.next_attempt = due;
  row.updated_at = created;
  absl::Status s = store->AcceptMessage(m, {row}, {});
  EXPECT_TRUE(s.ok()) << s;
  return row;
}

// Due rows come in due order (next attempt, then insertion), a piece at a
// time from where the last piece ended; delivered rows and rows not yet due
// are left out, and a rescheduled row takes its new place.
TEST(StoreDueTest, DueRowsComeInOrderAPieceAtATimeFromWhereTheLastPieceEnded) {
  std::string dir = axis::testing::MakeTempDir("due");
  absl::StatusOr<std::unique_ptr<Store>> store = OpenSqliteStore(dir + "/ss.db");
  ASSERT_TRUE(store.ok()) << store.status();
  // In the future: a row's next attempt is stored as no earlier than its
  // commit, so these keep theirs.
  const absl::Time t0 = absl::Now() + absl::Hours(1);
  // m0..m9 due at t0 + i s, except m3 (due at t0 + 100 s) and m5
  // (delivered); m7 and m8 share a due time.
  for (int i = 0; i < 10; ++i) {
    OutboxRow row = AcceptOne(store->get(), absl::StrCat("m", i), t0,
                              t0 + absl::Seconds(i == 3 ? 100 : i == 8 ? 7 : i));
    if (i == 5) {
      row.state = OutboxState::kDelivered;
      ASSERT_TRUE((*store)->UpdateOutbox(row, {}).ok());
    }
  }
  auto ids = [](const std::vector<OutboxRow>& rows) {
    std::vector<std::string> out;
    for (const OutboxRow& r : rows) {
      out.push_back(r.message_id);
    }
    return absl::StrJoin(out, " ");
  };
  const absl::Time now = t0 + absl::Seconds(50);
  absl::StatusOr<std::vector<OutboxRow>> a = (*store)->DueOutbox(now, 3, DuePosition());
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(ids(*a), "m0 m1 m2");
  absl::StatusOr<std::vector<OutboxRow>> b = (*store)->DueOutbox(now, 3, a->back().due);
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(ids(*b), "m4 m6 m7");
  absl::StatusOr<std::vector<OutboxRow>> c = (*store)->DueOutbox(now, 3, b->back().due);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(ids(*c), "m8 m9");
  // m0 failed and is retried at t0 + 8 s: after m8, before m9.
  OutboxRow retry = (*a)[0];
  retry.state = OutboxState::kRelayed;
  retry.attempts = 1;
  retry.next_attempt = t0 + absl::Seconds(8);
  ASSERT_TRUE((*store)->UpdateOutbox(retry, {}).ok());
  absl::StatusOr<std::vector<OutboxRow>> all = (*store)->DueOutbox(now, 100, DuePosition());
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(ids(*all), "m1 m2 m4 m6 m7 m8 m0 m9");
  // Later, m3 is due too, last.
  all = (*store)->DueOutbox(t0 + absl::Seconds(100), 100, (*all)[5].due);
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(ids(*all), "m0 m9 m3");
  std::filesystem::remove_all(dir);
}

TEST(StoreDueTest, NextDueIsTheEarliestRetryNotARowNeverTried) {
  std::string dir = axis::testing::MakeTempDir("due");
  absl::StatusOr<std::unique_ptr<Store>> store = OpenSqliteStore(dir + "/ss.db");
  ASSERT_TRUE(store.ok()) << store.status();
  const absl::Time now = absl::Now();
  // Both due a minute after `now`, as if committed after it.
  AcceptOne(store->get(), "fresh", now, now + absl::Minutes(1));
  OutboxRow retried = AcceptOne(store->get(), "retried", now, now + absl::Minutes(1));
  absl::StatusOr<std::optional<absl::Time>> next = (*store)->NextDue(now);
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_FALSE(next->has_value());
  // "retried" failed once: again in 2 minutes.
  retried.state = OutboxState::kRelayed;
  retried.attempts = 1;
  retried.reason = "peer unavailable";
  retried.next_attempt = now + absl::Minutes(2);
  ASSERT_TRUE((*store)->UpdateOutbox(retried, {}).ok());
  next = (*store)->NextDue(now);
  ASSERT_TRUE(next.ok()) << next.status();
  ASSERT_TRUE(next->has_value());
  EXPECT_EQ(absl::ToUnixMicros(**next), absl::ToUnixMicros(now + absl::Minutes(2)));
  std::filesystem::remove_all(dir);
}

TEST(StoreDueTest, ARowCommittedAfterAReadComesAfterTheRowsThatReadReturned) {
  std::string dir = axis::testing::MakeTempDir("due");
  absl::StatusOr<std::unique_ptr<Store>> store = OpenSqliteStore(dir + "/ss.db");
  ASSERT_TRUE(store.ok()) << store.status();
  // Due at once, as Send makes its rows: "slow" began (a large payload, say)
  // before "quick", which commits and is read first; "slow" commits after
  // that read.
  const absl::Time slow_started = absl::Now() - absl::Seconds(5);
  const absl::Time quick_started = absl::Now();
  AcceptOne(store->get(), "quick", quick_started, quick_started);
  absl::StatusOr<std::vector<OutboxRow>> first =
      (*store)->DueOutbox(absl::Now(), 10, DuePosition());
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_EQ(first->size(), 1u);
  AcceptOne(store->get(), "slow", slow_started, slow_started);
  // The next piece, from where the first ended, has it.
  absl::StatusOr<std::vector<OutboxRow>> next =
      (*store)->DueOutbox(absl::Now(), 10, first->back().due);
  ASSERT_TRUE(next.ok()) << next.status();
  ASSERT_EQ(next->size(), 1u);
  EXPECT_EQ((*next)[0].message_id, "slow");
  EXPECT_GE((*next)[0].next_attempt, (*first)[0].next_attempt);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace axis::ss
