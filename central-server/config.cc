#include "central-server/config.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/files.h"
#include "common/status_macros.h"
#include "proto/identifiers.h"
#include "proto/text_config.h"
#include "signer/certs.h"
#include "signer/keys.h"

namespace axis::central {
namespace {

absl::Duration DurationOr(const std::string& text, absl::Duration fallback) {
  absl::Duration d;
  if (text.empty() || !absl::ParseDuration(text, &d)) {
    return fallback;
  }
  return d;
}

void CheckDuration(const std::string& field, const std::string& text,
                   std::vector<std::string>* problems) {
  absl::Duration d;
  if (!text.empty() && (!absl::ParseDuration(text, &d) || d <= absl::ZeroDuration())) {
    problems->push_back(
        absl::StrCat(field, ": \"", text, "\" is not a positive duration such as \"10m\""));
  }
}

}  // namespace

absl::StatusOr<CentralConfig> LoadCentralConfig(absl::string_view path) {
  CentralConfig config;
  AXIS_RETURN_IF_ERROR(ReadTextConfig(path, &config));
  return config;
}

absl::Duration Validity(const CentralConfig& config) {
  return DurationOr(config.validity(), kDefaultValidity);
}
absl::Duration ResignPeriod(const CentralConfig& config) {
  return DurationOr(config.resign_period(), kDefaultResignPeriod);
}
absl::Duration RotationGrace(const CentralConfig& config) {
  return DurationOr(config.rotation_grace(), Validity(config));
}

std::vector<std::string> CheckCentralConfig(const CentralConfig& config) {
  std::vector<std::string> problems;
  Identifier probe;
  probe.set_instance(config.instance());
  probe.set_member_class("GOV");
  probe.set_member_code("X");
  if (config.instance().empty() || !ValidateIdentifier(probe).ok()) {
    problems.push_back(
        absl::StrCat("instance: \"", config.instance(), "\" must be 1-16 of [A-Za-z0-9_-]"));
  }
  {
    absl::string_view listen = config.listen();
    size_t colon = listen.rfind(':');
    int port = -1;
    if (colon == absl::string_view::npos || !absl::SimpleAtoi(listen.substr(colon + 1), &port) ||
        port < 0 || port > 65535) {
      problems.push_back(absl::StrCat("listen: \"", listen, "\" is not HOST:PORT"));
    } else if (listen.substr(0, colon) != "127.0.0.1" && listen.substr(0, colon) != "[::1]" &&
               listen.substr(0, colon) != "localhost") {
      // Deployments put a proxy or firewall in front; the server itself binds
      // one named interface, never all of them.
      if (listen.substr(0, colon) == "0.0.0.0" || listen.substr(0, colon) == "[::]" ||
          listen.substr(0, colon).empty()) {
        problems.push_back(
            absl::StrCat("listen: \"", listen, "\" binds every interface; name one address"));
      }
    }
  }
  if (config.db_path().empty()) {
    problems.push_back("db_path: required");
  }
  auto need_file = [&](const std::string& field, const std::string& path) {
    if (path.empty()) {
      problems.push_back(absl::StrCat(field, ": required"));
      return false;
    }
    absl::StatusOr<std::string> data = ReadFile(path, size_t{1} << 20);
    if (!data.ok()) {
      problems.push_back(absl::StrCat(field, ": ", data.status().message()));
      return false;
    }
    return true;
  };
  need_file("tls_cert", config.tls_cert());
  need_file("tls_key", config.tls_key());
  if (need_file("tls_ca", config.tls_ca())) {
    absl::StatusOr<std::vector<UniquePtr<X509>>> ca = signer::LoadPemCertificates(config.tls_ca());
    if (!ca.ok()) {
      problems.push_back(absl::StrCat("tls_ca: ", ca.status().message()));
    }
  }
  if (need_file("client_ca", config.client_ca())) {
    absl::StatusOr<std::vector<UniquePtr<X509>>> ca =
        signer::LoadPemCertificates(config.client_ca());
    if (!ca.ok()) {
      problems.push_back(absl::StrCat("client_ca: ", ca.status().message()));
    }
  }
  if (config.admin_subjects().empty() && config.admin_sha256().empty()) {
    problems.push_back("admin_subjects / admin_sha256: name at least one admin certificate");
  }
  for (int i = 0; i < config.admin_sha256_size(); ++i) {
    const std::string& hex = config.admin_sha256(i);
    std::string digits = absl::StrReplaceAll(hex, {{":", ""}});
    if (digits.size() != 64 ||
        digits.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos) {
      problems.push_back(absl::StrCat("admin_sha256[", i, "]: \"", hex, "\" is not 64 hex digits"));
    }
  }
  if (need_file("signing_key", config.signing_key()) &&
      need_file("signing_cert", config.signing_cert())) {
    absl::StatusOr<signer::SigningKey> key = signer::LoadSigningKey(
        {config.signing_key(), config.signing_cert(), ""}, signer::NoSecret());
    if (!key.ok()) {
      problems.push_back(absl::StrCat("signing_key: ", key.status().message()));
    }
  }
  CheckDuration("validity", config.validity(), &problems);
  CheckDuration("resign_period", config.resign_period(), &problems);
  CheckDuration("rotation_grace", config.rotation_grace(), &problems);
  if (ResignPeriod(config) >= Validity(config)) {
    problems.push_back(absl::StrCat("resign_period: ", absl::FormatDuration(ResignPeriod(config)),
                                    " must be shorter than validity ",
                                    absl::FormatDuration(Validity(config))));
  }
  return problems;
}

}  // namespace axis::central
