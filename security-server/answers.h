// answers.h: the edXML status messages a security server sends by itself.
//
// ../shared/EDXML.md: the receiving side confirms arrival (status 01) and
// returns failing or misaddressed documents through the system (status 02).
// The recipient's security server does both without waiting for its DMS:
// when an edXML document is accepted it answers 01 in the same transaction
// as the inbox row (so a crash can neither lose the answer nor send it for
// a document that was not kept); when an edXML document from an
// authenticated peer fails its edXML or signature checks, it answers 02
// with the reason, and the transport refusal carries the same reason.
// Later statuses (03..06, or 02 after reading) come from the DMS.
//
// Each answer is an edXML status message (edxml/status.h) signed with the
// agency's seal (XAdES, commitment ProofOfReceipt, in edXMLHeader), sealed
// in an envelope like any message and relayed by the outbox. Its message id
// is a fresh one like any other (an id derived from the document would let
// a co-recipient, who knows the document id, take it first at the sender
// and block the answer). A 01 is made once because it is stored with the
// inbox row, which a re-delivery finds; a 02 is made only when no 02 about
// that document was sent before (Store::HasStatusFor).
#ifndef AXIS_SECURITY_SERVER_ANSWERS_H_
#define AXIS_SECURITY_SERVER_ANSWERS_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "edxml/message.h"
#include "security-server/batch_signer.h"
#include "security-server/store.h"
#include "security_server.pb.h"
#include "signer/keys.h"

namespace axis::ss {

// MakeStatusAnswer builds the status message `id` with `code` answering `document`
// (its envelope header; `edxml_header` is the edXML MessageHeader read from
// it), from the document's recipient to its sender, with `description`
// (empty: the code's meaning; cut to 2,000 bytes at a UTF-8 boundary),
// signs it with `seal`, writes it through `spool` (a status is small enough to
// travel in the message row: MessageRow::inline_payload), seals its envelope
// in a batch of `envelopes` (an envelope batch signer of the same seal) and
// returns the message, its outbox row and (appended to `log`) its "accepted"
// log record.
// INVALID_ARGUMENT when the status would not be valid edXML.
absl::StatusOr<Answer> MakeStatusAnswer(const std::string& id, const EnvelopeHeader& document,
                                        const edxml::MessageHeader& edxml_header,
                                        const std::string& code, const std::string& description,
                                        const signer::SigningKey& seal,
                                        BatchSigner& envelopes, Spool& spool, absl::Time now,
                                        std::vector<LogItem>* log);

}  // namespace axis::ss

#endif  // AXIS_SECURITY_SERVER_ANSWERS_H_
