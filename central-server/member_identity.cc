#include "central-server/member_identity.h"

#include <openssl/x509v3.h>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "proto/identifiers.h"

namespace axis::central {

absl::StatusOr<signer::TrustStore> TrustStoreFromConf(const GlobalConf& conf) {
  signer::TrustStore trust;
  for (const TrustedCa& ca : conf.cas()) {
    absl::StatusOr<UniquePtr<X509>> cert = signer::ParseDerCertificate(ca.cert_der());
    if (!cert.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("trusted CA \"", ca.name(), "\": ", cert.status().message()));
    }
    if (ca.is_root()) {
      trust.AddRoot(*std::move(cert));
    } else {
      trust.AddIntermediate(*std::move(cert));
    }
    if (!ca.crl_der().empty()) {
      const unsigned char* p = reinterpret_cast<const unsigned char*>(ca.crl_der().data());
      UniquePtr<X509_CRL> crl(d2i_X509_CRL(nullptr, &p, static_cast<long>(ca.crl_der().size())));
      if (crl == nullptr) {
        return absl::InvalidArgumentError(
            absl::StrCat("trusted CA \"", ca.name(), "\": CRL is unreadable"));
      }
      trust.AddCrl(std::move(crl));
    }
  }
  return trust;
}

absl::StatusOr<Identifier> MemberFromSigningCert(X509* cert, const std::vector<X509*>& untrusted,
                                                 const GlobalConf& conf, absl::Time at) {
  AXIS_ASSIGN_OR_RETURN(signer::TrustStore trust, TrustStoreFromConf(conf));
  if (trust.roots().empty()) {
    return absl::InvalidArgumentError(
        "signing certificate does not chain to a trusted CA: the configuration lists no root CA");
  }
  signer::ChainResult chain =
      signer::ValidateChain(cert, untrusted, trust, at, !trust.crls().empty());
  if (!chain.valid) {
    return absl::InvalidArgumentError(
        absl::StrCat("signing certificate does not chain to a trusted CA: ", chain.error));
  }
  uint32_t usage = X509_get_key_usage(cert);
  if (usage != UINT32_MAX && (usage & (KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION)) == 0) {
    return absl::InvalidArgumentError(
        "signing certificate has neither digitalSignature nor nonRepudiation key usage");
  }
  X509_NAME* subject = X509_get_subject_name(cert);
  int index = X509_NAME_get_index_by_NID(subject, NID_organizationalUnitName, -1);
  if (index < 0) {
    return absl::InvalidArgumentError("signing certificate has no subject OU (the member code)");
  }
  if (X509_NAME_get_index_by_NID(subject, NID_organizationalUnitName, index) >= 0) {
    return absl::InvalidArgumentError("signing certificate has more than one subject OU");
  }
  ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, index));
  unsigned char* utf8 = nullptr;
  int n = ASN1_STRING_to_UTF8(&utf8, data);
  if (n < 0) {
    return absl::InvalidArgumentError("signing certificate's subject OU is unreadable");
  }
  std::string code(reinterpret_cast<char*>(utf8), static_cast<size_t>(n));
  OPENSSL_free(utf8);
  const Member* found = nullptr;
  for (const Member& m : conf.members()) {
    if (m.id().member_code() == code && m.id().instance() == conf.instance()) {
      if (found != nullptr) {
        return absl::InvalidArgumentError(
            absl::StrCat("member code ", code, " is registered in more than one class"));
      }
      found = &m;
    }
  }
  if (found == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("signing certificate names member code ", code, ", an unknown member"));
  }
  return found->id();
}

}  // namespace axis::central
