// timestamper.h: puts the message log under RFC 3161 time-stamps, beside
// the traffic.
//
// A Timestamper owns a thread and its own SQLite connection to the log's
// file (WAL, so readers never wait for writers). Every `interval` it takes
// the records not yet stamped (at most `max_batch`), computes their Merkle
// root (merkle.h), asks the TSA for a token over the root, verifies it and
// stores the batch (message_log_batches) in a short transaction. While the
// TSA is down it retries with back-off; callers of AppendLog never wait for
// it beyond one such short transaction. The security server refuses new
// documents once LastStamp() is too old, and takes them again by itself
// when the TSA returns and the backlog is stamped.
#ifndef AXIS_SECURITY_SERVER_TIMESTAMPER_H_
#define AXIS_SECURITY_SERVER_TIMESTAMPER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "security-server/message_log.h"
#include "signer/certs.h"

namespace axis::ss {

class Timestamper {
 public:
  struct Options {
    std::string db_path;  // the security server's database (CreateLogSchema is run on it)
    std::string tsa_url;  // http(s)://... of an RFC 3161 TSA
    // TSA trust: tokens are verified before they are stored. Either a trust
    // store, or PEM files of roots (and intermediates).
    std::shared_ptr<const signer::TrustStore> tsa_trust;
    std::vector<std::string> tsa_roots_files;
    std::vector<std::string> tsa_intermediate_files;
    absl::Duration interval = absl::Seconds(1);
    int max_batch = 100000;
    // Back-off after a failed stamp: doubles from `interval` up to this.
    absl::Duration max_backoff = absl::Seconds(30);
    absl::Duration request_timeout = absl::Seconds(10);
    // run_thread false: no background thread; only StampNow() stamps (tests).
    bool run_thread = true;
    const Clock* clock = nullptr;  // nullptr: the wall clock
    // Overdue() turns true when the log has waited this long for a stamp.
    absl::Duration max_unstamped_age = absl::Hours(4);
  };

  // Start opens the database, creates the log schema when missing, reads
  // the newest stamp and starts the thread. INVALID_ARGUMENT for bad
  // options (no URL, no TSA trust, max_batch < 1); the database's errors.
  static absl::StatusOr<std::unique_ptr<Timestamper>> Start(Options options);

  Timestamper(const Timestamper&) = delete;
  Timestamper& operator=(const Timestamper&) = delete;
  ~Timestamper();  // stops and joins the thread

  // StampNow stamps one batch now (up to max_batch records). OK also when
  // there was nothing to stamp; UNAVAILABLE while the TSA is down; the
  // token's errors when it does not verify; INTERNAL for database errors.
  // Thread-safe (serialised with the thread's own runs).
  absl::Status StampNow();

  // LastStamp is the genTime of the newest stored time-stamp, or the time
  // the log was last seen with nothing to stamp, whichever is newer: an idle
  // server is not late. At start, read from the database (the newest
  // batch's genTime; with no batch, the oldest unstamped record's time; now
  // when nothing waits). The server compares it with its limit (4 h).
  absl::Time LastStamp() const;

  // Overdue reports whether now - LastStamp() exceeds
  // options.max_unstamped_age: the security server then refuses new
  // documents (relaying what it has) until the backlog is stamped.
  bool Overdue() const;

  // Unstamped is the number of records not under a time-stamp yet, read
  // from the database now (-1 if it cannot be read).
  int64_t Unstamped() const;

  // LastError is the last failed attempt's status (OK after a success).
  absl::Status LastError() const;

 private:
  Timestamper(Options options, LogDb db, LogDb reader,
              std::shared_ptr<const signer::TrustStore> trust);
  void Run();
  absl::Status StampLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(stamp_mu_);
  absl::Time Now() const;

  const Options options_;
  const std::shared_ptr<const signer::TrustStore> trust_;

  absl::Mutex stamp_mu_;  // one batch at a time; guards db_
  LogDb db_ ABSL_GUARDED_BY(stamp_mu_);

  mutable absl::Mutex reader_mu_;
  LogDb reader_ ABSL_GUARDED_BY(reader_mu_);

  mutable absl::Mutex mu_;
  absl::Time last_stamp_ ABSL_GUARDED_BY(mu_);
  absl::Status last_error_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;

  std::thread thread_;
};

}  // namespace axis::ss

#endif  // AXIS_SECURITY_SERVER_TIMESTAMPER_H_
