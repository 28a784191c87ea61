// xml.h: the only way axis parses XML, and xmlsec's one-time set-up.
//
// Every document is untrusted: no DTD (a DOCTYPE is refused outright), no
// entity substitution, no external entities, no network, no XInclude, and
// bounded size and depth.
#ifndef AXIS_SIGNER_XML_H_
#define AXIS_SIGNER_XML_H_

#include <cstddef>
#include <string>

#include <libxml/tree.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/c_ptr.h"

namespace axis::signer {

inline constexpr char kDsigNs[] = "http://www.w3.org/2000/09/xmldsig#";
inline constexpr char kXadesNs[] = "http://uri.etsi.org/01903/v1.3.2#";

// XmlLimits bounds what ParseXml accepts.
struct XmlLimits {
  size_t max_bytes = size_t{256} << 20;  // 256 MiB
  int max_depth = 64;                     // element nesting
};

// InitXmlSecurity initialises libxml2, xmlsec and its OpenSSL back-end once
// per process (thread-safe, idempotent) with safe parser defaults, and
// registers axis's own transforms (RSA-PSS). Returns the first failure.
absl::Status InitXmlSecurity();

// ParseXml parses `xml` under `limits`. INVALID_ARGUMENT naming `what` and
// the reason when it is not well-formed, has a DOCTYPE, or nests too deep;
// RESOURCE_EXHAUSTED when it is over the size limit.
absl::StatusOr<UniquePtr<xmlDoc>> ParseXml(absl::string_view xml, absl::string_view what = "document",
                                           const XmlLimits& limits = XmlLimits());

// SerializeXml returns the document's bytes as libxml2 writes them (UTF-8,
// with the XML declaration), without reformatting.
std::string SerializeXml(xmlDoc* doc);

// IsElement reports whether `node` is an element named `local_name` in `ns`.
bool IsElement(const xmlNode* node, const char* ns, const char* local_name);

// ChildElements returns the element children of `node`.
std::vector<xmlNode*> ChildElements(xmlNode* node);

// FirstChildElement returns the first element child named ns:local_name, or
// nullptr.
xmlNode* FirstChildElement(xmlNode* node, const char* ns, const char* local_name);

// FindFirstElement returns the first element (document order) at or below
// `node` named ns:local_name (`ns` empty: no namespace), or nullptr.
xmlNode* FindFirstElement(xmlNode* node, const std::string& ns, const std::string& local_name);

// IsInside reports whether `node` is `ancestor` or lies below it.
bool IsInside(const xmlNode* node, const xmlNode* ancestor);

// NodeText returns the text content of `node` (empty for nullptr).
std::string NodeText(const xmlNode* node);

// DecodeBase64Text decodes the base64 text content of `node` into `out`,
// ignoring whitespace (XML-DSig wraps base64 lines); false when the text is
// not base64 (or `node` is nullptr).
bool DecodeBase64Text(const xmlNode* node, std::string* out);

// AttrValue returns the value of the attribute `name` (no namespace), or
// nullopt-like empty with `*present` false when absent.
std::string AttrValue(const xmlNode* node, const char* name, bool* present = nullptr);

// NodePath is an XPath-like location of `node` for error messages.
std::string NodePath(const xmlNode* node);

}  // namespace axis::signer

#endif  // AXIS_SIGNER_XML_H_
