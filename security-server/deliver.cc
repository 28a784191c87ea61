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
  AXIS_ASSIGN_OR_RETURN(Receipt receipt, MakeReceipt(body, *receipt_signer_));
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


}  // namespace axis::ss::internal
