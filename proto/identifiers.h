// identifiers.h: the one place where axis identifiers are parsed and printed.
//
//   member:    INSTANCE/CLASS/CODE             VN/GOV/000.00.00.G22
//   subsystem: INSTANCE/CLASS/CODE/SUBSYSTEM   VN/GOV/000.00.00.G22/QLVB
//
// Instance and class: 1-16 of [A-Za-z0-9_-]. Code: 1-64 of [A-Za-z0-9._-],
// not starting or ending with '.', no "..". Subsystem: 1-64 of [A-Za-z0-9._-].
#ifndef AXIS_PROTO_IDENTIFIERS_H_
#define AXIS_PROTO_IDENTIFIERS_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "identifiers.pb.h"

namespace axis {

// ParseIdentifier reads a member or subsystem identifier. INVALID_ARGUMENT
// naming the text and the offending part when it is malformed.
absl::StatusOr<Identifier> ParseIdentifier(absl::string_view text);

// ParseMemberId accepts only a member identifier (three parts).
absl::StatusOr<Identifier> ParseMemberId(absl::string_view text);

// ParseSubsystemId accepts only a subsystem identifier (four parts).
absl::StatusOr<Identifier> ParseSubsystemId(absl::string_view text);

// ValidateIdentifier checks every part of `id` against the rules above.
absl::Status ValidateIdentifier(const Identifier& id);

// FormatIdentifier prints `id` in its slash-separated form. `id` is assumed
// valid (as ParseIdentifier returns it).
std::string FormatIdentifier(const Identifier& id);

// MemberOf returns the member that owns `id` (`id` itself for a member).
Identifier MemberOf(const Identifier& id);

// SameIdentifier compares all four parts.
bool SameIdentifier(const Identifier& a, const Identifier& b);

}  // namespace axis

#endif  // AXIS_PROTO_IDENTIFIERS_H_
