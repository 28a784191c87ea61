// config.h: axis-central-server's configuration (proto/central_config.proto).
#ifndef AXIS_CENTRAL_SERVER_CONFIG_H_
#define AXIS_CENTRAL_SERVER_CONFIG_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "central_config.pb.h"

namespace axis::central {

inline constexpr absl::Duration kDefaultValidity = absl::Minutes(10);
inline constexpr absl::Duration kDefaultResignPeriod = absl::Minutes(1);

// LoadCentralConfig reads a CentralConfig in Protobuf text format.
// NOT_FOUND when the file does not exist; INVALID_ARGUMENT naming the file,
// line and column of every syntax error or unknown field.
absl::StatusOr<CentralConfig> LoadCentralConfig(absl::string_view path);

// CheckCentralConfig returns every problem with the values, each naming the
// field ("validity: ..."); empty when the configuration can run. It reads
// the files the configuration names.
std::vector<std::string> CheckCentralConfig(const CentralConfig& config);

// Validity, ResignPeriod, RotationGrace: the durations with their defaults.
absl::Duration Validity(const CentralConfig& config);
absl::Duration ResignPeriod(const CentralConfig& config);
absl::Duration RotationGrace(const CentralConfig& config);

}  // namespace axis::central

#endif  // AXIS_CENTRAL_SERVER_CONFIG_H_
