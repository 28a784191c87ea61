// edxml_check.h: what a security server checks in an edXML payload on
// arrival, beyond its signatures (../shared/EDXML.md).
//
// The envelope already proves which member sent the message and to whom;
// the edXML inside must say the same: its From/OrganId is the sending
// member's agency code, and (for a document) one of its To/OrganId is the
// recipient member's; a status message (edXML StatusCode) answers the
// recipient and carries the status code its envelope names. The message
// must also be valid edXML (Validate: no errors). A member may be named by
// any of its agency codes (its member code or one of the other codes the
// global configuration gives it: a legacy and a 2020 code).
#ifndef AXIS_SECURITY_SERVER_EDXML_CHECK_H_
#define AXIS_SECURITY_SERVER_EDXML_CHECK_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "edxml/message.h"
#include "identifiers.pb.h"

namespace axis::ss {

// IsEdxmlDocumentType says whether a message of this document type carries
// edXML ("edxml", any case).
bool IsEdxmlDocumentType(const std::string& document_type);

// ReadEdxmlArrival reads the edXML message at `path` (streaming, bounded,
// attachments decoded, checked and discarded). INVALID_ARGUMENT "edXML: ..."
// when it does not parse.
absl::StatusOr<edxml::Message> ReadEdxmlArrival(const std::string& path);

// Party is a member the envelope proves, with every agency code it is
// known by (ConfView::AgencyCodesOf).
struct Party {
  Identifier member;
  std::vector<std::string> codes;
};

// CheckEdxmlArrival checks a message read by ReadEdxmlArrival as above.
// `status_code`, when not empty, is the code the envelope gives a status
// message. OK when it passes; INVALID_ARGUMENT naming the first problem.
absl::Status CheckEdxmlArrival(const edxml::Message& message, const Party& sender,
                               const Party& recipient, const std::string& status_code = "");

// CheckEdxmlArrival reads the message at `path` and checks it, each member
// known by its member code only.
absl::Status CheckEdxmlArrival(const std::string& path, const Identifier& sender_member,
                               const Identifier& recipient_member);

}  // namespace axis::ss

#endif  // AXIS_SECURITY_SERVER_EDXML_CHECK_H_
