// status_macros.h: early return on error for absl::Status and absl::StatusOr.
// Abseil 20220623 ships no such macros.
#ifndef AXIS_COMMON_STATUS_MACROS_H_
#define AXIS_COMMON_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define AXIS_CONCAT_INNER_(a, b) a##b
#define AXIS_CONCAT_(a, b) AXIS_CONCAT_INNER_(a, b)

// AXIS_RETURN_IF_ERROR(expr) returns the status of `expr` when it is not OK.
#define AXIS_RETURN_IF_ERROR(expr)                 \
  do {                                             \
    ::absl::Status axis_status_ = (expr);          \
    if (!axis_status_.ok()) return axis_status_;   \
  } while (0)

// AXIS_ASSIGN_OR_RETURN(lhs, expr) evaluates the StatusOr `expr`; on error it
// returns its status, otherwise it moves the value into `lhs` (which may be a
// declaration: `AXIS_ASSIGN_OR_RETURN(auto x, F());`).
#define AXIS_ASSIGN_OR_RETURN(lhs, expr) \
  AXIS_ASSIGN_OR_RETURN_IMPL_(AXIS_CONCAT_(axis_statusor_, __LINE__), lhs, expr)
#define AXIS_ASSIGN_OR_RETURN_IMPL_(var, lhs, expr) \
  auto var = (expr);                                \
  if (!var.ok()) return std::move(var).status();    \
  lhs = std::move(var).value()

#endif  // AXIS_COMMON_STATUS_MACROS_H_
