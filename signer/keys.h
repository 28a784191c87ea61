// keys.h: signing keys from PEM files, PKCS#12 files and PKCS#11 tokens.
#ifndef AXIS_SIGNER_KEYS_H_
#define AXIS_SIGNER_KEYS_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/c_ptr.h"

namespace axis::signer {

// SecretSource supplies a passphrase or PIN when one is needed; `prompt`
// says for what. It returns the secret or an error (e.g. no terminal).
using SecretSource = std::function<absl::StatusOr<std::string>(absl::string_view prompt)>;

// SecretFromFile reads the first line of `path` (without its newline).
SecretSource SecretFromFile(std::string path);

// SecretFromTerminal asks on /dev/tty with echo off; FAILED_PRECONDITION
// when there is no terminal.
SecretSource SecretFromTerminal();

// NoSecret fails whenever a secret is needed.
SecretSource NoSecret();

// SigningKey is a private key with its certificate and chain. The key may
// live on a PKCS#11 token (then only its handle is here).
struct SigningKey {
  UniquePtr<EVP_PKEY> key;
  UniquePtr<X509> cert;
  std::vector<UniquePtr<X509>> chain;  // issuers, nearest first; may be empty
  bool on_token = false;               // true for pkcs11: keys
};

// KeySpec says where a signing key is.
struct KeySpec {
  std::string key;         // PEM path, .p12/.pfx path, or a pkcs11: URI (RFC 7512)
  std::string cert_path;   // PEM certificate; optional for PKCS#12
  std::string chain_path;  // PEM chain; optional
};

// LoadSigningKey loads the key, certificate and chain of `spec`, asking
// `secret` for a passphrase (encrypted PEM, PKCS#12) or the token PIN.
// INVALID_ARGUMENT naming the file when it cannot be read or the
// certificate does not match the key; UNAVAILABLE when the token cannot be
// reached. A PKCS#11 module is taken from the URI's module-path attribute,
// else $AXIS_PKCS11_MODULE, else SoftHSM2's.
absl::StatusOr<SigningKey> LoadSigningKey(const KeySpec& spec, const SecretSource& secret);

// SignDigestInfo signs `data` with `key` using `md` (and RSA-PSS padding
// with salt = hash length when `pss`), returning the raw signature as
// XML-DSig wants it: PKCS#1 bytes for RSA, r||s for ECDSA.
absl::StatusOr<std::string> SignRaw(EVP_PKEY* key, const EVP_MD* md, bool pss,
                                    absl::string_view data);

}  // namespace axis::signer

#endif  // AXIS_SIGNER_KEYS_H_
