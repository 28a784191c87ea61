// conversions.h: the two conversions every gRPC-facing component needs,
// written once: absl::Time <-> google.protobuf.Timestamp, and absl::Status
// <-> grpc::Status (the codes share numbers; see STYLE.md).
#ifndef AXIS_PROTO_CONVERSIONS_H_
#define AXIS_PROTO_CONVERSIONS_H_

#include <google/protobuf/timestamp.pb.h>
#include <grpcpp/support/status.h>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace axis {

// ToProtoTime / FromProtoTime convert at nanosecond precision.
google::protobuf::Timestamp ToProtoTime(absl::Time t);
absl::Time FromProtoTime(const google::protobuf::Timestamp& t);

// ToGrpcStatus / FromGrpcStatus keep the code and the message.
grpc::Status ToGrpcStatus(const absl::Status& s);
absl::Status FromGrpcStatus(const grpc::Status& s);

}  // namespace axis

#endif  // AXIS_PROTO_CONVERSIONS_H_
