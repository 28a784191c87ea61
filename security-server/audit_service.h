// audit_service.h: the `Audit` gRPC service (proto/evidence.proto): the
// evidence of one message for auditors, served on the gateway port to the
// member's own DMS clients.
//
// The evidence of a sent message is what the sending security server holds:
// the envelopes it sealed (one per recipient), the receipts the recipients
// signed, the business statuses, and every message-log record about the
// message with its Merkle proof and time-stamp token (records not yet
// stamped are included and marked so); then the payload, in chunks.
#ifndef AXIS_SECURITY_SERVER_AUDIT_SERVICE_H_
#define AXIS_SECURITY_SERVER_AUDIT_SERVICE_H_

#include <functional>
#include <memory>
#include <set>
#include <string>

#include "absl/status/statusor.h"
#include "evidence.grpc.pb.h"
#include "security-server/store.h"
#include "security-server/trust.h"

namespace axis::ss {

class AuditService final : public Audit::Service {
 public:
  struct Deps {
    // Authenticate returns the caller's subsystems (printed identifiers).
    std::function<absl::StatusOr<std::set<std::string>>(const grpc::ServerContext*)> authenticate;
    // Status is the gateway's per-recipient status of a message the caller sent.
    std::function<absl::StatusOr<StatusResponse>(const std::set<std::string>&, const std::string&)>
        status;
    std::function<std::shared_ptr<const ConfView>()> conf;
    Store* store = nullptr;
    Spool* spool = nullptr;
    std::string db_path;      // the message log lives in the server's database
    std::string exported_by;  // e.g. "VN/GOV/000.00.00.G22 ss1"
  };
  explicit AuditService(Deps deps) : deps_(std::move(deps)) {}

  grpc::Status GetEvidence(grpc::ServerContext* context, const EvidenceRequest* request,
                           grpc::ServerWriter<EvidenceResponse>* writer) override;

  // Collect builds the Evidence of message `id` sent by one of `allowed`.
  // NOT_FOUND when no such message was sent by the caller.
  absl::StatusOr<Evidence> Collect(const std::set<std::string>& allowed, const std::string& id);

 private:
  Deps deps_;
};

}  // namespace axis::ss

#endif  // AXIS_SECURITY_SERVER_AUDIT_SERVICE_H_
