// server.cc: SecurityServer: start-up, shutdown and the configuration
// checks. The parts are in gateway.cc, deliver.cc and outbox.cc
// (server_impl.h).
#include "security-server/server.h"

#include <cstdio>
#include <utility>

#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>
#include <openssl/rand.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "common/files.h"
#include "common/status_macros.h"
#include "proto/conversions.h"
#include "proto/identifiers.h"
#include "proto/text_config.h"
#include "security-server/message_log.h"
#include "security-server/server_impl.h"
#include "signer/bytes_sign.h"

namespace axis::ss {
namespace internal {
namespace {

absl::StatusOr<std::string> ReadConfFile(const std::string& path, const std::string& field) {
  absl::StatusOr<std::string> s = ReadFile(path, size_t{1} << 20);
  if (!s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": ", s.status().message()));
  }
  return s;
}

// KeepHandlerThreads keeps a sync server's handler threads: by default
// (at most 2 idle pollers) a thread that finished a call exits and the next
// burst of concurrent calls creates new ones, which measured one thread
// created per two relayed documents on the recipient under load.
void KeepHandlerThreads(grpc::ServerBuilder* b) {
  b->SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MIN_POLLERS, 1);
  b->SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MAX_POLLERS, 64);
}

}  // namespace

std::string NewMessageId() {
  unsigned char b[16];
  uint64_t us = static_cast<uint64_t>(absl::ToUnixMicros(absl::Now()));
  for (int i = 0; i < 6; ++i) {
    b[i] = static_cast<unsigned char>(us >> (8 * (5 - i)));
  }
  RAND_bytes(b + 6, sizeof(b) - 6);
  return HexOf(absl::string_view(reinterpret_cast<char*>(b), sizeof(b)));
}


std::string PeerCertPem(const grpc::ServerContext* context) {
  std::shared_ptr<const grpc::AuthContext> auth = context->auth_context();
  if (auth == nullptr) {
    return "";
  }
  std::vector<grpc::string_ref> v = auth->FindPropertyValues("x509_pem_cert");
  if (v.empty()) {
    return "";
  }
  return std::string(v[0].data(), v[0].size());
}

// ---------------------------------------------------------------------------
// Start-up

absl::Status Server::Init() {
  AXIS_ASSIGN_OR_RETURN(member_, ParseMemberId(config_.member_id()));
  for (const LocalClient& c : config_.clients()) {
    clients_.push_back({c.cert_sha256_hex(), c.subject(), c.subsystem()});
  }
  AXIS_ASSIGN_OR_RETURN(tls_cert_pem_, ReadConfFile(config_.tls_cert(), "tls_cert"));
  AXIS_ASSIGN_OR_RETURN(tls_key_pem_, ReadConfFile(config_.tls_key(), "tls_key"));
  AXIS_ASSIGN_OR_RETURN(tls_ca_pem_, ReadConfFile(config_.tls_ca(), "tls_ca"));

  signer::KeySpec spec;
  spec.key = config_.seal_key();
  spec.cert_path = config_.seal_cert();
  spec.chain_path = config_.seal_chain();
  AXIS_ASSIGN_OR_RETURN(seal_, signer::LoadSigningKey(spec, config_.seal_pass_file().empty()
                                                               ? signer::NoSecret()
                                                               : signer::SecretFromFile(
                                                                     config_.seal_pass_file())));
  envelope_signer_ = std::make_unique<BatchSigner>(&seal_, BatchKind::kEnvelope);
  receipt_signer_ = std::make_unique<BatchSigner>(&seal_, BatchKind::kReceipt);

  AXIS_ASSIGN_OR_RETURN(ConfAnchor anchor, central::ReadAnchor(config_.anchor_path()));
  ConfHolder::Options co;
  co.anchor = anchor;
  co.bootstrap_file = config_.global_conf_file();
  co.cache_path = config_.conf_cache_path().empty() ? config_.db_path() + ".globalconf"
                                                    : config_.conf_cache_path();
  co.period = SecondsOr(config_.conf_poll_seconds(), 60);
  AXIS_ASSIGN_OR_RETURN(conf_, ConfHolder::Create(co));
  conf_->Start();

  if (!config_.ocsp().disabled()) {
    if (seal_.chain.empty()) {
      return absl::InvalidArgumentError(
          "seal_chain: the issuer of the seal certificate is needed for OCSP");
    }
    OcspCache::Options oo;
    oo.url = config_.ocsp().url();
    // Else the responder the current configuration names for the seal's CA:
    // a server started before its first configuration arrived must not
    // settle for the certificate's AIA.
    oo.url_source = [this] {
      std::shared_ptr<const ConfView> c = conf_->Current();
      return c != nullptr ? c->OcspUrlFor(seal_.chain[0].get()) : std::string();
    };
    oo.max_age = SecondsOr(config_.ocsp().max_age_seconds(), 3600);
    oo.refresh_ahead = SecondsOr(config_.ocsp().refresh_seconds(), 300);
    oo.timeout = SecondsOr(config_.ocsp().timeout_seconds(), 5);
    ocsp_ = std::make_unique<OcspCache>(seal_.cert.get(), seal_.chain[0].get(), oo);
  }

  AXIS_ASSIGN_OR_RETURN(store_, OpenSqliteStore(config_.db_path()));
  spool_ = std::make_unique<Spool>(config_.spool_dir());
  AXIS_RETURN_IF_ERROR(spool_->Init());
  if (!config_.tsa().url().empty()) {
    Timestamper::Options to;
    to.db_path = config_.db_path();
    to.tsa_url = config_.tsa().url();
    to.tsa_roots_files = {config_.tsa().roots_file()};
    if (!config_.tsa().intermediates_file().empty()) {
      to.tsa_intermediate_files = {config_.tsa().intermediates_file()};
    }
    to.interval = SecondsOr(config_.tsa().interval_seconds(), 1);
    AXIS_ASSIGN_OR_RETURN(timestamper_, Timestamper::Start(std::move(to)));
  }

  grpc::SslServerCredentialsOptions tls(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  tls.pem_root_certs = tls_ca_pem_;
  tls.pem_key_cert_pairs.push_back({tls_key_pem_, tls_cert_pem_});
  std::shared_ptr<grpc::ServerCredentials> creds = grpc::SslServerCredentials(tls);

  // grpc.health.v1.Health on both ports, SERVING while the server runs
  // (ARCHITECTURE.md, Operations).
  grpc::EnableDefaultHealthCheckService(true);
  gateway_service_ = std::make_unique<GatewayService>(this);
  relay_service_ = std::make_unique<RelayService>(this);
  audit_service_ = std::make_unique<AuditService>(AuditService::Deps{
      [this](const grpc::ServerContext* ctx) { return ClientSubsystems(ctx); },
      [this](const std::set<std::string>& allowed, const std::string& id) {
        return DoStatus(allowed, id);
      },
      [this] { return conf_->Current(); }, store_.get(), spool_.get(), config_.db_path(),
      absl::StrCat(FormatIdentifier(member_), " ", config_.server_code())});
  {
    grpc::ServerBuilder b;
    b.AddListeningPort(config_.gateway_listen(), creds, &gateway_port_);
    b.RegisterService(gateway_service_.get());
    b.RegisterService(audit_service_.get());
    b.SetMaxReceiveMessageSize(4 << 20);
    // Fixed HTTP/2 windows: bandwidth-delay probing grows them to many MB
    // per stream, which is memory a 1 GB transfer does not need on loopback;
    // the fixed window is kWindow (the default 64 KB stalls 1 MB chunks).
    b.AddChannelArgument(GRPC_ARG_HTTP2_BDP_PROBE, 0);
    b.AddChannelArgument(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, kWindow);
    KeepHandlerThreads(&b);
    gateway_ = b.BuildAndStart();
    if (gateway_ == nullptr || gateway_port_ == 0) {
      return absl::UnavailableError(
          absl::StrCat("gateway_listen: cannot listen on ", config_.gateway_listen()));
    }
  }
  {
    grpc::ServerBuilder b;
    b.AddListeningPort(config_.relay_listen(), creds, &relay_port_);
    b.RegisterService(relay_service_.get());
    b.SetMaxReceiveMessageSize(4 << 20);
    // Fixed HTTP/2 windows: bandwidth-delay probing grows them to many MB
    // per stream, which is memory a 1 GB transfer does not need on loopback;
    // the fixed window is kWindow (the default 64 KB stalls 1 MB chunks).
    b.AddChannelArgument(GRPC_ARG_HTTP2_BDP_PROBE, 0);
    b.AddChannelArgument(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, kWindow);
    KeepHandlerThreads(&b);
    relay_ = b.BuildAndStart();
    if (relay_ == nullptr || relay_port_ == 0) {
      return absl::UnavailableError(
          absl::StrCat("relay_listen: cannot listen on ", config_.relay_listen()));
    }
  }
  int workers = config_.relay_workers() == 0 ? 8 : static_cast<int>(config_.relay_workers());
  {
    absl::MutexLock l(&mu_);
    queue_ = RelayQueue(config_.relay_calls_per_peer() == 0
                            ? 1
                            : static_cast<int>(config_.relay_calls_per_peer()),
                        Spool::kInlineMax, kRelayBatchMax, kRelayBatchBytes);
  }
  threads_.emplace_back([this] { DispatchLoop(); });
  for (int i = 0; i < workers; ++i) {
    threads_.emplace_back([this] { WorkerLoop(); });
  }
  return absl::OkStatus();
}

void Server::Shutdown() {
  if (shut_down_) {
    return;
  }
  shut_down_ = true;
  {
    absl::MutexLock l(&mu_);
    stopping_ = true;
  }
  if (gateway_ != nullptr) {
    gateway_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  }
  if (relay_ != nullptr) {
    relay_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  }
  for (std::thread& t : threads_) {
    t.join();
  }
  threads_.clear();
  timestamper_.reset();
}


}  // namespace internal

// ---------------------------------------------------------------------------
// Config

std::vector<std::string> CheckServerConfig(const ServerConfig& c) {
  std::vector<std::string> p;
  absl::StatusOr<Identifier> member = ParseMemberId(c.member_id());
  if (!member.ok()) {
    p.push_back(absl::StrCat("member_id: ", member.status().message()));
  }
  if (c.server_code().empty()) {
    p.push_back("server_code: required");
  }
  for (const auto& [name, value] :
       std::vector<std::pair<std::string, std::string>>{{"gateway_listen", c.gateway_listen()},
                                                        {"relay_listen", c.relay_listen()}}) {
    if (!absl::StartsWith(value, "127.0.0.1:") && !absl::StartsWith(value, "localhost:")) {
      p.push_back(absl::StrCat(name, ": must be 127.0.0.1:PORT, got '", value, "'"));
    }
  }
  for (const auto& [name, value] : std::vector<std::pair<std::string, std::string>>{
           {"db_path", c.db_path()},
           {"spool_dir", c.spool_dir()},
           {"tls_cert", c.tls_cert()},
           {"tls_key", c.tls_key()},
           {"tls_ca", c.tls_ca()},
           {"seal_key", c.seal_key()},
           {"anchor_path", c.anchor_path()}}) {
    if (value.empty()) {
      p.push_back(absl::StrCat(name, ": required"));
    }
  }
  for (int i = 0; i < c.clients_size(); ++i) {
    const LocalClient& lc = c.clients(i);
    if (lc.cert_sha256_hex().empty() && lc.subject().empty()) {
      p.push_back(absl::StrCat("clients[", i, "]: needs cert_sha256_hex or subject"));
    }
    absl::StatusOr<Identifier> s = ParseSubsystemId(lc.subsystem());
    if (!s.ok()) {
      p.push_back(absl::StrCat("clients[", i, "].subsystem: ", s.status().message()));
    } else if (member.ok() && !SameIdentifier(MemberOf(*s), *member)) {
      p.push_back(absl::StrCat("clients[", i, "].subsystem: ", lc.subsystem(),
                               " is not a subsystem of ", c.member_id()));
    }
  }
  if (!c.tsa().url().empty() && c.tsa().roots_file().empty()) {
    p.push_back("tsa.roots_file: required with tsa.url");
  }
  for (int i = 0; i < c.access_size(); ++i) {
    const AccessRule& r = c.access(i);
    if (r.recipient() != "*" && !ParseSubsystemId(r.recipient()).ok()) {
      p.push_back(absl::StrCat("access[", i, "].recipient: not a subsystem: '", r.recipient(), "'"));
    }
    for (int j = 0; j < r.allowed_size(); ++j) {
      if (!ParseIdentifier(r.allowed(j)).ok()) {
        p.push_back(absl::StrCat("access[", i, "].allowed[", j, "]: not an identifier: '",
                                 r.allowed(j), "'"));
      }
    }
  }
  return p;
}

absl::StatusOr<ServerConfig> LoadServerConfig(const std::string& path) {
  ServerConfig c;
  AXIS_RETURN_IF_ERROR(ReadTextConfig(path, &c));
  std::vector<std::string> problems = CheckServerConfig(c);
  if (!problems.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", absl::StrJoin(problems, "; ")));
  }
  return c;
}

absl::StatusOr<std::unique_ptr<SecurityServer>> SecurityServer::Start(const ServerConfig& config) {
  std::vector<std::string> problems = CheckServerConfig(config);
  if (!problems.empty()) {
    return absl::InvalidArgumentError(absl::StrJoin(problems, "; "));
  }
  auto s = std::make_unique<internal::Server>(config);
  AXIS_RETURN_IF_ERROR(s->Init());
  return std::unique_ptr<SecurityServer>(std::move(s));
}

}  // namespace axis::ss
