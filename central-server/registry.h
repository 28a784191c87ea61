// registry.h: the central server's registry (members, subsystems, security
// servers, CAs, TSAs, groups, management requests, signing keys) and the
// versioned global configuration it produces, in SQLite (WAL, synchronous
// FULL).
//
// Every change runs in one transaction that also publishes the new
// GlobalConf version when (and only when) the content changed: version N+1
// carries previous_sha256 = SHA-256 of version N's bytes. Every version is
// kept (conf_versions). A refused change leaves everything as it was.
//
// Errors: INVALID_ARGUMENT for malformed input or a certificate that does not
// chain to a trusted CA; NOT_FOUND for an unknown member, subsystem, server,
// CA, TSA, group or request; ALREADY_EXISTS for a duplicate; FAILED_PRECONDITION
// when the change conflicts with the registry (a member that still has
// servers, a request already decided). Thread-safe.
#ifndef AXIS_CENTRAL_SERVER_REGISTRY_H_
#define AXIS_CENTRAL_SERVER_REGISTRY_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "central.pb.h"
#include "common/clock.h"
#include "globalconf.pb.h"
#include "identifiers.pb.h"

struct sqlite3;

namespace axis::central {

// ConfVersion is one kept version of the configuration content.
struct ConfVersion {
  uint64_t version = 0;
  std::string bytes;  // serialized GlobalConf, exactly as published
};

// SigningKeyRecord is a configuration-signing key known to the registry.
struct SigningKeyRecord {
  int64_t id = 0;
  std::string cert_der;
  std::string key_pem;     // empty: the key from the config file
  std::string state;       // "active", "next" (announced, not yet signing), "retired"
  absl::Time activate_at;  // for "next"
};

class Registry {
 public:
  // Open opens or creates the database at `path` for `instance`.
  // `central_address` and `config_signing_cert_der` (the config file's
  // signing certificate, used when no rotated key is active) go into the
  // content; a first version is published if none exists or the content
  // differs from the latest.
  static absl::StatusOr<std::unique_ptr<Registry>> Open(const std::string& path,
                                                        const std::string& instance,
                                                        const std::string& central_address,
                                                        const std::string& config_signing_cert_der,
                                                        const Clock* clock);
  ~Registry();

  // Latest returns the newest version.
  ConfVersion Latest() const;
  // History returns every version from `from` (ascending).
  absl::StatusOr<std::vector<ConfVersion>> History(uint64_t from) const;

  // Admin changes; each returns the current version after the change.
  // AddMember: `other_codes` are the member's other agency codes (legacy or
  // 2020 format, edxml/agency_code.h), each used by no other member.
  absl::StatusOr<uint64_t> AddMember(const Identifier& id, const std::string& name,
                                     const std::vector<std::string>& other_codes = {});
  absl::StatusOr<uint64_t> RemoveMember(const Identifier& id);
  absl::StatusOr<uint64_t> AddSubsystem(const Identifier& id, const std::string& name);
  absl::StatusOr<uint64_t> RemoveSubsystem(const Identifier& id);
  absl::StatusOr<uint64_t> AddServer(const Identifier& owner, const std::string& server_code,
                                     const std::string& address, const std::string& auth_cert_der);
  absl::StatusOr<uint64_t> RemoveServer(const Identifier& owner, const std::string& server_code);
  absl::StatusOr<uint64_t> AddCa(const std::string& name, const std::string& cert_der,
                                 const std::vector<std::string>& ocsp_urls,
                                 const std::string& crl_der);
  absl::StatusOr<uint64_t> RemoveCa(const std::string& name);
  absl::StatusOr<uint64_t> AddTsa(const std::string& name, const std::string& url,
                                  const std::string& cert_der);
  absl::StatusOr<uint64_t> RemoveTsa(const std::string& name);
  absl::StatusOr<uint64_t> AddGroup(const std::string& code, const std::string& description,
                                    const std::vector<Identifier>& members);
  absl::StatusOr<uint64_t> RemoveGroup(const std::string& code);

  // Management requests. FileRequest stores an already verified request
  // (see requests.h) as pending and returns its id; ALREADY_EXISTS when the
  // same signed bytes were filed before.
  absl::StatusOr<uint64_t> FileRequest(const SignedManagementRequest& signed_request,
                                       const ManagementRequest& request);
  // ApproveRequest applies a pending request's action and marks it approved;
  // if the action is refused the request stays pending and nothing changes.
  absl::StatusOr<uint64_t> ApproveRequest(uint64_t id);
  absl::Status RejectRequest(uint64_t id, const std::string& reason);
  absl::StatusOr<std::vector<RequestInfo>> ListRequests(bool pending_only) const;

  // Signing keys. AnnounceSigningKey records a new key as "next" (announced
  // in the content now, signing from `activate_at`). ActivateDueKeys makes a
  // due "next" key active and retires the old one (a new version that
  // announces only the new certificate). ActiveSigningKey is the one to sign
  // with now.
  absl::StatusOr<uint64_t> AnnounceSigningKey(const std::string& cert_der,
                                              const std::string& key_pem, absl::Time activate_at);
  absl::StatusOr<bool> ActivateDueKeys(absl::Time now);
  absl::StatusOr<SigningKeyRecord> ActiveSigningKey() const;

 private:
  Registry(sqlite3* db, std::string instance, std::string central_address, const Clock* clock);
  class Tx;
  // Mutate runs `change` and the publication of a new version (if the
  // content changed) in one transaction.
  template <typename F>
  absl::StatusOr<uint64_t> Mutate(F change);
  absl::StatusOr<GlobalConf> BuildContent() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status PublishIfChanged() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status CheckChainsToTrustedCa(const std::string& cert_der, absl::string_view what) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status ApplyAction(const ManagementRequest& request) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status AddServerLocked(const Identifier& owner, const std::string& server_code,
                               const std::string& address, const std::string& auth_cert_der,
                               bool allow_existing) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status CheckMemberId(const Identifier& id) const;
  absl::Status CheckNotInGroup(const std::string& key) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<bool> Exists(absl::string_view sql, absl::string_view key) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  sqlite3* db_ ABSL_GUARDED_BY(mu_);
  const std::string instance_;
  const std::string central_address_;
  const Clock* clock_;
  ConfVersion latest_ ABSL_GUARDED_BY(mu_);
};

}  // namespace axis::central

#endif  // AXIS_CENTRAL_SERVER_REGISTRY_H_
