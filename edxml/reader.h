// reader.h: reads edXML messages from untrusted input, streaming.
//
// The parser is libxml2's push parser with SAX2 callbacks, not xmlTextReader:
// the text reader builds each text node whole (xmlSAX2Characters appends every
// chunk to one node) and, without XML_PARSE_HUGE, refuses any text node over
// XML_MAX_TEXT_LENGTH (10 MB), so it can neither stream nor accept a large
// attachment. The push parser hands `characters` the text in pieces as the
// input arrives and discards consumed input, so memory is bounded by the
// 64 KiB read buffer plus what this reader keeps: every element except an
// attachment's ContentTransferEncoded goes into a small tree (bounded by
// ReadOptions' text, element and depth limits) that is then mapped onto the
// Message model; the ContentTransferEncoded text goes straight into an
// OpenSSL base64 decoder, a SHA-256 and a file.
//
// Parser options are XML_PARSE_NONET only: no entity substitution, no DTD
// loading or defaulted attributes, no XInclude, and not HUGE, which would lift
// libxml2's own limits. A DOCTYPE is refused as soon as the parser reports it,
// so entity declarations are never read; an undeclared entity reference is a
// well-formedness error.
//
// Tolerance (EDXML.md: tolerant on input): elements are matched by local
// name in the edXML namespace or in none, in any order. Not kept: comments,
// processing instructions, attributes the model has no place for (only
// edXMLManifest/@version is modelled); text between elements is reported as
// an UnknownElement ".../text()" but not written back. The root must be the
// namespace-less `edXML` of EDXML.md.
//
// Thread-compatible: each call uses its own parser.
#ifndef AXIS_EDXML_READER_H_
#define AXIS_EDXML_READER_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "edxml/message.h"

namespace axis::edxml {

// ReadOptions bounds what a message may hold and says where attachments go.
struct ReadOptions {
  // attachment_dir receives each decoded attachment, named after its
  // AttachmentName (reduced to a safe base name; "attachment-N" when there is
  // none; "N-name" when the name is taken). Files are never overwritten. Empty:
  // attachments are decoded, checked and hashed, then discarded.
  std::string attachment_dir;
  size_t max_text_bytes = size_t{16} << 20;         // all text and attribute values
                                                    // outside attachments
  size_t max_elements = 100000;                     // elements outside attachments
  int max_depth = 32;                               // element nesting
  size_t max_attachments = 1000;
  uint64_t max_attachment_bytes = uint64_t{8} << 30;  // decoded, all attachments
  // progress, when set, is called after each read block with the bytes read.
  std::function<void(uint64_t)> progress;
};

// ReadMessageFile reads the message in `path`. INVALID_ARGUMENT naming the
// file, line and reason when it is not well-formed XML, has a DOCTYPE, nests
// too deep or is not an edXML message; RESOURCE_EXHAUSTED over a limit;
// NOT_FOUND / PERMISSION_DENIED / INTERNAL for I/O errors (naming the path).
// Invalid base64 in an attachment is not an error here: it is recorded in
// AttachmentContent::base64_error (and the partial file removed) for
// Validate to report. Problems of content (lengths, dates, codes) are left to
// Validate.
absl::StatusOr<Message> ReadMessageFile(absl::string_view path, const ReadOptions& options = {});

// ReadMessageFd reads from an open descriptor until end of file; `what`
// names the input in messages. The descriptor is not closed.
absl::StatusOr<Message> ReadMessageFd(int fd, absl::string_view what,
                                      const ReadOptions& options = {});

// ReadMessageString reads a message held in memory.
absl::StatusOr<Message> ReadMessageString(absl::string_view xml, absl::string_view what = "message",
                                          const ReadOptions& options = {});

}  // namespace axis::edxml

#endif  // AXIS_EDXML_READER_H_
