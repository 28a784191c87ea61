#include "edxml/validate.h"

#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "edxml/agency_code.h"
#include "edxml/internal/xml_text.h"

namespace axis::edxml {
namespace {

enum class Format { kAny, kDate, kDateTime, kAgencyCode, kRange, kNonNegative, kStatusCode, kDocumentId };

// Rule applies to every occurrence of a field whose path, without indices
// and relative to its top structure, is `pattern`. `required` applies when
// the parent element is present.
struct Rule {
  const char* pattern;
  bool required;
  size_t max_chars;  // 0: no limit
  Format format;
  int lo = 0, hi = 0;  // kRange
};

constexpr Rule kRules[] = {
    {"MessageHeader/From/OrganId", true, 0, Format::kAgencyCode},
    {"MessageHeader/From/OrganName", false, 200, Format::kAny},
    {"MessageHeader/From/OrganAdd", false, 250, Format::kAny},
    {"MessageHeader/From/Email", false, 100, Format::kAny},
    {"MessageHeader/To/OrganId", true, 0, Format::kAgencyCode},
    {"MessageHeader/To/OrganName", false, 200, Format::kAny},
    {"MessageHeader/To/OrganAdd", false, 250, Format::kAny},
    {"MessageHeader/To/Email", false, 100, Format::kAny},
    {"MessageHeader/DocumentId", true, 0, Format::kDocumentId},
    {"MessageHeader/Code/CodeNumber", true, 11, Format::kAny},
    {"MessageHeader/Code/CodeNotation", true, 30, Format::kAny},
    {"MessageHeader/PromulgationInfo/Place", false, 50, Format::kAny},
    {"MessageHeader/PromulgationInfo/PromulgationDate", true, 0, Format::kDate},
    {"MessageHeader/DocumentType/TypeName", false, 100, Format::kAny},
    {"MessageHeader/Subject", true, 500, Format::kAny},
    {"MessageHeader/Content", false, 500, Format::kAny},
    {"MessageHeader/DueDate", false, 0, Format::kDate},
    {"MessageHeader/ToPlaces/Place", false, 150, Format::kAny},
    {"MessageHeader/OtherInfo/Priority", false, 0, Format::kRange, 0, 4},
    {"MessageHeader/OtherInfo/TyperNotation", false, 10, Format::kAny},
    {"MessageHeader/OtherInfo/PromulgationAmount", false, 0, Format::kNonNegative},
    {"MessageHeader/OtherInfo/PageAmount", false, 0, Format::kNonNegative},
    {"MessageHeader/SteeringType", false, 0, Format::kRange, 0, 2},
    {"MessageHeader/ResponseFor/OrganId", true, 0, Format::kAgencyCode},
    {"MessageHeader/ResponseFor/PromulgationDate", false, 0, Format::kDate},
    {"MessageHeader/ResponseFor/DocumentId", false, 0, Format::kDocumentId},
    {"TraceHeaderList/TraceHeader/OrganId", true, 0, Format::kAgencyCode},
    {"TraceHeaderList/TraceHeader/Timestamp", true, 0, Format::kDateTime},
    {"TraceHeaderList/Bussiness/DocumentId", false, 0, Format::kDocumentId},
    {"TraceHeaderList/Bussiness/BussinessDocType", true, 0, Format::kRange, 0, 3},
    {"TraceHeaderList/Bussiness/Paper", false, 0, Format::kRange, 0, 1},
    {"TraceHeaderList/Bussiness/StaffInfo/Email", false, 100, Format::kAny},
    {"TraceHeaderList/Bussiness/BussinessDocumentInfo/ReceiverList/Receiver/OrganId", true, 0,
     Format::kAgencyCode},
    {"TraceHeaderList/Bussiness/ReplacementInfoList/ReplacementInfo/DocumentId", true, 0,
     Format::kDocumentId},
    {"TraceHeaderList/Bussiness/ReplacementInfoList/ReplacementInfo/OrganIdList/OrganId", false, 0,
     Format::kAgencyCode},
    {"StatusHeader/From/OrganId", true, 0, Format::kAgencyCode},
    {"StatusHeader/From/OrganName", false, 200, Format::kAny},
    {"StatusHeader/ResponseFor/OrganId", true, 0, Format::kAgencyCode},
    {"StatusHeader/ResponseFor/PromulgationDate", false, 0, Format::kDate},
    {"StatusHeader/ResponseFor/DocumentId", true, 0, Format::kDocumentId},
    {"StatusHeader/StaffInfo/Email", false, 100, Format::kAny},
    {"StatusHeader/StatusCode", true, 0, Format::kStatusCode},
    {"StatusHeader/Timestamp", true, 0, Format::kDateTime},
    {"edXMLManifest/Reference/ContentId", true, 0, Format::kAny},
    {"Attachment/ContentId", true, 0, Format::kAny},
    {"Attachment/AttachmentName", true, 0, Format::kAny},
};

// FieldRef is one text field found in the message.
struct FieldRef {
  std::string path;
  std::string pattern;
  const std::string* value;  // nullptr: absent
};

// Collector is the message.h visitor that lists every text field of the
// present structures, absent ones included (so `required` can be checked).
class Collector {
 public:
  Collector(std::string path, std::string pattern, std::vector<FieldRef>* out)
      : path_(std::move(path)), pattern_(std::move(pattern)), out_(out) {}
  void Field(const char* name, const Text& t) {
    out_->push_back({ElementPath(path_, name), absl::StrCat(pattern_, "/", name),
                     t.has_value() ? &*t : nullptr});
  }
  void List(const char* name, const std::vector<std::string>& list) {
    for (size_t i = 0; i < list.size(); ++i) {
      out_->push_back({ElementPath(path_, name, i + 1), absl::StrCat(pattern_, "/", name), &list[i]});
    }
  }
  template <typename T>
  void Child(const char* name, const std::optional<T>& o) {
    if (o.has_value()) {
      Collector c(ElementPath(path_, name), absl::StrCat(pattern_, "/", name), out_);
      T::Visit(*o, c);
    }
  }
  template <typename T>
  void Children(const char* name, const std::vector<T>& v) {
    for (size_t i = 0; i < v.size(); ++i) {
      Collector c(ElementPath(path_, name, i + 1), absl::StrCat(pattern_, "/", name), out_);
      T::Visit(v[i], c);
    }
  }
  void Attribute(const char*, const Text&) {}

 private:
  std::string path_, pattern_;
  std::vector<FieldRef>* out_;
};

template <typename T>
void Collect(const T& t, const std::string& path, const std::string& pattern,
             std::vector<FieldRef>* out) {
  Collector c(path, pattern, out);
  T::Visit(t, c);
}

bool AllDigits(absl::string_view s) {
  for (char c : s) {
    if (!absl::ascii_isdigit(c)) {
      return false;
    }
  }
  return !s.empty();
}

int Num(absl::string_view s) {
  int v = 0;
  for (char c : s) {
    v = v * 10 + (c - '0');
  }
  return v;
}

class Checker {
 public:
  explicit Checker(std::vector<Problem>* out) : out_(out) {}

  void Error(std::string path, std::string value, std::string rule) {
    out_->push_back({Severity::kError, std::move(path), std::move(value), std::move(rule)});
  }
  void Warning(std::string path, std::string value, std::string rule) {
    out_->push_back({Severity::kWarning, std::move(path), std::move(value), std::move(rule)});
  }

  void Apply(const FieldRef& f) {
    for (const Rule& r : kRules) {
      if (f.pattern == r.pattern) {
        Apply(f, r);
        return;
      }
    }
  }

 private:
  void Apply(const FieldRef& f, const Rule& r) {
    if (f.value == nullptr || f.value->empty()) {
      if (r.required) {
        Error(f.path, "", f.value == nullptr ? "required element is missing" : "required value is empty");
      }
      return;
    }
    const std::string& v = *f.value;
    if (r.max_chars > 0) {
      size_t n = internal::Utf8Length(v);
      if (n > r.max_chars) {
        Error(f.path, v, absl::StrCat("longer than ", r.max_chars, " characters (", n, ")"));
      }
    }
    switch (r.format) {
      case Format::kAny:
        break;
      case Format::kDate:
        if (!IsDate(v)) {
          Error(f.path, v, "not a date yyyy/MM/dd");
        }
        break;
      case Format::kDateTime:
        if (!IsDateTime(v)) {
          Error(f.path, v, "not a timestamp yyyy/MM/dd HH:mm:ss");
        }
        break;
      case Format::kAgencyCode:
        if (absl::StatusOr<AgencyCode> c = ParseAgencyCode(v); !c.ok()) {
          Error(f.path, v, std::string(c.status().message()));
        }
        break;
      case Format::kRange:
        if (!AllDigits(v) || v.size() > 2 || Num(v) < r.lo || Num(v) > r.hi) {
          Error(f.path, v, absl::StrCat("must be an integer from ", r.lo, " to ", r.hi));
        }
        break;
      case Format::kNonNegative:
        if (!AllDigits(v) || v.size() > 9) {
          Error(f.path, v, "must be a non-negative integer");
        }
        break;
      case Format::kStatusCode:
        if (FindStatusCode(v) == nullptr) {
          Error(f.path, v, "unknown status code (want 01, 02, 03, 04, 05, 06, 13, 15 or 16)");
        }
        break;
      case Format::kDocumentId: {
        std::vector<std::string> parts = absl::StrSplit(v, absl::MaxSplits(',', 2));
        if (parts.size() != 3 || parts[2].find('/') == std::string::npos) {
          Error(f.path, v, "not {OrganId},{yyyy/MM/dd},{CodeNumber}/{CodeNotation}");
          break;
        }
        if (absl::StatusOr<AgencyCode> c = ParseAgencyCode(parts[0]); !c.ok()) {
          Error(f.path, v, absl::StrCat("first part: ", c.status().message()));
        }
        if (!IsDate(parts[1])) {
          Error(f.path, v, absl::StrCat("second part \"", parts[1], "\" is not a date yyyy/MM/dd"));
        }
        break;
      }
    }
  }

  std::vector<Problem>* out_;
};

const std::string* Get(const Text& t) { return t.has_value() ? &*t : nullptr; }

void CheckDocumentIdConsistency(const MessageHeader& h, Checker* c) {
  if (!h.document_id.has_value()) {
    return;
  }
  const std::string path = ElementPath(kMessageHeaderPath, "DocumentId");
  std::vector<std::string> parts = absl::StrSplit(*h.document_id, absl::MaxSplits(',', 2));
  if (parts.size() != 3) {
    return;  // the shape is reported by the rule table
  }
  const std::string* organ = h.from.has_value() ? Get(h.from->organ_id) : nullptr;
  if (organ != nullptr && parts[0] != *organ) {
    c->Error(path, *h.document_id,
             absl::StrCat("agency \"", parts[0], "\" differs from From/OrganId \"", *organ, "\""));
  }
  const std::string* date =
      h.promulgation_info.has_value() ? Get(h.promulgation_info->promulgation_date) : nullptr;
  if (date != nullptr && parts[1] != *date) {
    c->Error(path, *h.document_id,
             absl::StrCat("date \"", parts[1], "\" differs from PromulgationDate \"", *date, "\""));
  }
  if (h.code.has_value()) {
    std::string code = absl::StrCat(h.code->code_number.value_or(""), "/",
                                    h.code->code_notation.value_or(""));
    if (parts[2] != code) {
      c->Error(path, *h.document_id,
               absl::StrCat("code \"", parts[2], "\" differs from Code \"", code, "\""));
    }
  }
}

void CheckAttachments(const Message& m, Checker* c) {
  std::multimap<std::string, size_t> refs, atts;
  if (m.manifest.has_value()) {
    for (size_t i = 0; i < m.manifest->reference.size(); ++i) {
      if (const std::string* id = Get(m.manifest->reference[i].content_id); id && !id->empty()) {
        refs.emplace(*id, i);
      }
    }
  } else if (!m.attachments.empty()) {
    c->Error(kManifestPath, "", "attachments are present but the manifest is missing");
  }
  for (size_t i = 0; i < m.attachments.size(); ++i) {
    const Attachment& a = m.attachments[i];
    const std::string path = ElementPath(kAttachmentEncodedPath, "Attachment", i + 1);
    if (const std::string* id = Get(a.content_id); id && !id->empty()) {
      atts.emplace(*id, i);
    }
    if (!a.content.has_value()) {
      c->Error(ElementPath(path, "ContentTransferEncoded"), "", "required element is missing");
    } else if (!a.content->base64_error.empty()) {
      c->Error(ElementPath(path, "ContentTransferEncoded"), "",
               absl::StrCat("invalid base64: ", a.content->base64_error));
    }
  }
  for (const auto& [id, i] : refs) {
    const std::string path = ElementPath(ElementPath(kManifestPath, "Reference", i + 1), "ContentId");
    size_t n = atts.count(id);
    if (refs.count(id) > 1) {
      c->Error(path, id, "ContentId is listed more than once in the manifest");
    }
    if (n == 0) {
      c->Error(path, id, "no Attachment has this ContentId");
    } else {
      const Attachment& a = m.attachments[atts.find(id)->second];
      const Text& ref_name = m.manifest->reference[i].attachment_name;
      if (ref_name.has_value() && a.attachment_name.has_value() && *ref_name != *a.attachment_name) {
        c->Warning(ElementPath(ElementPath(kManifestPath, "Reference", i + 1), "AttachmentName"),
                   *ref_name,
                   absl::StrCat("differs from the Attachment's name \"", *a.attachment_name, "\""));
      }
    }
  }
  for (const auto& [id, i] : atts) {
    const std::string path =
        ElementPath(ElementPath(kAttachmentEncodedPath, "Attachment", i + 1), "ContentId");
    if (atts.count(id) > 1) {
      c->Error(path, id, "ContentId is used by more than one Attachment");
    }
    if (m.manifest.has_value() && refs.count(id) == 0) {
      c->Error(path, id, "attachment is not listed in the manifest");
    }
  }
}

}  // namespace

bool IsDate(absl::string_view s) {
  if (s.size() != 10 || s[4] != '/' || s[7] != '/' || !AllDigits(s.substr(0, 4)) ||
      !AllDigits(s.substr(5, 2)) || !AllDigits(s.substr(8, 2))) {
    return false;
  }
  int y = Num(s.substr(0, 4)), m = Num(s.substr(5, 2)), d = Num(s.substr(8, 2));
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (y < 1 || m < 1 || m > 12 || d < 1) {
    return false;
  }
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return d <= kDays[m - 1] + (m == 2 && leap ? 1 : 0);
}

bool IsDateTime(absl::string_view s) {
  if (s.size() != 19 || !IsDate(s.substr(0, 10)) || s[10] != ' ' || s[13] != ':' || s[16] != ':' ||
      !AllDigits(s.substr(11, 2)) || !AllDigits(s.substr(14, 2)) || !AllDigits(s.substr(17, 2))) {
    return false;
  }
  return Num(s.substr(11, 2)) < 24 && Num(s.substr(14, 2)) < 60 && Num(s.substr(17, 2)) < 60;
}

std::string Problem::ToString() const {
  std::string out = severity == Severity::kWarning ? "warning: " : "";
  absl::StrAppend(&out, path, ": ");
  if (!value.empty()) {
    std::string shown = value;
    if (internal::Utf8Length(shown) > 80) {
      size_t cut = 80;
      while (cut > 0 && (static_cast<unsigned char>(shown[cut]) & 0xC0) == 0x80) {
        --cut;
      }
      shown = absl::StrCat(shown.substr(0, cut), "…");
    }
    absl::StrAppend(&out, "\"", shown, "\": ");
  }
  absl::StrAppend(&out, rule);
  return out;
}

const Problem* FirstError(const std::vector<Problem>& problems) {
  for (const Problem& p : problems) {
    if (p.severity == Severity::kError) {
      return &p;
    }
  }
  return nullptr;
}

bool HasErrors(const std::vector<Problem>& problems) { return FirstError(problems) != nullptr; }

std::vector<Problem> Validate(const Message& m) {
  std::vector<Problem> problems;
  Checker c(&problems);
  std::vector<FieldRef> fields;
  if (m.kind == MessageKind::kDocument) {
    const MessageHeader& h = m.header;
    if (!h.from.has_value()) {
      c.Error(ElementPath(kMessageHeaderPath, "From"), "", "required element is missing");
    }
    if (h.to.empty()) {
      c.Error(ElementPath(kMessageHeaderPath, "To"), "", "at least one To is required");
    }
    if (!h.code.has_value()) {
      c.Error(ElementPath(kMessageHeaderPath, "Code"), "", "required element is missing");
    }
    if (!h.promulgation_info.has_value()) {
      c.Error(ElementPath(kMessageHeaderPath, "PromulgationInfo"), "", "required element is missing");
    }
    Collect(h, kMessageHeaderPath, "MessageHeader", &fields);
  } else {
    const StatusHeader& s = m.status;
    if (!s.from.has_value()) {
      c.Error(ElementPath(kMessageHeaderPath, "From"), "", "required element is missing");
    }
    if (!s.response_for.has_value()) {
      c.Error(ElementPath(kMessageHeaderPath, "ResponseFor"), "", "required element is missing");
    }
    Collect(s, kMessageHeaderPath, "StatusHeader", &fields);
  }
  if (m.trace_header_list.has_value()) {
    Collect(*m.trace_header_list, kTraceHeaderListPath, "TraceHeaderList", &fields);
  }
  if (m.manifest.has_value()) {
    Collect(*m.manifest, kManifestPath, "edXMLManifest", &fields);
  }
  for (size_t i = 0; i < m.attachments.size(); ++i) {
    Collect(m.attachments[i], ElementPath(kAttachmentEncodedPath, "Attachment", i + 1), "Attachment",
            &fields);
  }
  for (const FieldRef& f : fields) {
    c.Apply(f);
  }
  if (m.kind == MessageKind::kDocument) {
    CheckDocumentIdConsistency(m.header, &c);
  }
  CheckAttachments(m, &c);
  for (const SignatureInfo& sig : m.signatures) {
    std::string reason;
    if (IsWeakSignature(sig, &reason)) {
      c.Warning(sig.path, sig.signature_method,
                absl::StrCat("weak signature, not acceptable under the standard: ", reason));
    }
  }
  for (const UnknownElement& u : m.unknown) {
    c.Warning(u.path, "", "element not in the edXML model (kept as is)");
  }
  return problems;
}

}  // namespace axis::edxml
