// globalconf.h: signing and verifying the global configuration, and the
// configuration anchor. Shared by the central server (which signs), the
// security servers and the CLI (which verify).
//
// A SignedGlobalConf carries the serialized GlobalConf bytes, a serialized
// ValidityStatement (those bytes' SHA-256, version, signed-at, expires-at)
// and a signature over the statement's bytes. Verification, in order:
//   1. the signing certificate is one of the anchor's (or, for key rotation,
//      one announced in `signing_certs_der` of a previously verified version);
//   2. the signature over the statement bytes verifies;
//   3. the statement's hash is the SHA-256 of the conf bytes carried, its
//      instance and version match the conf's;
//   4. not expired at `now` (and not signed in the future beyond a skew);
//   5. against the previously accepted version: the version never goes back;
//      the same version must carry the same bytes; version N+1 must carry
//      previous_sha256 = SHA-256(bytes of N).
// Each refusal is a status whose message names the reason.
#ifndef AXIS_CENTRAL_SERVER_GLOBALCONF_H_
#define AXIS_CENTRAL_SERVER_GLOBALCONF_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "globalconf.pb.h"
#include "signer/keys.h"

namespace axis::central {

// VerifiedConf is a configuration that passed VerifySignedConf.
struct VerifiedConf {
  GlobalConf conf;
  ValidityStatement statement;
  std::string conf_bytes;  // exactly the bytes that were verified
  SignedGlobalConf signed_conf;
  absl::Time expires_at;
};

// SignGlobalConf makes a SignedGlobalConf over `conf_bytes` (a serialized
// GlobalConf), valid from `signed_at` for `validity`.
absl::StatusOr<SignedGlobalConf> SignGlobalConf(const std::string& conf_bytes,
                                                const signer::SigningKey& key,
                                                absl::Time signed_at,
                                                absl::Duration validity);

// VerifySignedConf checks `signed_conf` as described above. `previous` is the
// last accepted configuration, or nullptr for the first one.
absl::StatusOr<VerifiedConf> VerifySignedConf(const SignedGlobalConf& signed_conf,
                                              const ConfAnchor& anchor,
                                              const VerifiedConf* previous, absl::Time now);

// AddAnchorSigners adds to `anchor` the signing certificates of `certs`
// (DER) it does not list yet; true when it added any. Pollers keep the keys
// a verified configuration announced this way, so a rotated key stays
// trusted across restarts.
bool AddAnchorSigners(const google::protobuf::RepeatedPtrField<std::string>& certs,
                      ConfAnchor* anchor);

// ReadAnchor / WriteAnchor: the anchor file is a ConfAnchor in Protobuf text
// format (certificates as DER bytes).
absl::StatusOr<ConfAnchor> ReadAnchor(const std::string& path);
absl::Status WriteAnchor(const ConfAnchor& anchor, const std::string& path);

// ReadSignedConf / WriteSignedConf: a SignedGlobalConf on disk (binary
// Protobuf, written atomically with fsync), as security servers keep the
// last good one.
absl::StatusOr<SignedGlobalConf> ReadSignedConf(const std::string& path);
absl::Status WriteSignedConf(const SignedGlobalConf& signed_conf, const std::string& path);

}  // namespace axis::central

#endif  // AXIS_CENTRAL_SERVER_GLOBALCONF_H_
