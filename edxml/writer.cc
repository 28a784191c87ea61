#include "edxml/writer.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/c_ptr.h"
#include "common/files.h"
#include "common/openssl_error.h"
#include "common/status_macros.h"
#include "edxml/internal/xml_text.h"

namespace axis::edxml {
namespace {

constexpr size_t kFlushAt = 256 * 1024;
constexpr size_t kEncodeIn = 48 * 1024;  // a multiple of 48: whole 64-character lines

// Out buffers output for a descriptor or a string.
class Out {
 public:
  explicit Out(std::string* target) : target_(target) {}
  Out(int fd, absl::string_view what) : fd_(fd), what_(what) {}

  std::string& buf() { return buf_; }
  void Append(absl::string_view s) { buf_.append(s.data(), s.size()); }

  absl::Status MaybeFlush() { return buf_.size() >= kFlushAt ? Flush() : absl::OkStatus(); }

  absl::Status Flush() {
    if (target_ != nullptr) {
      target_->append(buf_);
      buf_.clear();
      return absl::OkStatus();
    }
    size_t off = 0;
    while (off < buf_.size()) {
      ssize_t w = ::write(fd_, buf_.data() + off, buf_.size() - off);
      if (w < 0) {
        if (errno == EINTR) {
          continue;
        }
        return PosixError(what_, "write", errno);
      }
      off += static_cast<size_t>(w);
    }
    buf_.clear();
    return absl::OkStatus();
  }

 private:
  std::string* target_ = nullptr;
  int fd_ = -1;
  std::string what_;
  std::string buf_;
};

// AttributeCollector gathers a structure's attributes for its start tag.
struct AttributeCollector {
  std::vector<std::pair<const char*, const Text*>> attrs;
  void Field(const char*, const Text&) {}
  void List(const char*, const std::vector<std::string>&) {}
  template <typename T>
  void Child(const char*, const std::optional<T>&) {}
  template <typename T>
  void Children(const char*, const std::vector<T>&) {}
  void Attribute(const char* name, const Text& t) {
    if (t.has_value()) {
      attrs.emplace_back(name, &t);
    }
  }
};

// Writer is the message.h visitor that prints a structure's children.
class Writer {
 public:
  Writer(Out* out, const Message& m, absl::Status* status, const char* prefix, std::string path,
         int depth)
      : out_(out), m_(m), status_(status), prefix_(prefix), path_(std::move(path)), depth_(depth) {}

  void Field(const char* name, const Text& t) {
    if (t.has_value()) {
      Leaf(name, ElementPath(path_, name), *t);
    }
  }
  void List(const char* name, const std::vector<std::string>& list) {
    for (size_t i = 0; i < list.size(); ++i) {
      Leaf(name, ElementPath(path_, name, i + 1), list[i]);
    }
  }
  template <typename T>
  void Child(const char* name, const std::optional<T>& o) {
    if (o.has_value()) {
      Element(name, ElementPath(path_, name), *o);
    }
  }
  template <typename T>
  void Children(const char* name, const std::vector<T>& v) {
    for (size_t i = 0; i < v.size(); ++i) {
      Element(name, ElementPath(path_, name, i + 1), v[i]);
    }
  }
  void Attribute(const char*, const Text&) {}  // written with the start tag

  // Element writes <name attrs>, the structure's children, the unknown
  // elements kept for `path`, and </name>.
  template <typename T>
  void Element(const char* name, const std::string& path, const T& t) {
    AttributeCollector ac;
    T::Visit(t, ac);
    Open(name, path, ac.attrs);
    Writer sub(out_, m_, status_, prefix_, path, depth_ + 1);
    T::Visit(t, sub);
    sub.Unknowns();
    Close(name);
  }

  void Open(const char* name, const std::string& path,
            const std::vector<std::pair<const char*, const Text*>>& attrs = {}) {
    Indent();
    absl::StrAppend(&out_->buf(), "<", prefix_, name);
    for (const auto& [attr, value] : attrs) {
      Check(absl::StrCat(path, "/@", attr), **value);
      absl::StrAppend(&out_->buf(), " ", attr, "=\"");
      internal::AppendEscapedAttribute(**value, &out_->buf());
      out_->buf().push_back('"');
    }
    out_->Append(">\n");
  }
  void Close(const char* name) {
    Indent();
    absl::StrAppend(&out_->buf(), "</", prefix_, name, ">\n");
    Flush();
  }

  void Unknowns() {
    for (const UnknownElement& u : m_.unknown) {
      if (u.parent == path_ && !absl::EndsWith(u.path, "/text()")) {
        Check(u.path, u.xml);
        Indent();
        absl::StrAppend(&out_->buf(), u.xml, "\n");
      }
    }
  }

  void Indent() { out_->buf().append(2 * static_cast<size_t>(depth_), ' '); }

  void Flush() {
    if (status_->ok()) {
      *status_ = out_->MaybeFlush();
    }
  }

  void SetPrefix(const char* prefix) { prefix_ = prefix; }
  const std::string& path() const { return path_; }
  int depth() const { return depth_; }

 private:
  void Leaf(const char* name, const std::string& path, const std::string& value) {
    Check(path, value);
    Indent();
    if (value.empty()) {
      absl::StrAppend(&out_->buf(), "<", prefix_, name, "/>\n");
      return;
    }
    absl::StrAppend(&out_->buf(), "<", prefix_, name, ">");
    internal::AppendEscapedText(value, &out_->buf());
    absl::StrAppend(&out_->buf(), "</", prefix_, name, ">\n");
  }

  void Check(const std::string& path, const std::string& value) {
    if (status_->ok()) {
      *status_ = internal::CheckXmlText(path, value);
    }
  }

  Out* out_;
  const Message& m_;
  absl::Status* status_;
  const char* prefix_;
  std::string path_;
  int depth_;
};

// WriteBase64 streams the file at `path` into `out` as base64 lines.
absl::Status WriteBase64(const std::string& path, Out* out) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return PosixError(path, "open attachment", errno);
  }
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  UniquePtr<EVP_ENCODE_CTX> ctx(EVP_ENCODE_CTX_new());
  if (ctx == nullptr) {
    return OpenSslError("base64 encoder", absl::StatusCode::kInternal);
  }
  EVP_EncodeInit(ctx.get());
  std::unique_ptr<unsigned char[]> in(new unsigned char[kEncodeIn]);
  // Each 48 input bytes give 64 characters and a newline, plus what the
  // context held over from the last call.
  std::unique_ptr<unsigned char[]> enc(new unsigned char[(kEncodeIn / 48 + 2) * 65 + 1]);
  for (;;) {
    ssize_t n = ::read(fd, in.get(), kEncodeIn);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return PosixError(path, "read attachment", errno);
    }
    if (n == 0) {
      break;
    }
    int outl = 0;
    if (EVP_EncodeUpdate(ctx.get(), enc.get(), &outl, in.get(), static_cast<int>(n)) != 1) {
      return OpenSslError("base64 encoding", absl::StatusCode::kInternal);
    }
    out->Append(absl::string_view(reinterpret_cast<const char*>(enc.get()), static_cast<size_t>(outl)));
    AXIS_RETURN_IF_ERROR(out->MaybeFlush());
  }
  int outl = 0;
  EVP_EncodeFinal(ctx.get(), enc.get(), &outl);
  out->Append(absl::string_view(reinterpret_cast<const char*>(enc.get()), static_cast<size_t>(outl)));
  return absl::OkStatus();
}

absl::Status Write(const Message& m, Out* out) {
  absl::Status status;
  out->Append("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
  absl::StrAppend(&out->buf(), "<edXML xmlns:edXML=\"", kEdxmlNs, "\">\n");
  Writer root(out, m, &status, "edXML:", kRootPath, 1);
  root.Open("edXMLEnvelope", kEnvelopePath);
  {
    Writer env(out, m, &status, "edXML:", kEnvelopePath, 2);
    env.Open("edXMLHeader", kHeaderPath);
    Writer header(out, m, &status, "edXML:", kHeaderPath, 3);
    if (m.kind == MessageKind::kStatus) {
      header.Element("MessageHeader", kMessageHeaderPath, m.status);
    } else {
      header.Element("MessageHeader", kMessageHeaderPath, m.header);
    }
    header.Child("TraceHeaderList", m.trace_header_list);
    header.Unknowns();
    env.Close("edXMLHeader");
    bool body_unknowns = false;
    for (const UnknownElement& u : m.unknown) {
      body_unknowns = body_unknowns || u.parent == kBodyPath;
    }
    if (m.manifest.has_value() || body_unknowns) {
      env.Open("edXMLBody", kBodyPath);
      Writer body(out, m, &status, "edXML:", kBodyPath, 3);
      body.Child("edXMLManifest", m.manifest);
      body.Unknowns();
      env.Close("edXMLBody");
    }
    env.Unknowns();
  }
  root.Close("edXMLEnvelope");
  AXIS_RETURN_IF_ERROR(status);
  if (!m.attachments.empty()) {
    Writer plain(out, m, &status, "", kRootPath, 1);
    plain.Open("AttachmentEncoded", kAttachmentEncodedPath);
    for (size_t i = 0; i < m.attachments.size(); ++i) {
      const Attachment& a = m.attachments[i];
      const std::string path = ElementPath(kAttachmentEncodedPath, "Attachment", i + 1);
      Writer enc(out, m, &status, "", kAttachmentEncodedPath, 2);
      enc.Open("Attachment", path);
      Writer fields(out, m, &status, "", path, 3);
      Attachment::Visit(a, fields);
      AXIS_RETURN_IF_ERROR(status);
      if (a.content.has_value()) {
        if (a.content->path.empty()) {
          return absl::InvalidArgumentError(
              absl::StrCat(path, ": attachment has content but no file to read it from"));
        }
        fields.Indent();
        out->Append("<edXML:ContentTransferEncoded>");
        AXIS_RETURN_IF_ERROR(WriteBase64(a.content->path, out));
        out->Append("</edXML:ContentTransferEncoded>\n");
      }
      fields.Unknowns();
      enc.Close("Attachment");
    }
    plain.Close("AttachmentEncoded");
  }
  root.Unknowns();
  out->Append("</edXML>\n");
  AXIS_RETURN_IF_ERROR(status);
  return out->Flush();
}

}  // namespace

absl::StatusOr<std::string> BuildMessage(const Message& message) {
  std::string s;
  Out out(&s);
  AXIS_RETURN_IF_ERROR(Write(message, &out));
  return s;
}

absl::Status WriteMessageFd(const Message& message, int fd, absl::string_view what) {
  Out out(fd, what);
  return Write(message, &out);
}

absl::Status WriteMessageFile(const Message& message, absl::string_view path) {
  std::string tmp = absl::StrCat(path, ".tmp-XXXXXX");
  int fd = ::mkostemp(tmp.data(), O_CLOEXEC);
  if (fd < 0) {
    return PosixError(path, "create temporary file", errno);
  }
  absl::Status s = WriteMessageFd(message, fd, path);
  if (s.ok() && ::fchmod(fd, 0644) != 0) {
    s = PosixError(tmp, "chmod", errno);
  }
  if (s.ok() && ::fsync(fd) != 0) {
    s = PosixError(tmp, "fsync", errno);
  }
  if (::close(fd) != 0 && s.ok()) {
    s = PosixError(tmp, "close", errno);
  }
  if (s.ok() && ::rename(tmp.c_str(), std::string(path).c_str()) != 0) {
    s = PosixError(path, "rename", errno);
  }
  if (!s.ok()) {
    ::unlink(tmp.c_str());
    return s;
  }
  std::string dir(path);
  size_t slash = dir.rfind('/');
  dir = slash == std::string::npos ? "." : slash == 0 ? "/" : dir.substr(0, slash);
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return absl::OkStatus();
}

}  // namespace axis::edxml
