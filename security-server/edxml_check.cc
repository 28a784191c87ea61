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

absl::Status CheckEdxmlArrival(const std::string& path, const Identifier& sender_member,
                               const Identifier& recipient_member) {
  absl::StatusOr<edxml::Message> m = edxml::ReadMessageFile(path);
  if (!m.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("edXML: ", m.status().message()));
  }
  std::vector<edxml::Problem> problems = edxml::Validate(*m);
  for (const edxml::Problem& p : problems) {
    if (p.severity == edxml::Severity::kError) {
      return absl::InvalidArgumentError(absl::StrCat("edXML is not valid: ", p.ToString()));
    }
  }
  const std::string& sender = sender_member.member_code();
  const std::string& recipient = recipient_member.member_code();
  if (m->kind == edxml::MessageKind::kStatus) {
    std::string from = OrganId(m->status.from);
    if (from != sender) {
      return absl::InvalidArgumentError(absl::StrCat(
          "edXML status is From \"", from, "\" but came from member ", FormatIdentifier(sender_member)));
    }
    return absl::OkStatus();
  }
  std::string from = OrganId(m->header.from);
  if (from != sender) {
    return absl::InvalidArgumentError(absl::StrCat(
        "edXML document is From \"", from, "\" but came from member ", FormatIdentifier(sender_member)));
  }
  for (const edxml::Organization& to : m->header.to) {
    if (OrganId(to) == recipient) {
      return absl::OkStatus();
    }
  }
  return absl::InvalidArgumentError(absl::StrCat("edXML document is not addressed To ",
                                                 recipient, " (member ",
                                                 FormatIdentifier(recipient_member), ")"));
}

}  // namespace axis::ss
