#include "proto/conversions.h"

#include <string>

namespace axis {

google::protobuf::Timestamp ToProtoTime(absl::Time t) {
  google::protobuf::Timestamp out;
  absl::Time seconds = absl::FromUnixSeconds(absl::ToUnixSeconds(t));
  if (seconds > t) {  // ToUnixSeconds rounds toward negative infinity; be sure
    seconds -= absl::Seconds(1);
  }
  out.set_seconds(absl::ToUnixSeconds(seconds));
  out.set_nanos(static_cast<int32_t>((t - seconds) / absl::Nanoseconds(1)));
  return out;
}

absl::Time FromProtoTime(const google::protobuf::Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

grpc::Status ToGrpcStatus(const absl::Status& s) {
  if (s.ok()) {
    return grpc::Status::OK;
  }
  return grpc::Status(static_cast<grpc::StatusCode>(s.code()), std::string(s.message()));
}

absl::Status FromGrpcStatus(const grpc::Status& s) {
  if (s.ok()) {
    return absl::OkStatus();
  }
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()), s.error_message());
}

}  // namespace axis
