// conf_client.h: fetching the global configuration from the central server
// and keeping a verified copy current (security servers, the CLI).
//
// FetchGlobalConf calls CentralPublic.GetGlobalConf over TLS to
// anchor.central_address. The server is authenticated with
// anchor.central_tls_ca_der (its certificate must chain to that CA and name
// the address's host); no client certificate is sent. The result is NOT yet
// verified: pass it to VerifySignedConf (globalconf.h), or use ConfPoller.
//
// ConfPoller fetches every `period`, verifies against the anchor and the
// last accepted version, keeps the last good SignedGlobalConf on disk
// (`cache_path`) and exposes it thread-safely. Signing certificates that a
// verified configuration announces (key rotation) are trusted from then on
// and kept beside the cache (`cache_path`.signers, a ConfAnchor), so a
// restart after a rotation still trusts the new key. What it holds expires at the
// statement's expires_at: a central outage is survived until then and no
// longer (CurrentValid() fails after that).
#ifndef AXIS_CENTRAL_SERVER_CONF_CLIENT_H_
#define AXIS_CENTRAL_SERVER_CONF_CLIENT_H_

#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "central-server/globalconf.h"
#include "central.pb.h"
#include "common/clock.h"
#include "globalconf.pb.h"

namespace axis::central {

// FetchGlobalConf returns the central server's current SignedGlobalConf.
// `since_version` is the version the caller already holds (0 for none); the
// server always answers with its current version, freshly signed.
// UNAVAILABLE when the server cannot be reached within `deadline`;
// INVALID_ARGUMENT when the anchor has no address or no TLS CA.
absl::StatusOr<SignedGlobalConf> FetchGlobalConf(const ConfAnchor& anchor, uint64_t since_version,
                                                 absl::Duration deadline);

// SubmitManagementRequest files a signed management request (requests.h)
// with the central server named by the anchor, over the same TLS as
// FetchGlobalConf. The central server's refusal comes back with its code and
// reason (INVALID_ARGUMENT bad signature, NOT_FOUND unknown member, ...).
absl::StatusOr<SubmitRequestReply> SubmitManagementRequest(const ConfAnchor& anchor,
                                                           const SignedManagementRequest& request,
                                                           absl::Duration deadline);

// ConfPollerOptions configures a ConfPoller.
struct ConfPollerOptions {
  ConfAnchor anchor;
  std::string cache_path;                    // last good conf; empty: none kept
  absl::Duration period = absl::Minutes(1);  // between fetches
  absl::Duration fetch_deadline = absl::Seconds(10);
  const Clock* clock = nullptr;  // nullptr: the wall clock
};

// ConfPoller keeps a verified global configuration current. Thread-safe.
class ConfPoller {
 public:
  // Create loads the cached conf from options.cache_path when present (and
  // still verifiable, expired or not: expiry is checked on use). A cache
  // that fails verification is ignored (not an error).
  static absl::StatusOr<std::unique_ptr<ConfPoller>> Create(ConfPollerOptions options);
  ~ConfPoller();  // stops the thread

  ConfPoller(const ConfPoller&) = delete;
  ConfPoller& operator=(const ConfPoller&) = delete;

  // PollOnce fetches, verifies and (when it passes) installs and caches the
  // configuration. Returns the fetch or verification error otherwise; the
  // previous configuration stays installed.
  absl::Status PollOnce();

  // Start polls now and then every `period` on a background thread until
  // Stop() or destruction. Errors are kept in LastError().
  void Start();
  void Stop();

  // Current returns the last accepted configuration (possibly expired), or
  // nullptr when none was ever accepted.
  std::shared_ptr<const VerifiedConf> Current() const;

  // CurrentValid returns the last accepted configuration if it has not
  // expired; UNAVAILABLE when there is none, FAILED_PRECONDITION ("global
  // configuration expired at ...") when it has.
  absl::StatusOr<std::shared_ptr<const VerifiedConf>> CurrentValid() const;

  // LastError is the status of the latest poll (OK after a success).
  absl::Status LastError() const;

 private:
  explicit ConfPoller(ConfPollerOptions options);
  absl::Time Now() const;
  absl::Status Install(const SignedGlobalConf& signed_conf, bool write_cache);

  ConfAnchor Anchor() const;

  ConfPollerOptions options_;
  RealClock real_clock_;
  mutable absl::Mutex mu_;
  ConfAnchor anchor_ ABSL_GUARDED_BY(mu_);  // options_.anchor + announced signers
  std::shared_ptr<const VerifiedConf> current_ ABSL_GUARDED_BY(mu_);
  absl::Status last_error_ ABSL_GUARDED_BY(mu_);
  absl::Mutex poll_mu_;  // serialises PollOnce
  std::unique_ptr<absl::Notification> stop_;
  std::thread thread_;
};

}  // namespace axis::central

#endif  // AXIS_CENTRAL_SERVER_CONF_CLIENT_H_
