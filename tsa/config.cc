#include "tsa/config.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "proto/text_config.h"

namespace axis::tsa {

absl::Status ParseListenAddress(absl::string_view listen, std::string* host, int* port) {
  if (listen.empty()) {
    listen = kDefaultListen;
  }
  absl::string_view h;
  absl::string_view p;
  if (listen.front() == '[') {
    size_t close = listen.find(']');
    if (close == absl::string_view::npos || close + 1 >= listen.size() ||
        listen[close + 1] != ':') {
      return absl::InvalidArgumentError(
          absl::StrCat("\"", listen, "\" is not HOST:PORT or [IPV6]:PORT"));
    }
    h = listen.substr(1, close - 1);
    p = listen.substr(close + 2);
  } else {
    size_t colon = listen.rfind(':');
    if (colon == absl::string_view::npos || listen.find(':') != colon) {
      return absl::InvalidArgumentError(
          absl::StrCat("\"", listen, "\" is not HOST:PORT or [IPV6]:PORT"));
    }
    h = listen.substr(0, colon);
    p = listen.substr(colon + 1);
  }
  int value = 0;
  if (h.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "\"", listen, "\" has no host (name the interface, e.g. 127.0.0.1, to bind only it)"));
  }
  if (p.empty() || !absl::SimpleAtoi(p, &value) || value < 0 || value > 65535 ||
      p.find_first_not_of("0123456789") != absl::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", listen, "\": port must be a number from 0 to 65535"));
  }
  *host = std::string(h);
  *port = value;
  return absl::OkStatus();
}

absl::StatusOr<TsaConfig> LoadTsaConfig(absl::string_view path) {
  TsaConfig config;
  AXIS_RETURN_IF_ERROR(ReadTextConfig(path, &config));
  return config;
}

}  // namespace axis::tsa
