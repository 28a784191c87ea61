#include "signer/xml.h"

#include <libxml/parser.h>
#include <libxml/xmlsave.h>
#include <xmlsec/crypto.h>
#include <xmlsec/errors.h>
#include <xmlsec/parser.h>
#include <xmlsec/xmlsec.h>

#include <mutex>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "signer/internal/rsa_pss.h"

namespace axis::signer {
namespace {

// xmlsec prints its errors to stderr by default; the statuses we return
// already say what went wrong, so its own reporting is silenced.
void QuietXmlSecErrors(const char*, int, const char*, const char*, const char*, int,
                       const char*) {}

// libxml2 likewise reports parse errors through a global callback; we read
// them from the parser context instead.
void QuietXmlErrors(void*, const char*, ...) {}

absl::Status InitOnce() {
  xmlInitParser();
  xmlSetGenericErrorFunc(nullptr, QuietXmlErrors);
  // The call above is per thread in libxml2 2.9; this sets it for threads
  // created later.
  xmlThrDefSetGenericErrorFunc(nullptr, QuietXmlErrors);
  if (xmlSecInit() < 0) {
    return absl::InternalError("xmlsec initialisation failed");
  }
  // xmlsec 1.2.37 parses with XML_PARSE_HUGE by default (src/parser.c),
  // which lifts libxml2's depth and size limits; axis never wants that, nor
  // entity substitution or DTD loading.
  xmlSecParserSetDefaultOptions(XML_PARSE_NONET | XML_PARSE_NODICT);
  xmlSecErrorsSetCallback(QuietXmlSecErrors);
  if (xmlSecCheckVersion() != 1) {
    return absl::InternalError("xmlsec library version mismatch");
  }
  if (xmlSecCryptoAppInit(nullptr) < 0) {
    return absl::InternalError("xmlsec crypto app initialisation failed");
  }
  if (xmlSecCryptoInit() < 0) {
    return absl::InternalError("xmlsec crypto initialisation failed");
  }
  return internal::RegisterRsaPssTransforms();
}

void CheckDepth(xmlNode* node, int depth, int max_depth, absl::Status* status) {
  for (xmlNode* c = node; c != nullptr && status->ok(); c = c->next) {
    if (c->type != XML_ELEMENT_NODE) {
      continue;
    }
    if (depth > max_depth) {
      *status = absl::InvalidArgumentError(
          absl::StrCat("elements nest deeper than the limit of ", max_depth, " at ", NodePath(c)));
      return;
    }
    CheckDepth(c->children, depth + 1, max_depth, status);
  }
}

}  // namespace

absl::Status InitXmlSecurity() {
  static std::once_flag once;
  static absl::Status* status = nullptr;
  std::call_once(once, [] { status = new absl::Status(InitOnce()); });
  return *status;
}

absl::StatusOr<UniquePtr<xmlDoc>> ParseXml(absl::string_view xml, absl::string_view what,
                                           const XmlLimits& limits) {
  if (absl::Status s = InitXmlSecurity(); !s.ok()) {
    return s;
  }
  if (xml.size() > limits.max_bytes) {
    return absl::ResourceExhaustedError(absl::StrCat(what, ": ", xml.size(),
                                                     " bytes is over the limit of ",
                                                     limits.max_bytes));
  }
  if (xml.size() > static_cast<size_t>(INT32_MAX)) {
    return absl::ResourceExhaustedError(absl::StrCat(what, ": too large to parse"));
  }
  xmlParserCtxtPtr ctxt = xmlNewParserCtxt();
  if (ctxt == nullptr) {
    return absl::ResourceExhaustedError("out of memory creating an XML parser");
  }
  // No NOENT (entity substitution), DTDLOAD, DTDATTR, XINCLUDE or HUGE.
  int options = XML_PARSE_NONET | XML_PARSE_NOCDATA | XML_PARSE_NOERROR | XML_PARSE_NOWARNING;
  UniquePtr<xmlDoc> doc(xmlCtxtReadMemory(ctxt, xml.data(), static_cast<int>(xml.size()),
                                          nullptr, nullptr, options));
  std::string error;
  if (doc == nullptr || !ctxt->wellFormed) {
    const xmlError* e = xmlCtxtGetLastError(ctxt);
    error = e != nullptr && e->message != nullptr
                ? absl::StrCat("line ", e->line, ": ", e->message)
                : std::string("not well-formed");
    while (!error.empty() && error.back() == '\n') {
      error.pop_back();
    }
  }
  xmlFreeParserCtxt(ctxt);
  if (!error.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": not well-formed XML: ", error));
  }
  if (doc->intSubset != nullptr || doc->extSubset != nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": has a DOCTYPE; DTDs are refused (entity expansion, external entities)"));
  }
  xmlNode* root = xmlDocGetRootElement(doc.get());
  if (root == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": no root element"));
  }
  absl::Status depth = absl::OkStatus();
  CheckDepth(root, 1, limits.max_depth, &depth);
  if (!depth.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": ", depth.message()));
  }
  return doc;
}

std::string SerializeXml(xmlDoc* doc) {
  xmlChar* mem = nullptr;
  int size = 0;
  xmlDocDumpMemoryEnc(doc, &mem, &size, "UTF-8");
  UniquePtr<xmlChar> owned(mem);
  return mem == nullptr ? std::string() : std::string(reinterpret_cast<char*>(mem), size);
}

bool IsElement(const xmlNode* node, const char* ns, const char* local_name) {
  if (node == nullptr || node->type != XML_ELEMENT_NODE) {
    return false;
  }
  if (xmlStrcmp(node->name, reinterpret_cast<const xmlChar*>(local_name)) != 0) {
    return false;
  }
  if (ns == nullptr) {
    return node->ns == nullptr;
  }
  return node->ns != nullptr && node->ns->href != nullptr &&
         xmlStrcmp(node->ns->href, reinterpret_cast<const xmlChar*>(ns)) == 0;
}

std::vector<xmlNode*> ChildElements(xmlNode* node) {
  std::vector<xmlNode*> out;
  if (node == nullptr) {
    return out;
  }
  for (xmlNode* c = node->children; c != nullptr; c = c->next) {
    if (c->type == XML_ELEMENT_NODE) {
      out.push_back(c);
    }
  }
  return out;
}

xmlNode* FirstChildElement(xmlNode* node, const char* ns, const char* local_name) {
  for (xmlNode* c : ChildElements(node)) {
    if (IsElement(c, ns, local_name)) {
      return c;
    }
  }
  return nullptr;
}

xmlNode* FindFirstElement(xmlNode* node, const std::string& ns, const std::string& local_name) {
  if (IsElement(node, ns.empty() ? nullptr : ns.c_str(), local_name.c_str())) {
    return node;
  }
  for (xmlNode* c : ChildElements(node)) {
    if (xmlNode* f = FindFirstElement(c, ns, local_name)) {
      return f;
    }
  }
  return nullptr;
}

bool IsInside(const xmlNode* node, const xmlNode* ancestor) {
  for (const xmlNode* p = node; p != nullptr; p = p->parent) {
    if (p == ancestor) {
      return true;
    }
  }
  return false;
}

bool DecodeBase64Text(const xmlNode* node, std::string* out) {
  if (node == nullptr) {
    return false;
  }
  std::string b64;
  for (char c : NodeText(node)) {
    if (!absl::ascii_isspace(static_cast<unsigned char>(c))) {
      b64.push_back(c);
    }
  }
  return absl::Base64Unescape(b64, out);
}

std::string NodeText(const xmlNode* node) {
  if (node == nullptr) {
    return "";
  }
  UniquePtr<xmlChar> text(xmlNodeGetContent(node));
  return text == nullptr ? std::string() : std::string(reinterpret_cast<char*>(text.get()));
}

std::string AttrValue(const xmlNode* node, const char* name, bool* present) {
  xmlAttr* attr = node == nullptr ? nullptr
                                  : xmlHasNsProp(node, reinterpret_cast<const xmlChar*>(name),
                                                 nullptr);
  if (present != nullptr) {
    *present = attr != nullptr;
  }
  if (attr == nullptr) {
    return "";
  }
  UniquePtr<xmlChar> v(xmlNodeGetContent(reinterpret_cast<xmlNode*>(attr)));
  return v == nullptr ? std::string() : std::string(reinterpret_cast<char*>(v.get()));
}

std::string NodePath(const xmlNode* node) {
  UniquePtr<xmlChar> p(xmlGetNodePath(node));
  return p == nullptr ? std::string("?") : std::string(reinterpret_cast<char*>(p.get()));
}

}  // namespace axis::signer
