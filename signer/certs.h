// certs.h: X.509 certificates, trust stores and chain validation at a time.
#ifndef AXIS_SIGNER_CERTS_H_
#define AXIS_SIGNER_CERTS_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/c_ptr.h"

namespace axis::signer {

// ParsePemCertificates reads every certificate in a PEM text. At least one is
// required; INVALID_ARGUMENT naming `what` otherwise.
absl::StatusOr<std::vector<UniquePtr<X509>>> ParsePemCertificates(absl::string_view pem,
                                                                  absl::string_view what);

// LoadPemCertificates reads a PEM file of one or more certificates.
absl::StatusOr<std::vector<UniquePtr<X509>>> LoadPemCertificates(absl::string_view path);

// ParseDerCertificate decodes one DER certificate; trailing bytes are refused.
absl::StatusOr<UniquePtr<X509>> ParseDerCertificate(absl::string_view der);

// CertificateDer returns the DER encoding of `cert`.
std::string CertificateDer(X509* cert);

// CertificateInfo is what reports say about a certificate.
struct CertificateInfo {
  std::string subject;      // RFC 2253, UTF-8
  std::string issuer;       // RFC 2253, UTF-8
  std::string serial_hex;   // upper-case hex
  absl::Time not_before;
  absl::Time not_after;
  std::string key_type;     // "RSA-2048", "EC-P-256", ...
  std::vector<std::string> key_usage;  // "digitalSignature", "nonRepudiation", ...
  std::string sha256_hex;   // fingerprint of the DER
};
CertificateInfo DescribeCertificate(X509* cert);

// Asn1TimeToAbsl converts an ASN1_TIME.
absl::Time Asn1TimeToAbsl(const ASN1_TIME* t);

// KeyStrengthProblem returns why `key` is too weak or of a refused type for
// document signatures (RSA < 2048 bits, EC curves other than P-256/384/521,
// DSA and others), or "" when it is acceptable.
std::string KeyStrengthProblem(EVP_PKEY* key);

// DocumentSigningUsageProblem returns why `cert` may not sign documents,
// or "" when it may: its key usage, when present, must include
// digitalSignature or nonRepudiation, and its extended key usage, when
// present, emailProtection, documentSigning (RFC 9336) or anyExtendedKeyUsage
// (a TLS, TSA or OCSP certificate of the same CA signs no decree).
std::string DocumentSigningUsageProblem(X509* cert);

// TrustStore holds trust anchors, intermediate certificates and CRLs.
// Immutable after construction; thread-safe to share.
class TrustStore {
 public:
  TrustStore() = default;
  TrustStore(TrustStore&&) = default;
  TrustStore& operator=(TrustStore&&) = default;

  // FromPemFiles loads roots (trust anchors), optional intermediates and
  // optional CRLs, each file a PEM bundle.
  static absl::StatusOr<TrustStore> FromPemFiles(const std::vector<std::string>& root_files,
                                                 const std::vector<std::string>& intermediate_files,
                                                 const std::vector<std::string>& crl_files);

  void AddRoot(UniquePtr<X509> cert) { roots_.push_back(std::move(cert)); }
  void AddIntermediate(UniquePtr<X509> cert) { intermediates_.push_back(std::move(cert)); }
  void AddCrl(UniquePtr<X509_CRL> crl) { crls_.push_back(std::move(crl)); }

  const std::vector<UniquePtr<X509>>& roots() const { return roots_; }
  const std::vector<UniquePtr<X509>>& intermediates() const { return intermediates_; }
  const std::vector<UniquePtr<X509_CRL>>& crls() const { return crls_; }

 private:
  std::vector<UniquePtr<X509>> roots_;
  std::vector<UniquePtr<X509>> intermediates_;
  std::vector<UniquePtr<X509_CRL>> crls_;
};

// ChainResult is the outcome of validating one certificate.
struct ChainResult {
  bool valid = false;
  std::string error;               // OpenSSL's reason when not valid
  bool revoked = false;            // a CRL lists the certificate
  std::vector<std::string> chain;  // subjects, leaf first, when built
  std::vector<UniquePtr<X509>> certs;  // the built chain, leaf first
};

// ValidateChain builds and checks a path from `leaf` to a root of `trust` at
// time `at`, using `untrusted` (e.g. certificates from KeyInfo) and the
// store's intermediates. When `check_crls` and the store has CRLs, every
// certificate in the chain is checked against its issuer's CRL; the
// end-entity certificate must have one (else "unable to get certificate
// CRL"), a CA certificate whose issuer published none in the store passes.
ChainResult ValidateChain(X509* leaf, const std::vector<X509*>& untrusted, const TrustStore& trust,
                          absl::Time at, bool check_crls = true);

}  // namespace axis::signer

#endif  // AXIS_SIGNER_CERTS_H_
