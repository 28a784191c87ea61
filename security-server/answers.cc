#include "security-server/answers.h"

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "edxml/status.h"
#include "edxml/validate.h"
#include "edxml/writer.h"
#include "proto/identifiers.h"
#include "security-server/trust.h"
#include "signer/sign.h"

namespace axis::ss {
namespace {

constexpr size_t kMaxDescription = 2000;

// CutUtf8 shortens `s` to at most `max` bytes without splitting a character.
std::string CutUtf8(std::string s, size_t max) {
  if (s.size() <= max) {
    return s;
  }
  size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) {
    --n;
  }
  s.resize(n);
  return s;
}

}  // namespace

absl::StatusOr<Answer> MakeStatusAnswer(const std::string& id, const EnvelopeHeader& document,
                                        const edxml::MessageHeader& edxml_header,
                                        const std::string& code, const std::string& description,
                                        const signer::SigningKey& seal,
                                        BatchSigner& envelopes, Spool& spool, absl::Time now,
                                        std::vector<LogItem>* log) {
  edxml::StatusAnswer a;
  a.code = code;
  a.from = document.recipient().member_code();
  a.description = CutUtf8(description, kMaxDescription);
  AXIS_ASSIGN_OR_RETURN(edxml::Message status, edxml::StatusFor(edxml_header, a, now));
  std::vector<edxml::Problem> problems = edxml::Validate(status);
  if (const edxml::Problem* p = edxml::FirstError(problems); p != nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("status ", code, " answering ",
                                                   document.message_id(),
                                                   " would not be valid edXML: ", p->ToString()));
  }
  AXIS_ASSIGN_OR_RETURN(std::string xml, edxml::BuildMessage(status));
  signer::SignOptions so;
  so.signing_time = now;
  so.commitment = signer::kProofOfReceipt;
  so.parent_ns = edxml::kEdxmlNs;
  so.parent_name = "edXMLHeader";
  AXIS_ASSIGN_OR_RETURN(std::string signed_xml, signer::SignDocument(xml, seal, so));
  // A status is small: it travels in the database row (Spool::kInlineMax),
  // in the same transaction, with no file to write and sync.
  AXIS_ASSIGN_OR_RETURN(std::unique_ptr<Spool::Writer> w, spool.NewWriter(/*may_inline=*/true));
  AXIS_RETURN_IF_ERROR(w->Append(signed_xml));
  AXIS_ASSIGN_OR_RETURN(std::string digest, w->Finish());
  std::shared_ptr<const std::string> small;
  if (w->inlined()) {
    small = std::make_shared<const std::string>(std::move(signed_xml));
  }

  Answer out;
  MessageRow& m = out.message;
  m.id = id;
  m.sender = FormatIdentifier(document.recipient());
  m.document_type = "status";
  m.content_type = "application/xml";
  m.in_reply_to = document.message_id();
  m.status_code = code;
  m.status_text = *status.status.description;
  m.payload_sha256 = digest;
  m.payload_size = w->size();
  m.created_at = now;
  if (small != nullptr) {
    m.inline_payload = *small;
  }

  AXIS_ASSIGN_OR_RETURN(out.rows, SealOutgoing(m, document.recipient(), {document.sender()},
                                                envelopes, log));
  out.rows[0].payload = small;
  return out;
}

}  // namespace axis::ss
