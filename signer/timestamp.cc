#include "signer/timestamp.h"

#include <openssl/err.h>
#include <openssl/rand.h>

#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/openssl_error.h"
#include "common/status_macros.h"
#include "signer/http.h"

namespace axis::signer {
namespace {

constexpr absl::string_view kQueryType = "application/timestamp-query";
constexpr absl::string_view kReplyType = "application/timestamp-reply";
// A reply is a signed token with a few certificates: far below this.
constexpr size_t kMaxTokenBytes = size_t{1} << 20;

bool AllowedHash(int nid) {
  return nid == NID_sha256 || nid == NID_sha384 || nid == NID_sha512;
}

std::string NidName(int nid) {
  const char* name = OBJ_nid2sn(nid);
  return name != nullptr ? name : absl::StrCat("NID ", nid);
}

std::string ObjectText(const ASN1_OBJECT* obj) {
  char buf[128] = {0};
  int n = OBJ_obj2txt(buf, sizeof(buf), obj, /*no_name=*/1);
  if (n <= 0) {
    return "";
  }
  return std::string(buf, std::min<size_t>(static_cast<size_t>(n), sizeof(buf) - 1));
}

std::string NameText(const X509_NAME* name) {
  UniquePtr<BIO> bio(BIO_new(BIO_s_mem()));
  X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

std::string IntegerHex(const ASN1_INTEGER* value) {
  if (value == nullptr) {
    return "";
  }
  UniquePtr<BIGNUM> bn(ASN1_INTEGER_to_BN(value, nullptr));
  if (bn == nullptr) {
    return "";
  }
  std::string bytes(static_cast<size_t>(BN_num_bytes(bn.get())), '\0');
  BN_bn2bin(bn.get(), reinterpret_cast<unsigned char*>(bytes.data()));
  if (bytes.empty()) {
    return "00";
  }
  return absl::AsciiStrToUpper(absl::BytesToHexString(bytes));
}

// GeneralizedTimeToAbsl keeps the fraction of a second that ASN1_TIME_to_tm
// drops: a TSA with clock precision writes "20260101120000.123Z".
absl::Time GeneralizedTimeToAbsl(const ASN1_GENERALIZEDTIME* t) {
  absl::Time whole = Asn1TimeToAbsl(t);
  if (t == nullptr || whole == absl::InfinitePast()) {
    return whole;
  }
  absl::string_view s(reinterpret_cast<const char*>(ASN1_STRING_get0_data(t)),
                      static_cast<size_t>(ASN1_STRING_length(t)));
  size_t dot = s.find('.');
  if (dot == absl::string_view::npos) {
    return whole;
  }
  absl::Duration fraction;
  absl::Duration unit = absl::Milliseconds(100);
  for (size_t i = dot + 1; i < s.size() && absl::ascii_isdigit(s[i]) && i < dot + 10; ++i) {
    fraction += unit * (s[i] - '0');
    unit /= 10;
  }
  return whole + fraction;
}

const char* StatusName(long status) {
  switch (status) {
    case TS_STATUS_GRANTED:
      return "granted";
    case TS_STATUS_GRANTED_WITH_MODS:
      return "grantedWithMods";
    case TS_STATUS_REJECTION:
      return "rejection";
    case TS_STATUS_WAITING:
      return "waiting";
    case TS_STATUS_REVOCATION_WARNING:
      return "revocationWarning";
    case TS_STATUS_REVOCATION_NOTIFICATION:
      return "revocationNotification";
    default:
      return "unknown status";
  }
}

// RefusalText renders a PKIStatusInfo that did not grant the request.
std::string RefusalText(TS_STATUS_INFO* info) {
  long status = ASN1_INTEGER_get(TS_STATUS_INFO_get0_status(info));
  std::string out = absl::StrCat(StatusName(status), " (", status, ")");
  std::vector<std::string> texts;
  if (const STACK_OF(ASN1_UTF8STRING)* text = TS_STATUS_INFO_get0_text(info); text != nullptr) {
    for (int i = 0; i < sk_ASN1_UTF8STRING_num(text); ++i) {
      const ASN1_UTF8STRING* s = sk_ASN1_UTF8STRING_value(text, i);
      texts.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                         static_cast<size_t>(ASN1_STRING_length(s)));
    }
  }
  if (!texts.empty()) {
    absl::StrAppend(&out, ": ", absl::StrJoin(texts, "; "));
  }
  static constexpr std::pair<int, const char*> kFailures[] = {
      {TS_INFO_BAD_ALG, "badAlg"},
      {TS_INFO_BAD_REQUEST, "badRequest"},
      {TS_INFO_BAD_DATA_FORMAT, "badDataFormat"},
      {TS_INFO_TIME_NOT_AVAILABLE, "timeNotAvailable"},
      {TS_INFO_UNACCEPTED_POLICY, "unacceptedPolicy"},
      {TS_INFO_UNACCEPTED_EXTENSION, "unacceptedExtension"},
      {TS_INFO_ADD_INFO_NOT_AVAILABLE, "addInfoNotAvailable"},
      {TS_INFO_SYSTEM_FAILURE, "systemFailure"},
  };
  std::vector<std::string> failures;
  if (const ASN1_BIT_STRING* bits = TS_STATUS_INFO_get0_failure_info(info); bits != nullptr) {
    for (const auto& [bit, name] : kFailures) {
      if (ASN1_BIT_STRING_get_bit(bits, bit) != 0) {
        failures.emplace_back(name);
      }
    }
  }
  if (!failures.empty()) {
    absl::StrAppend(&out, " [", absl::StrJoin(failures, ", "), "]");
  }
  return out;
}

// CheckImprint compares the token's message imprint, algorithm included
// (OpenSSL's TS_VFY_IMPRINT alone compares only the digest bytes).
absl::Status CheckImprint(TS_TST_INFO* tst, const MessageImprint& imprint) {
  TS_MSG_IMPRINT* mi = TS_TST_INFO_get_msg_imprint(tst);
  X509_ALGOR* algor = mi != nullptr ? TS_MSG_IMPRINT_get_algo(mi) : nullptr;
  ASN1_OCTET_STRING* digest = mi != nullptr ? TS_MSG_IMPRINT_get_msg(mi) : nullptr;
  if (algor == nullptr || digest == nullptr) {
    return absl::InvalidArgumentError("malformed time-stamp token: no message imprint");
  }
  const ASN1_OBJECT* oid = nullptr;
  X509_ALGOR_get0(&oid, nullptr, nullptr, algor);
  int nid = OBJ_obj2nid(oid);
  if (nid != imprint.hash_nid) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the time-stamp is over other data: it stamps a ", NidName(nid), " digest, not ",
        NidName(imprint.hash_nid)));
  }
  absl::string_view got(reinterpret_cast<const char*>(ASN1_STRING_get0_data(digest)),
                        static_cast<size_t>(ASN1_STRING_length(digest)));
  if (got != imprint.digest) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the time-stamp is over other data: its ", NidName(nid), " imprint is ",
        absl::BytesToHexString(got), ", the data's is ", absl::BytesToHexString(imprint.digest)));
  }
  return absl::OkStatus();
}

absl::Status CheckImprintArgument(const MessageImprint& imprint) {
  if (!AllowedHash(imprint.hash_nid)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "time-stamp imprint: hash algorithm ", NidName(imprint.hash_nid),
        " is not allowed (SHA-256, SHA-384 or SHA-512)"));
  }
  const EVP_MD* md = EVP_get_digestbynid(imprint.hash_nid);
  if (md == nullptr || imprint.digest.size() != static_cast<size_t>(EVP_MD_get_size(md))) {
    return absl::InvalidArgumentError(absl::StrCat("time-stamp imprint: a ", NidName(imprint.hash_nid),
                                                   " digest has ", md ? EVP_MD_get_size(md) : 0,
                                                   " bytes, not ", imprint.digest.size()));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> BuildRequest(const MessageImprint& imprint, absl::string_view policy,
                                         UniquePtr<ASN1_STRING>* nonce_out) {
  UniquePtr<TS_REQ> req(TS_REQ_new());
  UniquePtr<TS_MSG_IMPRINT> mi(TS_MSG_IMPRINT_new());
  UniquePtr<X509_ALGOR> algor(X509_ALGOR_new());
  if (req == nullptr || mi == nullptr || algor == nullptr) {
    return OpenSslError("time-stamp request", absl::StatusCode::kResourceExhausted);
  }
  // OBJ_nid2obj returns a static object: freeing it with the algorithm is a
  // no-op, so set0 may take it.
  if (X509_ALGOR_set0(algor.get(), OBJ_nid2obj(imprint.hash_nid), V_ASN1_NULL, nullptr) != 1 ||
      TS_MSG_IMPRINT_set_algo(mi.get(), algor.get()) != 1 ||
      TS_MSG_IMPRINT_set_msg(mi.get(),
                             reinterpret_cast<unsigned char*>(const_cast<char*>(imprint.digest.data())),
                             static_cast<int>(imprint.digest.size())) != 1 ||
      TS_REQ_set_version(req.get(), 1) != 1 || TS_REQ_set_msg_imprint(req.get(), mi.get()) != 1 ||
      TS_REQ_set_cert_req(req.get(), 1) != 1) {
    return OpenSslError("time-stamp request", absl::StatusCode::kInternal);
  }
  if (!policy.empty()) {
    UniquePtr<ASN1_OBJECT> oid(OBJ_txt2obj(std::string(policy).c_str(), /*no_name=*/1));
    if (oid == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("time-stamp request: policy \"", policy, "\" is not a dotted OID"));
    }
    if (TS_REQ_set_policy_id(req.get(), oid.get()) != 1) {
      return OpenSslError("time-stamp request policy", absl::StatusCode::kInternal);
    }
  }
  unsigned char random[8];
  if (RAND_bytes(random, sizeof(random)) != 1) {
    return OpenSslError("time-stamp nonce", absl::StatusCode::kInternal);
  }
  random[0] |= 0x01;  // never a zero nonce
  UniquePtr<BIGNUM> bn(BN_bin2bn(random, sizeof(random), nullptr));
  UniquePtr<ASN1_STRING> nonce(bn ? BN_to_ASN1_INTEGER(bn.get(), nullptr) : nullptr);
  if (nonce == nullptr || TS_REQ_set_nonce(req.get(), nonce.get()) != 1) {
    return OpenSslError("time-stamp nonce", absl::StatusCode::kInternal);
  }
  int len = i2d_TS_REQ(req.get(), nullptr);
  if (len <= 0) {
    return OpenSslError("time-stamp request encoding", absl::StatusCode::kInternal);
  }
  std::string der(static_cast<size_t>(len), '\0');
  unsigned char* p = reinterpret_cast<unsigned char*>(der.data());
  i2d_TS_REQ(req.get(), &p);
  *nonce_out = std::move(nonce);
  return der;
}

absl::StatusOr<std::string> PkcsDer(PKCS7* token) {
  int len = i2d_PKCS7(token, nullptr);
  if (len <= 0) {
    return OpenSslError("time-stamp token encoding");
  }
  std::string der(static_cast<size_t>(len), '\0');
  unsigned char* p = reinterpret_cast<unsigned char*>(der.data());
  i2d_PKCS7(token, &p);
  return der;
}

// VerifySignatureOnly checks the CMS signature of `si` by `signer` over the
// token's content, before anything else is believed.
bool VerifySignatureOnly(PKCS7* token, PKCS7_SIGNER_INFO* si, X509* signer) {
  UniquePtr<BIO> bio(PKCS7_dataInit(token, nullptr));
  if (bio == nullptr) {
    return false;
  }
  // Reading the content through the chain feeds the digest BIOs.
  char buf[4096];
  while (BIO_read(bio.get(), buf, sizeof(buf)) > 0) {
  }
  return PKCS7_signatureVerify(bio.get(), token, si, signer) > 0;
}

}  // namespace

absl::StatusOr<MessageImprint> ImprintOf(absl::string_view data, int hash_nid) {
  if (!AllowedHash(hash_nid)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "time-stamp imprint: hash algorithm ", NidName(hash_nid),
        " is not allowed (SHA-256, SHA-384 or SHA-512)"));
  }
  MessageImprint imprint;
  imprint.hash_nid = hash_nid;
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), md, &len, EVP_get_digestbynid(hash_nid), nullptr) != 1) {
    return OpenSslError("time-stamp imprint", absl::StatusCode::kInternal);
  }
  imprint.digest.assign(reinterpret_cast<const char*>(md), len);
  return imprint;
}

absl::StatusOr<std::string> RequestTimestamp(absl::string_view url, const MessageImprint& imprint,
                                             const TimestampRequestOptions& options) {
  AXIS_RETURN_IF_ERROR(CheckImprintArgument(imprint));
  UniquePtr<ASN1_STRING> nonce;
  AXIS_ASSIGN_OR_RETURN(std::string request, BuildRequest(imprint, options.policy_oid, &nonce));
  AXIS_ASSIGN_OR_RETURN(HttpResponse reply, HttpPost(url, kQueryType, request, options.timeout,
                                                     options.max_response_bytes));
  if (reply.status != 200) {
    return absl::UnavailableError(absl::StrCat("TSA ", url, " answered HTTP ", reply.status));
  }
  absl::string_view type(reply.content_type);
  type = type.substr(0, type.find(';'));
  if (!absl::EqualsIgnoreCase(absl::StripAsciiWhitespace(type), kReplyType)) {
    return absl::InvalidArgumentError(absl::StrCat("TSA ", url, ": reply of type \"",
                                                   reply.content_type, "\", not ", kReplyType));
  }
  const unsigned char* p = reinterpret_cast<const unsigned char*>(reply.body.data());
  const unsigned char* end = p + reply.body.size();
  UniquePtr<TS_RESP> response(d2i_TS_RESP(nullptr, &p, static_cast<long>(reply.body.size())));
  if (response == nullptr) {
    return OpenSslError(absl::StrCat("TSA ", url, ": malformed time-stamp reply"));
  }
  if (p != end) {
    return absl::InvalidArgumentError(
        absl::StrCat("TSA ", url, ": trailing bytes after the time-stamp reply"));
  }
  TS_STATUS_INFO* status = TS_RESP_get_status_info(response.get());
  long code = ASN1_INTEGER_get(TS_STATUS_INFO_get0_status(status));
  if (code != TS_STATUS_GRANTED && code != TS_STATUS_GRANTED_WITH_MODS) {
    return absl::FailedPreconditionError(
        absl::StrCat("TSA ", url, " refused the time-stamp request: ", RefusalText(status)));
  }
  PKCS7* token = TS_RESP_get_token(response.get());
  TS_TST_INFO* tst = TS_RESP_get_tst_info(response.get());
  if (token == nullptr || tst == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("TSA ", url, ": the reply grants the request but carries no token"));
  }
  if (absl::Status s = CheckImprint(tst, imprint); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("TSA ", url, ": ", s.message()));
  }
  const ASN1_INTEGER* got_nonce = TS_TST_INFO_get_nonce(tst);
  if (got_nonce == nullptr || ASN1_INTEGER_cmp(got_nonce, nonce.get()) != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "TSA ", url, ": the token does not answer this request (nonce ",
        got_nonce ? IntegerHex(got_nonce) : "missing", ", sent ", IntegerHex(nonce.get()), ")"));
  }
  if (!options.policy_oid.empty()) {
    std::string policy = ObjectText(TS_TST_INFO_get_policy_id(tst));
    if (policy != options.policy_oid) {
      return absl::InvalidArgumentError(absl::StrCat("TSA ", url, ": the token has policy ", policy,
                                                     ", not the requested ", options.policy_oid));
    }
  }
  AXIS_ASSIGN_OR_RETURN(std::string der, PkcsDer(token));
  if (der.size() > kMaxTokenBytes) {
    return absl::ResourceExhaustedError(absl::StrCat("TSA ", url, ": token too large"));
  }
  return der;
}

absl::StatusOr<TimestampInfo> VerifyTimestampToken(absl::string_view token_der,
                                                   const MessageImprint& imprint,
                                                   const TrustStore& trust,
                                                   std::optional<absl::Time> at) {
  AXIS_RETURN_IF_ERROR(CheckImprintArgument(imprint));
  if (token_der.size() > kMaxTokenBytes) {
    return absl::InvalidArgumentError(absl::StrCat("malformed time-stamp token: ", token_der.size(),
                                                   " bytes is over the limit of ", kMaxTokenBytes));
  }
  const unsigned char* p = reinterpret_cast<const unsigned char*>(token_der.data());
  const unsigned char* end = p + token_der.size();
  UniquePtr<PKCS7> token(d2i_PKCS7(nullptr, &p, static_cast<long>(token_der.size())));
  if (token == nullptr) {
    return OpenSslError("malformed time-stamp token: not a DER CMS ContentInfo");
  }
  if (p != end) {
    return absl::InvalidArgumentError("malformed time-stamp token: trailing bytes");
  }
  UniquePtr<TS_TST_INFO> tst(PKCS7_to_TS_TST_INFO(token.get()));
  if (tst == nullptr) {
    return OpenSslError("malformed time-stamp token: not signed TSTInfo content");
  }
  STACK_OF(PKCS7_SIGNER_INFO)* infos = PKCS7_get_signer_info(token.get());
  if (infos == nullptr || sk_PKCS7_SIGNER_INFO_num(infos) != 1) {
    return absl::InvalidArgumentError(
        "malformed time-stamp token: it must have exactly one signer");
  }
  PKCS7_SIGNER_INFO* si = sk_PKCS7_SIGNER_INFO_value(infos, 0);

  // Certificates to find the signer and build its chain: the token's own
  // (sent because we ask with certReq) and the store's intermediates.
  UniquePtr<STACK_OF(X509)> certs(sk_X509_new_null());
  std::vector<X509*> untrusted;
  if (STACK_OF(X509)* carried = token->d.sign->cert; carried != nullptr) {
    for (int i = 0; i < sk_X509_num(carried); ++i) {
      X509* c = sk_X509_value(carried, i);
      X509_up_ref(c);
      sk_X509_push(certs.get(), c);
      untrusted.push_back(c);
    }
  }
  for (const auto& c : trust.intermediates()) {
    X509_up_ref(c.get());
    sk_X509_push(certs.get(), c.get());
  }
  UniquePtr<X509> signer;
  {
    // PKCS7_get0_signers returns a stack of borrowed certificates.
    STACK_OF(X509)* signers = PKCS7_get0_signers(token.get(), certs.get(), 0);
    if (signers != nullptr && sk_X509_num(signers) == 1) {
      X509* s = sk_X509_value(signers, 0);
      X509_up_ref(s);
      signer.reset(s);
    }
    sk_X509_free(signers);
  }
  if (signer == nullptr) {
    ERR_clear_error();
    return absl::InvalidArgumentError(
        "malformed time-stamp token: its signing certificate is neither in the token nor in the "
        "trust store (request tokens with certReq)");
  }
  std::string subject = NameText(X509_get_subject_name(signer.get()));

  if (!VerifySignatureOnly(token.get(), si, signer.get())) {
    return OpenSslError(absl::StrCat(
        "time-stamp token signature does not verify (the token was altered or not signed by ",
        subject, ")"));
  }
  if (X509_check_purpose(signer.get(), X509_PURPOSE_TIMESTAMP_SIGN, 0) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError(absl::StrCat(
        "TSA certificate ", subject,
        " is not a time-stamping certificate: it needs a critical extended key usage of "
        "timeStamping only (RFC 3161 2.3)"));
  }
  absl::Time gen_time = GeneralizedTimeToAbsl(TS_TST_INFO_get_time(tst.get()));
  if (gen_time == absl::InfinitePast()) {
    return absl::InvalidArgumentError("malformed time-stamp token: unreadable genTime");
  }
  absl::Time check_at = at.value_or(gen_time);
  ChainResult chain = ValidateChain(signer.get(), untrusted, trust, check_at);
  if (!chain.valid) {
    return absl::InvalidArgumentError(absl::StrCat("TSA certificate ", subject,
                                                   " does not chain to a trusted root at ",
                                                   absl::FormatTime(check_at), ": ", chain.error));
  }
  absl::Time not_before = Asn1TimeToAbsl(X509_get0_notBefore(signer.get()));
  absl::Time not_after = Asn1TimeToAbsl(X509_get0_notAfter(signer.get()));
  if (gen_time < not_before || gen_time > not_after) {
    return absl::InvalidArgumentError(
        absl::StrCat("TSA certificate ", subject, " was not valid at the token's genTime ",
                     absl::FormatTime(gen_time)));
  }
  // OpenSSL's own check adds the ESS signing-certificate(-v2) binding of the
  // signer (RFC 5816), which no public 3.0 API checks alone.
  {
    UniquePtr<X509_STORE> store(X509_STORE_new());
    for (const auto& root : trust.roots()) {
      X509_STORE_add_cert(store.get(), root.get());
    }
    X509_VERIFY_PARAM_set_time(X509_STORE_get0_param(store.get()), absl::ToTimeT(check_at));
    if (TS_RESP_verify_signature(token.get(), certs.get(), store.get(), nullptr) != 1) {
      return OpenSslError(absl::StrCat(
          "time-stamp token signature does not verify (its ESS signing-certificate attribute "
          "does not bind ",
          subject, ")"));
    }
  }
  AXIS_RETURN_IF_ERROR(CheckImprint(tst.get(), imprint));
  if (TS_TST_INFO_get_version(tst.get()) != 1) {
    return absl::InvalidArgumentError(absl::StrCat("malformed time-stamp token: TSTInfo version ",
                                                   TS_TST_INFO_get_version(tst.get())));
  }

  TimestampInfo info;
  info.gen_time = gen_time;
  info.tsa_subject = subject;
  info.tsa_chain = chain.chain;
  info.policy_oid = ObjectText(TS_TST_INFO_get_policy_id(tst.get()));
  info.serial_hex = IntegerHex(TS_TST_INFO_get_serial(tst.get()));
  info.nonce_hex = IntegerHex(TS_TST_INFO_get_nonce(tst.get()));
  if (TS_ACCURACY* acc = TS_TST_INFO_get_accuracy(tst.get()); acc != nullptr) {
    auto get = [](const ASN1_INTEGER* v) { return v ? ASN1_INTEGER_get(v) : 0L; };
    info.accuracy = absl::Seconds(get(TS_ACCURACY_get_seconds(acc))) +
                    absl::Milliseconds(get(TS_ACCURACY_get_millis(acc))) +
                    absl::Microseconds(get(TS_ACCURACY_get_micros(acc)));
  }
  return info;
}

}  // namespace axis::signer
