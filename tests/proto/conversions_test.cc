// Tests of proto/conversions.h.
#include "proto/conversions.h"

#include <gtest/gtest.h>

namespace axis {
namespace {

TEST(ConversionsTest, TimeSurvivesTheRoundTripToTheNanosecond) {
  for (absl::Time t : {absl::FromUnixNanos(1800000000123456789), absl::UnixEpoch(),
                       absl::FromUnixNanos(-1500000001)}) {
    google::protobuf::Timestamp p = ToProtoTime(t);
    EXPECT_GE(p.nanos(), 0);
    EXPECT_LT(p.nanos(), 1000000000);
    EXPECT_EQ(FromProtoTime(p), t);
  }
  EXPECT_EQ(ToProtoTime(absl::FromUnixNanos(1800000000123456789)).seconds(), 1800000000);
}

TEST(ConversionsTest, StatusKeepsItsCodeAndMessageBothWays) {
  absl::Status s = absl::PermissionDeniedError("VN/GOV/000.00.00.G12 may not deliver here");
  grpc::Status g = ToGrpcStatus(s);
  EXPECT_EQ(g.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(g.error_message(), "VN/GOV/000.00.00.G12 may not deliver here");
  EXPECT_EQ(FromGrpcStatus(g), s);
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok());
  EXPECT_TRUE(FromGrpcStatus(grpc::Status::OK).ok());
}

}  // namespace
}  // namespace axis
