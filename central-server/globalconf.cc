#include "central-server/globalconf.h"

#include <google/protobuf/text_format.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/files.h"
#include "common/status_macros.h"
#include "proto/conversions.h"
#include "signer/bytes_sign.h"

namespace axis::central {
namespace {

// A statement signed this far in the future of our clock is refused: the
// central server's clock or the document is wrong.
constexpr absl::Duration kMaxClockSkew = absl::Minutes(5);
// Configurations are a few MB even for thousands of members.
constexpr size_t kMaxConfFileBytes = size_t{256} << 20;

std::string Hex(absl::string_view bytes) { return absl::BytesToHexString(bytes); }

bool Contains(const google::protobuf::RepeatedPtrField<std::string>& certs,
              const std::string& der) {
  for (const std::string& c : certs) {
    if (c == der) {
      return true;
    }
  }
  return false;
}

absl::Status Refused(absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("global configuration refused: ", why));
}

}  // namespace

absl::StatusOr<SignedGlobalConf> SignGlobalConf(const std::string& conf_bytes,
                                                const signer::SigningKey& key,
                                                absl::Time signed_at,
                                                absl::Duration validity) {
  GlobalConf conf;
  if (!conf.ParseFromString(conf_bytes)) {
    return absl::InvalidArgumentError("conf bytes are not a GlobalConf");
  }
  if (key.cert == nullptr) {
    return absl::InvalidArgumentError("configuration-signing key has no certificate");
  }
  ValidityStatement statement;
  statement.set_instance(conf.instance());
  statement.set_version(conf.version());
  statement.set_conf_sha256(signer::Sha256(conf_bytes));
  *statement.mutable_signed_at() = ToProtoTime(signed_at);
  *statement.mutable_expires_at() = ToProtoTime(signed_at + validity);

  SignedGlobalConf out;
  out.set_conf(conf_bytes);
  out.set_statement(statement.SerializeAsString());
  AXIS_ASSIGN_OR_RETURN(signer::BytesSignature signature,
                        signer::SignBytes(key, out.statement()));
  out.set_signature(std::move(signature.value));
  out.set_signature_algorithm(std::move(signature.algorithm));
  AXIS_ASSIGN_OR_RETURN(*out.add_cert_chain_der(), signer::CertToDer(key.cert.get()));
  for (const UniquePtr<X509>& c : key.chain) {
    AXIS_ASSIGN_OR_RETURN(*out.add_cert_chain_der(), signer::CertToDer(c.get()));
  }
  return out;
}

absl::StatusOr<VerifiedConf> VerifySignedConf(const SignedGlobalConf& signed_conf,
                                              const ConfAnchor& anchor,
                                              const VerifiedConf* previous, absl::Time now) {
  // 1. Who signed: a key the anchor names, or one a verified earlier
  //    configuration announced (key rotation).
  if (signed_conf.cert_chain_der().empty()) {
    return Refused("no signing certificate");
  }
  const std::string& signer_der = signed_conf.cert_chain_der(0);
  bool known = Contains(anchor.signing_certs_der(), signer_der) ||
               (previous != nullptr && Contains(previous->conf.signing_certs_der(), signer_der));
  if (!known) {
    return Refused("signed by a certificate that is neither in the anchor nor announced by a "
                   "verified configuration");
  }
  AXIS_ASSIGN_OR_RETURN(UniquePtr<X509> signer_cert, signer::CertFromDer(signer_der));
  // 2. The signature over the statement bytes carried.
  absl::Status sig = signer::VerifyBytes(signer_cert.get(), signed_conf.signature_algorithm(),
                                         signed_conf.statement(), signed_conf.signature());
  if (!sig.ok()) {
    return Refused(absl::StrCat("validity statement signature: ", sig.message()));
  }
  // 3. The statement binds exactly the conf bytes carried.
  ValidityStatement statement;
  if (!statement.ParseFromString(signed_conf.statement())) {
    return Refused("validity statement is not readable");
  }
  if (statement.conf_sha256() != signer::Sha256(signed_conf.conf())) {
    return Refused("content does not match the signed SHA-256 (tampered)");
  }
  GlobalConf conf;
  if (!conf.ParseFromString(signed_conf.conf())) {
    return Refused("content is not a readable GlobalConf");
  }
  if (conf.instance() != anchor.instance() || statement.instance() != anchor.instance()) {
    return Refused(absl::StrCat("instance \"", conf.instance(), "\" is not the anchor's \"",
                                anchor.instance(), "\""));
  }
  if (statement.version() != conf.version() || conf.version() == 0) {
    return Refused(absl::StrCat("statement version ", statement.version(),
                                " does not match content version ", conf.version()));
  }
  // 4. Freshness.
  absl::Time signed_at = FromProtoTime(statement.signed_at());
  absl::Time expires_at = FromProtoTime(statement.expires_at());
  if (now >= expires_at) {
    return absl::FailedPreconditionError(
        absl::StrCat("global configuration refused: version ", conf.version(), " expired at ",
                     absl::FormatTime(absl::RFC3339_sec, expires_at, absl::UTCTimeZone())));
  }
  if (signed_at > now + kMaxClockSkew) {
    return Refused(absl::StrCat("signed in the future (",
                                absl::FormatTime(absl::RFC3339_sec, signed_at, absl::UTCTimeZone()),
                                ")"));
  }
  // 5. History: versions only go forward and each links to the one before.
  if (previous != nullptr) {
    uint64_t had = previous->conf.version();
    if (conf.version() < had) {
      return Refused(absl::StrCat("version rollback: ", conf.version(), " after ", had));
    }
    if (conf.version() == had && signed_conf.conf() != previous->conf_bytes) {
      return Refused(absl::StrCat("version ", had, " arrived with different content"));
    }
    if (conf.version() == had + 1 &&
        conf.previous_sha256() != signer::Sha256(previous->conf_bytes)) {
      return Refused(absl::StrCat("previous-hash chain broken: version ", conf.version(),
                                  " names ", Hex(conf.previous_sha256()), " but version ", had,
                                  " hashes to ", Hex(signer::Sha256(previous->conf_bytes))));
    }
    // A gap (version had+2 or later) cannot be linked here; it is accepted on
    // the strength of the signature, and `axis central conf history --verify`
    // replays the full chain.
  }
  VerifiedConf out;
  out.conf = std::move(conf);
  out.statement = std::move(statement);
  out.conf_bytes = signed_conf.conf();
  out.signed_conf = signed_conf;
  out.expires_at = expires_at;
  return out;
}

bool AddAnchorSigners(const google::protobuf::RepeatedPtrField<std::string>& certs,
                      ConfAnchor* anchor) {
  bool added = false;
  for (const std::string& der : certs) {
    if (!Contains(anchor->signing_certs_der(), der)) {
      anchor->add_signing_certs_der(der);
      added = true;
    }
  }
  return added;
}

absl::StatusOr<ConfAnchor> ReadAnchor(const std::string& path) {
  AXIS_ASSIGN_OR_RETURN(std::string text, ReadFile(path, size_t{1} << 20));
  ConfAnchor anchor;
  if (!google::protobuf::TextFormat::ParseFromString(text, &anchor)) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": not a ConfAnchor in text format"));
  }
  if (anchor.instance().empty() || anchor.central_address().empty() ||
      anchor.signing_certs_der().empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": anchor needs instance, central_address and signing_certs_der"));
  }
  for (const std::string& der : anchor.signing_certs_der()) {
    absl::StatusOr<UniquePtr<X509>> cert = signer::CertFromDer(der);
    if (!cert.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": signing_certs_der: ", cert.status().message()));
    }
  }
  return anchor;
}

absl::Status WriteAnchor(const ConfAnchor& anchor, const std::string& path) {
  std::string text;
  if (!google::protobuf::TextFormat::PrintToString(anchor, &text)) {
    return absl::InternalError("cannot print the anchor");
  }
  return WriteFileAtomic(path, absl::StrCat("# axis configuration anchor (ConfAnchor, proto/globalconf.proto)\n", text));
}

absl::StatusOr<SignedGlobalConf> ReadSignedConf(const std::string& path) {
  AXIS_ASSIGN_OR_RETURN(std::string bytes, ReadFile(path, kMaxConfFileBytes));
  SignedGlobalConf out;
  if (!out.ParseFromString(bytes)) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": not a SignedGlobalConf"));
  }
  return out;
}

absl::Status WriteSignedConf(const SignedGlobalConf& signed_conf, const std::string& path) {
  return WriteFileAtomic(path, signed_conf.SerializeAsString());
}

}  // namespace axis::central
