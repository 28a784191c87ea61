// member_identity.h: which member a signing certificate speaks for.
//
// The one rule (used for management requests here, and by security servers
// for envelope and receipt signatures): a certificate identifies member M of
// the configuration when
//   1. it chains, at time `at`, to a CA trusted in the configuration (roots
//      as anchors, intermediates as untrusted helpers, CRLs when published);
//   2. its key usage, if present, includes digitalSignature or
//      nonRepudiation;
//   3. its subject OU equals M's member code (pki-testdata encodes agency
//      certificates this way: OU=000.00.00.G22). Exactly one member of the
//      configuration's instance must have that code.
#ifndef AXIS_CENTRAL_SERVER_MEMBER_IDENTITY_H_
#define AXIS_CENTRAL_SERVER_MEMBER_IDENTITY_H_

#include <string>
#include <vector>

#include <openssl/x509.h>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "globalconf.pb.h"
#include "identifiers.pb.h"
#include "signer/certs.h"

namespace axis::central {

// TrustStoreFromConf builds a TrustStore of the configuration's CAs (roots,
// intermediates, CRLs). INVALID_ARGUMENT when a CA certificate or CRL is
// unreadable.
absl::StatusOr<signer::TrustStore> TrustStoreFromConf(const GlobalConf& conf);

// MemberFromSigningCert returns the member `cert` identifies under the rule
// above; `untrusted` are extra chain certificates the signer supplied.
// INVALID_ARGUMENT (chain, key usage, missing OU) or NOT_FOUND (no member with
// that code), each naming the reason.
absl::StatusOr<Identifier> MemberFromSigningCert(X509* cert, const std::vector<X509*>& untrusted,
                                                 const GlobalConf& conf, absl::Time at);

}  // namespace axis::central

#endif  // AXIS_CENTRAL_SERVER_MEMBER_IDENTITY_H_
