// openssl_error.h: OpenSSL's error queue turned into absl::Status.
#ifndef AXIS_COMMON_OPENSSL_ERROR_H_
#define AXIS_COMMON_OPENSSL_ERROR_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace axis {

// DrainOpenSslErrors empties this thread's OpenSSL error queue and returns its
// entries joined with "; " (empty when there were none).
std::string DrainOpenSslErrors();

// OpenSslError returns a status with `code` whose message is `what`, followed
// by the drained OpenSSL error queue when it is not empty.
absl::Status OpenSslError(absl::string_view what,
                          absl::StatusCode code = absl::StatusCode::kInvalidArgument);

}  // namespace axis

#endif  // AXIS_COMMON_OPENSSL_ERROR_H_
