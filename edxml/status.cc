#include "edxml/status.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace axis::edxml {

absl::TimeZone VietnamTime() { return absl::FixedTimeZone(7 * 3600); }

absl::StatusOr<Message> StatusFor(const MessageHeader& document, const StatusAnswer& answer,
                                  absl::Time now) {
  const StatusCodeInfo* info = FindStatusCode(answer.code);
  if (info == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "status code \"", answer.code, "\" is not one of 01, 02, 03, 04, 05, 06, 13, 15, 16"));
  }
  const std::string timestamp = absl::FormatTime("%Y/%m/%d %H:%M:%S", now, VietnamTime());
  Message m;
  m.kind = MessageKind::kStatus;
  StatusHeader& s = m.status;
  s.from.emplace().organ_id = answer.from;
  ResponseFor& r = s.response_for.emplace();
  if (document.from.has_value()) {
    r.organ_id = document.from->organ_id;
  }
  if (document.code.has_value()) {
    r.code = absl::StrCat(document.code->code_number.value_or(""), "/",
                          document.code->code_notation.value_or(""));
  }
  if (document.promulgation_info.has_value()) {
    r.promulgation_date = document.promulgation_info->promulgation_date;
  }
  r.document_id = document.document_id;
  if (!answer.staff.empty() || !answer.department.empty()) {
    StaffInfo& st = s.staff_info.emplace();
    if (!answer.department.empty()) {
      st.department = answer.department;
    }
    if (!answer.staff.empty()) {
      st.staff = answer.staff;
    }
  }
  s.status_code = answer.code;
  s.description = answer.description.empty() ? std::string(info->vietnamese) : answer.description;
  s.timestamp = timestamp;
  m.trace_header_list.emplace();
  TraceHeader& hop = m.trace_header_list->trace_header.emplace_back();
  hop.organ_id = answer.from;
  hop.timestamp = timestamp;
  return m;
}

}  // namespace axis::edxml
