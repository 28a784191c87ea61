// requests.h: management requests from security servers (register a server
// with its authentication certificate, delete an auth certificate, add or
// delete a subsystem, change a server's address).
//
// The member signs the serialized ManagementRequest with its signing key
// (its seal certificate; member identity per member_identity.h). A
// registration also carries a signature over the same bytes by the new
// authentication key: proof that the requester holds it.
#ifndef AXIS_CENTRAL_SERVER_REQUESTS_H_
#define AXIS_CENTRAL_SERVER_REQUESTS_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "central.pb.h"
#include "globalconf.pb.h"
#include "signer/keys.h"

namespace axis::central {

// kRequestMaxAge bounds how old (or how far in the future) a request's
// created_at may be when it arrives.
inline constexpr absl::Duration kRequestMaxAge = absl::Minutes(10);

// RequestKind names the action: "register_server", "delete_auth_cert",
// "add_subsystem", "delete_subsystem", "change_address" or "none".
std::string RequestKind(const ManagementRequest& request);

// RequestSummary describes the request for the operator.
std::string RequestSummary(const ManagementRequest& request);

// SignManagementRequest fills member, created_at (`now`) and a random nonce
// into `request`, serializes it and signs it with `member_key` (and with
// `auth_key` for register_server; nullptr otherwise).
absl::StatusOr<SignedManagementRequest> SignManagementRequest(ManagementRequest request,
                                                              const signer::SigningKey& member_key,
                                                              const signer::SigningKey* auth_key,
                                                              absl::Time now);

// VerifyManagementRequest checks a request against the current
// configuration at `now`: readable, fresh, signed by a certificate that
// identifies the member it names, and for register_server proof of
// possession of the auth key. Returns the request. INVALID_ARGUMENT for a
// malformed request or a bad signature, PERMISSION_DENIED when the signer is
// not the member named, NOT_FOUND for an unknown member.
absl::StatusOr<ManagementRequest> VerifyManagementRequest(const SignedManagementRequest& sreq,
                                                          const GlobalConf& conf, absl::Time now);

}  // namespace axis::central

#endif  // AXIS_CENTRAL_SERVER_REQUESTS_H_
