#include "edxml/reader.h"

#include <fcntl.h>
#include <libxml/SAX2.h>
#include <libxml/parser.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "common/c_ptr.h"
#include "common/files.h"
#include "common/openssl_error.h"
#include "common/status_macros.h"
#include "edxml/internal/xml_text.h"

namespace axis::edxml {
namespace {

constexpr size_t kReadBlock = 64 * 1024;
constexpr size_t kWriteBlock = 256 * 1024;
// EVP_DecodeUpdate takes an int length; feed it in pieces this big.
constexpr size_t kDecodePiece = 48 * 1024;

std::string Hex(const unsigned char* p, size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * n);
  for (size_t i = 0; i < n; ++i) {
    out.push_back(kDigits[p[i] >> 4]);
    out.push_back(kDigits[p[i] & 15]);
  }
  return out;
}

std::string Str(const xmlChar* s) { return s == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(s)); }

// Node is the reader's own small tree: an element or a text node.
struct Node {
  bool is_text = false;
  std::string text;  // text nodes only
  std::string prefix, local, ns;
  std::vector<std::pair<std::string, std::string>> attrs;     // qualified name, value
  std::vector<std::pair<std::string, std::string>> ns_decls;  // prefix, URI
  std::vector<std::unique_ptr<Node>> children;
  Node* parent = nullptr;
  std::optional<AttachmentContent> content;  // a streamed ContentTransferEncoded
  bool taken = false;

  bool IsElement(absl::string_view name) const {
    return !is_text && local == name && (ns.empty() || ns == kEdxmlNs);
  }
  std::string QName() const { return prefix.empty() ? local : absl::StrCat(prefix, ":", local); }
  // DirectText concatenates the text children.
  std::string DirectText() const {
    std::string s;
    for (const auto& c : children) {
      if (c->is_text) {
        s += c->text;
      }
    }
    return s;
  }
  Node* FirstChild(absl::string_view name) const {
    for (const auto& c : children) {
      if (c->IsElement(name)) {
        return c.get();
      }
    }
    return nullptr;
  }
};

bool IsXmlSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
bool IsBlank(absl::string_view s) {
  for (char c : s) {
    if (!IsXmlSpace(c)) {
      return false;
    }
  }
  return true;
}

// SerializeNode re-creates XML for an element the model does not know. The
// namespace of each element is declared where it is not already in scope in
// the serialised subtree (edXML's own prefix excepted: the root declares it).
void SerializeNode(const Node& n, std::vector<std::pair<std::string, std::string>>* scope,
                   std::string* out) {
  if (n.is_text) {
    internal::AppendEscapedText(n.text, out);
    return;
  }
  const std::string qname = n.QName();
  absl::StrAppend(out, "<", qname);
  size_t mark = scope->size();
  for (const auto& [prefix, uri] : n.ns_decls) {
    absl::StrAppend(out, " xmlns", prefix.empty() ? "" : ":", prefix, "=\"");
    internal::AppendEscapedAttribute(uri, out);
    out->push_back('"');
    scope->emplace_back(prefix, uri);
  }
  bool in_scope = n.ns.empty() || (n.prefix == "edXML" && n.ns == kEdxmlNs);
  for (auto it = scope->rbegin(); !in_scope && it != scope->rend(); ++it) {
    if (it->first == n.prefix) {
      in_scope = it->second == n.ns;
      break;
    }
  }
  if (!in_scope) {
    absl::StrAppend(out, " xmlns", n.prefix.empty() ? "" : ":", n.prefix, "=\"");
    internal::AppendEscapedAttribute(n.ns, out);
    out->push_back('"');
    scope->emplace_back(n.prefix, n.ns);
  }
  for (const auto& [name, value] : n.attrs) {
    absl::StrAppend(out, " ", name, "=\"");
    internal::AppendEscapedAttribute(value, out);
    out->push_back('"');
  }
  if (n.children.empty()) {
    out->append("/>");
  } else {
    out->push_back('>');
    for (const auto& c : n.children) {
      SerializeNode(*c, scope, out);
    }
    absl::StrAppend(out, "</", qname, ">");
  }
  scope->resize(mark);
}

std::string Serialize(const Node& n) {
  std::vector<std::pair<std::string, std::string>> scope;
  std::string out;
  SerializeNode(n, &scope, &out);
  return out;
}

// AttachmentSink decodes one ContentTransferEncoded while it is parsed:
// base64 text in, decoded bytes to a file (or nowhere) and a SHA-256.
// Base64 problems are recorded in content.base64_error (decoding stops, the
// partial file is removed); only I/O and limit errors are returned.
class AttachmentSink {
 public:
  absl::Status Open(const std::string& dir, uint64_t* total, uint64_t limit) {
    total_ = total;
    limit_ = limit;
    dec_.reset(EVP_ENCODE_CTX_new());
    sha_.reset(EVP_MD_CTX_new());
    if (dec_ == nullptr || sha_ == nullptr || EVP_DigestInit_ex(sha_.get(), EVP_sha256(), nullptr) != 1) {
      return OpenSslError("base64 decoder or SHA-256", absl::StatusCode::kInternal);
    }
    EVP_DecodeInit(dec_.get());
    if (!dir.empty()) {
      std::string tmpl = absl::StrCat(dir, "/.axis-attachment-XXXXXX");
      fd_ = ::mkostemp(tmpl.data(), O_CLOEXEC);
      if (fd_ < 0) {
        return PosixError(dir, "create attachment file", errno);
      }
      content.path = tmpl;
    }
    buf_.reserve(kWriteBlock + kDecodePiece);
    return absl::OkStatus();
  }

  ~AttachmentSink() {
    if (fd_ >= 0) {
      ::close(fd_);
      ::unlink(content.path.c_str());
    }
  }

  absl::Status Feed(const char* p, size_t n) {
    if (!content.base64_error.empty()) {
      return absl::OkStatus();
    }
    // EVP_DecodeUpdate skips characters it should refuse ('-' ends the
    // input) and cannot see padding split across calls, so the alphabet and
    // the padding rules are checked here; EVP only decodes.
    for (size_t i = 0; i < n; ++i) {
      char c = p[i];
      if (IsXmlSpace(c)) {
        continue;
      }
      uint64_t at = chars_ + 1;
      if (c == '=') {
        if (++pad_ > 2) {
          return Bad(absl::StrCat("more than two '=' at base64 character ", at));
        }
      } else if (absl::ascii_isalnum(c) || c == '+' || c == '/') {
        if (pad_ > 0) {
          return Bad(absl::StrCat("data after '=' padding at base64 character ", at));
        }
      } else {
        return Bad(absl::StrFormat("character 0x%02X at base64 character %d is not base64",
                                   static_cast<unsigned char>(c), at));
      }
      ++chars_;
    }
    unsigned char out[kDecodePiece];
    for (size_t off = 0; off < n; off += kDecodePiece / 2) {
      int inl = static_cast<int>(std::min(kDecodePiece / 2, n - off));
      int outl = 0;
      if (EVP_DecodeUpdate(dec_.get(), out, &outl,
                           reinterpret_cast<const unsigned char*>(p + off), inl) < 0) {
        DrainOpenSslErrors();
        return Bad(absl::StrCat("malformed base64 near base64 character ", chars_));
      }
      AXIS_RETURN_IF_ERROR(Emit(out, outl));
    }
    return absl::OkStatus();
  }

  absl::Status Finish() {
    if (content.base64_error.empty()) {
      if (chars_ % 4 != 0) {
        return Bad(absl::StrCat("base64 text of ", chars_,
                                " characters is not a multiple of 4 (truncated?)"));
      }
      unsigned char out[64];
      int outl = 0;
      if (EVP_DecodeFinal(dec_.get(), out, &outl) != 1) {
        DrainOpenSslErrors();
        return Bad("base64 text ends in the middle of a group");
      }
      AXIS_RETURN_IF_ERROR(Emit(out, outl));
      AXIS_RETURN_IF_ERROR(Flush());
    }
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (EVP_DigestFinal_ex(sha_.get(), md, &mdlen) != 1) {
      return OpenSslError("SHA-256", absl::StatusCode::kInternal);
    }
    content.sha256 = Hex(md, mdlen);
    if (fd_ >= 0) {
      int fd = fd_;
      fd_ = -1;
      if (::close(fd) != 0) {
        ::unlink(content.path.c_str());
        return PosixError(content.path, "close", errno);
      }
    }
    return absl::OkStatus();
  }

  AttachmentContent content;

 private:
  absl::Status Bad(std::string why) {
    content.base64_error = std::move(why);
    if (fd_ >= 0) {
      ::close(fd_);
      fd_ = -1;
      ::unlink(content.path.c_str());
    }
    content.path.clear();
    return absl::OkStatus();
  }

  absl::Status Emit(const unsigned char* p, int n) {
    if (n <= 0) {
      return absl::OkStatus();
    }
    content.size += static_cast<uint64_t>(n);
    *total_ += static_cast<uint64_t>(n);
    if (*total_ > limit_) {
      return absl::ResourceExhaustedError(
          absl::StrCat("attachments decode to more than ", limit_, " bytes"));
    }
    if (EVP_DigestUpdate(sha_.get(), p, static_cast<size_t>(n)) != 1) {
      return OpenSslError("SHA-256", absl::StatusCode::kInternal);
    }
    if (fd_ >= 0) {
      buf_.append(reinterpret_cast<const char*>(p), static_cast<size_t>(n));
      if (buf_.size() >= kWriteBlock) {
        return Flush();
      }
    }
    return absl::OkStatus();
  }

  absl::Status Flush() {
    size_t off = 0;
    while (fd_ >= 0 && off < buf_.size()) {
      ssize_t w = ::write(fd_, buf_.data() + off, buf_.size() - off);
      if (w < 0) {
        if (errno == EINTR) {
          continue;
        }
        return PosixError(content.path, "write", errno);
      }
      off += static_cast<size_t>(w);
    }
    buf_.clear();
    return absl::OkStatus();
  }

  UniquePtr<EVP_ENCODE_CTX> dec_;
  UniquePtr<EVP_MD_CTX> sha_;
  int fd_ = -1;
  std::string buf_;
  uint64_t chars_ = 0;  // base64 characters seen (whitespace excluded)
  int pad_ = 0;
  uint64_t* total_ = nullptr;
  uint64_t limit_ = 0;
};

// SafeFileName reduces an AttachmentName to a base name that cannot leave
// the output directory; empty when nothing usable is left.
std::string SafeFileName(absl::string_view name) {
  size_t slash = name.find_last_of("/\\");
  if (slash != absl::string_view::npos) {
    name.remove_prefix(slash + 1);
  }
  std::string out;
  for (char c : name) {
    unsigned char u = static_cast<unsigned char>(c);
    out.push_back(u < 0x20 || u == 0x7F || c == ':' ? '_' : c);
  }
  if (out.size() > 200) {
    size_t cut = 200;
    while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) {
      --cut;
    }
    out.resize(cut);
  }
  if (out == "." || out == "..") {
    return "";
  }
  if (!out.empty() && out[0] == '.') {
    out = absl::StrCat("_", out);
  }
  return out;
}

// TreeReader maps one element of the tree onto a model structure (the
// visitor of message.h). Children it does not take become UnknownElements.
class TreeReader {
 public:
  TreeReader(Node* node, std::string path, Message* m) : node_(node), path_(std::move(path)), m_(m) {}

  void Field(const char* name, Text& t) {
    if (Node* c = Take(name)) {
      t = TextOf(c, ElementPath(path_, name));
    }
  }
  void List(const char* name, std::vector<std::string>& list) {
    while (Node* c = Take(name)) {
      list.push_back(TextOf(c, ElementPath(path_, name, list.size() + 1)));
    }
  }
  template <typename T>
  void Child(const char* name, std::optional<T>& o) {
    if (Node* c = Take(name)) {
      o.emplace();
      ReadInto(c, ElementPath(path_, name), *o);
    }
  }
  template <typename T>
  void Children(const char* name, std::vector<T>& v) {
    while (Node* c = Take(name)) {
      v.emplace_back();
      ReadInto(c, ElementPath(path_, name, v.size()), v.back());
    }
  }
  void Attribute(const char* name, Text& t) {
    for (const auto& [n, value] : node_->attrs) {
      if (n == name) {
        t = value;
      }
    }
  }

  template <typename T>
  void ReadInto(Node* n, std::string path, T& t) {
    TreeReader r(n, std::move(path), m_);
    T::Visit(t, r);
    r.Finish();
  }

  // Take returns the next element named `name` not yet taken.
  Node* Take(absl::string_view name) {
    for (auto& c : node_->children) {
      if (!c->taken && c->IsElement(name)) {
        c->taken = true;
        return c.get();
      }
    }
    return nullptr;
  }

  // Finish reports every child not taken, and text in an element that holds
  // elements.
  void Finish() { ReportRest(node_, path_, m_); }

  static void ReportRest(Node* node, const std::string& path, Message* m) {
    for (auto& c : node->children) {
      if (c->taken) {
        continue;
      }
      if (c->is_text) {
        if (!IsBlank(c->text)) {
          m->unknown.push_back({path, absl::StrCat(path, "/text()"), Serialize(*c)});
        }
        continue;
      }
      m->unknown.push_back({path, ElementPath(path, c->QName()), Serialize(*c)});
    }
  }

 private:
  // TextOf: the element's text; element children inside a text field are
  // reported.
  std::string TextOf(Node* c, const std::string& path) {
    for (auto& gc : c->children) {
      if (!gc->is_text) {
        m_->unknown.push_back({path, ElementPath(path, gc->QName()), Serialize(*gc)});
      }
    }
    return c->DirectText();
  }

  Node* node_;
  std::string path_;
  Message* m_;
};

void FindDescendants(const Node& n, absl::string_view local, std::vector<const Node*>* out) {
  for (const auto& c : n.children) {
    if (c->is_text) {
      continue;
    }
    if (c->local == local) {
      out->push_back(c.get());
    }
    FindDescendants(*c, local, out);
  }
}

std::string Attr(const Node& n, absl::string_view name) {
  for (const auto& [k, v] : n.attrs) {
    if (k == name) {
      return v;
    }
  }
  return "";
}

SignatureInfo ReadSignature(const Node& n, const std::string& path) {
  SignatureInfo sig;
  sig.path = path;
  sig.dsig_namespace = n.ns == kDsigNamespace;
  std::vector<const Node*> found;
  FindDescendants(n, "SignatureMethod", &found);
  if (!found.empty()) {
    sig.signature_method = Attr(*found.front(), "Algorithm");
  }
  found.clear();
  FindDescendants(n, "DigestMethod", &found);
  for (const Node* d : found) {
    sig.digest_methods.push_back(Attr(*d, "Algorithm"));
  }
  return sig;
}

// MapMessage turns the tree into a Message.
absl::Status MapMessage(Node* root, absl::string_view what, Message* m) {
  if (!root->IsElement("edXML")) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, ": root element is ", root->QName(), ", want edXML (namespace-less, as in QCVN 102:2016)"));
  }
  const std::string root_path = ElementPath("", root->local);
  // Signatures may sit in the header (the standard's place) or, in some
  // samples, directly under the envelope or root.
  auto take_signatures = [m](Node* parent, const std::string& path) {
    size_t i = 0;
    for (auto& c : parent->children) {
      if (!c->is_text && !c->taken && c->local == "Signature" &&
          (c->ns.empty() || c->ns == kDsigNamespace)) {
        c->taken = true;
        m->signatures.push_back(ReadSignature(*c, ElementPath(path, "Signature", ++i)));
      }
    }
  };
  TreeReader r(root, root_path, m);
  bool any = false;
  while (Node* env = r.Take("edXMLEnvelope")) {
    if (any) {  // a second envelope is not ours to interpret
      env->taken = false;
      break;
    }
    any = true;
    const std::string env_path = ElementPath(root_path, "edXMLEnvelope");
    TreeReader er(env, env_path, m);
    if (Node* header = er.Take("edXMLHeader")) {
      const std::string header_path = ElementPath(env_path, "edXMLHeader");
      TreeReader hr(header, header_path, m);
      if (Node* mh = hr.Take("MessageHeader")) {
        const std::string mh_path = ElementPath(header_path, "MessageHeader");
        if (mh->FirstChild("StatusCode") != nullptr) {
          m->kind = MessageKind::kStatus;
          hr.ReadInto(mh, mh_path, m->status);
        } else {
          hr.ReadInto(mh, mh_path, m->header);
        }
      }
      hr.Child("TraceHeaderList", m->trace_header_list);
      take_signatures(header, header_path);
      hr.Finish();
    }
    if (Node* body = er.Take("edXMLBody")) {
      const std::string body_path = ElementPath(env_path, "edXMLBody");
      TreeReader br(body, body_path, m);
      br.Child("edXMLManifest", m->manifest);
      br.Finish();
    }
    take_signatures(env, env_path);
    er.Finish();
  }
  if (!any) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": no edXMLEnvelope under the root"));
  }
  if (Node* enc = r.Take("AttachmentEncoded")) {
    const std::string enc_path = ElementPath(root_path, "AttachmentEncoded");
    TreeReader ar(enc, enc_path, m);
    while (Node* a = ar.Take("Attachment")) {
      m->attachments.emplace_back();
      Attachment& att = m->attachments.back();
      const std::string a_path = ElementPath(enc_path, "Attachment", m->attachments.size());
      TreeReader one(a, a_path, m);
      Attachment::Visit(att, one);
      if (Node* cte = one.Take("ContentTransferEncoded")) {
        att.content = cte->content.value_or(AttachmentContent{});
      }
      one.Finish();
    }
    ar.Finish();
  }
  take_signatures(root, root_path);
  r.Finish();
  return absl::OkStatus();
}

// Parser drives libxml2's push parser with SAX2 callbacks into the tree.
class Parser {
 public:
  Parser(absl::string_view what, const ReadOptions& options) : what_(what), options_(options) {}

  // A decoded file the returned Message does not report is removed: every
  // file of a failed read, and on success any the model has no place for
  // (a second ContentTransferEncoded, an Attachment outside
  // AttachmentEncoded).
  ~Parser() {
    // The generic error handler points at this parser while it runs.
    xmlSetGenericErrorFunc(nullptr, &Parser::IgnoreGenericError);
    if (root_ != nullptr) {
      RemoveUnreported(root_.get());
    }
  }

  absl::Status Start() {
    xmlInitParser();
    xmlSAXHandler sax;
    std::memset(&sax, 0, sizeof(sax));
    sax.initialized = XML_SAX2_MAGIC;
    sax.startElementNs = &Parser::OnStart;
    sax.endElementNs = &Parser::OnEnd;
    sax.characters = &Parser::OnCharacters;
    // With blanks kept this is not called for text, but route it the same
    // way so no text is ever lost.
    sax.ignorableWhitespace = &Parser::OnCharacters;
    sax.cdataBlock = &Parser::OnCharacters;
    sax.internalSubset = &Parser::OnDoctype;
    sax.externalSubset = &Parser::OnDoctype;
    sax.serror = &Parser::OnError;
    // No getEntity handler: with no DTD every entity other than the five
    // predefined ones is undeclared, a fatal error.
    ctxt_.reset(xmlCreatePushParserCtxt(&sax, this, nullptr, 0, what_.c_str()));
    if (ctxt_ == nullptr) {
      return absl::InternalError(absl::StrCat(what_, ": cannot create the XML parser"));
    }
    xmlCtxtUseOptions(ctxt_.get(), XML_PARSE_NONET);
    // libxml2 2.9 reports encoding-conversion errors through the generic
    // handler (stderr by default), not the context's: catch them here so
    // untrusted input never writes to our stderr and the error has its text.
    // The handler is per thread; the destructor resets it.
    xmlSetGenericErrorFunc(this, &Parser::OnGenericError);
    return absl::OkStatus();
  }

  absl::Status Feed(const char* p, size_t n) {
    int rc = xmlParseChunk(ctxt_.get(), p, static_cast<int>(n), 0);
    return Check(rc);
  }

  absl::StatusOr<Message> Finish() {
    int rc = xmlParseChunk(ctxt_.get(), nullptr, 0, 1);
    AXIS_RETURN_IF_ERROR(Check(rc));
    if (root_ == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(what_, ": no root element"));
    }
    Message m;
    AXIS_RETURN_IF_ERROR(MapMessage(root_.get(), what_, &m));
    for (const Attachment& a : m.attachments) {
      if (a.content.has_value() && !a.content->path.empty()) {
        reported_.insert(a.content->path);
      }
    }
    return m;
  }

 private:
  absl::Status Check(int rc) {
    if (!status_.ok()) {
      return status_;
    }
    if (rc != 0 || !ctxt_->wellFormed) {
      std::string msg = !first_error_.empty()   ? first_error_
                        : !generic_error_.empty() ? generic_error_
                                                  : absl::StrCat("XML error ", rc);
      return absl::InvalidArgumentError(absl::StrCat(what_, ":", first_error_line_, ": ", msg));
    }
    return absl::OkStatus();
  }

  int Line() const { return xmlSAX2GetLineNumber(ctxt_.get()); }

  void RemoveUnreported(Node* n) {
    if (n->content.has_value() && !n->content->path.empty() &&
        reported_.count(n->content->path) == 0) {
      ::unlink(n->content->path.c_str());
    }
    for (const auto& c : n->children) {
      RemoveUnreported(c.get());
    }
  }

  void Stop(absl::Status s) {
    if (status_.ok()) {
      status_ = std::move(s);
    }
    xmlStopParser(ctxt_.get());
  }

  void StopInvalid(absl::string_view why) {
    Stop(absl::InvalidArgumentError(absl::StrCat(what_, ":", Line(), ": ", why)));
  }

  bool CountText(size_t n) {
    text_bytes_ += n;
    if (text_bytes_ > options_.max_text_bytes) {
      Stop(absl::ResourceExhaustedError(absl::StrCat(
          what_, ":", Line(), ": more than ", options_.max_text_bytes,
          " bytes of text outside attachments")));
      return false;
    }
    return true;
  }

  static void OnStart(void* ctx, const xmlChar* localname, const xmlChar* prefix,
                      const xmlChar* uri, int nb_namespaces, const xmlChar** namespaces,
                      int nb_attributes, int /*nb_defaulted*/, const xmlChar** attributes) {
    auto* self = static_cast<Parser*>(ctx);
    if (!self->status_.ok()) {
      return;
    }
    if (self->sink_ != nullptr) {
      self->StopInvalid(absl::StrCat("element ", Str(localname),
                                     " inside ContentTransferEncoded (base64 text expected)"));
      return;
    }
    if (++self->depth_ > self->options_.max_depth) {
      self->StopInvalid(absl::StrCat("elements nest deeper than ", self->options_.max_depth));
      return;
    }
    if (++self->elements_ > self->options_.max_elements) {
      self->Stop(absl::ResourceExhaustedError(absl::StrCat(
          self->what_, ": more than ", self->options_.max_elements, " elements")));
      return;
    }
    auto node = std::make_unique<Node>();
    node->local = Str(localname);
    node->prefix = Str(prefix);
    node->ns = Str(uri);
    size_t bytes = node->local.size() + node->prefix.size() + node->ns.size();
    for (int i = 0; i < nb_namespaces; ++i) {
      node->ns_decls.emplace_back(Str(namespaces[2 * i]), Str(namespaces[2 * i + 1]));
      bytes += node->ns_decls.back().first.size() + node->ns_decls.back().second.size();
    }
    for (int i = 0; i < nb_attributes; ++i) {
      const xmlChar** a = attributes + 5 * i;  // localname, prefix, URI, value, end
      std::string name = a[1] == nullptr ? Str(a[0]) : absl::StrCat(Str(a[1]), ":", Str(a[0]));
      std::string value(reinterpret_cast<const char*>(a[3]), static_cast<size_t>(a[4] - a[3]));
      bytes += name.size() + value.size();
      node->attrs.emplace_back(std::move(name), std::move(value));
    }
    if (!self->CountText(bytes)) {
      return;
    }
    Node* raw = node.get();
    if (self->current_ == nullptr) {
      self->root_ = std::move(node);
    } else {
      raw->parent = self->current_;
      self->current_->children.push_back(std::move(node));
    }
    self->current_ = raw;
    if (raw->IsElement("ContentTransferEncoded") && raw->parent != nullptr &&
        raw->parent->IsElement("Attachment")) {
      if (++self->attachments_ > self->options_.max_attachments) {
        self->Stop(absl::ResourceExhaustedError(absl::StrCat(
            self->what_, ": more than ", self->options_.max_attachments, " attachments")));
        return;
      }
      self->sink_ = std::make_unique<AttachmentSink>();
      absl::Status s = self->sink_->Open(self->options_.attachment_dir, &self->decoded_,
                                         self->options_.max_attachment_bytes);
      if (!s.ok()) {
        self->Stop(std::move(s));
      }
    }
  }

  static void OnEnd(void* ctx, const xmlChar* /*localname*/, const xmlChar* /*prefix*/,
                    const xmlChar* /*uri*/) {
    auto* self = static_cast<Parser*>(ctx);
    if (!self->status_.ok() || self->current_ == nullptr) {
      return;
    }
    Node* n = self->current_;
    if (self->sink_ != nullptr) {
      absl::Status s = self->sink_->Finish();
      n->content = std::move(self->sink_->content);
      self->sink_.reset();
      if (!s.ok()) {
        self->Stop(std::move(s));
        return;
      }
    } else if (n->IsElement("Attachment")) {
      absl::Status s = self->PlaceAttachment(n);
      if (!s.ok()) {
        self->Stop(std::move(s));
        return;
      }
    }
    self->current_ = n->parent;
    --self->depth_;
  }

  static void OnCharacters(void* ctx, const xmlChar* ch, int len) {
    auto* self = static_cast<Parser*>(ctx);
    if (!self->status_.ok() || self->current_ == nullptr || len <= 0) {
      return;
    }
    const char* p = reinterpret_cast<const char*>(ch);
    size_t n = static_cast<size_t>(len);
    if (self->sink_ != nullptr) {
      if (absl::Status s = self->sink_->Feed(p, n); !s.ok()) {
        self->Stop(std::move(s));
      }
      return;
    }
    if (!self->CountText(n)) {
      return;
    }
    auto& kids = self->current_->children;
    if (kids.empty() || !kids.back()->is_text) {
      auto t = std::make_unique<Node>();
      t->is_text = true;
      t->parent = self->current_;
      kids.push_back(std::move(t));
    }
    kids.back()->text.append(p, n);
  }

  static void OnDoctype(void* ctx, const xmlChar* name, const xmlChar* /*external_id*/,
                        const xmlChar* /*system_id*/) {
    auto* self = static_cast<Parser*>(ctx);
    self->StopInvalid(absl::StrCat("DOCTYPE ", Str(name),
                                   " refused: edXML messages may not carry a DTD or entities"));
  }

  static void IgnoreGenericError(void*, const char*, ...) {}

  static void OnGenericError(void* ctx, const char* format, ...) {
    auto* self = static_cast<Parser*>(ctx);
    if (self == nullptr || !self->generic_error_.empty()) {
      return;
    }
    char buf[512];
    va_list args;
    va_start(args, format);
    std::vsnprintf(buf, sizeof(buf), format, args);
    va_end(args);
    self->generic_error_ = std::string(absl::StripAsciiWhitespace(buf));
  }

#if LIBXML_VERSION >= 21200
  static void OnError(void* ctx, const xmlError* error) {
#else
  static void OnError(void* ctx, xmlErrorPtr error) {
#endif
    auto* self = static_cast<Parser*>(ctx);
    if (error == nullptr || error->level < XML_ERR_ERROR || !self->first_error_.empty()) {
      return;
    }
    self->first_error_ = std::string(absl::StripTrailingAsciiWhitespace(
        error->message == nullptr ? "XML error" : error->message));
    self->first_error_line_ = error->line;
  }

  // PlaceAttachment gives the decoded file of a finished Attachment its
  // final name, never replacing an existing file.
  absl::Status PlaceAttachment(Node* attachment) {
    Node* cte = attachment->FirstChild("ContentTransferEncoded");
    if (cte == nullptr || !cte->content.has_value() || cte->content->path.empty()) {
      return absl::OkStatus();
    }
    ++placed_;
    const std::string& dir = options_.attachment_dir;
    Node* name_node = attachment->FirstChild("AttachmentName");
    std::string base = SafeFileName(name_node == nullptr ? "" : name_node->DirectText());
    std::vector<std::string> candidates;
    if (base.empty()) {
      candidates.push_back(absl::StrCat("attachment-", placed_));
    } else {
      candidates.push_back(base);
      candidates.push_back(absl::StrCat(placed_, "-", base));
    }
    const std::string tmp = cte->content->path;
    for (const std::string& c : candidates) {
      std::string final_path = absl::StrCat(dir, "/", c);
      if (::link(tmp.c_str(), final_path.c_str()) == 0) {
        ::unlink(tmp.c_str());
        cte->content->path = final_path;
        return absl::OkStatus();
      }
      if (errno != EEXIST) {
        int err = errno;
        ::unlink(tmp.c_str());
        cte->content->path.clear();
        return PosixError(final_path, "link", err);
      }
    }
    ::unlink(tmp.c_str());
    cte->content->path.clear();
    return absl::AlreadyExistsError(
        absl::StrCat(dir, "/", candidates.front(), ": exists already (attachment ", placed_, ")"));
  }

  std::string what_;
  const ReadOptions& options_;
  UniquePtr<xmlParserCtxt> ctxt_;
  absl::Status status_;
  std::string first_error_;
  std::string generic_error_;  // first message libxml2 sent to the generic handler
  int first_error_line_ = 0;
  std::unique_ptr<Node> root_;
  Node* current_ = nullptr;
  int depth_ = 0;
  size_t elements_ = 0;
  size_t text_bytes_ = 0;
  size_t attachments_ = 0;
  size_t placed_ = 0;
  uint64_t decoded_ = 0;
  std::unique_ptr<AttachmentSink> sink_;
  std::unordered_set<std::string> reported_;  // files the returned Message names
};

}  // namespace

absl::StatusOr<Message> ReadMessageFd(int fd, absl::string_view what, const ReadOptions& options) {
  Parser parser(what, options);
  AXIS_RETURN_IF_ERROR(parser.Start());
  std::unique_ptr<char[]> buf(new char[kReadBlock]);
  uint64_t total = 0;
  for (;;) {
    ssize_t n = ::read(fd, buf.get(), kReadBlock);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return PosixError(what, "read", errno);
    }
    if (n == 0) {
      break;
    }
    total += static_cast<uint64_t>(n);
    AXIS_RETURN_IF_ERROR(parser.Feed(buf.get(), static_cast<size_t>(n)));
    if (options.progress) {
      options.progress(total);
    }
  }
  return parser.Finish();
}

absl::StatusOr<Message> ReadMessageFile(absl::string_view path, const ReadOptions& options) {
  std::string p(path);
  int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return PosixError(path, "open", errno);
  }
  absl::StatusOr<Message> m = ReadMessageFd(fd, path, options);
  ::close(fd);
  return m;
}

absl::StatusOr<Message> ReadMessageString(absl::string_view xml, absl::string_view what,
                                          const ReadOptions& options) {
  Parser parser(what, options);
  AXIS_RETURN_IF_ERROR(parser.Start());
  for (size_t off = 0; off < xml.size(); off += kReadBlock) {
    absl::string_view piece = xml.substr(off, kReadBlock);
    AXIS_RETURN_IF_ERROR(parser.Feed(piece.data(), piece.size()));
  }
  return parser.Finish();
}

}  // namespace axis::edxml
