#include "signer/ocsp.h"

#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/x509v3.h>

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/openssl_error.h"
#include "signer/http.h"

namespace axis::signer {
namespace {

// kNonceLength is the largest nonce RFC 8954 allows responders to expect.
constexpr int kNonceLength = 32;

// A stack of borrowed certificates: references are taken so the stack can
// own them like every other STACK_OF(X509).
UniquePtr<STACK_OF(X509)> StackOf(const std::vector<X509*>& certs) {
  UniquePtr<STACK_OF(X509)> stack(sk_X509_new_null());
  for (X509* c : certs) {
    X509_up_ref(c);
    if (sk_X509_push(stack.get(), c) <= 0) {
      X509_free(c);
    }
  }
  return stack;
}

std::string TimeText(absl::Time t) {
  if (t == absl::InfiniteFuture()) {
    return "never";
  }
  if (t == absl::InfinitePast()) {
    return "unknown time";
  }
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

std::string Serial(X509* cert) { return DescribeCertificate(cert).serial_hex; }

// IssuedBy tells whether `issuer`'s name and key match `cert`'s issuer name
// and signature, which is what OCSP's CertID (hashes of the issuer's name and
// key) claims.
bool IssuedBy(X509* cert, X509* issuer) {
  if (X509_check_issued(issuer, cert) != X509_V_OK) {
    ERR_clear_error();
    return false;
  }
  EVP_PKEY* key = X509_get0_pubkey(issuer);
  bool ok = key != nullptr && X509_verify(cert, key) == 1;
  ERR_clear_error();
  return ok;
}

std::string ExtensionValue(X509_EXTENSION* ext) {
  if (ext == nullptr) {
    return "";
  }
  const ASN1_OCTET_STRING* data = X509_EXTENSION_get_data(ext);
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(data)),
                     static_cast<size_t>(ASN1_STRING_length(data)));
}

// ResponseStatusName spells RFC 6960's OCSPResponseStatus names
// (OCSP_response_status_str lower-cases them).
std::string ResponseStatusName(int status) {
  switch (status) {
    case OCSP_RESPONSE_STATUS_SUCCESSFUL:
      return "successful";
    case OCSP_RESPONSE_STATUS_MALFORMEDREQUEST:
      return "malformedRequest";
    case OCSP_RESPONSE_STATUS_INTERNALERROR:
      return "internalError";
    case OCSP_RESPONSE_STATUS_TRYLATER:
      return "tryLater";
    case OCSP_RESPONSE_STATUS_SIGREQUIRED:
      return "sigRequired";
    case OCSP_RESPONSE_STATUS_UNAUTHORIZED:
      return "unauthorized";
    default:
      return absl::StrCat("unknown status ", status);
  }
}

absl::Status ResponseStatusError(absl::string_view what, int status) {
  std::string msg = absl::StrCat(what, ": the responder answered ", ResponseStatusName(status));
  if (status == OCSP_RESPONSE_STATUS_TRYLATER || status == OCSP_RESPONSE_STATUS_INTERNALERROR) {
    return absl::UnavailableError(msg);
  }
  return absl::InvalidArgumentError(msg);
}

// ParseResponse decodes a DER OCSPResponse; trailing bytes are refused.
absl::StatusOr<UniquePtr<OCSP_RESPONSE>> ParseResponse(absl::string_view der,
                                                       absl::string_view what) {
  if (der.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": empty OCSP response"));
  }
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  const unsigned char* end = p + der.size();
  UniquePtr<OCSP_RESPONSE> resp(d2i_OCSP_RESPONSE(nullptr, &p, static_cast<long>(der.size())));
  if (resp == nullptr) {
    return OpenSslError(absl::StrCat(what, ": not a DER OCSP response"));
  }
  if (p != end) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": trailing bytes after the DER OCSP response"));
  }
  return resp;
}

// SameCertificate compares by DER, so two copies of one certificate match.
bool SameCertificate(X509* a, X509* b) { return X509_cmp(a, b) == 0; }

}  // namespace

std::string OcspUrlFromCertificate(X509* cert) {
  STACK_OF(OPENSSL_STRING)* urls = X509_get1_ocsp(cert);
  std::string out;
  for (int i = 0; urls != nullptr && i < sk_OPENSSL_STRING_num(urls); ++i) {
    std::string url = sk_OPENSSL_STRING_value(urls, i);
    if (absl::StartsWithIgnoreCase(url, "http://") || absl::StartsWithIgnoreCase(url, "https://")) {
      out = url;
      break;
    }
  }
  X509_email_free(urls);  // frees an OPENSSL_STRING stack, as X509_get1_ocsp documents
  return out;
}

const char* OcspCertStatusName(OcspCertStatus status) {
  switch (status) {
    case OcspCertStatus::kGood:
      return "good";
    case OcspCertStatus::kRevoked:
      return "revoked";
    case OcspCertStatus::kUnknown:
      return "unknown";
  }
  return "unknown";
}

absl::StatusOr<absl::Time> OcspProducedAt(absl::string_view der) {
  absl::StatusOr<UniquePtr<OCSP_RESPONSE>> resp = ParseResponse(der, "OCSP response");
  if (!resp.ok()) {
    return resp.status();
  }
  if (OCSP_response_status(resp->get()) != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
    return absl::InvalidArgumentError("OCSP response: not successful");
  }
  UniquePtr<OCSP_BASICRESP> basic(OCSP_response_get1_basic(resp->get()));
  if (basic == nullptr) {
    ERR_clear_error();
    return absl::InvalidArgumentError("OCSP response: not a basic OCSP response");
  }
  absl::Time t = Asn1TimeToAbsl(OCSP_resp_get0_produced_at(basic.get()));
  if (t == absl::InfinitePast()) {
    return absl::InvalidArgumentError("OCSP response: unreadable producedAt");
  }
  return t;
}

absl::StatusOr<OcspResponse> FetchOcsp(X509* cert, X509* issuer, const OcspOptions& options) {
  if (cert == nullptr || issuer == nullptr) {
    return absl::InvalidArgumentError("OCSP: no certificate or no issuer given");
  }
  std::string serial = Serial(cert);
  OcspResponse out;
  out.url = options.url.empty() ? OcspUrlFromCertificate(cert) : options.url;
  if (out.url.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "OCSP: certificate serial ", serial, " names no OCSP responder and no URL was given"));
  }
  if (!IssuedBy(cert, issuer)) {
    return absl::InvalidArgumentError(absl::StrCat("OCSP: certificate serial ", serial,
                                                   " was not issued by the given issuer ",
                                                   DescribeCertificate(issuer).subject));
  }
  UniquePtr<OCSP_REQUEST> req(OCSP_REQUEST_new());
  // SHA-1 CertIDs are what deployed responders index by (RFC 5019 2.1.1);
  // the hash only names the certificate, it is not a signature.
  UniquePtr<OCSP_CERTID> id(OCSP_cert_to_id(EVP_sha1(), cert, issuer));
  if (req == nullptr || id == nullptr) {
    return OpenSslError("OCSP: cannot build the request", absl::StatusCode::kInternal);
  }
  if (OCSP_request_add0_id(req.get(), id.get()) == nullptr) {
    return OpenSslError("OCSP: cannot build the request", absl::StatusCode::kInternal);
  }
  (void)id.release();  // the request owns it now
  if (options.send_nonce) {
    if (OCSP_request_add1_nonce(req.get(), nullptr, kNonceLength) != 1) {
      return OpenSslError("OCSP: cannot add a nonce", absl::StatusCode::kInternal);
    }
    int idx = OCSP_REQUEST_get_ext_by_NID(req.get(), NID_id_pkix_OCSP_Nonce, -1);
    out.nonce = ExtensionValue(OCSP_REQUEST_get_ext(req.get(), idx));
  }
  unsigned char* der = nullptr;
  int len = i2d_OCSP_REQUEST(req.get(), &der);
  if (len <= 0) {
    return OpenSslError("OCSP: cannot encode the request", absl::StatusCode::kInternal);
  }
  out.request_der.assign(reinterpret_cast<char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);

  absl::StatusOr<HttpResponse> http = HttpPost(out.url, "application/ocsp-request", out.request_der,
                                               options.timeout, options.max_response_bytes);
  if (!http.ok()) {
    return absl::Status(http.status().code(),
                        absl::StrCat("OCSP responder ", http.status().message()));
  }
  std::string what = absl::StrCat("OCSP responder ", out.url);
  if (http->status != 200) {
    std::string msg = absl::StrCat(what, ": HTTP status ", http->status);
    if (http->status >= 500 || http->status == 429) {
      return absl::UnavailableError(msg);
    }
    return absl::InvalidArgumentError(msg);
  }
  std::string type = absl::AsciiStrToLower(http->content_type);
  if (!type.empty() && !absl::StartsWith(type, "application/ocsp-response")) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, ": answered Content-Type ", http->content_type, ", not application/ocsp-response"));
  }
  absl::StatusOr<UniquePtr<OCSP_RESPONSE>> resp = ParseResponse(http->body, what);
  if (!resp.ok()) {
    return resp.status();
  }
  int status = OCSP_response_status(resp->get());
  if (status != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
    return ResponseStatusError(what, status);
  }
  out.response_status = ResponseStatusName(status);
  out.der = std::move(http->body);
  return out;
}

absl::StatusOr<OcspStatus> CheckOcspResponse(absl::string_view der, X509* cert, X509* issuer,
                                             const TrustStore& trust, absl::Time at,
                                             const OcspCheckOptions& options) {
  if (cert == nullptr || issuer == nullptr) {
    return absl::InvalidArgumentError("OCSP: no certificate or no issuer given");
  }
  const std::string what = absl::StrCat("OCSP response for certificate serial ", Serial(cert));
  auto refuse = [&what](absl::string_view reason) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": ", reason));
  };

  // The inputs first: what an untrusted issuer's responder says is worthless.
  if (!IssuedBy(cert, issuer)) {
    return refuse(absl::StrCat("the certificate was not issued by the given issuer ",
                               DescribeCertificate(issuer).subject));
  }
  ChainResult issuer_chain = ValidateChain(issuer, {}, trust, at, /*check_crls=*/false);
  if (!issuer_chain.valid) {
    return refuse(absl::StrCat("issuer ", DescribeCertificate(issuer).subject,
                               " is not trusted: ", issuer_chain.error));
  }

  absl::StatusOr<UniquePtr<OCSP_RESPONSE>> resp = ParseResponse(der, what);
  if (!resp.ok()) {
    return resp.status();
  }
  int response_status = OCSP_response_status(resp->get());
  if (response_status != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
    return ResponseStatusError(what, response_status);
  }
  UniquePtr<OCSP_BASICRESP> basic(OCSP_response_get1_basic(resp->get()));
  if (basic == nullptr) {
    return OpenSslError(absl::StrCat(what, ": not a basic OCSP response"));
  }

  // Who signed: the responder ID names a certificate carried in the response
  // or the issuer itself.
  UniquePtr<STACK_OF(X509)> issuer_only = StackOf({issuer});
  X509* signer = nullptr;
  if (OCSP_resp_get0_signer(basic.get(), &signer, issuer_only.get()) != 1 || signer == nullptr) {
    ERR_clear_error();
    return refuse("the responder's certificate is neither in the response nor the issuer");
  }
  OcspStatus result;
  result.responder = DescribeCertificate(signer).subject;
  result.delegated = !SameCertificate(signer, issuer);

  // The signature, with the signer's key only (OCSP_NOVERIFY: authorisation
  // is decided below, with precise reasons).
  {
    UniquePtr<STACK_OF(X509)> signer_only = StackOf({signer});
    UniquePtr<X509_STORE> empty(X509_STORE_new());
    int ok = OCSP_basic_verify(basic.get(), signer_only.get(), empty.get(),
                               OCSP_NOINTERN | OCSP_TRUSTOTHER | OCSP_NOVERIFY);
    std::string detail = DrainOpenSslErrors();
    if (ok != 1) {
      return refuse(absl::StrCat("OCSP response signature does not verify",
                                 detail.empty() ? "" : ": ", detail));
    }
  }

  // Authorisation (RFC 6960 4.2.2.2): the CA itself, or a certificate it
  // issued for OCSPSigning.
  if (result.delegated) {
    if (!IssuedBy(signer, issuer)) {
      return refuse(absl::StrCat("responder ", result.responder,
                                 " is not the issuer and its certificate was not issued by it"));
    }
    if ((X509_get_extension_flags(signer) & EXFLAG_XKUSAGE) == 0 ||
        (X509_get_extended_key_usage(signer) & XKU_OCSP_SIGN) == 0) {
      return refuse(
          absl::StrCat("responder certificate lacks OCSPSigning (", result.responder, ")"));
    }
    ChainResult signer_chain = ValidateChain(signer, {issuer}, trust, at, /*check_crls=*/false);
    if (!signer_chain.valid) {
      return refuse(absl::StrCat("responder certificate ", result.responder,
                                 " is not valid: ", signer_chain.error));
    }
  }

  // OpenSSL's own verdict as well: chain of the signer to our roots at `at`
  // with the OCSP helper purpose, and its issuer-ID checks. The explicit
  // checks above make its refusal unlikely; if it still refuses, we do too.
  {
    UniquePtr<X509_STORE> store(X509_STORE_new());
    for (const auto& root : trust.roots()) {
      X509_STORE_add_cert(store.get(), root.get());
    }
    X509_VERIFY_PARAM_set_time(X509_STORE_get0_param(store.get()), absl::ToTimeT(at));
    std::vector<X509*> untrusted = {issuer};
    for (const auto& c : trust.intermediates()) {
      untrusted.push_back(c.get());
    }
    UniquePtr<STACK_OF(X509)> chain = StackOf(untrusted);
    int ok = OCSP_basic_verify(basic.get(), chain.get(), store.get(), 0);
    std::string detail = DrainOpenSslErrors();
    if (ok != 1) {
      return refuse(absl::StrCat("OCSP response signature does not verify: ", detail));
    }
  }

  // The single response about our certificate, with its CertID's hash.
  OCSP_SINGLERESP* single = nullptr;
  for (int i = 0; i < OCSP_resp_count(basic.get()) && single == nullptr; ++i) {
    OCSP_SINGLERESP* s = OCSP_resp_get0(basic.get(), i);
    const OCSP_CERTID* sid = OCSP_SINGLERESP_get0_id(s);
    ASN1_OBJECT* md_oid = nullptr;
    if (OCSP_id_get0_info(nullptr, &md_oid, nullptr, nullptr, const_cast<OCSP_CERTID*>(sid)) != 1) {
      continue;
    }
    const EVP_MD* md = EVP_get_digestbyobj(md_oid);
    if (md == nullptr) {
      continue;
    }
    UniquePtr<OCSP_CERTID> ours(OCSP_cert_to_id(md, cert, issuer));
    if (ours != nullptr && OCSP_id_cmp(ours.get(), sid) == 0) {
      single = s;
    }
  }
  ERR_clear_error();
  if (single == nullptr) {
    return refuse("response is for another certificate");
  }

  if (!options.expected_nonce.empty()) {
    int idx = OCSP_BASICRESP_get_ext_by_NID(basic.get(), NID_id_pkix_OCSP_Nonce, -1);
    if (idx < 0) {
      if (!options.allow_missing_nonce) {
        return refuse("nonce mismatch: the response carries no nonce");
      }
    } else if (ExtensionValue(OCSP_BASICRESP_get_ext(basic.get(), idx)) != options.expected_nonce) {
      return refuse("nonce mismatch: the response answers another request");
    }
  }

  int reason = -1;
  ASN1_GENERALIZEDTIME* revoked_at = nullptr;
  ASN1_GENERALIZEDTIME* this_update = nullptr;
  ASN1_GENERALIZEDTIME* next_update = nullptr;
  int status = OCSP_single_get0_status(single, &reason, &revoked_at, &this_update, &next_update);
  if (this_update == nullptr) {
    return refuse("response has no thisUpdate");
  }
  result.this_update = Asn1TimeToAbsl(this_update);
  result.next_update =
      next_update == nullptr ? absl::InfiniteFuture() : Asn1TimeToAbsl(next_update);
  result.produced_at = Asn1TimeToAbsl(OCSP_resp_get0_produced_at(basic.get()));
  if (result.this_update > at + options.leeway) {
    return refuse(absl::StrCat("response is not yet valid: thisUpdate ",
                               TimeText(result.this_update), " is after ", TimeText(at)));
  }
  if (next_update != nullptr && result.next_update < result.this_update) {
    return refuse("response has nextUpdate before thisUpdate");
  }
  if (options.max_age != absl::InfiniteDuration() &&
      result.this_update + options.max_age + options.leeway < at) {
    return refuse(absl::StrCat("response is stale: thisUpdate ", TimeText(result.this_update),
                               " is more than ", absl::FormatDuration(options.max_age), " before ",
                               TimeText(at)));
  }
  if (next_update != nullptr && result.next_update + options.leeway < at) {
    return refuse(absl::StrCat("response is stale: nextUpdate ", TimeText(result.next_update),
                               " is before ", TimeText(at)));
  }
  if (next_update == nullptr && options.max_age == absl::InfiniteDuration()) {
    return refuse(
        "response is stale: it has no nextUpdate (newer information is always available) and no "
        "maximum age was set");
  }

  switch (status) {
    case V_OCSP_CERTSTATUS_GOOD:
      result.status = OcspCertStatus::kGood;
      break;
    case V_OCSP_CERTSTATUS_REVOKED:
      result.status = OcspCertStatus::kRevoked;
      result.revocation_time = Asn1TimeToAbsl(revoked_at);
      if (reason >= 0) {
        result.reason = OCSP_crl_reason_str(reason);
      }
      break;
    default:
      result.status = OcspCertStatus::kUnknown;
      break;
  }
  return result;
}

}  // namespace axis::signer
