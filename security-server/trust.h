// trust.h: what a security server believes: the verified global
// configuration (and the trust store, peers and directory derived from it),
// the cached OCSP response for its own signing certificate, and the sealing
// and checking of envelopes and receipts.
#ifndef AXIS_SECURITY_SERVER_TRUST_H_
#define AXIS_SECURITY_SERVER_TRUST_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "central-server/globalconf.h"
#include "common/c_ptr.h"
#include "globalconf.pb.h"
#include "security-server/batch_signer.h"
#include "security-server/store.h"
#include "security_server.pb.h"
#include "signer/certs.h"
#include "signer/keys.h"

namespace axis::ss {

// ConfView is one verified global configuration with its derived indexes.
// Immutable; shared by pointer.
struct ConfView {
  std::shared_ptr<const central::VerifiedConf> verified;
  signer::TrustStore trust;  // the conf's roots and intermediates
  std::map<std::string, const axis::SecurityServer*> server_by_cert_hex;  // auth cert SHA-256 hex

  const GlobalConf& conf() const { return verified->conf; }
  absl::Time expires_at() const { return verified->expires_at; }
  uint64_t version() const { return verified->conf.version(); }
  // ServerByCert finds the security server whose auth cert has this SHA-256.
  const axis::SecurityServer* ServerByCert(const std::string& sha256_hex) const;
  // ServerOf returns a security server of `member` (the first registered).
  const axis::SecurityServer* ServerOf(const Identifier& member) const;
  bool HasSubsystem(const Identifier& id) const;
  bool HasMember(const Identifier& id) const;
  // AgencyCodesOf lists the agency codes the member of `id` is known by:
  // its member code, then its other codes (Member.other_codes).
  std::vector<std::string> AgencyCodesOf(const Identifier& id) const;
  // OcspUrlFor returns the conf's OCSP URL for the CA `issuer`, or "".
  std::string OcspUrlFor(X509* issuer) const;

  // A short-lived memo of certificate chains (with their OCSP response)
  // that passed validation under this configuration: every envelope of a
  // sender carries the same chain and, for an hour, the same response.
  bool RecentlyValid(const std::string& key, absl::Time now) const;
  void RememberValid(const std::string& key, absl::Time until) const;
  mutable absl::Mutex memo_mu;
  mutable std::map<std::string, absl::Time> memo ABSL_GUARDED_BY(memo_mu);
  // Batch signatures that verified: the other envelopes (receipts) of a
  // batch skip the public-key operation.
  mutable BatchMemo signatures;
};

// BuildConfView derives a ConfView from a verified configuration.
absl::StatusOr<std::shared_ptr<const ConfView>> BuildConfView(
    std::shared_ptr<const central::VerifiedConf> verified);

// ConfHolder keeps the global configuration current: at start it loads the
// last good one (cache_path; kept even when expired, so CurrentValid says
// why the server stopped), then takes the bootstrap file (offline
// distribution) or, when there is none, asks the central server named by the
// anchor; it does so again every `period` and installs any newer or
// re-signed configuration that verifies against the anchor and the last
// accepted one, writing it to the cache. Signing certificates a verified
// configuration announces (key rotation) are trusted from then on and kept
// in `cache_path`.signers, so a restart after a rotation still trusts the
// new key. Thread-safe.
class ConfHolder {
 public:
  struct Options {
    ConfAnchor anchor;
    std::string bootstrap_file;  // "": fetch from anchor.central_address
    std::string cache_path;
    absl::Duration period = absl::Minutes(1);
    absl::Duration fetch_deadline = absl::Seconds(10);
  };
  // Create fails with INVALID_ARGUMENT when there is no bootstrap file and
  // the anchor cannot reach a central server (no address or TLS CA).
  static absl::StatusOr<std::unique_ptr<ConfHolder>> Create(Options options);
  ~ConfHolder();

  // PollOnce checks the source once. OK when nothing changed.
  absl::Status PollOnce();
  void Start();

  // Current is the last accepted configuration, or nullptr.
  std::shared_ptr<const ConfView> Current() const;
  // CurrentValid fails with FAILED_PRECONDITION when it expired before
  // `now`, UNAVAILABLE when there is none.
  absl::StatusOr<std::shared_ptr<const ConfView>> CurrentValid(absl::Time now) const;

 private:
  explicit ConfHolder(Options options) : options_(std::move(options)), anchor_(options_.anchor) {}
  // Install verifies `signed_conf` at `at` and makes it current.
  absl::Status Install(const SignedGlobalConf& signed_conf, bool write_cache, absl::Time at);
  ConfAnchor Anchor() const;

  Options options_;
  mutable absl::Mutex mu_;
  ConfAnchor anchor_ ABSL_GUARDED_BY(mu_);  // options_.anchor + announced signers
  std::shared_ptr<const ConfView> current_ ABSL_GUARDED_BY(mu_);
  std::string current_bytes_ ABSL_GUARDED_BY(mu_);
  absl::Notification stop_;
  std::thread thread_;
};

// OcspCache holds a fresh OCSP response for one certificate. Get returns the
// cached response while it is fresh and refreshes it ahead of nextUpdate (or
// of max_age) on the calling thread, one caller at a time; while the
// responder is down, callers keep getting the cached response until it goes
// stale, then UNAVAILABLE. Thread-safe.
class OcspCache {
 public:
  struct Options {
    std::string url;  // "" = url_source's answer, else the certificate's AIA
    // url_source, when set, is asked before each fetch while `url` is "" (the
    // global configuration's responder for the issuer, which may arrive or
    // change after start).
    std::function<std::string()> url_source;
    absl::Duration max_age = absl::Hours(1);
    absl::Duration refresh_ahead = absl::Minutes(5);
    absl::Duration timeout = absl::Seconds(5);
    absl::Duration retry_after_failure = absl::Seconds(2);
  };
  OcspCache(X509* cert, X509* issuer, Options options);

  // Get returns the DER response; `trust` checks it before it is cached.
  absl::StatusOr<std::string> Get(const signer::TrustStore& trust, absl::Time now);

  // Held is what the cache holds now, for status reports. Never fetches.
  struct Held {
    std::string url;  // the responder last asked; "" before the first fetch
    absl::Time fresh_until = absl::InfinitePast();  // InfinitePast: no response held
    absl::Time this_update = absl::InfinitePast();
    absl::Time next_update = absl::InfiniteFuture();  // InfiniteFuture when absent
    std::string last_error;  // the last failed fetch; "" after a success
  };
  Held State() const;

 private:
  UniquePtr<X509> cert_;
  UniquePtr<X509> issuer_;
  Options options_;
  absl::Mutex fetch_mu_;  // one fetch at a time
  mutable absl::Mutex mu_;
  std::string der_ ABSL_GUARDED_BY(mu_);
  absl::Time fresh_until_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  absl::Time refresh_at_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  absl::Time next_try_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  std::string last_error_ ABSL_GUARDED_BY(mu_);
  std::string last_url_ ABSL_GUARDED_BY(mu_);
  absl::Time this_update_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  absl::Time next_update_ ABSL_GUARDED_BY(mu_) = absl::InfiniteFuture();
};

// SealEnvelopes makes one envelope per header (without OCSP response), the
// serialized headers signed in one batch by `signer` (an envelope batch
// signer; its key's certificate and chain go into each envelope). Blocks
// while an earlier batch is being signed.
absl::StatusOr<std::vector<Envelope>> SealEnvelopes(const std::vector<EnvelopeHeader>& headers,
                                                    BatchSigner& signer);
// SealEnvelope is SealEnvelopes of one header.
absl::StatusOr<Envelope> SealEnvelope(const EnvelopeHeader& header, BatchSigner& signer);

// SealOutgoing seals the envelopes of message `m` (its fields make the
// EnvelopeHeaders) from `sender` to each of `recipients`, in one batch, and
// returns their outbox rows, accepted and due at m.created_at, carrying the
// payload's digest and size; appends an "accepted" log record per
// recipient to `log`.
absl::StatusOr<std::vector<OutboxRow>> SealOutgoing(const MessageRow& m, const Identifier& sender,
                                                    const std::vector<Identifier>& recipients,
                                                    BatchSigner& signer,
                                                    std::vector<LogItem>* log);

// OutgoingSeal is SealOutgoing in two steps, so that the wait for the batch
// signature can be spent elsewhere: StartSealOutgoing builds the headers,
// appends the log records and submits the headers to `signer` without
// waiting; Finish waits for the signature and returns the outbox rows (once).
// gateway.cc has Finish called by the store's group commit
// (Store::AcceptMessage with `complete`), so that all Sends of one group
// commit share one signature. Movable; must not outlive `signer`.
class OutgoingSeal {
 public:
  absl::StatusOr<std::vector<OutboxRow>> Finish();

 private:
  friend absl::StatusOr<OutgoingSeal> StartSealOutgoing(const MessageRow& m,
                                                        const Identifier& sender,
                                                        const std::vector<Identifier>& recipients,
                                                        BatchSigner& signer,
                                                        std::vector<LogItem>* log);
  BatchSigner* signer_ = nullptr;
  std::vector<std::string> headers_;  // serialized EnvelopeHeaders
  std::vector<OutboxRow> rows_;       // envelopes missing
  BatchSigner::Ticket ticket_;
};
absl::StatusOr<OutgoingSeal> StartSealOutgoing(const MessageRow& m, const Identifier& sender,
                                               const std::vector<Identifier>& recipients,
                                               BatchSigner& signer, std::vector<LogItem>* log);

// ProofOf is the batch proof an Envelope or a Receipt carries; SetProof
// stores one in it.
template <typename SignedMessage>
BatchProof ProofOf(const SignedMessage& m) {
  BatchProof p;
  p.algorithm = m.signature_algorithm();
  p.signature = m.signature();
  p.root = m.batch_root();
  p.index = m.batch_index();
  p.count = m.batch_count();
  p.path.assign(m.batch_path().begin(), m.batch_path().end());
  return p;
}
template <typename SignedMessage>
void SetProof(const BatchProof& p, SignedMessage* m) {
  m->set_signature_algorithm(p.algorithm);
  m->set_signature(p.signature);
  m->set_batch_root(p.root);
  m->set_batch_index(p.index);
  m->set_batch_count(p.count);
  m->clear_batch_path();
  for (const std::string& h : p.path) {
    m->add_batch_path(h);
  }
}

// SignedEnvelope is what CheckEnvelope established.
struct CheckedEnvelope {
  EnvelopeHeader header;
  std::string header_sha256;
  UniquePtr<X509> signer;
};

// CheckEnvelope verifies, in order: the header parses; the signing
// certificate chains to the conf's trust store now; it is the sending
// member's seal (subject OU = the member code); the header is in the signed
// envelope batch and the batch signature verifies (VerifyBatchProof; a
// signature the conf's memo holds is not verified again); and (unless
// `require_ocsp` is false) the stapled OCSP response says good, is fresh
// within `ocsp_max_age`. INVALID_ARGUMENT naming the reason.
absl::StatusOr<CheckedEnvelope> CheckEnvelope(const Envelope& envelope, const ConfView& conf,
                                              absl::Time now, bool require_ocsp,
                                              absl::Duration ocsp_max_age);

// MakeReceipt signs a ReceiptBody with the recipient's seal, in a batch of
// `signer` (a receipt batch signer). Blocks while an earlier batch is being
// signed.
absl::StatusOr<Receipt> MakeReceipt(const ReceiptBody& body, BatchSigner& signer);

// SignReceipts signs `receipts` (their bodies set: serialized ReceiptBodies)
// together, in one batch of `signer` (a receipt batch signer) when there are
// at most its max_batch, adding each one's proof and the chain. The
// receipts of one relay batch so cost one signature, and the sender one
// verification (its memo). Blocks while an earlier batch is being signed.
absl::Status SignReceipts(const std::vector<Receipt*>& receipts, BatchSigner& signer);

// CheckReceipt verifies a receipt for (message id, envelope hash) from the
// member `recipient_member`: chain to the conf's trust store, OU, the body
// in the signed receipt batch and the batch signature, and contents.
// INVALID_ARGUMENT naming the reason.
absl::StatusOr<ReceiptBody> CheckReceipt(const Receipt& receipt, const ConfView& conf,
                                         const std::string& message_id,
                                         const std::string& envelope_sha256,
                                         const Identifier& recipient_member, absl::Time now);

// CertSha256Hex is the SHA-256 (lower-case hex) of a PEM certificate's DER.
absl::StatusOr<std::string> PemCertSha256Hex(const std::string& pem);
// CertSubjectRfc2253 is the subject of a PEM certificate (RFC 2253, UTF-8).
absl::StatusOr<std::string> PemCertSubject(const std::string& pem);

}  // namespace axis::ss

#endif  // AXIS_SECURITY_SERVER_TRUST_H_
