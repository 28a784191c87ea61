// gateway.cc: AgencyGateway, what the agency's DMS calls: Send, Receive,
// Ack, Status, ListAgencies, ListSent, ServerStatus.
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/files.h"
#include "common/status_macros.h"
#include "proto/conversions.h"
#include "proto/identifiers.h"
#include "security-server/server_impl.h"
#include "signer/bytes_sign.h"

namespace axis::ss::internal {

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
  std::vector<LogItem> log;
  // One batch for all recipients: one signature, however many there are.
  // The headers join the envelope batch now; the signature is waited for in
  // the store's group commit, so that the Sends committed together (which
  // wait for one fsync anyway) share it.
  AXIS_ASSIGN_OR_RETURN(
      OutgoingSeal seal,
      StartSealOutgoing(m, h.sender(), {h.recipients().begin(), h.recipients().end()},
                        *envelope_signer_, &log));
  std::vector<OutboxRow> rows;
  AXIS_RETURN_IF_ERROR(store_->AcceptMessage(m, &rows, log, [&] { return seal.Finish(); }));
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
  // delivery. While it has rows there to read, new ones wait behind them.
  absl::MutexLock l(&mu_);
  for (OutboxRow& o : rows) {
    if (undispatched_ || queue_.size() >= kDirectQueueMax) {
      wake_ = true;
      undispatched_ = true;
      ++spilled_;
      break;
    }
    if (inflight_.insert({o.message_id, o.recipient}).second) {
      queue_.Push(std::move(o));
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
        AXIS_ASSIGN_OR_RETURN(std::unique_ptr<Spool::Reader> file,
                              spool_->OpenPayload(row.payload_sha256));
        // One message, its buffer reused for every chunk.
        ReceiveResponse chunk;
        std::string* buf = chunk.mutable_chunk();
        const size_t want = std::min<uint64_t>(kChunk, row.payload_size);
        uint64_t sent = 0;
        absl::Status st;
        while (sent < row.payload_size) {
          buf->resize(want);
          absl::StatusOr<size_t> n = file->Read(buf->data(), want);
          if (!n.ok()) {
            st = n.status();
            break;
          }
          if (*n == 0) {
            st = absl::DataLossError(absl::StrCat("receive: the spool file of ", row.message_id,
                                                  " is short"));
            break;
          }
          buf->resize(*n);
          if (!w->Write(chunk)) {
            st = absl::CancelledError("receive: client went away");
            break;
          }
          sent += *n;
        }
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
  std::vector<std::string> ids;
  if (!req.message_id().empty()) {
    ids.push_back(req.message_id());
  }
  ids.insert(ids.end(), req.message_ids().begin(), req.message_ids().end());
  if (ids.empty()) {
    return absl::InvalidArgumentError("ack: no message id");
  }
  if (ids.size() > kMaxAckIds) {
    return absl::InvalidArgumentError(
        absl::StrCat("ack: ", ids.size(), " message ids, at most ", kMaxAckIds, " a call"));
  }
  std::string named;
  if (req.has_subsystem()) {
    AXIS_RETURN_IF_ERROR(ValidateIdentifier(req.subsystem()));
    named = FormatIdentifier(req.subsystem());
    if (allowed.count(named) == 0) {
      return absl::PermissionDeniedError(absl::StrCat("ack: this client is not ", named));
    }
  }
  std::vector<Store::InboxKey> keys;
  std::vector<LogItem> log;
  for (const std::string& id : ids) {
    std::vector<std::string> targets;
    if (!named.empty()) {
      targets.push_back(named);
    } else {
      AXIS_ASSIGN_OR_RETURN(std::vector<InboxRow> rows, store_->InboxById(id));
      for (const InboxRow& row : rows) {
        if (allowed.count(row.recipient) > 0) {
          targets.push_back(row.recipient);
        }
      }
      if (targets.empty()) {
        return absl::NotFoundError(
            absl::StrCat("ack: message ", id, " is not in this client's inbox"));
      }
    }
    for (const std::string& t : targets) {
      keys.push_back({id, t});
      log.push_back({static_cast<int>(LogEvent::kStatus), id, t, "acknowledged"});
    }
  }
  return store_->AckInbox(keys, log);
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

  ServerStatusResponse::Signing* sg = out.mutable_signing();
  BatchSigner::Stats es = envelope_signer_->stats();
  sg->set_envelope_signatures(es.signatures);
  sg->set_envelope_leaves(es.leaves);
  sg->set_envelope_largest_batch(es.largest);
  BatchSigner::Stats rs = receipt_signer_->stats();
  sg->set_receipt_signatures(rs.signatures);
  sg->set_receipt_leaves(rs.leaves);
  sg->set_receipt_largest_batch(rs.largest);

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


}  // namespace axis::ss::internal
