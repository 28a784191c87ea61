// text_config.h: reading configuration files written in Protobuf text format
// (the servers' --config files; schemas in proto/*_config.proto).
#ifndef AXIS_PROTO_TEXT_CONFIG_H_
#define AXIS_PROTO_TEXT_CONFIG_H_

#include <cstddef>

#include <google/protobuf/message.h>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace axis {

// kMaxTextConfigBytes bounds a configuration file: they are hand-written and
// small.
inline constexpr size_t kMaxTextConfigBytes = size_t{1} << 20;

// ReadTextConfig replaces `message` with the contents of the file at `path`
// in Protobuf text format. Returns OK when the whole file parsed without an
// error or warning; ReadFile's errors (NOT_FOUND when the file does not
// exist, RESOURCE_EXHAUSTED above kMaxTextConfigBytes); otherwise
// INVALID_ARGUMENT listing every syntax error, unknown field and parser
// warning (warnings fail the read too), one a line, as "PATH:LINE:COLUMN: reason" (counted from 1), so
// one --check-config run shows them all; or "PATH: not a <Type> in text
// format" if the parser failed without saying where. Does not check the
// values. `message` is unspecified after an error.
absl::Status ReadTextConfig(absl::string_view path, google::protobuf::Message* message);

}  // namespace axis

#endif  // AXIS_PROTO_TEXT_CONFIG_H_
