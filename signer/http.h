// http.h: the one HTTP client of the trust services (RFC 3161, OCSP).
#ifndef AXIS_SIGNER_HTTP_H_
#define AXIS_SIGNER_HTTP_H_

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace axis::signer {

// HttpResponse is a completed exchange.
struct HttpResponse {
  long status = 0;           // HTTP status code
  std::string content_type;  // as sent, may be empty
  std::string body;
};

// HttpPost sends `body` with `content_type` to an http:// or https:// `url`
// (no redirects, no other schemes) and returns the response of any status.
// UNAVAILABLE when the server cannot be reached or `timeout` passes,
// RESOURCE_EXHAUSTED when the response is over `max_response_bytes`,
// INVALID_ARGUMENT for a URL of another scheme. Thread-safe.
absl::StatusOr<HttpResponse> HttpPost(absl::string_view url, absl::string_view content_type,
                                      absl::string_view body,
                                      absl::Duration timeout = absl::Seconds(10),
                                      size_t max_response_bytes = size_t{1} << 20);

}  // namespace axis::signer

#endif  // AXIS_SIGNER_HTTP_H_
