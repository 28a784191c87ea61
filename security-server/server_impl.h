// server_impl.h: the security server's parts, for the files that make it
// up (internal to axis_security_server; users include server.h):
//   server.cc   start-up, shutdown, configuration checks
//   gateway.cc  AgencyGateway: what the agency's DMS calls
//   deliver.cc  Relay, recipient side: checks, inbox, receipts
//   outbox.cc   Relay, sender side: dispatcher, workers, delivery
#ifndef AXIS_SECURITY_SERVER_SERVER_IMPL_H_
#define AXIS_SECURITY_SERVER_SERVER_IMPL_H_

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "edxml/message.h"
#include "security_server.grpc.pb.h"
#include "security-server/audit_service.h"
#include "security-server/relay_queue.h"
#include "security-server/batch_signer.h"
#include "security-server/server.h"
#include "security-server/store.h"
#include "security-server/timestamper.h"
#include "security-server/trust.h"
#include "signer/keys.h"

namespace axis::ss::internal {

// Relay and inbox chunks: fewer, larger messages for big payloads (peers
// accept up to 4 MB a message, gRPC clients by default too).
constexpr size_t kChunk = 1024 * 1024;
// HTTP/2 stream window of our servers and the relay channel.
constexpr int kWindow = 2 * 1024 * 1024;
// Message ids one Ack call may take.
constexpr size_t kMaxAckIds = 10000;
// Rows one DeliverBatch carries, at most, and their payload bytes.
constexpr size_t kRelayBatchMax = 128;
constexpr uint64_t kRelayBatchBytes = 2 << 20;
// Accepted rows queued for the relay workers directly by Send, at most.
constexpr size_t kDirectQueueMax = 256;
// The dispatcher reads due rows from the store when fewer are queued for
// members that could take a call now (RelayQueue::Ready).
constexpr size_t kQueueLow = 64;
// Rows queued for one member, at most: the dispatcher leaves the rest in
// the store. A member whose server hangs (its calls wait out their
// deadline) then neither fills the memory nor, its rows not being ready,
// holds back the others' rows.
constexpr size_t kMemberQueueMax = 512;

// NewMessageId is 16 bytes in hex: the creation time in microseconds (6
// bytes, big-endian) and 10 random bytes. Ids made close in time sort close
// together, so the primary-key indexes of messages, outbox and inbox (on
// both servers) touch a few B-tree pages per commit instead of one random
// page per document.
std::string NewMessageId();

// PeerCertPem returns the TLS peer certificate of a server call, or "".
std::string PeerCertPem(const grpc::ServerContext* context);

// SecondsOr is `v` seconds, or `dflt` seconds when `v` is 0 (unset).
inline absl::Duration SecondsOr(uint32_t v, int64_t dflt) {
  return absl::Seconds(v == 0 ? dflt : v);
}

// ClientEntry is one local DMS client of the server's config: its TLS
// certificate (by SHA-256 or subject) and the subsystem it acts for.
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
  grpc::Status DeliverBatch(grpc::ServerContext* c, const DeliverBatchRequest* req,
                            DeliverBatchResponse* out) override;

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
  absl::StatusOr<DeliverBatchResponse> DoDeliverBatch(grpc::ServerContext* c,
                                                      const DeliverBatchRequest& req);

 private:
  // NextChunk hands a delivery's payload chunks in order: true with a
  // chunk, false at the end, an error for a malformed stream.
  using NextChunk = std::function<absl::StatusOr<bool>(std::string* chunk)>;
  // Arrival is a checked delivery: what to store, and the receipt to
  // return once it is stored; or, for a re-delivery, the original receipt
  // and nothing to store.
  struct Arrival {
    std::optional<Receipt> earlier;
    InboxRow row;
    std::optional<StatusRow> status;
    std::vector<LogItem> log;
    std::optional<Answer> answer;
    Receipt receipt;  // its body; StoreArrivals signs it (and sets row.receipt)
  };
  // Peer is the registered security server behind a relay call's TLS
  // certificate (nullptr when none) and how the log names it.
  struct Peer {
    const axis::SecurityServer* server = nullptr;
    std::string cert_sha256_hex;
    std::string name;
  };
  absl::Status AdmitNewDocuments(absl::Time now);
  Peer PeerOf(const grpc::ServerContext* c, const ConfView* conf);
  // CheckSender checks that `peer` may deliver what `envelope` claims (a
  // server of the sending member); INVALID_ARGUMENT/UNAUTHENTICATED.
  absl::Status CheckSender(const Peer& peer, const EnvelopeHeader& claimed);
  // CheckArrival runs the checks of one delivery in ARCHITECTURE.md's
  // order (recipient, envelope, payload digest, access, document
  // signatures, edXML) and builds what StoreArrivals keeps.
  absl::StatusOr<Arrival> CheckArrival(const std::string& peer_name, const ConfView& conf,
                                       const Envelope& envelope, const NextChunk& next);
  // StoreArrivals signs the arrivals' receipts in one batch and keeps the
  // arrivals in one commit; a receipt (the original one for a message
  // stored meanwhile by another call) or an error for each.
  std::vector<absl::StatusOr<Receipt>> StoreArrivals(std::vector<Arrival>* arrivals);
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
  // Refuse logs a refused delivery (stderr and a `refused` log record, its
  // own commit) and returns `why`. RefusalRecord prints and makes the
  // record; LogRefusals writes several in one commit.
  absl::Status Refuse(const std::string& id, const std::string& peer, const absl::Status& why);
  LogItem RefusalRecord(const std::string& id, const std::string& peer, const absl::Status& why);
  void LogRefusals(const std::vector<LogItem>& records);

  // --- outbox
  void DispatchLoop();
  void WorkerLoop();
  // DeliverOne and DeliverMany (rows for one member, in one DeliverBatch
  // call) deliver and return the rows' outbox updates, for the worker to
  // save.
  std::vector<Store::OutboxUpdate> DeliverOne(OutboxRow row);
  std::vector<Store::OutboxUpdate> DeliverMany(std::vector<OutboxRow> rows);
  // PrepareDelivery parses the stored envelope, staples the OCSP response
  // and finds the recipient's server; or the row's retry when it cannot.
  std::optional<Store::OutboxUpdate> PrepareDelivery(const OutboxRow& row, const ConfView& conf,
                                                     absl::Time now, Envelope* envelope,
                                                     const axis::SecurityServer** peer);
  // SettleDelivery turns a delivery's outcome into the row's update:
  // delivered (receipt checked, peer registered), failed for good, or a
  // retry with back-off.
  Store::OutboxUpdate SettleDelivery(const OutboxRow& row, const Envelope& envelope,
                                     const axis::SecurityServer& peer,
                                     absl::StatusOr<Receipt> receipt, const std::string& peer_hex,
                                     const ConfView& conf, absl::Time now);
  // RetryLater is the update that schedules the row's next attempt (or
  // gives up after max_attempts).
  Store::OutboxUpdate RetryLater(const OutboxRow& row, const absl::Status& why,
                                 bool count_attempt, absl::Time now);
  void SaveUpdates(const std::vector<Store::OutboxUpdate>& updates);
  std::vector<absl::StatusOr<Receipt>> SendBatchToPeer(const std::string& address,
                                                       const std::vector<Envelope>& envelopes,
                                                       const std::vector<OutboxRow>& rows,
                                                       const std::vector<size_t>& which,
                                                       std::string* peer_cert_hex);
  // PeerCertHexOf is the SHA-256 (hex) of a finished call's server
  // certificate, or "".
  std::string PeerCertHexOf(const grpc::ClientContext& ctx);
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
  // Envelopes and receipts are signed in batches (batch_signer.h) with seal_.
  std::unique_ptr<BatchSigner> envelope_signer_;
  std::unique_ptr<BatchSigner> receipt_signer_;
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
  // How many times Send left rows in the store for the dispatcher.
  int64_t spilled_ ABSL_GUARDED_BY(mu_) = 0;
  // The earliest retry the dispatcher knows of: lowered by the workers once
  // a retry is saved and its row is no longer in flight (before that, a read
  // would neither see nor take it).
  absl::Time next_retry_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  // While the dispatcher reads the store (reading_), the rows whose delivery
  // finished meanwhile: the read may hold them as they were before, and must
  // not queue them again.
  bool reading_ ABSL_GUARDED_BY(mu_) = false;
  std::set<std::pair<std::string, std::string>> finished_during_read_ ABSL_GUARDED_BY(mu_);
  // Members whose rows the dispatcher left in the store (their queue was
  // full): it reads from the head again once one of them has room.
  std::set<std::string> left_behind_ ABSL_GUARDED_BY(mu_);
  RelayQueue queue_ ABSL_GUARDED_BY(mu_){1, Spool::kInlineMax, kRelayBatchMax, kRelayBatchBytes};
  std::set<std::pair<std::string, std::string>> inflight_ ABSL_GUARDED_BY(mu_);
  int64_t inbox_generation_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<std::thread> threads_;
  bool shut_down_ = false;
};

}  // namespace axis::ss::internal

#endif  // AXIS_SECURITY_SERVER_SERVER_IMPL_H_
