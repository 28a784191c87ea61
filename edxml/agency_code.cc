#include "edxml/agency_code.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/status_macros.h"
#include "proto/identifiers.h"

namespace axis::edxml {
namespace {

absl::Status Bad(absl::string_view text, absl::string_view reason) {
  return absl::InvalidArgumentError(absl::StrCat("agency code \"", text, "\": ", reason));
}

absl::StatusOr<AgencyCode> ParseLegacy(absl::string_view text) {
  static constexpr char kPattern[] = "DDD.DD.DD.Lnn";
  if (text.size() != kLegacyAgencyCodeLength) {
    return Bad(text, absl::StrCat("legacy format DDD.DD.DD.Lnn has 13 characters, got ",
                                  text.size()));
  }
  for (size_t i = 0; i < text.size(); ++i) {
    char want = kPattern[i];
    char c = text[i];
    bool ok = want == '.' ? c == '.' : want == 'L' ? absl::ascii_isupper(c) : absl::ascii_isdigit(c);
    if (!ok) {
      const char* what = want == '.' ? "'.'" : want == 'L' ? "a capital letter" : "a digit";
      return Bad(text, absl::StrCat("legacy format DDD.DD.DD.Lnn wants ", what, " at position ",
                                    i + 1, ", got '", std::string(1, c), "'"));
    }
  }
  AgencyCode code;
  code.format = AgencyCodeFormat::kLegacy;
  std::vector<std::string> parts = absl::StrSplit(text, '.');
  code.levels.assign(parts.rbegin(), parts.rend());
  return code;
}

absl::StatusOr<AgencyCode> Parse2020(absl::string_view text) {
  if (text.size() > kMaxAgencyCodeLength) {
    return Bad(text, absl::StrCat("format 2020 allows at most 35 characters, got ", text.size()));
  }
  AgencyCode code;
  code.format = AgencyCodeFormat::k2020;
  size_t n = 0;
  for (absl::string_view level : absl::StrSplit(text, '.')) {
    ++n;
    if (level.empty()) {
      return Bad(text, absl::StrCat("format 2020: level ", n, " is empty"));
    }
    if (n == 1) {
      if (level.size() != 3 || !absl::ascii_isupper(level[0]) || !absl::ascii_isdigit(level[1]) ||
          !absl::ascii_isdigit(level[2])) {
        return Bad(text, absl::StrCat("format 2020: first level \"", level,
                                      "\" must be a capital letter and 2 digits (e.g. G09)"));
      }
    } else {
      bool digits = true;
      for (char c : level) {
        digits = digits && absl::ascii_isdigit(c);
      }
      if (!digits || level.size() < 2 || level.size() > 3) {
        return Bad(text, absl::StrCat("format 2020: level ", n, " \"", level,
                                      "\" must be 2 or 3 digits"));
      }
    }
    code.levels.emplace_back(level);
  }
  return code;
}

}  // namespace

absl::StatusOr<AgencyCode> ParseAgencyCode(absl::string_view text) {
  if (text.empty()) {
    return absl::InvalidArgumentError("agency code is empty");
  }
  // A legacy code starts with its three-digit lowest level; a 2020 code with
  // its top-level letter. Anything else is reported against the format its
  // length suggests.
  if (absl::ascii_isdigit(text[0])) {
    return ParseLegacy(text);
  }
  if (absl::ascii_isupper(text[0])) {
    return Parse2020(text);
  }
  return Bad(text, absl::StrCat("starts with '", std::string(1, text[0]),
                                "': neither legacy DDD.DD.DD.Lnn (a digit first) nor format "
                                "2020 (a capital letter first)"));
}

std::string FormatAgencyCode(const AgencyCode& code) {
  if (code.format == AgencyCodeFormat::kLegacy) {
    return absl::StrJoin(code.levels.rbegin(), code.levels.rend(), ".");
  }
  return absl::StrJoin(code.levels, ".");
}

absl::StatusOr<Identifier> MemberIdFor(absl::string_view instance, absl::string_view member_class,
                                       absl::string_view code) {
  AXIS_ASSIGN_OR_RETURN(AgencyCode parsed, ParseAgencyCode(code));
  (void)parsed;
  return ParseMemberId(absl::StrCat(instance, "/", member_class, "/", code));
}

}  // namespace axis::edxml
