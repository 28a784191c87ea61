// json.h: an edXML message (and its problems) as JSON, for `axis edxml show
// --json` and `validate --json`. Element names are kept as JSON keys.
#ifndef AXIS_EDXML_JSON_H_
#define AXIS_EDXML_JSON_H_

#include <vector>

#include <nlohmann/json.hpp>

#include "edxml/message.h"
#include "edxml/validate.h"

namespace axis::edxml {

// MessageToJson: {"kind", "MessageHeader", "TraceHeaderList",
// "edXMLManifest", "Attachments": [... "content": {path, size, sha256,
// base64_error}], "Signatures": [... "weak", "weak_reason"], "Unknown"}.
nlohmann::json MessageToJson(const Message& message);

// ProblemsToJson: [{"severity", "path", "value", "rule"}].
nlohmann::json ProblemsToJson(const std::vector<Problem>& problems);

}  // namespace axis::edxml

#endif  // AXIS_EDXML_JSON_H_
