// log_fixture.h: shared helpers of the message-log tests: a real axis-tsa on
// loopback (fixed port, so it can be stopped and started again), log
// databases filled through AppendLog, and raw access for tampering.
#ifndef AXIS_TESTS_SECURITY_SERVER_LOG_FIXTURE_H_
#define AXIS_TESTS_SECURITY_SERVER_LOG_FIXTURE_H_

#include <sqlite3.h>

#include <filesystem>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "security-server/message_log.h"
#include "signer/certs.h"
#include "tests/testing/paths.h"
#include "tests/testing/process.h"
#include "tests/tsa/tsa_process.h"

namespace axis::ss::test {

namespace at = ::axis::testing;

// TsaProcess is the real axis-tsa on 127.0.0.1:port, restartable on the
// same port.
class TsaProcess {
 public:
  explicit TsaProcess(std::string dir) : dir_(std::move(dir)) {}

  // Start picks a port (the first time) and starts axis-tsa on it.
  void Start() {
    if (port_ == 0) {
      absl::StatusOr<int> port = at::PickFreePort();
      ASSERT_TRUE(port.ok()) << port.status();
      port_ = *port;
    }
    at::TsaProcessOptions options;
    options.port = port_;
    options.dir = dir_;
    options.log = absl::StrCat(dir_, "/tsa.", ++starts_, ".log");
    absl::StatusOr<at::TsaProcess> tsa =
        at::StartTsaProcess(at::TestPkiTsa(at::BinDir(), at::PkiDir()), options);
    ASSERT_TRUE(tsa.ok()) << tsa.status();
    child_ = std::move(tsa->process);
  }

  void Stop() {
    if (child_ != nullptr) {
      child_->Stop();
      child_.reset();
    }
  }

  std::string url() const { return absl::StrCat("http://127.0.0.1:", port_, "/"); }

 private:
  std::string dir_;
  int port_ = 0;
  int starts_ = 0;
  std::unique_ptr<at::ChildProcess> child_;
};

// TsaTrust is the test PKI's roots with its issuing CA.
inline std::shared_ptr<const signer::TrustStore> TsaTrust() {
  auto trust =
      signer::TrustStore::FromPemFiles({at::PkiPath("roots.pem")}, {at::PkiPath("chain.pem")}, {});
  EXPECT_TRUE(trust.ok()) << trust.status();
  return std::make_shared<const signer::TrustStore>(std::move(trust).value());
}

// DataOf is record `seq`'s data: unique, so its bytes can be found in the file.
inline std::string DataOf(int64_t seq) { return absl::StrFormat("payload-of-record-%04d:", seq); }

// AppendNumbered appends records whose data is DataOf(seq), one per transaction.
inline void AppendNumbered(sqlite3* db, int n) {
  for (int i = 0; i < n; ++i) {
    ASSERT_TRUE(ExecSql(db, "BEGIN IMMEDIATE").ok());
    int64_t next = 0;
    {
      sqlite3_stmt* s = nullptr;
      ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT seq FROM message_log_head", -1, &s, nullptr),
                SQLITE_OK);
      ASSERT_EQ(sqlite3_step(s), SQLITE_ROW);
      next = sqlite3_column_int64(s, 0) + 1;
      sqlite3_finalize(s);
    }
    absl::StatusOr<int64_t> seq =
        AppendLog(db,
                  LogEntry{LogEvent::kAccepted, absl::StrCat("msg-", next),
                           "VN/GOV/000.00.00.G12/dms", DataOf(next)},
                  absl::FromUnixSeconds(1780000000) + absl::Seconds(next));
    ASSERT_TRUE(seq.ok()) << seq.status();
    ASSERT_EQ(*seq, next);
    ASSERT_TRUE(ExecSql(db, "COMMIT").ok());
  }
}

// CountBatches returns the number of stored batches.
inline int64_t CountBatches(sqlite3* db) {
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(db, "SELECT count(*) FROM message_log_batches", -1, &s, nullptr) !=
      SQLITE_OK) {
    return -1;
  }
  int64_t n = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : -1;
  sqlite3_finalize(s);
  return n;
}

// CopyDb copies a (checkpointed, closed) database file; the copy needs no
// fsync.
inline void CopyDb(const std::string& from, const std::string& to) {
  std::error_code ec;
  std::filesystem::copy_file(from, to, std::filesystem::copy_options::overwrite_existing, ec);
  ASSERT_FALSE(ec) << from << " -> " << to << ": " << ec.message();
}

}  // namespace axis::ss::test

#endif  // AXIS_TESTS_SECURITY_SERVER_LOG_FIXTURE_H_
