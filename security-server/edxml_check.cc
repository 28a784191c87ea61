#include "security-server/edxml_check.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
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
  return CheckEdxmlArrival(*m, Party{sender_member, {sender_member.member_code()}},
                           Party{recipient_member, {recipient_member.member_code()}});
}

absl::Status CheckEdxmlArrival(const edxml::Message& message, const Party& sender,
                               const Party& recipient, const std::string& status_code) {
  std::vector<edxml::Problem> problems = edxml::Validate(message);
  if (const edxml::Problem* p = edxml::FirstError(problems); p != nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("edXML is not valid: ", p->ToString()));
  }
  auto names = [](const Party& p, const std::string& code) {
    return std::find(p.codes.begin(), p.codes.end(), code) != p.codes.end();
  };
  if (message.kind == edxml::MessageKind::kStatus) {
    std::string from = OrganId(message.status.from);
    if (!names(sender, from)) {
      return absl::InvalidArgumentError(absl::StrCat("edXML status is From \"", from,
                                                     "\" but came from member ",
                                                     FormatIdentifier(sender.member)));
    }
    std::string code = message.status.status_code.value_or("");
    if (!status_code.empty() && code != status_code) {
      return absl::InvalidArgumentError(absl::StrCat("edXML status has StatusCode \"", code,
                                                     "\" but its envelope says ", status_code));
    }
    return absl::OkStatus();
  }
  std::string from = OrganId(message.header.from);
  if (!names(sender, from)) {
    return absl::InvalidArgumentError(absl::StrCat("edXML document is From \"", from,
                                                   "\" but came from member ",
                                                   FormatIdentifier(sender.member)));
  }
  for (const edxml::Organization& to : message.header.to) {
    if (names(recipient, OrganId(to))) {
      return absl::OkStatus();
    }
  }
  return absl::InvalidArgumentError(absl::StrCat("edXML document is not addressed To ",
                                                 absl::StrJoin(recipient.codes, " or "),
                                                 " (member ", FormatIdentifier(recipient.member),
                                                 ")"));
}

}  // namespace axis::ss
