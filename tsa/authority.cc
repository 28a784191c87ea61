#include "tsa/authority.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <sys/stat.h>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "common/files.h"
#include "common/openssl_error.h"
#include "signer/certs.h"
#include "tsa/config.h"

namespace axis::tsa {
namespace {

// Material is what a valid configuration loads.
struct Material {
  UniquePtr<EVP_PKEY> key;
  UniquePtr<X509> cert;
  std::vector<UniquePtr<X509>> chain;
  UniquePtr<ASN1_OBJECT> policy;
  uint64_t next_serial = 1;
};

// NoPassphrase refuses encrypted keys instead of letting OpenSSL prompt on
// the terminal of a server.
int NoPassphrase(char*, int, int, void*) { return 0; }

std::string Subject(X509* cert) {
  return signer::DescribeCertificate(cert).subject;
}

absl::StatusOr<uint64_t> ParseSerialFile(absl::string_view text, absl::string_view path) {
  uint64_t value = 0;
  absl::string_view digits = absl::StripAsciiWhitespace(text);
  if (digits.empty() || digits.find_first_not_of("0123456789") != absl::string_view::npos ||
      !absl::SimpleAtoi(digits, &value) || value == 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": not a serial number (one positive decimal number); it was damaged, and "
              "guessing could repeat serials"));
  }
  return value;
}

// ReadSerialState returns the first serial that was never reserved: the
// file's number, or 1 when the file does not exist yet.
absl::StatusOr<uint64_t> ReadSerialState(const std::string& path) {
  absl::StatusOr<std::string> text = ReadFile(path, 4096);
  if (absl::IsNotFound(text.status())) {
    std::string dir = ".";
    if (size_t slash = path.rfind('/'); slash != std::string::npos) {
      dir = slash == 0 ? "/" : path.substr(0, slash);
    }
    struct stat st;
    if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      return absl::NotFoundError(absl::StrCat(path, ": directory ", dir, " does not exist"));
    }
    return uint64_t{1};
  }
  if (!text.ok()) {
    return text.status();
  }
  return ParseSerialFile(*text, path);
}

// LoadMaterial checks every field, appending "field: reason" to `problems`
// for each one that is wrong, and loads what it can.
Material LoadMaterial(const TsaConfig& config, std::vector<std::string>* problems) {
  Material m;
  auto problem = [&](absl::string_view field, absl::string_view reason) {
    problems->push_back(absl::StrCat(field, ": ", reason));
  };

  std::string host;
  int port = 0;
  if (absl::Status s = ParseListenAddress(config.listen(), &host, &port); !s.ok()) {
    problem("listen", s.message());
  }

  if (config.key_file().empty()) {
    problem("key_file", "required (the TSA's PEM private key)");
  } else if (absl::StatusOr<std::string> pem = ReadFile(config.key_file(), 1 << 20); !pem.ok()) {
    problem("key_file", pem.status().message());
  } else {
    UniquePtr<BIO> bio(BIO_new_mem_buf(pem->data(), static_cast<int>(pem->size())));
    m.key.reset(PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassphrase, nullptr));
    if (m.key == nullptr) {
      problem("key_file",
              OpenSslError(absl::StrCat(config.key_file(),
                                        ": not an unencrypted PEM private key"))
                  .message());
    } else if (std::string weak = signer::KeyStrengthProblem(m.key.get()); !weak.empty()) {
      problem("key_file", absl::StrCat(config.key_file(), ": ", weak));
      m.key.reset();
    }
  }

  if (config.cert_file().empty()) {
    problem("cert_file", "required (the TSA's PEM certificate)");
  } else if (auto certs = signer::LoadPemCertificates(config.cert_file()); !certs.ok()) {
    problem("cert_file", certs.status().message());
  } else if (certs->size() != 1) {
    problem("cert_file", absl::StrCat(config.cert_file(), ": holds ", certs->size(),
                                      " certificates; put the issuers in chain_files"));
  } else {
    m.cert = std::move(certs->front());
    X509* cert = m.cert.get();
    std::string subject = Subject(cert);
    // OpenSSL's time-stamping purpose is RFC 3161 2.3 exactly: an extended
    // key usage that is critical and names timeStamping only, and a key
    // usage, when present, of digitalSignature / nonRepudiation.
    if (X509_check_purpose(cert, X509_PURPOSE_TIMESTAMP_SIGN, 0) != 1) {
      ERR_clear_error();
      problem("cert_file",
              absl::StrCat(config.cert_file(), ": certificate ", subject,
                           " is not a time-stamping certificate: it needs a critical extended "
                           "key usage of timeStamping only (RFC 3161 2.3)"));
    }
    absl::Time now = absl::Now();
    absl::Time not_before = signer::Asn1TimeToAbsl(X509_get0_notBefore(cert));
    absl::Time not_after = signer::Asn1TimeToAbsl(X509_get0_notAfter(cert));
    if (now < not_before) {
      problem("cert_file", absl::StrCat(config.cert_file(), ": certificate ", subject,
                                        " is not valid before ", absl::FormatTime(not_before)));
    } else if (now > not_after) {
      problem("cert_file", absl::StrCat(config.cert_file(), ": certificate ", subject,
                                        " expired at ", absl::FormatTime(not_after)));
    }
    if (m.key != nullptr && X509_check_private_key(cert, m.key.get()) != 1) {
      ERR_clear_error();
      problem("key_file", absl::StrCat(config.key_file(), ": the key does not match cert_file (",
                                       config.cert_file(), ")"));
    }
  }

  for (int i = 0; i < config.chain_files_size(); ++i) {
    std::string field = absl::StrCat("chain_files[", i, "]");
    auto certs = signer::LoadPemCertificates(config.chain_files(i));
    if (!certs.ok()) {
      problem(field, certs.status().message());
      continue;
    }
    for (auto& c : *certs) {
      m.chain.push_back(std::move(c));
    }
  }
  if (m.cert != nullptr && !m.chain.empty()) {
    bool issued = false;
    for (const auto& c : m.chain) {
      issued = issued || X509_check_issued(c.get(), m.cert.get()) == X509_V_OK;
    }
    if (!issued) {
      problem("chain_files", absl::StrCat("no certificate in the chain issued cert_file (",
                                          config.cert_file(), ")"));
    }
  }

  if (config.policy_oid().empty()) {
    problem("policy_oid", "required (the TSA policy OID, dotted, e.g. 1.3.6.1.4.1.99999.1.1)");
  } else {
    m.policy.reset(OBJ_txt2obj(config.policy_oid().c_str(), /*no_name=*/1));
    if (m.policy == nullptr) {
      ERR_clear_error();
      problem("policy_oid", absl::StrCat("\"", config.policy_oid(), "\" is not a dotted OID"));
    }
  }

  if (config.accuracy_millis() > 999) {
    problem("accuracy_millis", absl::StrCat(config.accuracy_millis(),
                                            " is over 999 (use accuracy_seconds)"));
  }
  if (config.max_request_bytes() > kMaxMaxRequestBytes) {
    problem("max_request_bytes",
            absl::StrCat(config.max_request_bytes(), " is over the limit of ", kMaxMaxRequestBytes));
  }

  if (config.serial_file().empty()) {
    problem("serial_file",
            "required (where the next serial number is kept so that none repeats after a "
            "restart)");
  } else if (absl::StatusOr<uint64_t> next = ReadSerialState(config.serial_file()); !next.ok()) {
    problem("serial_file", next.status().message());
  } else {
    m.next_serial = *next;
  }
  return m;
}

// CallState carries one Respond's context through OpenSSL's callbacks.
struct CallState {
  TimeStampAuthority* authority;
  absl::Status serial_status;
};

}  // namespace

std::vector<std::string> TimeStampAuthority::CheckConfig(const TsaConfig& config) {
  std::vector<std::string> problems;
  LoadMaterial(config, &problems);
  return problems;
}

absl::StatusOr<std::unique_ptr<TimeStampAuthority>> TimeStampAuthority::Create(
    const TsaConfig& config, const Clock* clock) {
  std::vector<std::string> problems;
  Material m = LoadMaterial(config, &problems);
  if (!problems.empty()) {
    return absl::InvalidArgumentError(absl::StrJoin(problems, "\n"));
  }
  static const RealClock kRealClock;
  std::unique_ptr<TimeStampAuthority> tsa(new TimeStampAuthority());
  tsa->clock_ = clock != nullptr ? clock : &kRealClock;
  tsa->key_ = std::move(m.key);
  tsa->cert_ = std::move(m.cert);
  tsa->chain_.reset(sk_X509_new_null());
  for (auto& c : m.chain) {
    sk_X509_push(tsa->chain_.get(), c.release());
  }
  tsa->policy_ = std::move(m.policy);
  tsa->accuracy_seconds_ = config.accuracy_seconds();
  tsa->accuracy_millis_ = config.accuracy_millis();
  tsa->max_request_bytes_ =
      config.max_request_bytes() == 0 ? kDefaultMaxRequestBytes : config.max_request_bytes();
  tsa->serial_file_ = config.serial_file();
  // Writing the state back now finds an unwritable file at start-up rather
  // than at the first request.
  if (absl::Status s = WriteFileAtomic(tsa->serial_file_, absl::StrCat(m.next_serial, "\n"), 0600);
      !s.ok()) {
    return absl::Status(s.code(), absl::StrCat("serial_file: ", s.message()));
  }
  absl::MutexLock lock(&tsa->mu_);
  tsa->next_serial_ = m.next_serial;
  tsa->reserved_end_ = m.next_serial;
  return tsa;
}

TimeStampAuthority::~TimeStampAuthority() = default;

absl::StatusOr<uint64_t> TimeStampAuthority::NextSerial() {
  absl::MutexLock lock(&mu_);
  if (next_serial_ == reserved_end_) {
    if (reserved_end_ > UINT64_MAX - kSerialBlock) {
      return absl::ResourceExhaustedError("serial numbers are used up");
    }
    uint64_t end = reserved_end_ + kSerialBlock;
    // The reservation is durable before any serial of the block leaves, so
    // a restart (or a crash) continues above it.
    absl::Status s = WriteFileAtomic(serial_file_, absl::StrCat(end, "\n"), 0600);
    if (!s.ok()) {
      return absl::UnavailableError(
          absl::StrCat("cannot reserve serial numbers in serial_file: ", s.message()));
    }
    reserved_end_ = end;
  }
  return next_serial_++;
}

ASN1_INTEGER* TimeStampAuthority::SerialCallback(TS_RESP_CTX* ctx, void* data) {
  auto* call = static_cast<CallState*>(data);
  absl::StatusOr<uint64_t> serial = call->authority->NextSerial();
  UniquePtr<ASN1_STRING> value;
  if (serial.ok()) {
    value.reset(ASN1_INTEGER_new());
    if (value == nullptr || ASN1_INTEGER_set_uint64(value.get(), *serial) != 1) {
      value.reset();
      serial = absl::ResourceExhaustedError("cannot allocate a serial number");
    }
  }
  if (!serial.ok()) {
    call->serial_status = serial.status();
    TS_RESP_CTX_set_status_info(ctx, TS_STATUS_REJECTION, "serial number not available");
    TS_RESP_CTX_add_failure_info(ctx, TS_INFO_SYSTEM_FAILURE);
    return nullptr;
  }
  return value.release();  // the context owns it from here
}

int TimeStampAuthority::TimeCallback(TS_RESP_CTX*, void* data, long* sec, long* usec) {
  auto* call = static_cast<CallState*>(data);
  absl::Time now = call->authority->clock_->Now();
  int64_t seconds = absl::ToUnixSeconds(now);
  *sec = static_cast<long>(seconds);
  *usec = static_cast<long>(absl::ToInt64Microseconds(now - absl::FromUnixSeconds(seconds)));
  return 1;
}

absl::StatusOr<std::string> TimeStampAuthority::Respond(absl::string_view der_request) {
  if (der_request.size() > max_request_bytes_) {
    return absl::ResourceExhaustedError(absl::StrCat("time-stamp request of ", der_request.size(),
                                                     " bytes is over the limit of ",
                                                     max_request_bytes_));
  }
  // A TS_RESP_CTX holds the request being answered, so each call has its
  // own; building one only takes references to the key and certificates.
  UniquePtr<TS_RESP_CTX> ctx(TS_RESP_CTX_new());
  if (ctx == nullptr) {
    return OpenSslError("time-stamp context", absl::StatusCode::kResourceExhausted);
  }
  CallState call{this, absl::OkStatus()};
  if (TS_RESP_CTX_set_signer_cert(ctx.get(), cert_.get()) != 1 ||
      TS_RESP_CTX_set_signer_key(ctx.get(), key_.get()) != 1 ||
      TS_RESP_CTX_set_signer_digest(ctx.get(), EVP_sha256()) != 1 ||
      TS_RESP_CTX_set_ess_cert_id_digest(ctx.get(), EVP_sha256()) != 1 ||
      TS_RESP_CTX_set_def_policy(ctx.get(), policy_.get()) != 1 ||
      TS_RESP_CTX_set_certs(ctx.get(), chain_.get()) != 1 ||
      TS_RESP_CTX_add_md(ctx.get(), EVP_sha256()) != 1 ||
      TS_RESP_CTX_add_md(ctx.get(), EVP_sha384()) != 1 ||
      TS_RESP_CTX_add_md(ctx.get(), EVP_sha512()) != 1 ||
      TS_RESP_CTX_set_clock_precision_digits(ctx.get(), 3) != 1) {
    return OpenSslError("time-stamp context", absl::StatusCode::kInternal);
  }
  if ((accuracy_seconds_ != 0 || accuracy_millis_ != 0) &&
      TS_RESP_CTX_set_accuracy(ctx.get(), static_cast<int>(accuracy_seconds_),
                               static_cast<int>(accuracy_millis_), 0) != 1) {
    return OpenSslError("time-stamp accuracy", absl::StatusCode::kInternal);
  }
  TS_RESP_CTX_add_flags(ctx.get(), TS_TSA_NAME);
  TS_RESP_CTX_set_serial_cb(ctx.get(), SerialCallback, &call);
  TS_RESP_CTX_set_time_cb(ctx.get(), TimeCallback, &call);

  // OpenSSL reads the request with d2i_TS_REQ_bio, which ignores trailing
  // bytes. Parse strictly first; a request that fails goes in empty, which
  // makes OpenSSL answer rejection / badDataFormat as RFC 3161 wants.
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der_request.data());
  const unsigned char* end = p + der_request.size();
  UniquePtr<TS_REQ> parsed(d2i_TS_REQ(nullptr, &p, static_cast<long>(der_request.size())));
  bool well_formed = parsed != nullptr && p == end;
  UniquePtr<BIO> in(well_formed ? BIO_new_mem_buf(der_request.data(),
                                                  static_cast<int>(der_request.size()))
                                : BIO_new(BIO_s_mem()));
  UniquePtr<TS_RESP> response(TS_RESP_create_response(ctx.get(), in.get()));
  // Rejections leave OpenSSL's reasons queued; the response carries them.
  ERR_clear_error();
  if (!call.serial_status.ok()) {
    return call.serial_status;
  }
  if (response == nullptr) {
    return absl::InternalError("time-stamp response could not be built");
  }
  int len = i2d_TS_RESP(response.get(), nullptr);
  if (len <= 0) {
    return OpenSslError("time-stamp response encoding", absl::StatusCode::kInternal);
  }
  std::string der(static_cast<size_t>(len), '\0');
  unsigned char* out = reinterpret_cast<unsigned char*>(der.data());
  i2d_TS_RESP(response.get(), &out);
  return der;
}

}  // namespace axis::tsa
