#include "signer/bytes_sign.h"

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "absl/strings/str_cat.h"
#include "common/openssl_error.h"
#include "common/status_macros.h"

namespace axis::signer {
namespace {

constexpr char kRsaPkcs1Sha256[] = "rsa-pkcs1-sha256";
constexpr char kEcdsaSha256[] = "ecdsa-sha256";

// AlgorithmFor names the signature algorithm a key of this type uses here.
absl::StatusOr<std::string> AlgorithmFor(EVP_PKEY* key) {
  switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_RSA:
      return std::string(kRsaPkcs1Sha256);
    case EVP_PKEY_EC:
      return std::string(kEcdsaSha256);
    default:
      return absl::InvalidArgumentError("key type is neither RSA nor EC");
  }
}

}  // namespace

absl::StatusOr<BytesSignature> SignBytes(const SigningKey& key, absl::string_view data) {
  if (key.key == nullptr) {
    return absl::InvalidArgumentError("no signing key");
  }
  BytesSignature out;
  AXIS_ASSIGN_OR_RETURN(out.algorithm, AlgorithmFor(key.key.get()));
  UniquePtr<EVP_MD_CTX> ctx(EVP_MD_CTX_new());
  size_t length = 0;
  // Token keys come through libp11's engine as EVP_PKEYs too; one-shot
  // EVP_DigestSign works for both (the engine signs the digest).
  if (ctx == nullptr ||
      EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.key.get()) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &length,
                     reinterpret_cast<const unsigned char*>(data.data()), data.size()) != 1) {
    return OpenSslError("signing failed", absl::StatusCode::kInternal);
  }
  out.value.resize(length);
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(out.value.data()), &length,
                     reinterpret_cast<const unsigned char*>(data.data()), data.size()) != 1) {
    return OpenSslError("signing failed", absl::StatusCode::kInternal);
  }
  out.value.resize(length);
  return out;
}

absl::Status VerifyBytes(X509* cert, absl::string_view algorithm, absl::string_view data,
                         absl::string_view signature) {
  if (cert == nullptr) {
    return absl::InvalidArgumentError("no certificate to verify the signature with");
  }
  EVP_PKEY* key = X509_get0_pubkey(cert);
  if (key == nullptr) {
    return OpenSslError("certificate has no usable public key");
  }
  AXIS_ASSIGN_OR_RETURN(std::string expected, AlgorithmFor(key));
  if (algorithm != expected) {
    return absl::InvalidArgumentError(absl::StrCat("signature algorithm \"", algorithm,
                                                   "\" does not match the certificate's key (",
                                                   expected, ")"));
  }
  UniquePtr<EVP_MD_CTX> ctx(EVP_MD_CTX_new());
  if (ctx == nullptr ||
      EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) != 1) {
    return OpenSslError("cannot set up signature verification", absl::StatusCode::kInternal);
  }
  int rc = EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                            signature.size(), reinterpret_cast<const unsigned char*>(data.data()),
                            data.size());
  DrainOpenSslErrors();  // a bad signature leaves parse errors behind
  if (rc != 1) {
    return absl::PermissionDeniedError("signature does not verify");
  }
  return absl::OkStatus();
}

std::string Sha256(absl::string_view data) {
  std::string digest(SHA256_DIGEST_LENGTH, '\0');
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(),
         reinterpret_cast<unsigned char*>(digest.data()));
  return digest;
}

absl::StatusOr<std::string> CertToDer(X509* cert) {
  unsigned char* der = nullptr;
  int length = i2d_X509(cert, &der);
  if (length <= 0) {
    return OpenSslError("cannot encode certificate");
  }
  std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(length));
  OPENSSL_free(der);
  return out;
}

absl::StatusOr<UniquePtr<X509>> CertFromDer(absl::string_view der) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  const unsigned char* end = p + der.size();
  UniquePtr<X509> cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (cert == nullptr) {
    return OpenSslError("certificate is not valid DER");
  }
  if (p != end) {
    return absl::InvalidArgumentError("certificate DER has trailing bytes");
  }
  return cert;
}

}  // namespace axis::signer
