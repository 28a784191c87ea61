// server.cc: SecurityServer.
#include "security-server/server.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <deque>
#include <map>
#include <set>
#include <thread>
#include <utility>

#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>
#include <openssl/rand.h>

#include "absl/base/thread_annotations.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/files.h"
#include "common/status_macros.h"
#include "edxml/message.h"
#include "edxml/reader.h"
#include "proto/conversions.h"
#include "proto/identifiers.h"
#include "proto/text_config.h"
#include "security_server.grpc.pb.h"
#include "security-server/answers.h"
#include "security-server/audit_service.h"
#include "security-server/edxml_check.h"
#include "security-server/message_log.h"
#include "security-server/store.h"
#include "security-server/timestamper.h"
#include "security-server/trust.h"
#include "signer/bytes_sign.h"
#include "signer/report.h"
#include "signer/verify.h"

namespace axis::ss {
namespace {

// Relay and inbox chunks: fewer, larger messages for big payloads (peers
// accept up to 4 MB a message, gRPC clients by default too).
constexpr size_t kChunk = 1024 * 1024;
// HTTP/2 stream window of our servers and the relay channel.
constexpr int kWindow = 2 * 1024 * 1024;
// Accepted rows queued for the relay workers directly by Send, at most.
constexpr size_t kDirectQueueMax = 256;

// NewMessageId is 16 bytes in hex: the creation time in microseconds (6
// bytes, big-endian) and 10 random bytes. Ids made close in time sort close
// together, so the primary-key indexes of messages, outbox and inbox (on
// both servers) touch a few B-tree pages per commit instead of one random
// page per document.
std::string NewMessageId() {
  unsigned char b[16];
  uint64_t us = static_cast<uint64_t>(absl::ToUnixMicros(absl::Now()));
  for (int i = 0; i < 6; ++i) {
    b[i] = static_cast<unsigned char>(us >> (8 * (5 - i)));
  }
  RAND_bytes(b + 6, sizeof(b) - 6);
  return HexOf(absl::string_view(reinterpret_cast<char*>(b), sizeof(b)));
}

// PeerCertPem returns the TLS peer certificate of a server call, or "".
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

absl::Duration SecondsOr(uint32_t v, int64_t dflt) { return absl::Seconds(v == 0 ? dflt : v); }

struct ClientEntry {
  std::string sha256_hex;
  std::string subject;
  std::string subsystem;
};

class Server;

class GatewayService final : public AgencyGateway::Service {
 public:
  explicit GatewayService(Server* s) : s_(s) {}
  grpc::Status Send(grpc::ServerContext* c, grpc::ServerReader<SendRequest>* r,
                    SendResponse* out) override;
  grpc::Status Receive(grpc::ServerContext* c, const ReceiveRequest* req,
                       grpc::ServerWriter<ReceiveResponse>* w) override;
  grpc::Status Ack(grpc::ServerContext* c, const AckRequest* req, AckResponse* out) override;
  grpc::Status Status(grpc::ServerContext* c, const StatusRequest* req,
                      StatusResponse* out) override;
  grpc::Status ListAgencies(grpc::ServerContext* c, const ListAgenciesRequest* req,
                            ListAgenciesResponse* out) override;
  grpc::Status ListSent(grpc::ServerContext* c, const ListSentRequest* req,
                        ListSentResponse* out) override;
  grpc::Status ServerStatus(grpc::ServerContext* c, const ServerStatusRequest* req,
                            ServerStatusResponse* out) override;

 private:
  Server* s_;
};

class RelayService final : public Relay::Service {
 public:
  explicit RelayService(Server* s) : s_(s) {}
  grpc::Status Deliver(grpc::ServerContext* c, grpc::ServerReader<DeliverRequest>* r,
                       Receipt* out) override;

 private:
  Server* s_;
};

class Server : public SecurityServer {
 public:
  explicit Server(ServerConfig config) : config_(std::move(config)) {}
  ~Server() override { Shutdown(); }

  absl::Status Init();
  int gateway_port() const override { return gateway_port_; }
  int relay_port() const override { return relay_port_; }
  void Shutdown() override;

  // --- gateway
  absl::StatusOr<std::set<std::string>> ClientSubsystems(const grpc::ServerContext* c);
  absl::StatusOr<SendResponse> DoSend(const std::set<std::string>& allowed,
                                      grpc::ServerReader<SendRequest>* r);
  absl::Status DoReceive(const std::set<std::string>& allowed, const ReceiveRequest& req,
                         grpc::ServerContext* c, grpc::ServerWriter<ReceiveResponse>* w);
  absl::Status DoAck(const std::set<std::string>& allowed, const AckRequest& req);
  absl::StatusOr<StatusResponse> DoStatus(const std::set<std::string>& allowed,
                                          const std::string& id);
  absl::StatusOr<ListAgenciesResponse> DoListAgencies();
  absl::StatusOr<ListSentResponse> DoListSent(const std::set<std::string>& allowed,
                                              const ListSentRequest& req);
  // DoServerStatus reports configuration, time-stamping, OCSP, queues and
  // whether new documents are accepted (any local client may ask).
  absl::StatusOr<ServerStatusResponse> DoServerStatus();
  // --- relay
  absl::StatusOr<Receipt> DoDeliver(grpc::ServerContext* c, grpc::ServerReader<DeliverRequest>* r);

 private:
  absl::Status AdmitNewDocuments(absl::Time now);
  absl::StatusOr<Receipt> DeliverChecked(const std::string& peer_name, const ConfView& conf,
                                         const Envelope& envelope,
                                         grpc::ServerReader<DeliverRequest>* r);
  bool AccessAllowed(const Identifier& sender, const Identifier& recipient, const ConfView& conf);
  // VerifyDocumentSignatures verifies the XML signatures of the payload
  // `digest`, keeps the report beside it (and in `report_json`) and says
  // why they are not valid. `unsigned_ok`: no signature at all is fine.
  absl::Status VerifyDocumentSignatures(const EnvelopeHeader& h, const ConfView& conf,
                                        const std::string& digest, absl::Time now,
                                        bool unsigned_ok, std::string* report_json);
  // AnswerRefusal stores and queues the edXML status 02 answering a refused
  // edXML document (answers.h); failures are only reported on stderr.
  void AnswerRefusal(const EnvelopeHeader& h, const edxml::Message& document,
                     const absl::Status& why, absl::Time now);
  // Enqueue hands accepted outbox rows straight to the relay workers.
  void Enqueue(std::vector<OutboxRow> rows);
  absl::Status Refuse(const std::string& id, const std::string& peer, const absl::Status& why);

  // --- outbox
  void DispatchLoop();
  void WorkerLoop();
  void DeliverOne(OutboxRow row);
  absl::StatusOr<Receipt> SendToPeer(const std::string& address, const Envelope& envelope,
                                     const OutboxRow& row, std::string* peer_cert_hex);
  absl::StatusOr<Receipt> FinishDeliver(grpc::ClientContext* ctx,
                                        grpc::ClientWriter<DeliverRequest>* w, Receipt* receipt,
                                        std::string* peer_cert_hex);
  std::shared_ptr<grpc::Channel> ChannelFor(const std::string& address);
  // SmallPayload is a payload of at most Spool::kInlineMax bytes kept in
  // the store, or nullopt (then it is the spool file Spool::PathOf).
  absl::StatusOr<std::optional<std::string>> SmallPayload(const std::string& sha256,
                                                          uint64_t size) {
    if (size > Spool::kInlineMax) {
      return std::optional<std::string>();
    }
    return store_->GetPayload(sha256);
  }
  // CertIdentity returns (SHA-256 hex, subject) of a PEM peer certificate,
  // cached: peers present the same few certificates on every call.
  absl::StatusOr<std::pair<std::string, std::string>> CertIdentity(const std::string& pem);

  ServerConfig config_;
  Identifier member_;
  std::vector<ClientEntry> clients_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Spool> spool_;
  std::unique_ptr<ConfHolder> conf_;
  signer::SigningKey seal_;
  std::unique_ptr<OcspCache> ocsp_;
  std::unique_ptr<Timestamper> timestamper_;
  std::string tls_cert_pem_, tls_key_pem_, tls_ca_pem_;
  std::unique_ptr<GatewayService> gateway_service_;
  std::unique_ptr<RelayService> relay_service_;
  std::unique_ptr<AuditService> audit_service_;
  std::unique_ptr<grpc::Server> gateway_;
  std::unique_ptr<grpc::Server> relay_;
  int gateway_port_ = 0;
  int relay_port_ = 0;

  absl::Mutex certs_mu_;
  std::map<std::string, std::pair<std::string, std::string>> certs_ ABSL_GUARDED_BY(certs_mu_);
  absl::Mutex channels_mu_;
  std::map<std::string, std::shared_ptr<grpc::Channel>> channels_ ABSL_GUARDED_BY(channels_mu_);

  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool wake_ ABSL_GUARDED_BY(mu_) = false;
  // The store may hold due rows neither queued nor in flight.
  bool undispatched_ ABSL_GUARDED_BY(mu_) = true;
  // The earliest retry the dispatcher knows of.
  absl::Time next_retry_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  std::deque<OutboxRow> queue_ ABSL_GUARDED_BY(mu_);
  std::set<std::pair<std::string, std::string>> inflight_ ABSL_GUARDED_BY(mu_);
  int64_t inbox_generation_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<std::thread> threads_;
  bool shut_down_ = false;
};

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

// ---------------------------------------------------------------------------
// Gateway

absl::StatusOr<std::pair<std::string, std::string>> Server::CertIdentity(const std::string& pem) {
  {
    absl::MutexLock l(&certs_mu_);
    auto it = certs_.find(pem);
    if (it != certs_.end()) {
      return it->second;
    }
  }
  AXIS_ASSIGN_OR_RETURN(std::string hex, PemCertSha256Hex(pem));
  AXIS_ASSIGN_OR_RETURN(std::string subject, PemCertSubject(pem));
  absl::MutexLock l(&certs_mu_);
  if (certs_.size() > 1000) {
    certs_.clear();
  }
  certs_[pem] = {hex, subject};
  return std::make_pair(hex, subject);
}

absl::StatusOr<std::set<std::string>> Server::ClientSubsystems(const grpc::ServerContext* c) {
  std::string pem = PeerCertPem(c);
  if (pem.empty()) {
    return absl::UnauthenticatedError("no TLS client certificate");
  }
  AXIS_ASSIGN_OR_RETURN(auto identity, CertIdentity(pem));
  const std::string& hex = identity.first;
  const std::string& subject = identity.second;
  std::set<std::string> out;
  for (const ClientEntry& e : clients_) {
    if ((!e.sha256_hex.empty() && e.sha256_hex == hex) ||
        (!e.subject.empty() && e.subject == subject)) {
      out.insert(e.subsystem);
    }
  }
  if (out.empty()) {
    return absl::UnauthenticatedError(
        absl::StrCat("client certificate ", subject, " (sha256 ", hex,
                     ") is not a local client of this security server"));
  }
  return out;
}

absl::Status Server::AdmitNewDocuments(absl::Time now) {
  if (timestamper_ != nullptr) {
    absl::Duration grace = SecondsOr(config_.timestamp_grace_seconds(), 4 * 3600);
    absl::Time last = timestamper_->LastStamp();
    if (now - last > grace) {
      return absl::FailedPreconditionError(absl::StrCat(
          "not accepting documents: the message log has had no time-stamp since ",
          absl::FormatTime(absl::RFC3339_sec, last, absl::UTCTimeZone()), " (limit ",
          absl::FormatDuration(grace), "; TSA ", config_.tsa().url(),
          ": ", timestamper_->LastError().message(), ")"));
    }
  }
  absl::StatusOr<std::shared_ptr<const ConfView>> conf = conf_->CurrentValid(now);
  if (!conf.ok()) {
    if (conf.status().code() == absl::StatusCode::kUnavailable) {
      return absl::FailedPreconditionError(
          absl::StrCat("not accepting documents: ", conf.status().message()));
    }
    return absl::FailedPreconditionError(
        absl::StrCat("not accepting documents: ", conf.status().message()));
  }
  return absl::OkStatus();
}

absl::StatusOr<SendResponse> Server::DoSend(const std::set<std::string>& allowed,
                                            grpc::ServerReader<SendRequest>* r) {
  SendRequest req;
  if (!r->Read(&req) || !req.has_header()) {
    return absl::InvalidArgumentError("send: the first message must be the header");
  }
  const SendHeader h = req.header();
  absl::Time now = absl::Now();
  AXIS_RETURN_IF_ERROR(ValidateIdentifier(h.sender()));
  std::string sender = FormatIdentifier(h.sender());
  if (h.sender().subsystem().empty() || allowed.count(sender) == 0) {
    return absl::PermissionDeniedError(
        absl::StrCat("send: this client may not send as ", sender));
  }
  AXIS_RETURN_IF_ERROR(AdmitNewDocuments(now));
  AXIS_ASSIGN_OR_RETURN(std::shared_ptr<const ConfView> conf, conf_->CurrentValid(now));
  if (h.recipients().empty()) {
    return absl::InvalidArgumentError("send: no recipient");
  }
  if (h.document_type().size() > 64 || h.dms_reference().size() > 256 ||
      h.status_text().size() > 4096) {
    return absl::InvalidArgumentError("send: header field too long");
  }
  std::vector<std::string> recipients;
  for (const Identifier& to : h.recipients()) {
    AXIS_RETURN_IF_ERROR(ValidateIdentifier(to));
    std::string name = FormatIdentifier(to);
    if (to.subsystem().empty() || !conf->HasSubsystem(to)) {
      return absl::NotFoundError(
          absl::StrCat("send: recipient ", name, " is not a subsystem in the global configuration"));
    }
    if (conf->ServerOf(to) == nullptr) {
      return absl::NotFoundError(absl::StrCat("send: recipient ", name, " has no security server"));
    }
    for (const std::string& seen : recipients) {
      if (seen == name) {
        return absl::InvalidArgumentError(absl::StrCat("send: recipient ", name, " given twice"));
      }
    }
    recipients.push_back(name);
  }
  if (h.document_type() == "status") {
    if (h.in_reply_to().empty() || recipients.size() != 1) {
      return absl::InvalidArgumentError(
          "send: a status names the original message (in_reply_to) and has one recipient");
    }
    if (h.status_code().size() != 2 || h.status_code() < "01" || h.status_code() > "06") {
      return absl::InvalidArgumentError(
          absl::StrCat("send: status code '", h.status_code(), "' is not an edXML code 01..06"));
    }
    AXIS_ASSIGN_OR_RETURN(std::optional<InboxRow> orig, store_->FindInbox(h.in_reply_to(), sender));
    if (!orig.has_value() || orig->sender != recipients[0]) {
      return absl::NotFoundError(absl::StrCat("send: ", sender, " received no message ",
                                              h.in_reply_to(), " from ", recipients[0]));
    }
  }

  uint64_t max = config_.max_payload_bytes() == 0 ? (uint64_t{2} << 30) : config_.max_payload_bytes();
  AXIS_ASSIGN_OR_RETURN(std::unique_ptr<Spool::Writer> w, spool_->NewWriter(/*may_inline=*/true));
  while (r->Read(&req)) {
    if (!req.has_chunk() && req.part_case() != SendRequest::kChunk) {
      return absl::InvalidArgumentError("send: a second header");
    }
    if (w->size() + req.chunk().size() > max) {
      return absl::ResourceExhaustedError(absl::StrCat("send: payload over ", max, " bytes"));
    }
    AXIS_RETURN_IF_ERROR(w->Append(req.chunk()));
  }
  uint64_t size = w->size();
  AXIS_ASSIGN_OR_RETURN(std::string digest, w->Finish());

  MessageRow m;
  m.id = NewMessageId();
  m.sender = sender;
  m.document_type = h.document_type();
  m.content_type = h.content_type().empty() ? "application/xml" : h.content_type();
  m.dms_reference = h.dms_reference();
  m.in_reply_to = h.in_reply_to();
  m.status_code = h.status_code();
  m.status_text = h.status_text();
  m.payload_sha256 = digest;
  m.payload_size = size;
  m.created_at = now;
  std::shared_ptr<const std::string> small;
  if (w->inlined()) {
    small = std::make_shared<const std::string>(w->data());
    m.inline_payload = *small;
  }
  std::vector<OutboxRow> rows;
  std::vector<LogItem> log;
  for (const Identifier& to : h.recipients()) {
    AXIS_ASSIGN_OR_RETURN(OutboxRow o, SealOutgoing(m, h.sender(), to, seal_, &log));
    rows.push_back(std::move(o));
  }
  AXIS_RETURN_IF_ERROR(store_->AcceptMessage(m, rows, log));
  for (OutboxRow& o : rows) {
    o.payload = small;
  }
  Enqueue(std::move(rows));
  SendResponse out;
  out.set_message_id(m.id);
  out.set_payload_sha256(digest);
  out.set_payload_size(size);
  return out;
}

void Server::Enqueue(std::vector<OutboxRow> rows) {
  // Bounded; beyond that, and after a restart, the dispatcher reads them
  // from the store: re-reading the outbox for every Send cost more than the
  // delivery.
  absl::MutexLock l(&mu_);
  for (OutboxRow& o : rows) {
    if (queue_.size() >= kDirectQueueMax) {
      wake_ = true;
      undispatched_ = true;
      break;
    }
    if (inflight_.insert({o.message_id, o.recipient}).second) {
      queue_.push_back(std::move(o));
    }
  }
}

absl::Status Server::DoReceive(const std::set<std::string>& allowed, const ReceiveRequest& req,
                               grpc::ServerContext* c, grpc::ServerWriter<ReceiveResponse>* w) {
  AXIS_RETURN_IF_ERROR(ValidateIdentifier(req.subsystem()));
  std::string me = FormatIdentifier(req.subsystem());
  if (allowed.count(me) == 0) {
    return absl::PermissionDeniedError(absl::StrCat("receive: this client is not ", me));
  }
  int limit = req.max_messages() == 0 ? 1000 : static_cast<int>(req.max_messages());
  absl::Time deadline = absl::Now() + absl::Seconds(req.wait_seconds() == 0 ? 30 : req.wait_seconds());
  while (true) {
    int64_t generation;
    {
      absl::MutexLock l(&mu_);
      generation = inbox_generation_;
    }
    AXIS_ASSIGN_OR_RETURN(std::vector<InboxRow> rows, store_->PendingInbox(me, limit));
    if (!rows.empty() || !req.wait() || absl::Now() >= deadline || c->IsCancelled()) {
      // Small payloads kept in the store, read a window of rows at a time.
      std::vector<std::optional<std::string>> smalls;
      size_t smalls_from = 0;
      for (size_t i = 0; i < rows.size(); ++i) {
        const InboxRow& row = rows[i];
        if (i == smalls_from + smalls.size()) {
          std::vector<std::string> want;
          uint64_t bytes = 0;
          for (size_t j = i; j < rows.size() && want.size() < 64 && bytes < kChunk; ++j) {
            bool small = rows[j].payload_size <= Spool::kInlineMax;
            want.push_back(small ? rows[j].payload_sha256 : std::string());
            bytes += small ? rows[j].payload_size : 0;
          }
          AXIS_ASSIGN_OR_RETURN(smalls, store_->GetPayloads(want));
          smalls_from = i;
        }
        std::optional<std::string>& small = smalls[i - smalls_from];
        ReceiveResponse resp;
        InboxMessage* m = resp.mutable_message();
        m->set_message_id(row.message_id);
        AXIS_ASSIGN_OR_RETURN(*m->mutable_sender(), ParseSubsystemId(row.sender));
        AXIS_ASSIGN_OR_RETURN(*m->mutable_recipient(), ParseSubsystemId(row.recipient));
        m->set_document_type(row.document_type);
        m->set_content_type(row.content_type);
        m->set_dms_reference(row.dms_reference);
        m->set_payload_sha256(row.payload_sha256);
        m->set_payload_size(row.payload_size);
        *m->mutable_received_at() = ToProtoTime(row.received_at);
        m->set_in_reply_to(row.in_reply_to);
        m->set_status_code(row.status_code);
        m->set_status_text(row.status_text);
        m->set_verification_report_json(row.report_json);
        if (!w->Write(resp)) {
          return absl::CancelledError("receive: client went away");
        }
        if (small.has_value()) {
          if (!small->empty()) {
            ReceiveResponse chunk;
            chunk.set_chunk(std::move(*small));
            if (!w->Write(chunk)) {
              return absl::CancelledError("receive: client went away");
            }
          }
          continue;
        }
        std::string path = spool_->PathOf(row.payload_sha256);
        int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
          return PosixError(path, "open", errno);
        }
        ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
        // One message, read into directly (no copy through a buffer).
        ReceiveResponse chunk;
        std::string* buf = chunk.mutable_chunk();
        const size_t want = std::min<uint64_t>(kChunk, row.payload_size);
        uint64_t sent = 0;
        absl::Status st;
        while (sent < row.payload_size) {
          buf->resize(want);
          ssize_t n = ::read(fd, buf->data(), want);
          if (n < 0 && errno == EINTR) {
            continue;
          }
          if (n <= 0) {
            st = absl::DataLossError(absl::StrCat("receive: spool file ", path, " is short"));
            break;
          }
          buf->resize(static_cast<size_t>(n));
          if (!w->Write(chunk)) {
            st = absl::CancelledError("receive: client went away");
            break;
          }
          sent += static_cast<uint64_t>(n);
        }
        ::close(fd);
        AXIS_RETURN_IF_ERROR(st);
      }
      return absl::OkStatus();
    }
    absl::MutexLock l(&mu_);
    auto changed = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return inbox_generation_ != generation || stopping_;
    };
    mu_.AwaitWithDeadline(absl::Condition(&changed), std::min(deadline, absl::Now() + absl::Seconds(1)));
    if (stopping_) {
      return absl::UnavailableError("server shutting down");
    }
  }
}

absl::Status Server::DoAck(const std::set<std::string>& allowed, const AckRequest& req) {
  std::vector<std::string> targets;
  if (req.has_subsystem()) {
    AXIS_RETURN_IF_ERROR(ValidateIdentifier(req.subsystem()));
    targets.push_back(FormatIdentifier(req.subsystem()));
  } else {
    AXIS_ASSIGN_OR_RETURN(std::vector<InboxRow> rows, store_->InboxById(req.message_id()));
    for (const InboxRow& row : rows) {
      if (allowed.count(row.recipient) > 0) {
        targets.push_back(row.recipient);
      }
    }
    if (targets.empty()) {
      return absl::NotFoundError(absl::StrCat("ack: message ", req.message_id(),
                                              " is not in this client's inbox"));
    }
  }
  for (const std::string& t : targets) {
    if (allowed.count(t) == 0) {
      return absl::PermissionDeniedError(absl::StrCat("ack: this client is not ", t));
    }
    AXIS_RETURN_IF_ERROR(store_->AckInbox(
        req.message_id(), t, {{static_cast<int>(LogEvent::kStatus), req.message_id(), t, "acknowledged"}}));
  }
  return absl::OkStatus();
}

absl::StatusOr<StatusResponse> Server::DoStatus(const std::set<std::string>& allowed,
                                                const std::string& id) {
  StatusResponse out;
  out.set_message_id(id);
  AXIS_ASSIGN_OR_RETURN(std::optional<MessageRow> m, store_->GetMessage(id));
  if (m.has_value() && allowed.count(m->sender) > 0) {
    AXIS_ASSIGN_OR_RETURN(*out.mutable_sender(), ParseSubsystemId(m->sender));
    out.set_document_type(m->document_type);
    out.set_dms_reference(m->dms_reference);
    *out.mutable_created_at() = ToProtoTime(m->created_at);
    AXIS_ASSIGN_OR_RETURN(std::vector<OutboxRow> rows, store_->OutboxOf(id));
    AXIS_ASSIGN_OR_RETURN(std::vector<StatusRow> statuses, store_->StatusesOf(id));
    for (const OutboxRow& r : rows) {
      RecipientStatus* rs = out.add_recipients();
      AXIS_ASSIGN_OR_RETURN(*rs->mutable_recipient(), ParseSubsystemId(r.recipient));
      switch (r.state) {
        case OutboxState::kAccepted:
          rs->set_state(RecipientStatus::ACCEPTED);
          break;
        case OutboxState::kRelayed:
          rs->set_state(RecipientStatus::RELAYED);
          break;
        case OutboxState::kDelivered:
          rs->set_state(RecipientStatus::DELIVERED);
          break;
        case OutboxState::kFailed:
          rs->set_state(RecipientStatus::FAILED);
          break;
      }
      rs->set_reason(r.reason);
      if (!r.receipt.empty()) {
        rs->mutable_receipt()->ParseFromString(r.receipt);
      }
      rs->set_attempts(static_cast<uint32_t>(r.attempts));
      *rs->mutable_updated_at() = ToProtoTime(r.updated_at);
      for (const StatusRow& s : statuses) {
        if (s.recipient == r.recipient) {
          BusinessStatus* b = rs->add_statuses();
          b->set_code(s.code);
          b->set_text(s.text);
          b->set_status_message_id(s.status_message_id);
          *b->mutable_at() = ToProtoTime(s.at);
        }
      }
    }
    return out;
  }
  AXIS_ASSIGN_OR_RETURN(std::vector<InboxRow> rows, store_->InboxById(id));
  for (const InboxRow& r : rows) {
    if (allowed.count(r.recipient) == 0) {
      continue;
    }
    AXIS_ASSIGN_OR_RETURN(*out.mutable_sender(), ParseSubsystemId(r.sender));
    out.set_document_type(r.document_type);
    out.set_dms_reference(r.dms_reference);
    RecipientStatus* rs = out.add_recipients();
    AXIS_ASSIGN_OR_RETURN(*rs->mutable_recipient(), ParseSubsystemId(r.recipient));
    rs->set_state(r.acked ? RecipientStatus::ACKNOWLEDGED : RecipientStatus::DELIVERED);
    rs->mutable_receipt()->ParseFromString(r.receipt);
    *rs->mutable_updated_at() = ToProtoTime(r.received_at);
  }
  if (out.recipients().empty()) {
    return absl::NotFoundError(absl::StrCat("status: no message ", id, " for this client"));
  }
  return out;
}

absl::StatusOr<ListAgenciesResponse> Server::DoListAgencies() {
  std::shared_ptr<const ConfView> conf = conf_->Current();
  if (conf == nullptr) {
    return absl::FailedPreconditionError("no global configuration yet");
  }
  ListAgenciesResponse out;
  out.set_conf_version(conf->version());
  for (const Member& m : conf->conf().members()) {
    Agency* a = out.add_agencies();
    *a->mutable_member() = m.id();
    a->set_name(m.name());
    a->set_agency_code(m.id().member_code());
    for (const std::string& code : m.other_codes()) {
      a->add_other_codes(code);
    }
    for (const Subsystem& s : conf->conf().subsystems()) {
      if (SameIdentifier(MemberOf(s.id()), m.id())) {
        *a->add_subsystems() = s.id();
        a->add_subsystem_names(s.name());
      }
    }
  }
  return out;
}

absl::StatusOr<ListSentResponse> Server::DoListSent(const std::set<std::string>& allowed,
                                                    const ListSentRequest& req) {
  AXIS_RETURN_IF_ERROR(ValidateIdentifier(req.subsystem()));
  std::string me = FormatIdentifier(req.subsystem());
  if (allowed.count(me) == 0) {
    return absl::PermissionDeniedError(absl::StrCat("list sent: this client is not ", me));
  }
  AXIS_ASSIGN_OR_RETURN(std::vector<std::string> ids,
                        store_->SentBy(me, req.limit() == 0 ? 100 : static_cast<int>(req.limit())));
  ListSentResponse out;
  for (const std::string& id : ids) {
    AXIS_ASSIGN_OR_RETURN(*out.add_messages(), DoStatus(allowed, id));
  }
  return out;
}

absl::StatusOr<ServerStatusResponse> Server::DoServerStatus() {
  absl::Time now = absl::Now();
  ServerStatusResponse out;
  *out.mutable_member() = member_;
  out.set_server_code(config_.server_code());
  *out.mutable_now() = ToProtoTime(now);

  ServerStatusResponse::Conf* gc = out.mutable_global_conf();
  if (std::shared_ptr<const ConfView> conf = conf_->Current(); conf != nullptr) {
    gc->set_present(true);
    gc->set_version(conf->version());
    gc->set_instance(conf->conf().instance());
    *gc->mutable_expires_at() = ToProtoTime(conf->expires_at());
  }
  absl::StatusOr<std::shared_ptr<const ConfView>> valid = conf_->CurrentValid(now);
  gc->set_valid(valid.ok());
  if (!valid.ok()) {
    gc->set_error(std::string(valid.status().message()));
  }

  ServerStatusResponse::Timestamping* ts = out.mutable_timestamping();
  if (timestamper_ != nullptr) {
    ts->set_enabled(true);
    ts->set_tsa_url(config_.tsa().url());
    *ts->mutable_last_stamp() = ToProtoTime(timestamper_->LastStamp());
    ts->set_unstamped_records(timestamper_->Unstamped());
    ts->set_last_error(std::string(timestamper_->LastError().message()));
    ts->set_grace_seconds(static_cast<uint64_t>(
        absl::ToInt64Seconds(SecondsOr(config_.timestamp_grace_seconds(), 4 * 3600))));
  }

  ServerStatusResponse::Ocsp* oc = out.mutable_ocsp();
  if (ocsp_ != nullptr) {
    OcspCache::Held held = ocsp_->State();
    oc->set_enabled(true);
    oc->set_url(held.url);
    if (held.fresh_until != absl::InfinitePast()) {
      *oc->mutable_fresh_until() = ToProtoTime(held.fresh_until);
      *oc->mutable_this_update() = ToProtoTime(held.this_update);
      if (held.next_update != absl::InfiniteFuture()) {
        *oc->mutable_next_update() = ToProtoTime(held.next_update);
      }
    }
    oc->set_last_error(held.last_error);
  }

  AXIS_ASSIGN_OR_RETURN(QueueCounts counts, store_->Counts());
  ServerStatusResponse::Queues* q = out.mutable_queues();
  q->set_outbox_accepted(static_cast<uint64_t>(counts.outbox_accepted));
  q->set_outbox_relayed(static_cast<uint64_t>(counts.outbox_relayed));
  q->set_outbox_delivered(static_cast<uint64_t>(counts.outbox_delivered));
  q->set_outbox_failed(static_cast<uint64_t>(counts.outbox_failed));
  q->set_inbox_pending(static_cast<uint64_t>(counts.inbox_pending));
  q->set_inbox_acknowledged(static_cast<uint64_t>(counts.inbox_acknowledged));

  absl::Status admit = AdmitNewDocuments(now);
  out.set_accepting_documents(admit.ok());
  if (!admit.ok()) {
    out.set_refusal_reason(
        std::string(absl::StripPrefix(admit.message(), "not accepting documents: ")));
  }
  return out;
}

grpc::Status GatewayService::Send(grpc::ServerContext* c, grpc::ServerReader<SendRequest>* r,
                                  SendResponse* out) {
  absl::StatusOr<std::set<std::string>> allowed = s_->ClientSubsystems(c);
  if (!allowed.ok()) {
    return ToGrpcStatus(allowed.status());
  }
  absl::StatusOr<SendResponse> resp = s_->DoSend(*allowed, r);
  if (!resp.ok()) {
    return ToGrpcStatus(resp.status());
  }
  *out = std::move(*resp);
  return grpc::Status::OK;
}

grpc::Status GatewayService::Receive(grpc::ServerContext* c, const ReceiveRequest* req,
                                     grpc::ServerWriter<ReceiveResponse>* w) {
  absl::StatusOr<std::set<std::string>> allowed = s_->ClientSubsystems(c);
  if (!allowed.ok()) {
    return ToGrpcStatus(allowed.status());
  }
  return ToGrpcStatus(s_->DoReceive(*allowed, *req, c, w));
}

grpc::Status GatewayService::Ack(grpc::ServerContext* c, const AckRequest* req, AckResponse*) {
  absl::StatusOr<std::set<std::string>> allowed = s_->ClientSubsystems(c);
  if (!allowed.ok()) {
    return ToGrpcStatus(allowed.status());
  }
  return ToGrpcStatus(s_->DoAck(*allowed, *req));
}

grpc::Status GatewayService::Status(grpc::ServerContext* c, const StatusRequest* req,
                                    StatusResponse* out) {
  absl::StatusOr<std::set<std::string>> allowed = s_->ClientSubsystems(c);
  if (!allowed.ok()) {
    return ToGrpcStatus(allowed.status());
  }
  absl::StatusOr<StatusResponse> r = s_->DoStatus(*allowed, req->message_id());
  if (!r.ok()) {
    return ToGrpcStatus(r.status());
  }
  *out = std::move(*r);
  return grpc::Status::OK;
}

grpc::Status GatewayService::ListAgencies(grpc::ServerContext* c, const ListAgenciesRequest*,
                                          ListAgenciesResponse* out) {
  absl::StatusOr<std::set<std::string>> allowed = s_->ClientSubsystems(c);
  if (!allowed.ok()) {
    return ToGrpcStatus(allowed.status());
  }
  absl::StatusOr<ListAgenciesResponse> r = s_->DoListAgencies();
  if (!r.ok()) {
    return ToGrpcStatus(r.status());
  }
  *out = std::move(*r);
  return grpc::Status::OK;
}

grpc::Status GatewayService::ListSent(grpc::ServerContext* c, const ListSentRequest* req,
                                      ListSentResponse* out) {
  absl::StatusOr<std::set<std::string>> allowed = s_->ClientSubsystems(c);
  if (!allowed.ok()) {
    return ToGrpcStatus(allowed.status());
  }
  absl::StatusOr<ListSentResponse> r = s_->DoListSent(*allowed, *req);
  if (!r.ok()) {
    return ToGrpcStatus(r.status());
  }
  *out = std::move(*r);
  return grpc::Status::OK;
}

grpc::Status GatewayService::ServerStatus(grpc::ServerContext* c, const ServerStatusRequest*,
                                          ServerStatusResponse* out) {
  absl::StatusOr<std::set<std::string>> allowed = s_->ClientSubsystems(c);
  if (!allowed.ok()) {
    return ToGrpcStatus(allowed.status());
  }
  absl::StatusOr<ServerStatusResponse> r = s_->DoServerStatus();
  if (!r.ok()) {
    return ToGrpcStatus(r.status());
  }
  *out = std::move(*r);
  return grpc::Status::OK;
}

// ---------------------------------------------------------------------------
// Relay (recipient side)

absl::Status Server::Refuse(const std::string& id, const std::string& peer, const absl::Status& why) {
  std::fprintf(stderr, "relay: refused message %s from %s: %s\n", id.c_str(), peer.c_str(),
               std::string(why.message()).c_str());
  absl::Status s = store_->AppendLogOnly(
      {{static_cast<int>(LogEvent::kRefused), id, peer,
        absl::StrCat(absl::StatusCodeToString(why.code()), ": ", why.message())}});
  if (!s.ok()) {
    std::fprintf(stderr, "relay: cannot log refusal: %s\n", std::string(s.message()).c_str());
  }
  return why;
}

absl::Status Server::VerifyDocumentSignatures(const EnvelopeHeader& h, const ConfView& conf,
                                              const std::string& digest, absl::Time now,
                                              bool unsigned_ok, std::string* report_json) {
  uint64_t max_xml = config_.max_xml_verify_bytes() == 0 ? (uint64_t{64} << 20)
                                                         : config_.max_xml_verify_bytes();
  if (h.payload_size() > max_xml) {
    return absl::ResourceExhaustedError(
        absl::StrCat("deliver: XML document over ", max_xml, " bytes cannot be verified"));
  }
  AXIS_ASSIGN_OR_RETURN(std::string xml, ReadFile(spool_->PathOf(digest), max_xml));
  signer::VerifyOptions vo;
  vo.trust = &conf.trust;
  vo.at = now;
  vo.document_name = h.message_id();
  vo.signature_parent_ns = edxml::kEdxmlNs;
  vo.signature_parent_name = "edXMLHeader";
  vo.ocsp_url = config_.ocsp().url();
  if (vo.ocsp_url.empty()) {
    for (const TrustedCa& ca : conf.conf().cas()) {
      if (!ca.ocsp_urls().empty()) {
        vo.ocsp_url = ca.ocsp_urls(0);
        break;
      }
    }
  }
  absl::StatusOr<signer::Report> report = signer::VerifyDocument(xml, vo);
  if (!report.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("document signatures: ", report.status().message()));
  }
  if (unsigned_ok && report->signatures.empty()) {
    return absl::OkStatus();
  }
  *report_json = signer::ReportJson(*report);
  AXIS_RETURN_IF_ERROR(WriteFileAtomic(
      absl::StrCat(spool_->PathOf(digest), ".", h.message_id(), ".report.json"), *report_json));
  if (!report->Valid()) {
    std::string why = report->problems.empty() ? "" : report->problems[0];
    // Whether every fault is a revocation status that could not be
    // established now (the OCSP responder unreachable): a trust-service
    // outage, not a bad document, so the sender is told to retry
    // (UNAVAILABLE) rather than have the document refused for good.
    bool only_revocation_unknown = report->problems.empty();
    for (const signer::SignatureReport& sig : report->signatures) {
      if (why.empty() && !sig.reasons.empty()) {
        why = sig.reasons[0];
      }
      if (!sig.valid && !(sig.revocation_unavailable && sig.reasons.size() == 1)) {
        only_revocation_unknown = false;
      }
    }
    if (only_revocation_unknown) {
      return absl::UnavailableError(
          absl::StrCat("document signatures: revocation status unavailable now (retry later): ", why));
    }
    return absl::InvalidArgumentError(absl::StrCat(
        "document signatures are not valid", why.empty() ? "" : absl::StrCat(": ", why)));
  }
  return absl::OkStatus();
}

void Server::AnswerRefusal(const EnvelopeHeader& h, const edxml::Message& document,
                           const absl::Status& why, absl::Time now) {
  absl::StatusOr<bool> answered =
      store_->HasStatusFor(h.message_id(), FormatIdentifier(h.recipient()), "02");
  if (answered.ok() && *answered) {
    return;  // answered when it came before
  }
  std::vector<LogItem> log;
  absl::StatusOr<Answer> a = MakeStatusAnswer(NewMessageId(), h, document.header, "02",
                                              std::string(why.message()), seal_, *spool_, now, &log);
  absl::Status s = answered.ok() ? a.status() : answered.status();
  if (s.ok()) {
    s = store_->AcceptMessage(a->message, a->rows, log);
  }
  if (!s.ok()) {
    std::fprintf(stderr, "relay: no status 02 for %s: %s\n", h.message_id().c_str(),
                 std::string(s.message()).c_str());
    return;
  }
  Enqueue(std::move(a->rows));
}

bool Server::AccessAllowed(const Identifier& sender, const Identifier& recipient,
                           const ConfView& conf) {
  std::string to = FormatIdentifier(recipient);
  bool has_rule = false;
  for (const AccessRule& rule : config_.access()) {
    if (rule.recipient() != to && rule.recipient() != "*") {
      continue;
    }
    has_rule = true;
    for (const std::string& a : rule.allowed()) {
      absl::StatusOr<Identifier> id = ParseIdentifier(a);
      if (!id.ok()) {
        continue;
      }
      if (id->subsystem().empty() ? SameIdentifier(*id, MemberOf(sender))
                                  : SameIdentifier(*id, sender)) {
        return true;
      }
    }
  }
  if (has_rule) {
    return false;
  }
  return conf.HasMember(sender);
}

absl::StatusOr<Receipt> Server::DoDeliver(grpc::ServerContext* c,
                                          grpc::ServerReader<DeliverRequest>* r) {
  std::string pem = PeerCertPem(c);
  std::string peer_hex;
  if (!pem.empty()) {
    absl::StatusOr<std::pair<std::string, std::string>> id = CertIdentity(pem);
    if (id.ok()) {
      peer_hex = id->first;
    }
  }
  std::string peer_name = peer_hex.empty() ? "unknown peer" : absl::StrCat("cert ", peer_hex);
  DeliverRequest first;
  std::string id;
  if (!r->Read(&first) || !first.has_envelope()) {
    return Refuse("", peer_name,
                  absl::InvalidArgumentError("deliver: the first message must be the envelope"));
  }
  EnvelopeHeader claimed;
  if (!claimed.ParseFromString(first.envelope().header())) {
    return Refuse("", peer_name, absl::InvalidArgumentError("envelope: header does not parse"));
  }
  id = claimed.message_id();
  absl::StatusOr<std::shared_ptr<const ConfView>> conf = conf_->CurrentValid(absl::Now());
  if (!conf.ok()) {
    return Refuse(id, peer_name,
                  absl::FailedPreconditionError(absl::StrCat("deliver: ", conf.status().message())));
  }
  const axis::SecurityServer* peer = (*conf)->ServerByCert(peer_hex);
  if (peer == nullptr) {
    return Refuse(id, peer_name,
                  absl::UnauthenticatedError(absl::StrCat(
                      "deliver: TLS peer certificate (sha256 ", peer_hex,
                      ") is not a registered security server")));
  }
  peer_name = absl::StrCat(FormatIdentifier(peer->owner()), "/", peer->server_code());
  if (!SameIdentifier(MemberOf(peer->owner()), MemberOf(claimed.sender()))) {
    return Refuse(id, peer_name,
                  absl::UnauthenticatedError(absl::StrCat(
                      "deliver: peer is a security server of ", FormatIdentifier(peer->owner()),
                      ", not of the sending member ", FormatIdentifier(MemberOf(claimed.sender())))));
  }
  absl::StatusOr<Receipt> out = DeliverChecked(peer_name, **conf, first.envelope(), r);
  if (!out.ok()) {
    return Refuse(id, peer_name, out.status());
  }
  return out;
}

absl::StatusOr<Receipt> Server::DeliverChecked(const std::string& peer_name, const ConfView& conf,
                                               const Envelope& envelope,
                                               grpc::ServerReader<DeliverRequest>* r) {
  absl::Time now = absl::Now();
  EnvelopeHeader claimed;
  claimed.ParseFromString(envelope.header());
  const Identifier& to = claimed.recipient();
  if (!SameIdentifier(MemberOf(to), member_) || !conf.HasSubsystem(to)) {
    return absl::NotFoundError(absl::StrCat("deliver: recipient ", FormatIdentifier(to),
                                            " is not a subsystem of this security server"));
  }
  std::string recipient = FormatIdentifier(to);
  AXIS_ASSIGN_OR_RETURN(
      CheckedEnvelope ce,
      CheckEnvelope(envelope, conf, now, !config_.ocsp().disabled(),
                    SecondsOr(config_.ocsp().max_age_seconds(), 3600)));
  const EnvelopeHeader& h = ce.header;
  AXIS_ASSIGN_OR_RETURN(std::optional<InboxRow> existing, store_->FindInbox(h.message_id(), recipient));
  DeliverRequest req;
  if (existing.has_value()) {
    // A re-delivery: the original receipt, nothing stored twice.
    while (r->Read(&req)) {
    }
    if (signer::Sha256(existing->envelope_header) != ce.header_sha256) {
      return absl::InvalidArgumentError(
          absl::StrCat("deliver: message id ", h.message_id(), " was used for another envelope"));
    }
    Receipt receipt;
    receipt.ParseFromString(existing->receipt);
    return receipt;
  }
  uint64_t max = config_.max_payload_bytes() == 0 ? (uint64_t{2} << 30) : config_.max_payload_bytes();
  if (h.payload_size() > max) {
    return absl::ResourceExhaustedError(absl::StrCat("deliver: payload over ", max, " bytes"));
  }
  const bool is_xml = absl::StrContains(h.content_type(), "xml");
  // XML payloads stay files: the signature and edXML checks read them there.
  AXIS_ASSIGN_OR_RETURN(std::unique_ptr<Spool::Writer> w, spool_->NewWriter(!is_xml));
  while (r->Read(&req)) {
    if (req.part_case() != DeliverRequest::kChunk) {
      return absl::InvalidArgumentError("deliver: a second envelope");
    }
    if (w->size() + req.chunk().size() > h.payload_size()) {
      return absl::InvalidArgumentError("payload digest mismatch: more bytes than the envelope says");
    }
    AXIS_RETURN_IF_ERROR(w->Append(req.chunk()));
  }
  if (w->size() != h.payload_size()) {
    return absl::InvalidArgumentError(absl::StrCat("payload digest mismatch: got ", w->size(),
                                                   " bytes, envelope says ", h.payload_size()));
  }
  AXIS_ASSIGN_OR_RETURN(std::string digest, w->Finish());
  if (digest != h.payload_sha256()) {
    return absl::InvalidArgumentError("payload digest mismatch: SHA-256 differs from the envelope's");
  }
  if (!AccessAllowed(h.sender(), to, conf)) {
    return absl::PermissionDeniedError(absl::StrCat("deliver: ", FormatIdentifier(h.sender()),
                                                    " may not deliver to ", recipient));
  }
  const bool is_status = h.document_type() == "status";
  const bool is_edxml_document = is_xml && IsEdxmlDocumentType(h.document_type());
  // An edXML message is read before its signatures are checked, so that a
  // failing document can be answered with a status 02 naming it.
  std::optional<edxml::Message> edxml_message;
  if (is_edxml_document || (is_xml && is_status && h.payload_size() > 0)) {
    AXIS_ASSIGN_OR_RETURN(edxml_message, ReadEdxmlArrival(spool_->PathOf(digest)));
  }
  std::string report_json;
  absl::Status checked = absl::OkStatus();
  if (is_xml && (!is_status || h.payload_size() > 0)) {
    // A status need not be signed (its envelope is); a signature it has must hold.
    checked = VerifyDocumentSignatures(h, conf, digest, now, is_status, &report_json);
  }
  // An edXML message names its sender and recipients itself (From/To): they
  // must be the members the envelope proves (edxml_check.h).
  if (checked.ok() && edxml_message.has_value()) {
    checked = CheckEdxmlArrival(*edxml_message,
                                Party{MemberOf(h.sender()), conf.AgencyCodesOf(h.sender())},
                                Party{MemberOf(h.recipient()), conf.AgencyCodesOf(h.recipient())},
                                is_status ? h.status_code() : "");
  }
  const bool answers = is_edxml_document && !config_.no_edxml_answers() &&
                       edxml_message->kind == edxml::MessageKind::kDocument;
  if (!checked.ok()) {
    if (answers && !absl::IsUnavailable(checked)) {  // a retry may yet succeed
      AnswerRefusal(h, *edxml_message, checked, now);
    }
    return checked;
  }
  ReceiptBody body;
  body.set_message_id(h.message_id());
  body.set_envelope_sha256(ce.header_sha256);
  *body.mutable_received_at() = ToProtoTime(now);
  *body.mutable_sender() = h.sender();
  *body.mutable_recipient() = h.recipient();
  AXIS_ASSIGN_OR_RETURN(Receipt receipt, MakeReceipt(body, seal_));
  InboxRow row;
  row.message_id = h.message_id();
  row.recipient = recipient;
  row.sender = FormatIdentifier(h.sender());
  row.envelope_header = envelope.header();
  row.payload_sha256 = digest;
  row.payload_size = h.payload_size();
  if (w->inlined()) {
    row.inline_payload = w->data();
  }
  row.document_type = h.document_type();
  row.content_type = h.content_type();
  row.dms_reference = h.dms_reference();
  row.in_reply_to = h.in_reply_to();
  row.status_code = h.status_code();
  row.status_text = h.status_text();
  row.received_at = now;
  row.report_json = report_json;
  row.receipt = receipt.SerializeAsString();
  std::optional<StatusRow> status;
  std::vector<LogItem> log = {{static_cast<int>(LogEvent::kReceived), h.message_id(), peer_name,
                               envelope.header()},
                              {static_cast<int>(LogEvent::kReceipt), h.message_id(), peer_name,
                               receipt.body()}};
  if (h.document_type() == "status" && !h.in_reply_to().empty()) {
    AXIS_ASSIGN_OR_RETURN(std::optional<MessageRow> orig, store_->GetMessage(h.in_reply_to()));
    if (orig.has_value() && orig->sender == recipient) {
      // The envelope's text, else the edXML status message's Description.
      std::string text = h.status_text();
      if (text.empty() && edxml_message.has_value()) {
        text = edxml_message->status.description.value_or("");
      }
      status = StatusRow{h.in_reply_to(), row.sender, h.status_code(), text, h.message_id(), now};
      log.push_back({static_cast<int>(LogEvent::kStatus), h.in_reply_to(), row.sender,
                     absl::StrCat(h.status_code(), " ", text)});
    }
  }
  std::optional<Answer> answer;
  if (answers) {
    absl::StatusOr<Answer> a =
        MakeStatusAnswer(NewMessageId(), h, edxml_message->header, "01", "", seal_, *spool_, now, &log);
    if (a.ok()) {
      answer = std::move(*a);
    } else {
      // The document is kept all the same; its DMS can still answer.
      std::fprintf(stderr, "relay: no status 01 for %s: %s\n", h.message_id().c_str(),
                   std::string(a.status().message()).c_str());
    }
  }
  absl::Status ins = store_->InsertInbox(row, status, log, answer ? &*answer : nullptr);
  if (absl::IsAlreadyExists(ins)) {
    AXIS_ASSIGN_OR_RETURN(existing, store_->FindInbox(h.message_id(), recipient));
    if (existing.has_value()) {
      Receipt original;
      original.ParseFromString(existing->receipt);
      return original;
    }
  }
  AXIS_RETURN_IF_ERROR(ins);
  {
    absl::MutexLock l(&mu_);
    ++inbox_generation_;
  }
  if (answer.has_value()) {
    Enqueue(std::move(answer->rows));
  }
  return receipt;
}

grpc::Status RelayService::Deliver(grpc::ServerContext* c, grpc::ServerReader<DeliverRequest>* r,
                                   Receipt* out) {
  absl::StatusOr<Receipt> receipt = s_->DoDeliver(c, r);
  if (!receipt.ok()) {
    absl::Status st = receipt.status();
    if (st.code() == absl::StatusCode::kInternal) {
      // Details stay in the local log; a peer learns nothing about our paths.
      std::fprintf(stderr, "relay: internal error: %s\n", std::string(st.message()).c_str());
      return grpc::Status(grpc::StatusCode::INTERNAL, "internal error at the recipient");
    }
    return ToGrpcStatus(st);
  }
  *out = std::move(*receipt);
  return grpc::Status::OK;
}

// ---------------------------------------------------------------------------
// Outbox (sender side)

void Server::DispatchLoop() {
  // The store is read only when it may hold due rows that are neither queued
  // nor in flight: at start (recovery), when Send could not queue its rows
  // (undispatched_), when a retry falls due (next_retry_), and once a second
  // as a safety net. Reading it whenever a delivery finished returned the
  // rows in flight again and again (a query every few ms at moderate load).
  absl::Time last_query = absl::InfinitePast();
  while (true) {
    absl::Time now = absl::Now();
    bool query;
    {
      absl::MutexLock l(&mu_);
      if (stopping_) {
        return;
      }
      query = queue_.size() < 64 &&
              (undispatched_ || now >= next_retry_ || now - last_query >= absl::Seconds(1));
      if (query) {
        undispatched_ = false;
        next_retry_ = absl::InfiniteFuture();
      }
    }
    if (query) {
      last_query = now;
      constexpr int kLimit = 128;
      absl::StatusOr<std::vector<OutboxRow>> due = store_->DueOutbox(now, kLimit);
      // Retries scheduled later (also those of rows read from the store
      // after a restart).
      absl::StatusOr<std::optional<absl::Time>> nd = store_->NextDue(now);
      absl::MutexLock l(&mu_);
      if (due.ok()) {
        for (OutboxRow& row : *due) {
          if (inflight_.insert({row.message_id, row.recipient}).second) {
            queue_.push_back(std::move(row));
          }
        }
      }
      if (!due.ok() || due->size() >= static_cast<size_t>(kLimit)) {
        undispatched_ = true;  // more (or unknown): read again when the queue runs low
      }
      if (!nd.ok()) {
        next_retry_ = now + absl::Seconds(1);
      } else if (nd->has_value()) {
        next_retry_ = std::min(next_retry_, **nd);
      }
    }
    absl::MutexLock l(&mu_);
    auto woken = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return (wake_ && queue_.size() < 64) || stopping_;
    };
    mu_.AwaitWithDeadline(absl::Condition(&woken),
                          std::max(now + absl::Milliseconds(5),
                                   std::min(next_retry_, now + absl::Seconds(1))));
    wake_ = false;
    if (stopping_) {
      return;
    }
    // Let wake-ups gather: at most a few hundred refills a second.
    mu_.AwaitWithTimeout(absl::Condition(&stopping_), absl::Milliseconds(2));
    if (stopping_) {
      return;
    }
  }
}

void Server::WorkerLoop() {
  while (true) {
    OutboxRow row;
    {
      absl::MutexLock l(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stopping_ || !queue_.empty();
      };
      mu_.Await(absl::Condition(&ready));
      if (stopping_) {
        return;
      }
      row = std::move(queue_.front());
      queue_.pop_front();
    }
    std::pair<std::string, std::string> key{row.message_id, row.recipient};
    DeliverOne(std::move(row));
    absl::MutexLock l(&mu_);
    inflight_.erase(key);
    if (undispatched_) {
      wake_ = true;  // room in the queue for rows waiting in the store
    }
  }
}

std::shared_ptr<grpc::Channel> Server::ChannelFor(const std::string& address) {
  absl::MutexLock l(&channels_mu_);
  auto it = channels_.find(address);
  if (it != channels_.end()) {
    return it->second;
  }
  grpc::SslCredentialsOptions o;
  o.pem_root_certs = tls_ca_pem_;
  o.pem_private_key = tls_key_pem_;
  o.pem_cert_chain = tls_cert_pem_;
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(4 << 20);
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  args.SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, kWindow);
  std::shared_ptr<grpc::Channel> ch =
      grpc::CreateCustomChannel(address, grpc::SslCredentials(o), args);
  channels_[address] = ch;
  return ch;
}

absl::StatusOr<Receipt> Server::SendToPeer(const std::string& address, const Envelope& envelope,
                                           const OutboxRow& row, std::string* peer_cert_hex) {
  std::shared_ptr<const std::string> small = row.payload;
  if (small == nullptr) {
    AXIS_ASSIGN_OR_RETURN(std::optional<std::string> p,
                          SmallPayload(row.payload_sha256, row.payload_size));
    if (p.has_value()) {
      small = std::make_shared<const std::string>(std::move(*p));
    }
  }
  std::unique_ptr<Relay::Stub> stub = Relay::NewStub(ChannelFor(address));
  grpc::ClientContext ctx;
  // 30 s plus the time to move the payload at 10 MB/s.
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30) +
                   std::chrono::milliseconds(row.payload_size / 10000));
  // Headers, envelope and (small) payload leave in as few frames as they can.
  ctx.set_initial_metadata_corked(true);
  Receipt receipt;
  std::unique_ptr<grpc::ClientWriter<DeliverRequest>> w = stub->Deliver(&ctx, &receipt);
  DeliverRequest first;
  *first.mutable_envelope() = envelope;
  if (small != nullptr) {
    // Envelope and payload in one write.
    if (small->empty()) {
      w->WriteLast(first, grpc::WriteOptions());
    } else if (w->Write(first, grpc::WriteOptions().set_buffer_hint())) {
      DeliverRequest chunk;
      chunk.set_chunk(*small);
      w->WriteLast(chunk, grpc::WriteOptions());
    }
    return FinishDeliver(&ctx, w.get(), &receipt, peer_cert_hex);
  }
  std::string path = spool_->PathOf(row.payload_sha256);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    ctx.TryCancel();
    (void)w->Finish();
    return PosixError(path, "open", err);
  }
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  bool ok = true;
  if (row.payload_size == 0) {
    w->WriteLast(first, grpc::WriteOptions());
  } else {
    ok = w->Write(first, grpc::WriteOptions().set_buffer_hint());
    // One message, read into directly (no copy through a buffer).
    DeliverRequest chunk;
    std::string* buf = chunk.mutable_chunk();
    const size_t want = std::min<uint64_t>(kChunk, row.payload_size);
    uint64_t sent = 0;
    while (ok && sent < row.payload_size) {
      buf->resize(want);
      ssize_t n = ::read(fd, buf->data(), want);
      if (n < 0 && errno == EINTR) {
        continue;
      }
      if (n <= 0) {
        break;
      }
      buf->resize(static_cast<size_t>(n));
      sent += static_cast<uint64_t>(n);
      if (sent >= row.payload_size) {
        w->WriteLast(chunk, grpc::WriteOptions());
        ok = false;  // WritesDone is implied
      } else {
        ok = w->Write(chunk);
      }
    }
    if (ok) {
      w->WritesDone();
    }
  }
  ::close(fd);
  return FinishDeliver(&ctx, w.get(), &receipt, peer_cert_hex);
}

absl::StatusOr<Receipt> Server::FinishDeliver(grpc::ClientContext* ctx,
                                              grpc::ClientWriter<DeliverRequest>* w,
                                              Receipt* receipt, std::string* peer_cert_hex) {
  grpc::Status st = w->Finish();
  if (!st.ok()) {
    return FromGrpcStatus(st);
  }
  std::shared_ptr<const grpc::AuthContext> auth = ctx->auth_context();
  if (auth != nullptr) {
    std::vector<grpc::string_ref> v = auth->FindPropertyValues("x509_pem_cert");
    if (!v.empty()) {
      absl::StatusOr<std::pair<std::string, std::string>> id =
          CertIdentity(std::string(v[0].data(), v[0].size()));
      if (id.ok()) {
        *peer_cert_hex = id->first;
      }
    }
  }
  return std::move(*receipt);
}

void Server::DeliverOne(OutboxRow row) {
  absl::Time now = absl::Now();
  auto retry = [&](const absl::Status& why, bool count_attempt) {
    int attempts = row.attempts + (count_attempt ? 1 : 0);
    int64_t initial = config_.retry_initial_ms() == 0 ? 200 : config_.retry_initial_ms();
    int64_t maxms = config_.retry_max_ms() == 0 ? 30000 : config_.retry_max_ms();
    int64_t delay = initial;
    for (int i = 1; i < attempts && delay < maxms; ++i) {
      delay *= 2;
    }
    delay = std::min(delay, maxms);
    OutboxRow u = row;
    u.attempts = attempts;
    u.reason = std::string(why.message());
    u.updated_at = now;
    u.receipt.clear();
    std::vector<LogItem> log;
    if (config_.max_attempts() > 0 && attempts >= static_cast<int>(config_.max_attempts())) {
      u.state = OutboxState::kFailed;
      u.reason = absl::StrCat("gave up after ", attempts, " attempts: ", why.message());
      log.push_back({static_cast<int>(LogEvent::kRefused), row.message_id, row.recipient, u.reason});
    } else {
      u.state = count_attempt ? OutboxState::kRelayed : row.state;
      u.next_attempt = now + absl::Milliseconds(delay);
    }
    absl::Status s = store_->UpdateOutbox(u, log);
    if (!s.ok()) {
      std::fprintf(stderr, "outbox: %s\n", std::string(s.message()).c_str());
    }
    if (u.state != OutboxState::kFailed) {
      absl::MutexLock l(&mu_);
      next_retry_ = std::min(next_retry_, u.next_attempt);
    }
  };
  absl::StatusOr<std::shared_ptr<const ConfView>> conf = conf_->CurrentValid(now);
  if (!conf.ok()) {
    retry(absl::Status(conf.status().code(),
                       absl::StrCat("not relaying: ", conf.status().message())),
          false);
    return;
  }
  Envelope envelope;
  if (!envelope.ParseFromString(row.envelope)) {
    retry(absl::DataLossError("stored envelope does not parse"), true);
    return;
  }
  if (ocsp_ != nullptr) {
    absl::StatusOr<std::string> der = ocsp_->Get((*conf)->trust, now);
    if (!der.ok()) {
      retry(der.status(), false);
      return;
    }
    envelope.set_ocsp_response(*der);
  }
  absl::StatusOr<Identifier> to = ParseSubsystemId(row.recipient);
  const axis::SecurityServer* peer = to.ok() ? (*conf)->ServerOf(*to) : nullptr;
  if (peer == nullptr) {
    retry(absl::NotFoundError(absl::StrCat(row.recipient, " has no security server")), true);
    return;
  }
  std::string peer_hex;
  absl::StatusOr<Receipt> receipt = SendToPeer(peer->address(), envelope, row, &peer_hex);
  now = absl::Now();
  if (receipt.ok()) {
    bool registered = false;
    for (const std::string& h : peer->auth_cert_sha256()) {
      registered = registered || HexOf(h) == peer_hex;
    }
    if (!registered) {
      receipt = absl::UnauthenticatedError(absl::StrCat(
          "recipient server at ", peer->address(), " presented an unregistered certificate"));
    }
  }
  if (receipt.ok()) {
    absl::StatusOr<ReceiptBody> body =
        CheckReceipt(*receipt, **conf, row.message_id, signer::Sha256(envelope.header()),
                     MemberOf(*to), now);
    if (!body.ok()) {
      receipt = body.status();
    }
  }
  if (!receipt.ok()) {
    absl::StatusCode c = receipt.status().code();
    bool permanent = c == absl::StatusCode::kInvalidArgument ||
                     c == absl::StatusCode::kPermissionDenied ||
                     c == absl::StatusCode::kNotFound ||
                     c == absl::StatusCode::kResourceExhausted ||
                     c == absl::StatusCode::kUnauthenticated;
    std::fprintf(stderr, "outbox: %s -> %s: %s\n", row.message_id.c_str(), row.recipient.c_str(),
                 std::string(receipt.status().message()).c_str());
    if (permanent) {
      OutboxRow u = row;
      u.state = OutboxState::kFailed;
      u.attempts = row.attempts + 1;
      u.reason = absl::StrCat(absl::StatusCodeToString(c), ": ", receipt.status().message());
      u.updated_at = now;
      u.next_attempt = now;
      absl::Status s = store_->UpdateOutbox(
          u, {{static_cast<int>(LogEvent::kRefused), row.message_id, row.recipient, u.reason}});
      if (!s.ok()) {
        std::fprintf(stderr, "outbox: %s\n", std::string(s.message()).c_str());
      }
    } else {
      if (c == absl::StatusCode::kUnavailable) {
        // Start the next attempt on a fresh channel: a channel whose peer
        // restarted can stay in reconnect back-off far longer than ours.
        absl::MutexLock l(&channels_mu_);
        channels_.erase(peer->address());
      }
      retry(receipt.status(), true);
    }
    return;
  }
  OutboxRow u = row;
  u.state = OutboxState::kDelivered;
  u.attempts = row.attempts + 1;
  u.reason.clear();
  u.updated_at = now;
  u.next_attempt = now;
  u.receipt = receipt->SerializeAsString();
  u.ocsp_response = envelope.ocsp_response();
  absl::Status s = store_->UpdateOutbox(
      u, {{static_cast<int>(LogEvent::kSent), row.message_id, row.recipient, envelope.header()},
          {static_cast<int>(LogEvent::kReceipt), row.message_id, row.recipient, receipt->body()}});
  if (!s.ok()) {
    std::fprintf(stderr, "outbox: %s\n", std::string(s.message()).c_str());
  }
}

}  // namespace

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
  auto s = std::make_unique<Server>(config);
  AXIS_RETURN_IF_ERROR(s->Init());
  return std::unique_ptr<SecurityServer>(std::move(s));
}

}  // namespace axis::ss
