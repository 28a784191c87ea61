// deliver.cc: Relay, recipient side: a peer security server delivers an
// envelope and its payload; it is checked in the order ARCHITECTURE.md
// gives, kept with its log record in one transaction, and answered with a
// signed receipt.
#include <cstdio>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/files.h"
#include "common/status_macros.h"
#include "edxml/reader.h"
#include "proto/conversions.h"
#include "proto/identifiers.h"
#include "security-server/answers.h"
#include "security-server/edxml_check.h"
#include "security-server/message_log.h"
#include "security-server/server_impl.h"
#include "signer/bytes_sign.h"
#include "signer/report.h"
#include "signer/verify.h"

namespace axis::ss::internal {

// ---------------------------------------------------------------------------
// Relay (recipient side)

LogItem Server::RefusalRecord(const std::string& id, const std::string& peer,
                              const absl::Status& why) {
  std::fprintf(stderr, "relay: refused message %s from %s: %s\n", id.c_str(), peer.c_str(),
               std::string(why.message()).c_str());
  return {static_cast<int>(LogEvent::kRefused), id, peer,
          absl::StrCat(absl::StatusCodeToString(why.code()), ": ", why.message())};
}

void Server::LogRefusals(const std::vector<LogItem>& records) {
  if (records.empty()) {
    return;
  }
  absl::Status s = store_->AppendLogOnly(records);
  if (!s.ok()) {
    std::fprintf(stderr, "relay: cannot log refusal: %s\n", std::string(s.message()).c_str());
  }
}

absl::Status Server::Refuse(const std::string& id, const std::string& peer, const absl::Status& why) {
  LogRefusals({RefusalRecord(id, peer, why)});
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
                                              std::string(why.message()), seal_, *envelope_signer_,
                                              *spool_, now, &log);
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

Server::Peer Server::PeerOf(const grpc::ServerContext* c, const ConfView* conf) {
  std::string pem = PeerCertPem(c);
  std::string peer_hex;
  if (!pem.empty()) {
    absl::StatusOr<std::pair<std::string, std::string>> id = CertIdentity(pem);
    if (id.ok()) {
      peer_hex = id->first;
    }
  }
  Peer p;
  p.name = peer_hex.empty() ? "unknown peer" : absl::StrCat("cert ", peer_hex);
  p.cert_sha256_hex = peer_hex;
  p.server = conf == nullptr ? nullptr : conf->ServerByCert(peer_hex);
  if (p.server != nullptr) {
    p.name = absl::StrCat(FormatIdentifier(p.server->owner()), "/", p.server->server_code());
  }
  return p;
}

absl::Status Server::CheckSender(const Peer& peer, const EnvelopeHeader& claimed) {
  if (!SameIdentifier(MemberOf(peer.server->owner()), MemberOf(claimed.sender()))) {
    return absl::UnauthenticatedError(absl::StrCat(
        "deliver: peer is a security server of ", FormatIdentifier(peer.server->owner()),
        ", not of the sending member ", FormatIdentifier(MemberOf(claimed.sender()))));
  }
  return absl::OkStatus();
}

namespace {

// UnregisteredPeer is the refusal of a relay call whose TLS certificate is
// not a registered security server's.
absl::Status UnregisteredPeer(const std::string& cert_sha256_hex) {
  return absl::UnauthenticatedError(absl::StrCat("deliver: TLS peer certificate (sha256 ",
                                                  cert_sha256_hex,
                                                  ") is not a registered security server"));
}

}  // namespace

absl::StatusOr<Receipt> Server::DoDeliver(grpc::ServerContext* c,
                                          grpc::ServerReader<DeliverRequest>* r) {
  absl::StatusOr<std::shared_ptr<const ConfView>> conf = conf_->CurrentValid(absl::Now());
  Peer peer = PeerOf(c, conf.ok() ? conf->get() : nullptr);
  DeliverRequest first;
  if (!r->Read(&first) || !first.has_envelope()) {
    return Refuse("", peer.name,
                  absl::InvalidArgumentError("deliver: the first message must be the envelope"));
  }
  EnvelopeHeader claimed;
  if (!claimed.ParseFromString(first.envelope().header())) {
    return Refuse("", peer.name, absl::InvalidArgumentError("envelope: header does not parse"));
  }
  const std::string& id = claimed.message_id();
  if (!conf.ok()) {
    return Refuse(id, peer.name,
                  absl::FailedPreconditionError(absl::StrCat("deliver: ", conf.status().message())));
  }
  if (peer.server == nullptr) {
    return Refuse(id, peer.name, UnregisteredPeer(peer.cert_sha256_hex));
  }
  if (absl::Status s = CheckSender(peer, claimed); !s.ok()) {
    return Refuse(id, peer.name, s);
  }
  NextChunk next = [r](std::string* chunk) -> absl::StatusOr<bool> {
    DeliverRequest req;
    if (!r->Read(&req)) {
      return false;
    }
    if (req.part_case() != DeliverRequest::kChunk) {
      return absl::InvalidArgumentError("deliver: a second envelope");
    }
    *chunk = std::move(*req.mutable_chunk());
    return true;
  };
  absl::StatusOr<Arrival> arrival = CheckArrival(peer.name, **conf, first.envelope(), next);
  if (!arrival.ok()) {
    return Refuse(id, peer.name, arrival.status());
  }
  if (arrival->earlier.has_value()) {
    return std::move(*arrival->earlier);
  }
  std::vector<Arrival> one;
  one.push_back(std::move(*arrival));
  absl::StatusOr<Receipt> out = std::move(StoreArrivals(&one)[0]);
  if (!out.ok()) {
    return Refuse(id, peer.name, out.status());
  }
  return out;
}

absl::StatusOr<DeliverBatchResponse> Server::DoDeliverBatch(grpc::ServerContext* c,
                                                            const DeliverBatchRequest& req) {
  constexpr int kMaxDeliveries = 256;
  absl::StatusOr<std::shared_ptr<const ConfView>> conf = conf_->CurrentValid(absl::Now());
  Peer peer = PeerOf(c, conf.ok() ? conf->get() : nullptr);
  // A call refused whole is one log record naming its size, whatever it
  // carries: anyone with a certificate of the PKI can reach this port, and
  // a record per entry would let one call write millions of them.
  auto refuse_all = [&](const absl::Status& why) {
    LogRefusals({RefusalRecord(
        "", peer.name,
        absl::Status(why.code(), absl::StrCat(why.message(), " (a batch of ",
                                              req.deliveries_size(), " messages)")))});
    return why;
  };
  if (!conf.ok()) {
    return refuse_all(
        absl::FailedPreconditionError(absl::StrCat("deliver: ", conf.status().message())));
  }
  if (peer.server == nullptr) {
    return refuse_all(UnregisteredPeer(peer.cert_sha256_hex));
  }
  if (req.deliveries_size() == 0 || req.deliveries_size() > kMaxDeliveries) {
    return refuse_all(absl::InvalidArgumentError(absl::StrCat(
        "deliver: a batch carries 1 to ", kMaxDeliveries, " messages, not ",
        req.deliveries_size())));
  }
  DeliverBatchResponse out;
  std::vector<Arrival> arrivals;
  std::vector<int> stored_at;  // arrivals[i] answers result stored_at[i]
  std::vector<std::string> ids(req.deliveries_size());
  std::vector<LogItem> refusals;  // written together, in one commit
  auto fail = [&](int i, const absl::Status& why) {
    refusals.push_back(RefusalRecord(ids[i], peer.name, why));
    DeliveryResult* r = out.mutable_results(i);
    if (why.code() == absl::StatusCode::kInternal) {
      // Details stay in the local log; a peer learns nothing about our paths.
      r->set_error_code(static_cast<int>(absl::StatusCode::kInternal));
      r->set_error_message("internal error at the recipient");
    } else {
      r->set_error_code(static_cast<int>(why.code()));
      r->set_error_message(std::string(why.message()));
    }
  };
  for (int i = 0; i < req.deliveries_size(); ++i) {
    if (c->IsCancelled()) {
      LogRefusals(refusals);
      return absl::CancelledError("deliver: the sender gave up on the call");
    }
    out.add_results();
    const Delivery& d = req.deliveries(i);
    EnvelopeHeader claimed;
    if (!claimed.ParseFromString(d.envelope().header())) {
      fail(i, absl::InvalidArgumentError("envelope: header does not parse"));
      continue;
    }
    ids[i] = claimed.message_id();
    if (absl::Status s = CheckSender(peer, claimed); !s.ok()) {
      fail(i, s);
      continue;
    }
    if (d.payload().size() > Spool::kInlineMax) {
      fail(i, absl::InvalidArgumentError(absl::StrCat(
                  "deliver: a batched payload is at most ", Spool::kInlineMax,
                  " bytes (larger ones are streamed by Deliver), got ", d.payload().size())));
      continue;
    }
    bool given = false;
    NextChunk next = [&d, &given](std::string* chunk) -> absl::StatusOr<bool> {
      if (given || d.payload().empty()) {
        return false;
      }
      given = true;
      *chunk = d.payload();
      return true;
    };
    absl::StatusOr<Arrival> arrival = CheckArrival(peer.name, **conf, d.envelope(), next);
    if (!arrival.ok()) {
      fail(i, arrival.status());
    } else if (arrival->earlier.has_value()) {
      *out.mutable_results(i)->mutable_receipt() = std::move(*arrival->earlier);
    } else {
      arrivals.push_back(std::move(*arrival));
      stored_at.push_back(i);
    }
  }
  std::vector<absl::StatusOr<Receipt>> stored = StoreArrivals(&arrivals);
  for (size_t k = 0; k < stored.size(); ++k) {
    if (stored[k].ok()) {
      *out.mutable_results(stored_at[k])->mutable_receipt() = std::move(*stored[k]);
    } else {
      fail(stored_at[k], stored[k].status());
    }
  }
  LogRefusals(refusals);
  return out;
}

absl::StatusOr<Server::Arrival> Server::CheckArrival(const std::string& peer_name,
                                                     const ConfView& conf,
                                                     const Envelope& envelope,
                                                     const NextChunk& next) {
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
  std::string chunk;
  Arrival a;
  if (existing.has_value()) {
    // A re-delivery: the original receipt, nothing stored twice.
    while (true) {
      absl::StatusOr<bool> more = next(&chunk);
      if (!more.ok() || !*more) {
        break;
      }
    }
    if (signer::Sha256(existing->envelope_header) != ce.header_sha256) {
      return absl::InvalidArgumentError(
          absl::StrCat("deliver: message id ", h.message_id(), " was used for another envelope"));
    }
    a.earlier.emplace();
    a.earlier->ParseFromString(existing->receipt);
    return a;
  }
  uint64_t max = config_.max_payload_bytes() == 0 ? (uint64_t{2} << 30) : config_.max_payload_bytes();
  if (h.payload_size() > max) {
    return absl::ResourceExhaustedError(absl::StrCat("deliver: payload over ", max, " bytes"));
  }
  const bool is_xml = absl::StrContains(h.content_type(), "xml");
  // XML payloads stay files: the signature and edXML checks read them there.
  AXIS_ASSIGN_OR_RETURN(std::unique_ptr<Spool::Writer> w, spool_->NewWriter(!is_xml));
  while (true) {
    AXIS_ASSIGN_OR_RETURN(bool more, next(&chunk));
    if (!more) {
      break;
    }
    if (w->size() + chunk.size() > h.payload_size()) {
      return absl::InvalidArgumentError("payload digest mismatch: more bytes than the envelope says");
    }
    AXIS_RETURN_IF_ERROR(w->Append(chunk));
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
  // Signed in StoreArrivals, with the other arrivals' receipts.
  a.receipt.set_body(body.SerializeAsString());
  InboxRow& row = a.row;
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
  std::optional<StatusRow>& status = a.status;
  std::vector<LogItem>& log = a.log;
  log = {{static_cast<int>(LogEvent::kReceived), h.message_id(), peer_name,
                               envelope.header()},
                              {static_cast<int>(LogEvent::kReceipt), h.message_id(), peer_name,
                               a.receipt.body()}};
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
  std::optional<Answer>& answer = a.answer;
  if (answers) {
    absl::StatusOr<Answer> a =
        MakeStatusAnswer(NewMessageId(), h, edxml_message->header, "01", "", seal_,
                         *envelope_signer_, *spool_, now, &log);
    if (a.ok()) {
      answer = std::move(*a);
    } else {
      // The document is kept all the same; its DMS can still answer.
      std::fprintf(stderr, "relay: no status 01 for %s: %s\n", h.message_id().c_str(),
                   std::string(a.status().message()).c_str());
    }
  }
  return a;
}

std::vector<absl::StatusOr<Receipt>> Server::StoreArrivals(std::vector<Arrival>* arrivals) {
  // All receipts of the call under one batch signature (with whatever other
  // receipts are waiting): the sender then verifies one signature for them.
  std::vector<Receipt*> receipts;
  for (Arrival& a : *arrivals) {
    receipts.push_back(&a.receipt);
  }
  if (absl::Status s = SignReceipts(receipts, *receipt_signer_); !s.ok()) {
    return std::vector<absl::StatusOr<Receipt>>(arrivals->size(), s);
  }
  for (Arrival& a : *arrivals) {
    a.row.receipt = a.receipt.SerializeAsString();
  }
  std::vector<Store::InboxInsert> inserts;
  inserts.reserve(arrivals->size());
  for (const Arrival& a : *arrivals) {
    inserts.push_back({&a.row, &a.status, &a.log, a.answer ? &*a.answer : nullptr});
  }
  std::vector<absl::Status> ins = store_->InsertInboxes(inserts);
  std::vector<absl::StatusOr<Receipt>> out;
  bool any = false;
  for (size_t i = 0; i < arrivals->size(); ++i) {
    Arrival& a = (*arrivals)[i];
    if (absl::IsAlreadyExists(ins[i])) {
      // Stored meanwhile by another call: its receipt, not ours.
      absl::StatusOr<std::optional<InboxRow>> existing =
          store_->FindInbox(a.row.message_id, a.row.recipient);
      if (existing.ok() && existing->has_value()) {
        Receipt original;
        original.ParseFromString((*existing)->receipt);
        out.push_back(std::move(original));
        continue;
      }
    }
    if (!ins[i].ok()) {
      out.push_back(ins[i]);
      continue;
    }
    any = true;
    if (a.answer.has_value()) {
      Enqueue(std::move(a.answer->rows));
    }
    out.push_back(std::move(a.receipt));
  }
  if (any) {
    absl::MutexLock l(&mu_);
    ++inbox_generation_;
  }
  return out;
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

grpc::Status RelayService::DeliverBatch(grpc::ServerContext* c, const DeliverBatchRequest* req,
                                        DeliverBatchResponse* out) {
  absl::StatusOr<DeliverBatchResponse> r = s_->DoDeliverBatch(c, *req);
  if (!r.ok()) {
    return ToGrpcStatus(r.status());
  }
  *out = std::move(*r);
  return grpc::Status::OK;
}


}  // namespace axis::ss::internal
