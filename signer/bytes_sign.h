// bytes_sign.h: detached signatures over exact bytes (global configuration
// statements, envelope headers, receipts, management requests).
//
// The signature is always over the bytes carried next to it; the algorithm
// follows the key: RSA keys sign RSASSA-PKCS#1 v1.5 with SHA-256
// ("rsa-pkcs1-sha256"), EC keys ECDSA with SHA-256 ("ecdsa-sha256", DER
// signature value). Keys on PKCS#11 tokens work the same (EVP_DigestSign).
#ifndef AXIS_SIGNER_BYTES_SIGN_H_
#define AXIS_SIGNER_BYTES_SIGN_H_

#include <string>
#include <vector>

#include <openssl/x509.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/c_ptr.h"
#include "signer/keys.h"

namespace axis::signer {

struct BytesSignature {
  std::string algorithm;  // "rsa-pkcs1-sha256" or "ecdsa-sha256"
  std::string value;      // raw signature bytes
};

// SignBytes signs `data` with `key` (software or token key).
absl::StatusOr<BytesSignature> SignBytes(const SigningKey& key, absl::string_view data);

// VerifyBytes checks `signature` over `data` with the public key of `cert`.
// INVALID_ARGUMENT names an unknown algorithm or one that does not match the
// key; PERMISSION_DENIED means the signature does not verify.
absl::Status VerifyBytes(X509* cert, absl::string_view algorithm, absl::string_view data,
                         absl::string_view signature);

// Sha256 returns the 32-byte digest of `data`.
std::string Sha256(absl::string_view data);

// CertToDer / CertFromDer convert between X509 and DER bytes.
absl::StatusOr<std::string> CertToDer(X509* cert);
absl::StatusOr<UniquePtr<X509>> CertFromDer(absl::string_view der);

}  // namespace axis::signer

#endif  // AXIS_SIGNER_BYTES_SIGN_H_
