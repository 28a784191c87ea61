// server.h: the central server: CentralPublic (any TLS client) and
// CentralAdmin (admin client certificates only) over gRPC on one TLS port.
//
// The TLS port asks for a client certificate and verifies it against
// client_ca when one is sent; CentralAdmin calls need one whose subject or
// SHA-256 fingerprint the configuration allows (UNAUTHENTICATED without a
// certificate, PERMISSION_DENIED with another one).
//
// Signing: GetGlobalConf returns the latest version signed at most
// resign_period ago (re-signed on demand), valid for `validity`.
#ifndef AXIS_CENTRAL_SERVER_SERVER_H_
#define AXIS_CENTRAL_SERVER_SERVER_H_

#include <atomic>
#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "central-server/registry.h"
#include "central_config.pb.h"
#include "common/clock.h"
#include "globalconf.pb.h"
#include "signer/keys.h"

namespace axis::central {

class CentralServer {
 public:
  // Start checks `config`, opens the registry and serves on config.listen.
  // `clock` (nullptr: the wall clock) must outlive the server.
  static absl::StatusOr<std::unique_ptr<CentralServer>> Start(const CentralConfig& config,
                                                              const Clock* clock = nullptr);
  ~CentralServer();

  // address is "HOST:PORT" as bound (the real port when config asked for 0).
  const std::string& address() const { return address_; }
  // Shutdown stops accepting calls and waits for running ones.
  void Shutdown();

  // CurrentSignedConf returns the latest version, re-signed when needed.
  absl::StatusOr<SignedGlobalConf> CurrentSignedConf();
  // Anchor is what security servers install.
  absl::StatusOr<ConfAnchor> Anchor();
  Registry& registry() { return *registry_; }
  // CheckAdmin authorises an admin call from its peer.
  grpc::Status CheckAdmin(grpc::ServerContext* context) const;
  const CentralConfig& config() const { return config_; }
  const Clock* clock() const { return clock_; }
  bool ready() const { return ready_; }

 private:
  CentralServer(CentralConfig config, const Clock* clock);
  absl::StatusOr<signer::SigningKey> KeyFor(const SigningKeyRecord& record);

  CentralConfig config_;
  RealClock real_clock_;
  const Clock* clock_;
  std::string address_;
  signer::SigningKey config_key_;
  std::string config_cert_der_;
  std::unique_ptr<Registry> registry_;
  std::unique_ptr<grpc::Service> public_service_;
  std::unique_ptr<grpc::Service> admin_service_;
  std::unique_ptr<grpc::Server> server_;
  std::atomic<bool> ready_{false};

  absl::Mutex sign_mu_;
  SignedGlobalConf signed_ ABSL_GUARDED_BY(sign_mu_);
  uint64_t signed_version_ ABSL_GUARDED_BY(sign_mu_) = 0;
  int64_t signed_key_id_ ABSL_GUARDED_BY(sign_mu_) = 0;
  absl::Time signed_at_ ABSL_GUARDED_BY(sign_mu_) = absl::InfinitePast();
};

}  // namespace axis::central

#endif  // AXIS_CENTRAL_SERVER_SERVER_H_
