#include "central-server/requests.h"

#include <openssl/rand.h>

#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "central-server/member_identity.h"
#include "common/status_macros.h"
#include "proto/identifiers.h"
#include "signer/bytes_sign.h"

namespace axis::central {

std::string RequestKind(const ManagementRequest& request) {
  switch (request.action_case()) {
    case ManagementRequest::kRegisterServer:
      return "register_server";
    case ManagementRequest::kDeleteAuthCert:
      return "delete_auth_cert";
    case ManagementRequest::kAddSubsystem:
      return "add_subsystem";
    case ManagementRequest::kDeleteSubsystem:
      return "delete_subsystem";
    case ManagementRequest::kChangeAddress:
      return "change_address";
    case ManagementRequest::ACTION_NOT_SET:
      break;
  }
  return "none";
}

std::string RequestSummary(const ManagementRequest& request) {
  std::string member = FormatIdentifier(request.member());
  switch (request.action_case()) {
    case ManagementRequest::kRegisterServer:
      return absl::StrCat(
          "register security server ", member, "/", request.register_server().server_code(), " at ",
          request.register_server().address(), " with auth certificate sha256 ",
          absl::BytesToHexString(signer::Sha256(request.register_server().auth_cert_der())));
    case ManagementRequest::kDeleteAuthCert:
      return absl::StrCat("delete auth certificate ",
                          absl::BytesToHexString(request.delete_auth_cert().auth_cert_sha256()),
                          " of ", member, "/", request.delete_auth_cert().server_code());
    case ManagementRequest::kAddSubsystem:
      return absl::StrCat("add subsystem ", FormatIdentifier(request.add_subsystem().subsystem()));
    case ManagementRequest::kDeleteSubsystem:
      return absl::StrCat("delete subsystem ",
                          FormatIdentifier(request.delete_subsystem().subsystem()));
    case ManagementRequest::kChangeAddress:
      return absl::StrCat("change address of ", member, "/", request.change_address().server_code(),
                          " to ", request.change_address().address());
    case ManagementRequest::ACTION_NOT_SET:
      break;
  }
  return "no action";
}

absl::StatusOr<SignedManagementRequest> SignManagementRequest(ManagementRequest request,
                                                              const signer::SigningKey& member_key,
                                                              const signer::SigningKey* auth_key,
                                                              absl::Time now) {
  request.mutable_created_at()->set_seconds(absl::ToUnixSeconds(now));
  std::string nonce(16, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(nonce.data()), 16) != 1) {
    return absl::InternalError("no random bytes for the request nonce");
  }
  request.set_nonce(nonce);
  SignedManagementRequest out;
  out.set_request(request.SerializeAsString());
  AXIS_ASSIGN_OR_RETURN(signer::BytesSignature sig, signer::SignBytes(member_key, out.request()));
  out.set_signature_algorithm(sig.algorithm);
  out.set_member_signature(sig.value);
  AXIS_ASSIGN_OR_RETURN(*out.add_member_cert_chain_der(), signer::CertToDer(member_key.cert.get()));
  for (const UniquePtr<X509>& c : member_key.chain) {
    AXIS_ASSIGN_OR_RETURN(*out.add_member_cert_chain_der(), signer::CertToDer(c.get()));
  }
  if (request.has_register_server()) {
    if (auth_key == nullptr) {
      return absl::InvalidArgumentError("registering a server needs its authentication key");
    }
    AXIS_ASSIGN_OR_RETURN(signer::BytesSignature pop, signer::SignBytes(*auth_key, out.request()));
    out.set_auth_signature_algorithm(pop.algorithm);
    out.set_auth_signature(pop.value);
  }
  return out;
}

absl::StatusOr<ManagementRequest> VerifyManagementRequest(const SignedManagementRequest& sreq,
                                                          const GlobalConf& conf, absl::Time now) {
  ManagementRequest request;
  if (sreq.request().empty() || !request.ParseFromString(sreq.request())) {
    return absl::InvalidArgumentError("management request is not a readable ManagementRequest");
  }
  if (request.action_case() == ManagementRequest::ACTION_NOT_SET) {
    return absl::InvalidArgumentError("management request has no action");
  }
  absl::Status id_ok = ValidateIdentifier(request.member());
  if (!id_ok.ok() || !request.member().subsystem().empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "management request names a malformed member: ",
        id_ok.ok() ? "a subsystem instead of a member" : std::string(id_ok.message())));
  }
  absl::Time created = absl::FromUnixSeconds(request.created_at().seconds());
  if (created < now - kRequestMaxAge || created > now + kRequestMaxAge) {
    return absl::InvalidArgumentError(
        absl::StrCat("management request created at ",
                     absl::FormatTime(absl::RFC3339_sec, created, absl::UTCTimeZone()),
                     " is outside the accepted window of ", absl::FormatDuration(kRequestMaxAge)));
  }
  if (sreq.member_cert_chain_der().empty()) {
    return absl::InvalidArgumentError("management request carries no signing certificate");
  }
  AXIS_ASSIGN_OR_RETURN(UniquePtr<X509> cert, signer::CertFromDer(sreq.member_cert_chain_der(0)));
  absl::Status sig = signer::VerifyBytes(cert.get(), sreq.signature_algorithm(), sreq.request(),
                                         sreq.member_signature());
  if (!sig.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("management request: member signature: ", sig.message()));
  }
  std::vector<UniquePtr<X509>> extra;
  std::vector<X509*> untrusted;
  for (int i = 1; i < sreq.member_cert_chain_der_size(); ++i) {
    AXIS_ASSIGN_OR_RETURN(UniquePtr<X509> c, signer::CertFromDer(sreq.member_cert_chain_der(i)));
    untrusted.push_back(c.get());
    extra.push_back(std::move(c));
  }
  absl::StatusOr<Identifier> signer_member =
      MemberFromSigningCert(cert.get(), untrusted, conf, now);
  if (!signer_member.ok()) {
    return absl::Status(signer_member.status().code(),
                        absl::StrCat("management request: ", signer_member.status().message()));
  }
  if (!SameIdentifier(*signer_member, request.member())) {
    return absl::PermissionDeniedError(
        absl::StrCat("management request for ", FormatIdentifier(request.member()),
                     " is signed by ", FormatIdentifier(*signer_member)));
  }
  if (request.has_register_server()) {
    absl::StatusOr<UniquePtr<X509>> auth =
        signer::CertFromDer(request.register_server().auth_cert_der());
    if (!auth.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("management request: auth certificate: ", auth.status().message()));
    }
    absl::Status pop = signer::VerifyBytes(auth->get(), sreq.auth_signature_algorithm(),
                                           sreq.request(), sreq.auth_signature());
    if (!pop.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("management request: proof of possession of the auth key: ", pop.message()));
    }
  }
  return request;
}

}  // namespace axis::central
