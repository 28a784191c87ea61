#include "signer/certs.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/files.h"
#include "common/openssl_error.h"

namespace axis::signer {
namespace {

std::string NameToString(const X509_NAME* name) {
  UniquePtr<BIO> bio(BIO_new(BIO_s_mem()));
  X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

// AcceptMissingCaCrl lets a CA certificate through when the store holds no
// CRL from its issuer (roots rarely publish one), while a missing CRL for the
// end-entity certificate, and every revocation found, still fail: with
// X509_V_FLAG_CRL_CHECK_ALL alone, a store holding only the issuing CA's CRL
// would refuse every chain with "unable to get certificate CRL".
int AcceptMissingCaCrl(int ok, X509_STORE_CTX* ctx) {
  if (ok == 0 && X509_STORE_CTX_get_error(ctx) == X509_V_ERR_UNABLE_TO_GET_CRL &&
      X509_STORE_CTX_get_error_depth(ctx) > 0) {
    X509_STORE_CTX_set_error(ctx, X509_V_OK);
    return 1;
  }
  return ok;
}

}  // namespace

absl::StatusOr<std::vector<UniquePtr<X509>>> ParsePemCertificates(absl::string_view pem,
                                                                  absl::string_view what) {
  UniquePtr<BIO> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  std::vector<UniquePtr<X509>> out;
  for (;;) {
    UniquePtr<X509> cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (cert == nullptr) {
      break;
    }
    out.push_back(std::move(cert));
  }
  unsigned long err = ERR_peek_last_error();
  if (ERR_GET_LIB(err) == ERR_LIB_PEM && ERR_GET_REASON(err) == PEM_R_NO_START_LINE) {
    ERR_clear_error();
  } else if (err != 0) {
    return OpenSslError(absl::StrCat(what, ": bad PEM certificate"));
  }
  if (out.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": no PEM certificate found"));
  }
  return out;
}

absl::StatusOr<std::vector<UniquePtr<X509>>> LoadPemCertificates(absl::string_view path) {
  absl::StatusOr<std::string> pem = ReadFile(path, size_t{16} << 20);
  if (!pem.ok()) {
    return pem.status();
  }
  return ParsePemCertificates(*pem, path);
}

absl::StatusOr<UniquePtr<X509>> ParseDerCertificate(absl::string_view der) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  const unsigned char* end = p + der.size();
  UniquePtr<X509> cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (cert == nullptr) {
    return OpenSslError("certificate: not a DER X.509 certificate");
  }
  if (p != end) {
    return absl::InvalidArgumentError("certificate: trailing bytes after the DER certificate");
  }
  return cert;
}

std::string CertificateDer(X509* cert) {
  unsigned char* der = nullptr;
  int len = i2d_X509(cert, &der);
  if (len <= 0) {
    return "";
  }
  std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  return out;
}

absl::Time Asn1TimeToAbsl(const ASN1_TIME* t) {
  struct tm tm = {};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) {
    return absl::InfinitePast();
  }
  return absl::FromTM(tm, absl::UTCTimeZone());
}

std::string KeyStrengthProblem(EVP_PKEY* key) {
  int id = EVP_PKEY_get_base_id(key);
  int bits = EVP_PKEY_get_bits(key);
  if (id == EVP_PKEY_RSA || id == EVP_PKEY_RSA_PSS) {
    if (bits < 2048) {
      return absl::StrCat("RSA key of ", bits, " bits is below the minimum of 2048");
    }
    return "";
  }
  if (id == EVP_PKEY_EC) {
    char group[64] = {0};
    size_t len = 0;
    if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                       &len) != 1) {
      return "EC key without a named curve";
    }
    std::string g(group, len);
    if (g == "prime256v1" || g == "secp384r1" || g == "secp521r1") {
      return "";
    }
    return absl::StrCat("EC curve ", g, " is not allowed (P-256, P-384, P-521)");
  }
  if (id == EVP_PKEY_DSA) {
    return "DSA keys are refused";
  }
  return absl::StrCat("key type ", OBJ_nid2sn(id), " is refused");
}

std::string DocumentSigningUsageProblem(X509* cert) {
  uint32_t ku = X509_get_key_usage(cert);
  if (ku != UINT32_MAX && (ku & (KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION)) == 0) {
    return "its key usage has neither digitalSignature nor nonRepudiation";
  }
  if ((X509_get_extension_flags(cert) & EXFLAG_XKUSAGE) == 0) {
    return "";
  }
  UniquePtr<EXTENDED_KEY_USAGE> eku(static_cast<EXTENDED_KEY_USAGE*>(
      X509_get_ext_d2i(cert, NID_ext_key_usage, nullptr, nullptr)));
  std::string seen;
  for (int i = 0; eku != nullptr && i < sk_ASN1_OBJECT_num(eku.get()); ++i) {
    const ASN1_OBJECT* oid = sk_ASN1_OBJECT_value(eku.get(), i);
    int nid = OBJ_obj2nid(oid);
    char text[80];
    OBJ_obj2txt(text, sizeof(text), oid, 1);
    if (nid == NID_email_protect || nid == NID_anyExtendedKeyUsage ||
        std::string(text) == "1.3.6.1.5.5.7.3.36") {  // id-kp-documentSigning
      return "";
    }
    absl::StrAppend(&seen, seen.empty() ? "" : ", ",
                    nid == NID_undef ? text : OBJ_nid2ln(nid));
  }
  return absl::StrCat("its extended key usage (", seen, ") does not allow document signing");
}

CertificateInfo DescribeCertificate(X509* cert) {
  CertificateInfo info;
  info.subject = NameToString(X509_get_subject_name(cert));
  info.issuer = NameToString(X509_get_issuer_name(cert));
  UniquePtr<BIGNUM> serial(ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr));
  if (serial != nullptr) {
    char* hex = BN_bn2hex(serial.get());
    info.serial_hex = hex;
    OPENSSL_free(hex);
  }
  info.not_before = Asn1TimeToAbsl(X509_get0_notBefore(cert));
  info.not_after = Asn1TimeToAbsl(X509_get0_notAfter(cert));
  EVP_PKEY* key = X509_get0_pubkey(cert);
  if (key != nullptr) {
    int id = EVP_PKEY_get_base_id(key);
    if (id == EVP_PKEY_EC) {
      char group[64] = {0};
      size_t len = 0;
      EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), &len);
      std::string g(group, len);
      info.key_type = g == "prime256v1"  ? "EC-P-256"
                      : g == "secp384r1" ? "EC-P-384"
                      : g == "secp521r1" ? "EC-P-521"
                                         : absl::StrCat("EC-", g);
    } else if (id == EVP_PKEY_RSA) {
      info.key_type = absl::StrCat("RSA-", EVP_PKEY_get_bits(key));
    } else if (id == EVP_PKEY_RSA_PSS) {
      info.key_type = absl::StrCat("RSA-PSS-", EVP_PKEY_get_bits(key));
    } else {
      info.key_type = absl::StrCat(OBJ_nid2sn(id), "-", EVP_PKEY_get_bits(key));
    }
  }
  uint32_t ku = X509_get_key_usage(cert);
  if (ku != UINT32_MAX) {
    const std::pair<uint32_t, const char*> names[] = {
        {KU_DIGITAL_SIGNATURE, "digitalSignature"}, {KU_NON_REPUDIATION, "nonRepudiation"},
        {KU_KEY_ENCIPHERMENT, "keyEncipherment"},   {KU_DATA_ENCIPHERMENT, "dataEncipherment"},
        {KU_KEY_AGREEMENT, "keyAgreement"},         {KU_KEY_CERT_SIGN, "keyCertSign"},
        {KU_CRL_SIGN, "cRLSign"}};
    for (const auto& [bit, name] : names) {
      if (ku & bit) {
        info.key_usage.push_back(name);
      }
    }
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  X509_digest(cert, EVP_sha256(), md, &md_len);
  info.sha256_hex = absl::BytesToHexString(
      absl::string_view(reinterpret_cast<char*>(md), md_len));
  return info;
}

absl::StatusOr<TrustStore> TrustStore::FromPemFiles(
    const std::vector<std::string>& root_files, const std::vector<std::string>& intermediate_files,
    const std::vector<std::string>& crl_files) {
  TrustStore store;
  for (const std::string& f : root_files) {
    absl::StatusOr<std::vector<UniquePtr<X509>>> certs = LoadPemCertificates(f);
    if (!certs.ok()) {
      return certs.status();
    }
    for (auto& c : *certs) {
      store.AddRoot(std::move(c));
    }
  }
  for (const std::string& f : intermediate_files) {
    absl::StatusOr<std::vector<UniquePtr<X509>>> certs = LoadPemCertificates(f);
    if (!certs.ok()) {
      return certs.status();
    }
    for (auto& c : *certs) {
      store.AddIntermediate(std::move(c));
    }
  }
  for (const std::string& f : crl_files) {
    absl::StatusOr<std::string> pem = ReadFile(f, size_t{64} << 20);
    if (!pem.ok()) {
      return pem.status();
    }
    UniquePtr<BIO> bio(BIO_new_mem_buf(pem->data(), static_cast<int>(pem->size())));
    int n = 0;
    for (;;) {
      UniquePtr<X509_CRL> crl(PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr));
      if (crl == nullptr) {
        break;
      }
      store.AddCrl(std::move(crl));
      ++n;
    }
    ERR_clear_error();
    if (n == 0) {
      return absl::InvalidArgumentError(absl::StrCat(f, ": no PEM CRL found"));
    }
  }
  return store;
}

ChainResult ValidateChain(X509* leaf, const std::vector<X509*>& untrusted, const TrustStore& trust,
                          absl::Time at, bool check_crls) {
  ChainResult result;
  UniquePtr<X509_STORE> store(X509_STORE_new());
  for (const auto& root : trust.roots()) {
    X509_STORE_add_cert(store.get(), root.get());
  }
  bool crl_check = check_crls && !trust.crls().empty();
  if (crl_check) {
    for (const auto& crl : trust.crls()) {
      X509_STORE_add_crl(store.get(), crl.get());
    }
  }
  UniquePtr<STACK_OF(X509)> chain(sk_X509_new_null());
  for (X509* c : untrusted) {
    X509_up_ref(c);
    sk_X509_push(chain.get(), c);
  }
  for (const auto& c : trust.intermediates()) {
    X509_up_ref(c.get());
    sk_X509_push(chain.get(), c.get());
  }
  UniquePtr<X509_STORE_CTX> ctx(X509_STORE_CTX_new());
  if (X509_STORE_CTX_init(ctx.get(), store.get(), leaf, chain.get()) != 1) {
    result.error = std::string(OpenSslError("cannot initialise chain validation").message());
    return result;
  }
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
  X509_VERIFY_PARAM_set_time(param, absl::ToTimeT(at));
  unsigned long flags = X509_V_FLAG_X509_STRICT;
  if (crl_check) {
    flags |= X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL;
    X509_STORE_CTX_set_verify_cb(ctx.get(), AcceptMissingCaCrl);
  }
  X509_VERIFY_PARAM_set_flags(param, flags);
  int ok = X509_verify_cert(ctx.get());
  int err = X509_STORE_CTX_get_error(ctx.get());
  ERR_clear_error();
  if (STACK_OF(X509)* built = X509_STORE_CTX_get0_chain(ctx.get()); built != nullptr) {
    for (int i = 0; i < sk_X509_num(built); ++i) {
      X509* c = sk_X509_value(built, i);
      result.chain.push_back(NameToString(X509_get_subject_name(c)));
      X509_up_ref(c);
      result.certs.emplace_back(c);
    }
  }
  if (ok == 1) {
    result.valid = true;
    return result;
  }
  result.revoked = err == X509_V_ERR_CERT_REVOKED;
  result.error = X509_verify_cert_error_string(err);
  int depth = X509_STORE_CTX_get_error_depth(ctx.get());
  if (depth > 0) {
    absl::StrAppend(&result.error, " (at chain depth ", depth, ")");
  }
  return result;
}

}  // namespace axis::signer
