// validate.h: checks an edXML message against the rules of EDXML.md.
//
// Each problem names the element path, the offending value and the rule, so
// a clerk can find it. Rules, table-driven in validate.cc:
//   - required elements (From/OrganId, To, DocumentId, Code, PromulgationDate,
//     Subject; for status messages From, ResponseFor, StatusCode, Timestamp)
//   - lengths in characters: CodeNumber 11, CodeNotation 30, Place 50,
//     TypeName 100, Subject 500, Content 500, ToPlaces/Place 150,
//     TyperNotation 10, OrganName 200, OrganAdd 250, Email 100
//   - dates yyyy/MM/dd and timestamps yyyy/MM/dd HH:mm:ss (real calendar dates)
//   - DocumentId = {From/OrganId},{PromulgationDate},{CodeNumber}/{CodeNotation}
//   - Priority 0-4, SteeringType 0-2, BussinessDocType 0-3, Paper 0-1,
//     StatusCode one of 01 02 03 04 05 06 13 15 16
//   - agency codes (OrganId everywhere) in either format (agency_code.h)
//   - manifest References and Attachments agree one to one by ContentId,
//     each attachment has content, and its base64 was valid
// Warnings (not errors): weak or legacy signatures, unknown elements, a
// Reference whose AttachmentName differs from its Attachment's.
#ifndef AXIS_EDXML_VALIDATE_H_
#define AXIS_EDXML_VALIDATE_H_

#include <string>
#include <vector>

#include "edxml/message.h"

namespace axis::edxml {

enum class Severity { kError, kWarning };

// Problem is one rule a message breaks.
struct Problem {
  Severity severity = Severity::kError;
  std::string path;   // e.g. /edXML/edXMLEnvelope/edXMLHeader/MessageHeader/To[2]/OrganId
  std::string value;  // the offending value, empty when there is none
  std::string rule;   // e.g. "longer than 500 characters (512)"

  // ToString: `path: "value": rule`, or `path: rule` without a value, with a
  // "warning: " prefix for warnings.
  std::string ToString() const;
};

// Validate returns every problem of `message`, errors and warnings, in
// document order within each rule group. Thread-safe.
std::vector<Problem> Validate(const Message& message);

// HasErrors reports whether any problem is an error; FirstError returns the
// first one (pointing into `problems`), or nullptr.
bool HasErrors(const std::vector<Problem>& problems);
const Problem* FirstError(const std::vector<Problem>& problems);

// IsDate / IsDateTime check yyyy/MM/dd and yyyy/MM/dd HH:mm:ss.
bool IsDate(absl::string_view s);
bool IsDateTime(absl::string_view s);

}  // namespace axis::edxml

#endif  // AXIS_EDXML_VALIDATE_H_
