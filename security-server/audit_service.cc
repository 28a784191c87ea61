#include "security-server/audit_service.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/status_macros.h"
#include "proto/conversions.h"
#include "security-server/log_audit.h"
#include "security-server/message_log.h"

namespace axis::ss {
namespace {

constexpr size_t kChunkBytes = size_t{1} << 20;

std::string Column(sqlite3_stmt* st, int i) {
  const void* p = sqlite3_column_blob(st, i);
  int n = sqlite3_column_bytes(st, i);
  return p == nullptr ? std::string() : std::string(static_cast<const char*>(p), static_cast<size_t>(n));
}

// LogRecordsOf reads every message-log record about `id`, with its proof
// when it is time-stamped.
absl::Status LogRecordsOf(const std::string& db_path, const std::string& id, Evidence* out) {
  AXIS_ASSIGN_OR_RETURN(LogDb db, OpenLogDb(db_path, /*read_only=*/true));
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db.get(),
                         "SELECT seq, at_us, event, message_id, peer, data, prev_hash, hash "
                         "FROM message_log WHERE message_id = ? ORDER BY seq",
                         -1, &raw, nullptr) != SQLITE_OK) {
    return absl::InternalError(absl::StrCat("message log: ", sqlite3_errmsg(db.get())));
  }
  std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> st(raw, sqlite3_finalize);
  sqlite3_bind_text(st.get(), 1, id.data(), static_cast<int>(id.size()), SQLITE_TRANSIENT);
  std::vector<int64_t> seqs;
  int rc;
  while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
    LogRecordProof* p = out->add_records();
    p->set_seq(sqlite3_column_int64(st.get(), 0));
    p->set_at_us(sqlite3_column_int64(st.get(), 1));
    p->set_event(sqlite3_column_int64(st.get(), 2));
    p->set_message_id(Column(st.get(), 3));
    p->set_peer(Column(st.get(), 4));
    p->set_data(Column(st.get(), 5));
    p->set_prev_hash(Column(st.get(), 6));
    p->set_hash(Column(st.get(), 7));
  }
  if (rc != SQLITE_DONE) {
    return absl::InternalError(absl::StrCat("message log: ", sqlite3_errmsg(db.get())));
  }
  st.reset();
  for (LogRecordProof& p : *out->mutable_records()) {
    absl::StatusOr<RecordProof> proof = MerkleProof(db.get(), p.seq());
    if (proof.status().code() == absl::StatusCode::kFailedPrecondition) {
      continue;  // not time-stamped yet: exported without a proof, marked so
    }
    if (!proof.ok()) {
      return proof.status();
    }
    p.set_stamped(true);
    p.set_batch_id(proof->batch_id);
    p.set_batch_first_seq(proof->batch_first_seq);
    p.set_batch_size(proof->batch_size);
    p.set_index(proof->index);
    for (const std::string& h : proof->path) {
      p.add_path(h);
    }
    p.set_root(proof->root);
    p.set_token(proof->token);
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Evidence> AuditService::Collect(const std::set<std::string>& allowed,
                                               const std::string& id) {
  AXIS_ASSIGN_OR_RETURN(std::optional<MessageRow> m, deps_.store->GetMessage(id));
  if (!m.has_value() || allowed.count(m->sender) == 0) {
    return absl::NotFoundError(absl::StrCat(
        "message ", id, " was not sent by your subsystems through this security server (the "
                        "sender's security server keeps a message's evidence)"));
  }
  Evidence out;
  out.set_message_id(id);
  out.set_exported_by(deps_.exported_by);
  *out.mutable_exported_at() = ToProtoTime(absl::Now());
  AXIS_ASSIGN_OR_RETURN(*out.mutable_status(), deps_.status(allowed, id));
  AXIS_ASSIGN_OR_RETURN(std::vector<OutboxRow> rows, deps_.store->OutboxOf(id));
  for (const OutboxRow& r : rows) {
    Envelope* envelope = out.add_envelopes();
    if (!envelope->ParseFromString(r.envelope)) {
      return absl::DataLossError(absl::StrCat("message ", id, ": stored envelope for ",
                                              r.recipient, " is not readable"));
    }
    // The OCSP response stapled when it was delivered (none before that).
    envelope->set_ocsp_response(r.ocsp_response);
    if (!r.receipt.empty() && !out.add_receipts()->ParseFromString(r.receipt)) {
      return absl::DataLossError(absl::StrCat("message ", id, ": stored receipt from ",
                                              r.recipient, " is not readable"));
    }
  }
  out.set_payload_sha256(m->payload_sha256);
  out.set_payload_size(m->payload_size);
  out.set_content_type(m->content_type);
  AXIS_RETURN_IF_ERROR(LogRecordsOf(deps_.db_path, id, &out));
  if (std::shared_ptr<const ConfView> conf = deps_.conf(); conf != nullptr) {
    for (const TrustedCa& ca : conf->conf().cas()) {
      out.add_trusted_cas_der(ca.cert_der());
    }
    for (const TimestampingAuthority& tsa : conf->conf().tsas()) {
      out.add_tsa_certs_der(tsa.cert_der());
    }
  }
  return out;
}

grpc::Status AuditService::GetEvidence(grpc::ServerContext* context, const EvidenceRequest* request,
                                       grpc::ServerWriter<EvidenceResponse>* writer) {
  absl::StatusOr<std::set<std::string>> allowed = deps_.authenticate(context);
  if (!allowed.ok()) {
    return ToGrpcStatus(allowed.status());
  }
  absl::StatusOr<Evidence> evidence = Collect(*allowed, request->message_id());
  if (!evidence.ok()) {
    return ToGrpcStatus(evidence.status());
  }
  // A small payload may be kept in the database (Spool::kInlineMax).
  absl::StatusOr<std::optional<std::string>> small =
      evidence->payload_size() > Spool::kInlineMax
          ? std::optional<std::string>()
          : deps_.store->GetPayload(evidence->payload_sha256());
  if (!small.ok()) {
    return ToGrpcStatus(small.status());
  }
  if (small->has_value()) {
    EvidenceResponse first;
    *first.mutable_evidence() = std::move(*evidence);
    bool ok = writer->Write(first);
    for (size_t at = 0; ok && at < (*small)->size(); at += kChunkBytes) {
      EvidenceResponse chunk;
      chunk.set_chunk((*small)->substr(at, kChunkBytes));
      ok = writer->Write(chunk);
    }
    return grpc::Status::OK;
  }
  absl::StatusOr<std::unique_ptr<Spool::Reader>> file =
      deps_.spool->OpenPayload(evidence->payload_sha256());
  if (!file.ok()) {
    return grpc::Status(grpc::StatusCode::DATA_LOSS,
                        absl::StrCat("message ", request->message_id(), ": payload is missing"));
  }
  const uint64_t size = evidence->payload_size();
  EvidenceResponse first;
  *first.mutable_evidence() = std::move(*evidence);
  bool ok = writer->Write(first);
  std::string buf(kChunkBytes, '\0');
  uint64_t sent = 0;
  while (ok && !context->IsCancelled()) {
    absl::StatusOr<size_t> n = (*file)->Read(buf.data(), buf.size());
    if (!n.ok()) {
      return grpc::Status(grpc::StatusCode::INTERNAL, "reading the payload failed");
    }
    if (*n == 0) {
      break;
    }
    sent += *n;
    EvidenceResponse chunk;
    chunk.set_chunk(buf.data(), *n);
    ok = writer->Write(chunk);
  }
  if (ok && !context->IsCancelled() && sent != size) {
    // Never an export that looks whole but is not.
    return grpc::Status(grpc::StatusCode::DATA_LOSS,
                        absl::StrCat("message ", request->message_id(), ": the payload file holds ",
                                     sent, " bytes, not ", size));
  }
  return grpc::Status::OK;
}

}  // namespace axis::ss
