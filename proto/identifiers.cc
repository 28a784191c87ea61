#include "proto/identifiers.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace axis {
namespace {

bool IsWordChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

absl::Status CheckPart(absl::string_view what, absl::string_view value, size_t max_len,
                       bool dots) {
  if (value.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(what, " is empty"));
  }
  if (value.size() > max_len) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " \"", value, "\" is longer than ", max_len, " characters"));
  }
  for (char c : value) {
    if (IsWordChar(c) || (dots && c == '.')) {
      continue;
    }
    return absl::InvalidArgumentError(absl::StrCat(what, " \"", value,
                                                   "\" has a character outside [A-Za-z0-9_-",
                                                   dots ? "." : "", "]"));
  }
  if (dots && (value.front() == '.' || value.back() == '.' ||
               value.find("..") != absl::string_view::npos)) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " \"", value, "\" has an empty dot-separated level"));
  }
  return absl::OkStatus();
}

absl::StatusOr<Identifier> Parse(absl::string_view text, size_t min_parts, size_t max_parts) {
  std::vector<absl::string_view> parts = absl::StrSplit(text, '/');
  if (parts.size() < min_parts || parts.size() > max_parts) {
    std::string want = min_parts == max_parts ? absl::StrCat(min_parts)
                                              : absl::StrCat(min_parts, " or ", max_parts);
    return absl::InvalidArgumentError(absl::StrCat("identifier \"", text, "\" has ",
                                                   parts.size(), " '/'-separated parts, want ",
                                                   want, " (INSTANCE/CLASS/CODE[/SUBSYSTEM])"));
  }
  Identifier id;
  id.set_instance(std::string(parts[0]));
  id.set_member_class(std::string(parts[1]));
  id.set_member_code(std::string(parts[2]));
  if (parts.size() == 4) {
    id.set_subsystem(std::string(parts[3]));
    if (id.subsystem().empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("identifier \"", text, "\": subsystem is empty"));
    }
  }
  if (absl::Status s = ValidateIdentifier(id); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("identifier \"", text, "\": ", s.message()));
  }
  return id;
}

}  // namespace

absl::Status ValidateIdentifier(const Identifier& id) {
  if (absl::Status s = CheckPart("instance", id.instance(), 16, false); !s.ok()) {
    return s;
  }
  if (absl::Status s = CheckPart("member class", id.member_class(), 16, false); !s.ok()) {
    return s;
  }
  if (absl::Status s = CheckPart("member code", id.member_code(), 64, true); !s.ok()) {
    return s;
  }
  if (!id.subsystem().empty()) {
    if (absl::Status s = CheckPart("subsystem", id.subsystem(), 64, true); !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<Identifier> ParseIdentifier(absl::string_view text) { return Parse(text, 3, 4); }
absl::StatusOr<Identifier> ParseMemberId(absl::string_view text) { return Parse(text, 3, 3); }
absl::StatusOr<Identifier> ParseSubsystemId(absl::string_view text) { return Parse(text, 4, 4); }

std::string FormatIdentifier(const Identifier& id) {
  std::string out = absl::StrCat(id.instance(), "/", id.member_class(), "/", id.member_code());
  if (!id.subsystem().empty()) {
    absl::StrAppend(&out, "/", id.subsystem());
  }
  return out;
}

Identifier MemberOf(const Identifier& id) {
  Identifier m = id;
  m.clear_subsystem();
  return m;
}

bool SameIdentifier(const Identifier& a, const Identifier& b) {
  return a.instance() == b.instance() && a.member_class() == b.member_class() &&
         a.member_code() == b.member_code() && a.subsystem() == b.subsystem();
}

}  // namespace axis
