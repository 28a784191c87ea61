// writer.h: writes edXML messages exactly as EDXML.md shows them.
//
// Output is UTF-8 with an XML declaration, two-space indentation, and the
// `edXML:` prefix on every element of the envelope (declared on the
// namespace-less root `edXML`); AttachmentEncoded, Attachment and its
// children other than `edXML:ContentTransferEncoded` are unprefixed, as in
// the standard's samples. Only what the model holds is written, in the
// standard's order; UnknownElements are written back at the end of their
// parent element (text found between elements is not). Signature elements
// are never written: a re-built message has to be signed again (signer/).
//
// Attachment content is streamed from AttachmentContent::path and base64
// encoded in 48 KiB pieces (EVP_EncodeUpdate: 64-character lines), so memory
// does not grow with attachment size. The output is a pure function of the
// model and the attachment files: build -> read -> build gives the same bytes.
//
// Every text value is checked first: INVALID_ARGUMENT naming the element
// path when it is not UTF-8 or holds a character XML 1.0 cannot carry.
// Content rules (lengths, dates, codes) are Validate's business, not the
// writer's.
#ifndef AXIS_EDXML_WRITER_H_
#define AXIS_EDXML_WRITER_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "edxml/message.h"

namespace axis::edxml {

// WriteMessageFile writes `message` to a temporary file beside `path`, syncs
// it and renames it over `path`. Errors name the path (or the attachment
// file that could not be read).
absl::Status WriteMessageFile(const Message& message, absl::string_view path);

// WriteMessageFd writes `message` to an open descriptor (not closed).
absl::Status WriteMessageFd(const Message& message, int fd, absl::string_view what);

// BuildMessage returns the message's bytes; for small messages and tests.
absl::StatusOr<std::string> BuildMessage(const Message& message);

}  // namespace axis::edxml

#endif  // AXIS_EDXML_WRITER_H_
