// xml_text.h: escaping and checking of text written as XML (edxml/ only).
#ifndef AXIS_EDXML_INTERNAL_XML_TEXT_H_
#define AXIS_EDXML_INTERNAL_XML_TEXT_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace axis::edxml::internal {

// AppendEscapedText appends `s` as element content: & < > escaped, and CR as
// &#13; so that it survives the parser's line-end normalisation.
void AppendEscapedText(absl::string_view s, std::string* out);

// AppendEscapedAttribute appends `s` as a double-quoted attribute value's
// content; tab, LF and CR become character references (attribute value
// normalisation would turn them into spaces).
void AppendEscapedAttribute(absl::string_view s, std::string* out);

// CheckXmlText: INVALID_ARGUMENT naming `where` when `s` is not valid UTF-8
// or holds a character XML 1.0 cannot carry (controls other than tab, LF, CR).
absl::Status CheckXmlText(absl::string_view where, absl::string_view s);

// Utf8Length counts code points of valid UTF-8 (bytes of invalid sequences
// count one each).
size_t Utf8Length(absl::string_view s);

}  // namespace axis::edxml::internal

#endif  // AXIS_EDXML_INTERNAL_XML_TEXT_H_
