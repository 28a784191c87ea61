// OpenSSL 3 deprecates the ENGINE API, but Debian 12 has no PKCS#11
// provider: libp11's engine is the way to reach a token (ARCHITECTURE.md).
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include "signer/keys.h"

#include <fcntl.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/engine.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <cstdlib>
#include <map>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "common/files.h"
#include "common/openssl_error.h"
#include "signer/certs.h"

namespace axis::signer {
namespace {

constexpr char kDefaultPkcs11Module[] = "/usr/lib/softhsm/libsofthsm2.so";

struct PemPassContext {
  const SecretSource* secret;
  std::string what;
  absl::Status status;
};

int PemPassCallback(char* buf, int size, int, void* u) {
  auto* ctx = static_cast<PemPassContext*>(u);
  absl::StatusOr<std::string> pass = (*ctx->secret)(absl::StrCat("passphrase for ", ctx->what));
  if (!pass.ok()) {
    ctx->status = pass.status();
    return -1;
  }
  if (pass->size() > static_cast<size_t>(size)) {
    ctx->status = absl::InvalidArgumentError("passphrase too long");
    return -1;
  }
  std::copy(pass->begin(), pass->end(), buf);
  return static_cast<int>(pass->size());
}

absl::StatusOr<std::vector<UniquePtr<X509>>> MaybeLoadChain(const std::string& path) {
  if (path.empty()) {
    return std::vector<UniquePtr<X509>>();
  }
  return LoadPemCertificates(path);
}

absl::Status CheckCertMatchesKey(X509* cert, EVP_PKEY* key, absl::string_view what) {
  if (EVP_PKEY_eq(X509_get0_pubkey(cert), key) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": the certificate's public key does not match the private key"));
  }
  return absl::OkStatus();
}

absl::StatusOr<SigningKey> LoadPem(const KeySpec& spec, const SecretSource& secret) {
  absl::StatusOr<std::string> pem = ReadFile(spec.key, size_t{1} << 20);
  if (!pem.ok()) {
    return pem.status();
  }
  PemPassContext ctx{&secret, spec.key, absl::OkStatus()};
  UniquePtr<BIO> bio(BIO_new_mem_buf(pem->data(), static_cast<int>(pem->size())));
  SigningKey out;
  out.key.reset(PEM_read_bio_PrivateKey(bio.get(), nullptr, PemPassCallback, &ctx));
  if (!ctx.status.ok()) {
    ERR_clear_error();
    return ctx.status;
  }
  if (out.key == nullptr) {
    return OpenSslError(absl::StrCat(spec.key, ": cannot read the private key (wrong passphrase?)"));
  }
  if (spec.cert_path.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(spec.key, ": a PEM key needs its certificate (--cert)"));
  }
  absl::StatusOr<std::vector<UniquePtr<X509>>> certs = LoadPemCertificates(spec.cert_path);
  if (!certs.ok()) {
    return certs.status();
  }
  out.cert = std::move((*certs)[0]);
  for (size_t i = 1; i < certs->size(); ++i) {
    out.chain.push_back(std::move((*certs)[i]));
  }
  return out;
}

absl::StatusOr<SigningKey> LoadPkcs12(const KeySpec& spec, const SecretSource& secret) {
  absl::StatusOr<std::string> der = ReadFile(spec.key, size_t{1} << 20);
  if (!der.ok()) {
    return der.status();
  }
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der->data());
  UniquePtr<PKCS12> p12(d2i_PKCS12(nullptr, &p, static_cast<long>(der->size())));
  if (p12 == nullptr) {
    return OpenSslError(absl::StrCat(spec.key, ": not a PKCS#12 file"));
  }
  std::string pass;
  if (PKCS12_verify_mac(p12.get(), "", 0) != 1 && PKCS12_verify_mac(p12.get(), nullptr, 0) != 1) {
    ERR_clear_error();
    absl::StatusOr<std::string> s = secret(absl::StrCat("password for ", spec.key));
    if (!s.ok()) {
      return s.status();
    }
    pass = *s;
    if (PKCS12_verify_mac(p12.get(), pass.data(), static_cast<int>(pass.size())) != 1) {
      ERR_clear_error();
      return absl::InvalidArgumentError(absl::StrCat(spec.key, ": wrong PKCS#12 password"));
    }
  }
  EVP_PKEY* pkey = nullptr;
  X509* cert = nullptr;
  STACK_OF(X509)* ca = nullptr;
  if (PKCS12_parse(p12.get(), pass.c_str(), &pkey, &cert, &ca) != 1) {
    return OpenSslError(absl::StrCat(spec.key, ": cannot open the PKCS#12 file"));
  }
  SigningKey out;
  out.key.reset(pkey);
  out.cert.reset(cert);
  UniquePtr<STACK_OF(X509)> ca_owned(ca);
  if (pkey == nullptr || cert == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat(spec.key, ": the PKCS#12 file lacks a private key or its certificate"));
  }
  while (ca_owned != nullptr && sk_X509_num(ca_owned.get()) > 0) {
    out.chain.emplace_back(sk_X509_shift(ca_owned.get()));
  }
  if (!spec.cert_path.empty()) {
    absl::StatusOr<std::vector<UniquePtr<X509>>> certs = LoadPemCertificates(spec.cert_path);
    if (!certs.ok()) {
      return certs.status();
    }
    out.cert = std::move((*certs)[0]);
  }
  return out;
}

// Pkcs11Engine returns libp11's engine bound to `module`, initialised once per
// module and kept for the life of the process (keys refer to it).
absl::StatusOr<ENGINE*> Pkcs11Engine(const std::string& module) {
  static absl::Mutex mu(absl::kConstInit);
  static auto* engines = new std::map<std::string, ENGINE*>();
  absl::MutexLock lock(&mu);
  if (auto it = engines->find(module); it != engines->end()) {
    return it->second;
  }
  ENGINE_load_builtin_engines();
  ENGINE* e = ENGINE_by_id("pkcs11");
  if (e == nullptr) {
    return OpenSslError(
        "PKCS#11: libp11's OpenSSL engine \"pkcs11\" is not available "
        "(Debian package libengine-pkcs11-openssl)",
        absl::StatusCode::kUnavailable);
  }
  if (ENGINE_ctrl_cmd_string(e, "MODULE_PATH", module.c_str(), 0) != 1 || ENGINE_init(e) != 1) {
    ENGINE_free(e);
    return OpenSslError(absl::StrCat("PKCS#11: cannot load module ", module),
                        absl::StatusCode::kUnavailable);
  }
  (*engines)[module] = e;
  return e;
}

// KeyLoadError turns the error queue after a failed ENGINE_load_private_key
// into a status. libp11 queues the token's CK_RV values as reasons of its
// "PKCS#11 module" library. A refused PIN is the user's input, not an
// unreachable token: it must not be UNAVAILABLE, whose exit code 3 tells
// scripts to retry, and every retry with the same wrong PIN brings the
// token closer to locking it.
absl::Status KeyLoadError(absl::string_view path) {
  constexpr unsigned long kCkrPinIncorrect = 0xA0;  // ..0xA2: invalid, length out of range
  constexpr unsigned long kCkrPinExpired = 0xA3;
  constexpr unsigned long kCkrPinLocked = 0xA4;
  unsigned long pin_error = 0;
  std::string queue;
  for (unsigned long e; (e = ERR_get_error()) != 0;) {
    const char* lib = ERR_lib_error_string(e);
    unsigned long reason = static_cast<unsigned long>(ERR_GET_REASON(e));
    if (lib != nullptr && absl::string_view(lib) == "PKCS#11 module" &&
        reason >= kCkrPinIncorrect && reason <= kCkrPinLocked) {
      pin_error = reason;
    }
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    absl::StrAppend(&queue, queue.empty() ? "" : "; ", buf);
  }
  if (pin_error == kCkrPinLocked) {
    return absl::FailedPreconditionError(
        absl::StrCat("PKCS#11: the token's PIN is locked (", path, "); unlock it with the SO PIN"));
  }
  if (pin_error == kCkrPinExpired) {
    return absl::FailedPreconditionError(
        absl::StrCat("PKCS#11: the token's PIN has expired (", path, "); change it first"));
  }
  if (pin_error != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("PKCS#11: wrong PIN for ", path, " (the token refused it)"));
  }
  return absl::UnavailableError(absl::StrCat("PKCS#11: no private key at ", path,
                                             " (wrong token or object?)",
                                             queue.empty() ? "" : " (" + queue + ")"));
}

absl::StatusOr<SigningKey> LoadPkcs11(const KeySpec& spec, const SecretSource& secret) {
  // RFC 7512: pkcs11:path-attrs[?query-attrs]. The PIN is never taken from
  // the URI (it would sit on a command line); module-path is ours to read.
  std::vector<std::string> parts = absl::StrSplit(spec.key, absl::MaxSplits('?', 1));
  std::string path = parts[0];
  std::string module;
  if (const char* env = std::getenv("AXIS_PKCS11_MODULE"); env != nullptr && *env != '\0') {
    module = env;
  } else {
    module = kDefaultPkcs11Module;
  }
  if (parts.size() == 2) {
    for (absl::string_view attr : absl::StrSplit(parts[1], '&')) {
      if (absl::StartsWith(attr, "module-path=")) {
        module = std::string(attr.substr(12));
      } else if (absl::StartsWith(attr, "pin-value=")) {
        return absl::InvalidArgumentError(
            "pkcs11 URI: pin-value is refused; give the PIN with --pass-file or at the prompt");
      }
    }
  }
  if (absl::StrContains(path, "pin-value")) {
    return absl::InvalidArgumentError(
        "pkcs11 URI: pin-value is refused; give the PIN with --pass-file or at the prompt");
  }
  absl::StatusOr<ENGINE*> engine = Pkcs11Engine(module);
  if (!engine.ok()) {
    return engine.status();
  }
  absl::StatusOr<std::string> pin = secret(absl::StrCat("PIN for ", path));
  if (!pin.ok()) {
    return pin.status();
  }
  SigningKey out;
  out.on_token = true;
  {
    // The engine keeps one PIN; loads are serialised.
    static absl::Mutex load_mu(absl::kConstInit);
    absl::MutexLock lock(&load_mu);
    if (ENGINE_ctrl_cmd_string(*engine, "PIN", pin->c_str(), 0) != 1) {
      return OpenSslError("PKCS#11: engine refused the PIN", absl::StatusCode::kUnavailable);
    }
    out.key.reset(ENGINE_load_private_key(*engine, path.c_str(), nullptr, nullptr));
    if (out.key == nullptr) {
      return KeyLoadError(path);
    }
    if (spec.cert_path.empty()) {
      struct {
        const char* id;
        X509* cert;
      } params = {path.c_str(), nullptr};
      std::string cert_uri = path;
      if (size_t pos = cert_uri.find("type=private"); pos != std::string::npos) {
        cert_uri.replace(pos, 12, "type=cert");
      }
      params.id = cert_uri.c_str();
      if (ENGINE_ctrl_cmd(*engine, "LOAD_CERT_CTRL", 0, &params, nullptr, 1) != 1 ||
          params.cert == nullptr) {
        ERR_clear_error();
        return absl::InvalidArgumentError(absl::StrCat(
            "PKCS#11: no certificate on the token for ", path, "; give it with --cert"));
      }
      out.cert.reset(params.cert);
    }
  }
  if (!spec.cert_path.empty()) {
    absl::StatusOr<std::vector<UniquePtr<X509>>> certs = LoadPemCertificates(spec.cert_path);
    if (!certs.ok()) {
      return certs.status();
    }
    out.cert = std::move((*certs)[0]);
    for (size_t i = 1; i < certs->size(); ++i) {
      out.chain.push_back(std::move((*certs)[i]));
    }
  }
  return out;
}

}  // namespace

SecretSource SecretFromFile(std::string path) {
  return [path](absl::string_view) -> absl::StatusOr<std::string> {
    absl::StatusOr<std::string> data = ReadFile(path, 4096);
    if (!data.ok()) {
      return data.status();
    }
    std::string line = data->substr(0, data->find('\n'));
    if (!line.empty() && line.back() == '\r') {
      line.pop_back();
    }
    return line;
  };
}

SecretSource SecretFromTerminal() {
  return [](absl::string_view prompt) -> absl::StatusOr<std::string> {
    int fd = ::open("/dev/tty", O_RDWR | O_CLOEXEC);
    if (fd < 0) {
      return absl::FailedPreconditionError(
          absl::StrCat("a ", prompt, " is needed: give --pass-file (no terminal to ask on)"));
    }
    std::string ask = absl::StrCat("Enter ", prompt, ": ");
    (void)!::write(fd, ask.data(), ask.size());
    struct termios old_tio;
    bool have_tio = ::tcgetattr(fd, &old_tio) == 0;
    if (have_tio) {
      struct termios quiet = old_tio;
      quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
      ::tcsetattr(fd, TCSAFLUSH, &quiet);
    }
    std::string line;
    char c;
    while (::read(fd, &c, 1) == 1 && c != '\n' && line.size() < 4096) {
      line.push_back(c);
    }
    if (have_tio) {
      ::tcsetattr(fd, TCSAFLUSH, &old_tio);
    }
    (void)!::write(fd, "\n", 1);
    ::close(fd);
    return line;
  };
}

SecretSource NoSecret() {
  return [](absl::string_view prompt) -> absl::StatusOr<std::string> {
    return absl::FailedPreconditionError(absl::StrCat("a ", prompt, " is needed"));
  };
}

absl::StatusOr<SigningKey> LoadSigningKey(const KeySpec& spec, const SecretSource& secret) {
  absl::StatusOr<SigningKey> key;
  if (absl::StartsWith(spec.key, "pkcs11:")) {
    key = LoadPkcs11(spec, secret);
  } else if (absl::EndsWithIgnoreCase(spec.key, ".p12") ||
             absl::EndsWithIgnoreCase(spec.key, ".pfx")) {
    key = LoadPkcs12(spec, secret);
  } else {
    key = LoadPem(spec, secret);
  }
  if (!key.ok()) {
    return key.status();
  }
  if (absl::Status s = CheckCertMatchesKey(key->cert.get(), key->key.get(), spec.key); !s.ok()) {
    return s;
  }
  absl::StatusOr<std::vector<UniquePtr<X509>>> chain = MaybeLoadChain(spec.chain_path);
  if (!chain.ok()) {
    return chain.status();
  }
  for (auto& c : *chain) {
    key->chain.push_back(std::move(c));
  }
  return key;
}

absl::StatusOr<std::string> SignRaw(EVP_PKEY* key, const EVP_MD* md, bool pss,
                                    absl::string_view data) {
  UniquePtr<EVP_MD_CTX> ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;
  if (EVP_DigestSignInit(ctx.get(), &pctx, md, nullptr, key) != 1) {
    return OpenSslError("cannot start signing");
  }
  if (pss) {
    if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
        EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, EVP_MD_get_size(md)) != 1 ||
        EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) != 1) {
      return OpenSslError("cannot set RSA-PSS parameters");
    }
  }
  size_t len = 0;
  const auto* in = reinterpret_cast<const unsigned char*>(data.data());
  if (EVP_DigestSign(ctx.get(), nullptr, &len, in, data.size()) != 1) {
    return OpenSslError("signing failed", absl::StatusCode::kUnavailable);
  }
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, in,
                     data.size()) != 1) {
    return OpenSslError("signing failed", absl::StatusCode::kUnavailable);
  }
  sig.resize(len);
  if (EVP_PKEY_get_base_id(key) != EVP_PKEY_EC) {
    return sig;
  }
  // XML-DSig's ECDSA SignatureValue is r||s, each padded to the field size.
  const unsigned char* p = reinterpret_cast<const unsigned char*>(sig.data());
  UniquePtr<ECDSA_SIG> ec(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size())));
  if (ec == nullptr) {
    return OpenSslError("ECDSA signature is not DER");
  }
  int field = (EVP_PKEY_get_bits(key) + 7) / 8;
  std::string raw(static_cast<size_t>(2 * field), '\0');
  auto* out = reinterpret_cast<unsigned char*>(raw.data());
  if (BN_bn2binpad(ECDSA_SIG_get0_r(ec.get()), out, field) != field ||
      BN_bn2binpad(ECDSA_SIG_get0_s(ec.get()), out + field, field) != field) {
    return absl::InternalError("ECDSA signature does not fit the field size");
  }
  return raw;
}

}  // namespace axis::signer
