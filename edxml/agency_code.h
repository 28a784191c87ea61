// agency_code.h: Vietnamese agency codes (mã định danh, the edXML OrganId).
//
// Two formats are in use and both are accepted on input (EDXML.md):
//   legacy (QCVN 102:2016)      exactly 13 characters DDD.DD.DD.Lnn, read right
//                               to left: 000.00.00.G22 (the Office of Government)
//   2020 (QĐ 20/2020/QĐ-TTg)    up to 35 characters, dot-separated levels read
//                               left to right, the first a capital letter and
//                               two digits, each further level 2 or 3 digits:
//                               G09.01, H37.02.02, H01.151.01
// Format 2020 levels beyond "letter + 2 digits, then 2-3 digits" are not
// public in machine-readable form; the rule above covers every published
// example and is what axis writes.
#ifndef AXIS_EDXML_AGENCY_CODE_H_
#define AXIS_EDXML_AGENCY_CODE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "identifiers.pb.h"

namespace axis::edxml {

inline constexpr size_t kLegacyAgencyCodeLength = 13;
inline constexpr size_t kMaxAgencyCodeLength = 35;

enum class AgencyCodeFormat { kLegacy, k2020 };

// AgencyCode is a parsed agency code. `levels` lists the levels from the
// top-level unit down, whatever the printed order: 000.00.00.G22 gives
// {"G22", "00", "00", "000"}, H37.02.02 gives {"H37", "02", "02"}.
struct AgencyCode {
  AgencyCodeFormat format = AgencyCodeFormat::k2020;
  std::vector<std::string> levels;

  // TopLevel is the top-level unit, e.g. "G22" or "H37".
  const std::string& TopLevel() const { return levels.front(); }
};

// ParseAgencyCode reads either format. INVALID_ARGUMENT naming the code, the
// format it was read as, and the first character or level that breaks it.
absl::StatusOr<AgencyCode> ParseAgencyCode(absl::string_view text);

// FormatAgencyCode prints `code` in its own format; it gives back exactly the
// text ParseAgencyCode read.
std::string FormatAgencyCode(const AgencyCode& code);

// MemberIdFor returns the axis member identifier INSTANCE/CLASS/CODE for an
// agency code, e.g. ("VN", "GOV", "G09.01") -> VN/GOV/G09.01. The code is
// checked as an agency code first, then the whole text is parsed by
// ParseMemberId (proto/identifiers.h), the one place identifiers are read.
absl::StatusOr<Identifier> MemberIdFor(absl::string_view instance,
                                       absl::string_view member_class,
                                       absl::string_view code);

}  // namespace axis::edxml

#endif  // AXIS_EDXML_AGENCY_CODE_H_
