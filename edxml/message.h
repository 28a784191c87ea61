// message.h: the model of an edXML message (a document or a status message),
// element for element as EDXML.md describes it.
//
// Table-driven: every structure lists its children once, in document order,
// in a static Visit(self, visitor), which the reader, the writer, the JSON
// printer and the validator all walk. A visitor provides:
//   v.Field("Name", Text&)                  a text child
//   v.List("Name", std::vector<std::string>&) a repeated text child
//   v.Child("Name", std::optional<T>&)      a child with children of its own
//   v.Children("Name", std::vector<T>&)     a repeated such child
//   v.Attribute("name", Text&)              an attribute of the element itself
// Text is std::optional<std::string>: absent and present-but-empty differ, so
// a message read and written again keeps its empty elements.
//
// Not modelled as data: attachment content (streamed to files, see
// reader.h) and Signature elements (recorded as SignatureInfo, verified by
// the signer). Anything else the reader does not know is kept as an
// UnknownElement and written back by the writer at the end of its parent.
#ifndef AXIS_EDXML_MESSAGE_H_
#define AXIS_EDXML_MESSAGE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace axis::edxml {

inline constexpr char kEdxmlNs[] = "http://www.mic.gov.vn/TBT/QCVN_102_2016";
inline constexpr char kDsigNamespace[] = "http://www.w3.org/2000/09/xmldsig#";

using Text = std::optional<std::string>;

// Organization is the content of From and To.
struct Organization {
  Text organ_id, organization_in_charge, organ_name, organ_add, email, telephone, fax, website;
  template <typename Self, typename V>
  static void Visit(Self& s, V& v) {
    v.Field("OrganId", s.organ_id);
    v.Field("OrganizationInCharge", s.organization_in_charge);
    v.Field("OrganName", s.organ_name);
    v.Field("OrganAdd", s.organ_add);
    v.Field("Email", s.email);
    v.Field("Telephone", s.telephone);
    v.Field("Fax", s.fax);
    v.Field("Website", s.website);
  }
};

// Code is the document's number and notation: 123 / QĐ-TTg.
struct Code {
  Text code_number, code_notation;
  template <typename Self, typename V>
  static void Visit(Self& s, V& v) {
    v.Field("CodeNumber", s.code_number);
    v.Field("CodeNotation", s.code_notation);
  }
};

struct PromulgationInfo {
  Text place, promulgation_date;
  template <typename Self, typename V>
  static void Visit(Self& s, V& v) {
    v.Field("Place", s.place);
    v.Field("PromulgationDate", s.promulgation_date);
  }
};

struct DocumentType {
  Text type, type_detail, type_name;
  template <typename Self, typename V>
  static void Visit(Self& s, V& v) {
    v.Field("Type", s.type);
    v.Field("TypeDetail", s.type_detail);
    v.Field("TypeName", s.type_name);
  }
};

struct SignerInfo {
  Text competence, position, full_name;
  template <typename Self, typename V>
  static void Visit(Self& s, V& v) {
    v.Field("Competence", s.competence);
    v.Field("Position", s.position);
    v.Field("FullName", s.full_name);
  }
};

// ToPlaces is the distribution list (nơi nhận).
struct ToPlaces {
  std::vector<std::string> place;
  template <typename Self, typename V>
  static void Visit(Self& s, V& v) {
    v.List("Place", s.place);
  }
};

struct Appendixes {
  std::vector<std::string> appendix;
  template <typename Self, typename V>
  static void Visit(Self& s, V& v) {
    v.List("Appendix", s.appendix);
  }
};

struct OtherInfo {
  Text priority, sphere_of_promulgation, typer_notation, promulgation_amount, page_amount,
      direction;
  std::optional<Appendixes> appendixes;
  template <typename Self, typename V>
  static void Visit(Self& s, V& v) {
    v.Field("Priority", s.priority);
    v.Field("SphereOfPromulgation", s.sphere_of_promulgation);
    v.Field("TyperNotation", s.typer_notation);
    v.Field("PromulgationAmount", s.promulgation_amount);
    v.Field("PageAmount", s.page_amount);
    v.Field("Direction", s.direction);
    v.Child("Appendixes", s.appendixes);
  }
};

// ResponseFor names a document this one answers (or, in a status message,
// the document whose status is reported).
struct ResponseFor {
  Text organ_id, code, promulgation_date, document_id;
  template <typename Self, typename V>
  static void Visit(Self& s, V& v) {
    v.Field("OrganId", s.organ_id);
    v.Field("Code", s.code);
    v.Field("PromulgationDate", s.promulgation_date);
    v.Field("DocumentId", s.document_id);
  }
};

// MessageHeader is a document message's metadata.
struct MessageHeader {
  std::optional<Organization> from;
  std::vector<Organization> to;
  Text document_id;
  std::optional<Code> code;
  std::optional<PromulgationInfo> promulgation_info;
  std::optional<DocumentType> document_type;
  Text subject, content;
  std::optional<SignerInfo> signer_info;
  Text due_date;
  std::optional<ToPlaces> to_places;
  std::optional<OtherInfo> other_info;
  Text steering_type;
  std::vector<ResponseFor> response_for;
  template <typename Self, typename V>
  static void Visit(Self& s, V& v) {
    v.Child("From", s.from);
    v.Children("To", s.to);
    v.Field("DocumentId", s.document_id);
    v.Child("Code", s.code);
    v.Child("PromulgationInfo", s.promulgation_info);
    v.Child("DocumentType", s.document_type);
    v.Field("Subject", s.subject);
    v.Field("Content", s.content);
    v.Child("SignerInfo", s.signer_info);
    v.Field("DueDate", s.due_date);
    v.Child("ToPlaces", s.to_places);
    v.Child("OtherInfo", s.other_info);
    v.Field("SteeringType", s.steering_type);
    v.Children("ResponseFor", s.response_for);
  }
};

struct StaffInfo {
  Text department, staff, email, mobile;
  template <typename Self, typename V>
  static void Visit(Self& s, V& v) {
    v.Field("Department", s.department);
    v.Field("Staff", s.staff);
    v.Field("Email", s.email);
    v.Field("Mobile", s.mobile);
  }
};

// StatusHeader is a status message's MessageHeader.
struct StatusHeader {
  std::optional<Organization> from;
  std::optional<ResponseFor> response_for;
  std::optional<StaffInfo> staff_info;
  Text status_code, description, timestamp;
  template <typename Self, typename V>
  static void Visit(Self& s, V& v) {
    v.Child("From", s.from);
    v.Child("ResponseFor", s.response_for);
    v.Child("StaffInfo", s.staff_info);
    v.Field("StatusCode", s.status_code);
    v.Field("Description", s.description);
    v.Field("Timestamp", s.timestamp);
  }
};

struct TraceHeader {
  Text organ_id, timestamp;
  template <typename Self, typename V>
  static void Visit(Self& s, V& v) {
    v.Field("OrganId", s.organ_id);
    v.Field("Timestamp", s.timestamp);
  }
};

// Receiver, ReceiverList, BussinessDocumentInfo, OrganIdList, ReplacementInfo
// and ReplacementInfoList: EDXML.md marks these child names unsure.
struct Receiver {
  Text organ_id, receiver_type;
  template <typename Self, typename V>
  static void Visit(Self& s, V& v) {
    v.Field("OrganId", s.organ_id);
    v.Field("ReceiverType", s.receiver_type);
  }
};

struct ReceiverList {
  std::vector<Receiver> receiver;
  template <typename Self, typename V>
  static void Visit(Self& s, V& v) {
    v.Children("Receiver", s.receiver);
  }
};

struct BussinessDocumentInfo {
  std::optional<ReceiverList> receiver_list;
  template <typename Self, typename V>
  static void Visit(Self& s, V& v) {
    v.Child("ReceiverList", s.receiver_list);
  }
};

struct OrganIdList {
  std::vector<std::string> organ_id;
  template <typename Self, typename V>
  static void Visit(Self& s, V& v) {
    v.List("OrganId", s.organ_id);
  }
};

struct ReplacementInfo {
  Text document_id;
  std::optional<OrganIdList> organ_id_list;
  template <typename Self, typename V>
  static void Visit(Self& s, V& v) {
    v.Field("DocumentId", s.document_id);
    v.Child("OrganIdList", s.organ_id_list);
  }
};

struct ReplacementInfoList {
  std::vector<ReplacementInfo> replacement_info;
  template <typename Self, typename V>
  static void Visit(Self& s, V& v) {
    v.Children("ReplacementInfo", s.replacement_info);
  }
};

// Bussiness (the standard's spelling) is the business information.
struct Bussiness {
  Text document_id, bussiness_doc_type, bussiness_doc_reason, paper;
  std::optional<StaffInfo> staff_info;
  std::optional<BussinessDocumentInfo> bussiness_document_info;
  std::optional<ReplacementInfoList> replacement_info_list;
  template <typename Self, typename V>
  static void Visit(Self& s, V& v) {
    v.Field("DocumentId", s.document_id);
    v.Field("BussinessDocType", s.bussiness_doc_type);
    v.Field("BussinessDocReason", s.bussiness_doc_reason);
    v.Field("Paper", s.paper);
    v.Child("StaffInfo", s.staff_info);
    v.Child("BussinessDocumentInfo", s.bussiness_document_info);
    v.Child("ReplacementInfoList", s.replacement_info_list);
  }
};

struct TraceHeaderList {
  std::vector<TraceHeader> trace_header;
  std::optional<Bussiness> bussiness;
  template <typename Self, typename V>
  static void Visit(Self& s, V& v) {
    v.Children("TraceHeader", s.trace_header);
    v.Child("Bussiness", s.bussiness);
  }
};

// Reference is one manifest entry, tied to an Attachment by ContentId.
struct Reference {
  Text content_id, content_type, description, attachment_name;
  template <typename Self, typename V>
  static void Visit(Self& s, V& v) {
    v.Field("ContentId", s.content_id);
    v.Field("ContentType", s.content_type);
    v.Field("Description", s.description);
    v.Field("AttachmentName", s.attachment_name);
  }
};

struct Manifest {
  Text version;
  std::vector<Reference> reference;
  template <typename Self, typename V>
  static void Visit(Self& s, V& v) {
    v.Attribute("version", s.version);
    v.Children("Reference", s.reference);
  }
};

// AttachmentContent describes an attachment's ContentTransferEncoded.
// Reading fills every field (path only when the reader keeps attachments);
// writing reads the decoded bytes from `path`.
struct AttachmentContent {
  std::string path;           // the decoded file
  uint64_t size = 0;          // decoded bytes
  std::string sha256;         // lowercase hex of the decoded bytes
  std::string base64_error;   // empty when the base64 was valid
};

// Attachment is one AttachmentEncoded/Attachment. Its children other than
// ContentTransferEncoded are unprefixed, as in the standard's samples.
struct Attachment {
  Text content_id, attachment_name, description, content_type;
  std::optional<AttachmentContent> content;  // absent: no ContentTransferEncoded
  template <typename Self, typename V>
  static void Visit(Self& s, V& v) {
    v.Field("ContentId", s.content_id);
    v.Field("AttachmentName", s.attachment_name);
    v.Field("Description", s.description);
    v.Field("ContentType", s.content_type);
  }
};

// SignatureInfo records a Signature element seen in the header. It is not
// verified here (signer/ does that).
struct SignatureInfo {
  std::string path;                           // where it was, e.g. /edXML/.../Signature
  bool dsig_namespace = false;                // false: the legacy un-namespaced form
  std::string signature_method;               // SignatureMethod/@Algorithm
  std::vector<std::string> digest_methods;    // each Reference's DigestMethod/@Algorithm
};

// IsWeakSignature: true for the un-namespaced legacy form or an algorithm
// below the government minimum (anything with SHA-1 or MD5). `reason` gets
// the explanation.
bool IsWeakSignature(const SignatureInfo& sig, std::string* reason = nullptr);

// UnknownElement is an element the model has no place for, kept verbatim
// enough to be written back: `parent` is the parent's path, `xml` the
// element re-serialised from what was parsed (namespace declarations it
// needs included).
struct UnknownElement {
  std::string parent;  // e.g. /edXML/edXMLEnvelope/edXMLHeader/MessageHeader
  std::string path;    // e.g. /edXML/edXMLEnvelope/edXMLHeader/MessageHeader/Foo
  std::string xml;
};

enum class MessageKind { kDocument, kStatus };

// Message is a whole edXML message.
struct Message {
  MessageKind kind = MessageKind::kDocument;
  MessageHeader header;        // kind == kDocument
  StatusHeader status;         // kind == kStatus
  std::optional<TraceHeaderList> trace_header_list;
  std::vector<SignatureInfo> signatures;
  std::optional<Manifest> manifest;
  std::vector<Attachment> attachments;
  std::vector<UnknownElement> unknown;
};

// Paths used in reports and by UnknownElement.
inline constexpr char kRootPath[] = "/edXML";
inline constexpr char kEnvelopePath[] = "/edXML/edXMLEnvelope";
inline constexpr char kHeaderPath[] = "/edXML/edXMLEnvelope/edXMLHeader";
inline constexpr char kMessageHeaderPath[] = "/edXML/edXMLEnvelope/edXMLHeader/MessageHeader";
inline constexpr char kTraceHeaderListPath[] =
    "/edXML/edXMLEnvelope/edXMLHeader/TraceHeaderList";
inline constexpr char kBodyPath[] = "/edXML/edXMLEnvelope/edXMLBody";
inline constexpr char kManifestPath[] = "/edXML/edXMLEnvelope/edXMLBody/edXMLManifest";
inline constexpr char kAttachmentEncodedPath[] = "/edXML/AttachmentEncoded";

// StatusCodeMeaning returns the meaning of a status code (01 ... 16) in
// English and Vietnamese, or nullptr for an unknown code.
struct StatusCodeInfo {
  const char* code;
  const char* english;
  const char* vietnamese;
};
const StatusCodeInfo* FindStatusCode(absl::string_view code);

// ElementPath joins a parent path and a child name with an optional 1-based
// index: ("/a", "To", 2) -> "/a/To[2]"; index 0 means no index.
std::string ElementPath(absl::string_view parent, absl::string_view name, size_t index = 0);

}  // namespace axis::edxml

#endif  // AXIS_EDXML_MESSAGE_H_
