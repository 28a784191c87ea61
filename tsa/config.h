// config.h: reading axis-tsa's configuration file.
#ifndef AXIS_TSA_CONFIG_H_
#define AXIS_TSA_CONFIG_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "tsa_config.pb.h"

namespace axis::tsa {

// kDefaultListen applies when TsaConfig.listen is empty.
inline constexpr absl::string_view kDefaultListen = "127.0.0.1:0";

// ParseListenAddress splits "HOST:PORT" or "[IPV6]:PORT" (brackets removed
// from `host`); the empty string is kDefaultListen. PORT is 0..65535, 0
// letting the kernel choose. INVALID_ARGUMENT naming the problem otherwise.
absl::Status ParseListenAddress(absl::string_view listen, std::string* host, int* port);

// LoadTsaConfig reads a TsaConfig in Protobuf text format. NOT_FOUND when
// the file does not exist; INVALID_ARGUMENT naming the file, line and column
// of every syntax error or unknown field. Does not check the values: see
// TimeStampAuthority::CheckConfig.
absl::StatusOr<TsaConfig> LoadTsaConfig(absl::string_view path);

}  // namespace axis::tsa

#endif  // AXIS_TSA_CONFIG_H_
