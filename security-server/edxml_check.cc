#include "security-server/edxml_check.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "edxml/reader.h"
#include "edxml/validate.h"
#include "proto/identifiers.h"

namespace axis::ss {
namespace {

std::string OrganId(const std::optional<edxml::Organization>& o) {
  if (!o.has_value() || !o->organ_id.has_value()) {
    return "";
  }
  return std::string(absl::StripAsciiWhitespace(*o->organ_id));
}

}  // namespace

bool IsEdxmlDocumentType(const std::string& document_type) {
  return absl::AsciiStrToLower(document_type) == "edxml";
}

absl::StatusOr<edxml::Message> ReadEdxmlArrival(const std::string& path) {
  absl::StatusOr<edxml::Message> m = edxml::ReadMessageFile(path);
  if (!m.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("edXML: ", m.status().message()));
  }
  return m;
}

absl::Status CheckEdxmlArrival(const std::string& path, const Identifier& sender_member,
                               const Identifier& recipient_member) {
  absl::StatusOr<edxml::Message> m = ReadEdxmlArrival(path);
  if (!m.ok()) {
    return m.status();
  }
  return CheckEdxmlArrival(*m, sender_member, recipient_member);
}

absl::Status CheckEdxmlArrival(const edxml::Message& message, const Identifier& sender_member,
                               const Identifier& recipient_member, const std::string& status_code) {
  std::vector<edxml::Problem> problems = edxml::Validate(message);
  for (const edxml::Problem& p : problems) {
    if (p.severity == edxml::Severity::kError) {
      return absl::InvalidArgumentError(absl::StrCat("edXML is not valid: ", p.ToString()));
    }
  }
  const std::string& sender = sender_member.member_code();
  const std::string& recipient = recipient_member.member_code();
  if (message.kind == edxml::MessageKind::kStatus) {
    std::string from = OrganId(message.status.from);
    if (from != sender) {
      return absl::InvalidArgumentError(absl::StrCat(
          "edXML status is From \"", from, "\" but came from member ", FormatIdentifier(sender_member)));
    }
    std::string code = message.status.status_code.value_or("");
    if (!status_code.empty() && code != status_code) {
      return absl::InvalidArgumentError(absl::StrCat("edXML status has StatusCode \"", code,
                                                     "\" but its envelope says ", status_code));
    }
    return absl::OkStatus();
  }
  std::string from = OrganId(message.header.from);
  if (from != sender) {
    return absl::InvalidArgumentError(absl::StrCat(
        "edXML document is From \"", from, "\" but came from member ", FormatIdentifier(sender_member)));
  }
  for (const edxml::Organization& to : message.header.to) {
    if (OrganId(to) == recipient) {
      return absl::OkStatus();
    }
  }
  return absl::InvalidArgumentError(absl::StrCat("edXML document is not addressed To ",
                                                 recipient, " (member ",
                                                 FormatIdentifier(recipient_member), ")"));
}

}  // namespace axis::ss
