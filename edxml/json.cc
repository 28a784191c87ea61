#include "edxml/json.h"

#include "absl/strings/str_cat.h"

namespace axis::edxml {
namespace {

// JsonVisitor is the message.h visitor that fills a JSON object.
class JsonVisitor {
 public:
  explicit JsonVisitor(nlohmann::json* j) : j_(j) {}
  void Field(const char* name, const Text& t) {
    if (t.has_value()) {
      (*j_)[name] = *t;
    }
  }
  void List(const char* name, const std::vector<std::string>& list) {
    if (!list.empty()) {
      (*j_)[name] = list;
    }
  }
  template <typename T>
  void Child(const char* name, const std::optional<T>& o) {
    if (o.has_value()) {
      (*j_)[name] = ToJson(*o);
    }
  }
  template <typename T>
  void Children(const char* name, const std::vector<T>& v) {
    if (v.empty()) {
      return;
    }
    nlohmann::json arr = nlohmann::json::array();
    for (const T& t : v) {
      arr.push_back(ToJson(t));
    }
    (*j_)[name] = std::move(arr);
  }
  void Attribute(const char* name, const Text& t) {
    if (t.has_value()) {
      (*j_)[absl::StrCat("@", name)] = *t;
    }
  }

  template <typename T>
  static nlohmann::json ToJson(const T& t) {
    nlohmann::json j = nlohmann::json::object();
    JsonVisitor v(&j);
    T::Visit(t, v);
    return j;
  }

 private:
  nlohmann::json* j_;
};

}  // namespace

nlohmann::json MessageToJson(const Message& m) {
  nlohmann::json j = nlohmann::json::object();
  j["kind"] = m.kind == MessageKind::kStatus ? "status" : "document";
  if (m.kind == MessageKind::kStatus) {
    j["MessageHeader"] = JsonVisitor::ToJson(m.status);
    if (m.status.status_code.has_value()) {
      if (const StatusCodeInfo* info = FindStatusCode(*m.status.status_code)) {
        j["status_meaning"] = info->english;
      }
    }
  } else {
    j["MessageHeader"] = JsonVisitor::ToJson(m.header);
  }
  if (m.trace_header_list.has_value()) {
    j["TraceHeaderList"] = JsonVisitor::ToJson(*m.trace_header_list);
  }
  if (m.manifest.has_value()) {
    j["edXMLManifest"] = JsonVisitor::ToJson(*m.manifest);
  }
  nlohmann::json atts = nlohmann::json::array();
  for (const Attachment& a : m.attachments) {
    nlohmann::json ja = JsonVisitor::ToJson(a);
    if (a.content.has_value()) {
      nlohmann::json c = {{"size", a.content->size}, {"sha256", a.content->sha256}};
      if (!a.content->path.empty()) {
        c["path"] = a.content->path;
      }
      if (!a.content->base64_error.empty()) {
        c["base64_error"] = a.content->base64_error;
      }
      ja["content"] = std::move(c);
    }
    atts.push_back(std::move(ja));
  }
  j["Attachments"] = std::move(atts);
  nlohmann::json sigs = nlohmann::json::array();
  for (const SignatureInfo& s : m.signatures) {
    std::string reason;
    bool weak = IsWeakSignature(s, &reason);
    nlohmann::json js = {{"path", s.path},
                         {"dsig_namespace", s.dsig_namespace},
                         {"signature_method", s.signature_method},
                         {"digest_methods", s.digest_methods},
                         {"weak", weak}};
    if (weak) {
      js["weak_reason"] = reason;
    }
    sigs.push_back(std::move(js));
  }
  j["Signatures"] = std::move(sigs);
  nlohmann::json unknown = nlohmann::json::array();
  for (const UnknownElement& u : m.unknown) {
    unknown.push_back({{"path", u.path}, {"xml", u.xml}});
  }
  j["Unknown"] = std::move(unknown);
  return j;
}

nlohmann::json ProblemsToJson(const std::vector<Problem>& problems) {
  nlohmann::json arr = nlohmann::json::array();
  for (const Problem& p : problems) {
    arr.push_back({{"severity", p.severity == Severity::kError ? "error" : "warning"},
                   {"path", p.path},
                   {"value", p.value},
                   {"rule", p.rule}});
  }
  return arr;
}

}  // namespace axis::edxml
