// status.h: building the status message with which an agency answers a
// document (../shared/EDXML.md, "Status messages"). Used by `axis edxml
// status` and by the security server, which answers arriving documents
// itself with 01 (arrived) and misaddressed or failing ones with 02.
#ifndef AXIS_EDXML_STATUS_H_
#define AXIS_EDXML_STATUS_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "edxml/message.h"

namespace axis::edxml {

// VietnamTime is the zone official documents are dated in (UTC+7, no
// daylight saving).
absl::TimeZone VietnamTime();

// StatusAnswer is what the answering agency says.
struct StatusAnswer {
  std::string code;         // 01 ... 16 (FindStatusCode)
  std::string from;         // the answering agency's code (From/OrganId)
  std::string description;  // empty: the code's Vietnamese meaning
  std::string staff;        // StaffInfo/Staff, optional
  std::string department;   // StaffInfo/Department, optional
};

// StatusFor builds the status message answering the document whose header
// is `document` at time `now`: ResponseFor names it (its From/OrganId, Code
// as "number/notation", PromulgationDate and DocumentId), Timestamp and one
// TraceHeader are `now` in Vietnam's time. INVALID_ARGUMENT for an unknown
// code. The result is not validated; callers run Validate.
absl::StatusOr<Message> StatusFor(const MessageHeader& document, const StatusAnswer& answer,
                                  absl::Time now);

}  // namespace axis::edxml

#endif  // AXIS_EDXML_STATUS_H_
