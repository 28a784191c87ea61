#include "common/openssl_error.h"

#include <openssl/err.h>

#include "absl/strings/str_cat.h"

namespace axis {

std::string DrainOpenSslErrors() {
  std::string out;
  unsigned long err;
  while ((err = ERR_get_error()) != 0) {
    char buf[256];
    ERR_error_string_n(err, buf, sizeof(buf));
    if (!out.empty()) {
      out += "; ";
    }
    out += buf;
  }
  return out;
}

absl::Status OpenSslError(absl::string_view what, absl::StatusCode code) {
  std::string queue = DrainOpenSslErrors();
  if (queue.empty()) {
    return absl::Status(code, what);
  }
  return absl::Status(code, absl::StrCat(what, " (", queue, ")"));
}

}  // namespace axis
