#include "signer/internal/xades_lt.h"

#include <libxml/c14n.h>
#include <libxml/xmlIO.h>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "signer/internal/dsig.h"
#include "signer/xml.h"

namespace axis::signer::internal {
namespace {

const xmlChar* X(const char* s) { return reinterpret_cast<const xmlChar*>(s); }

// InSubtree is libxml2's visibility callback for the node-set "the element
// and everything below it"; namespace nodes come with their element as
// `parent` (an xmlNs shares xmlNode's leading `type` field only).
int InSubtree(void* data, xmlNodePtr node, xmlNodePtr parent) {
  const xmlNode* target = static_cast<const xmlNode*>(data);
  const xmlNode* n = (node != nullptr && node->type != XML_NAMESPACE_DECL) ? node : parent;
  for (; n != nullptr; n = n->parent) {
    if (n == target) {
      return 1;
    }
  }
  return 0;
}

std::string Where(const xmlNode* n) {
  return absl::StrCat(reinterpret_cast<const char*>(n->name), " at ", NodePath(n));
}

// CheckPlain refuses attributes other than Id and non-blank text directly
// in a container element.
void CheckPlain(xmlNode* node, bool holds_text, std::vector<std::string>* problems,
                const char* allowed_attribute = "Id") {
  for (xmlAttr* a = node->properties; a != nullptr; a = a->next) {
    if (a->ns != nullptr || xmlStrcmp(a->name, X(allowed_attribute)) != 0) {
      problems->push_back(absl::StrCat("unsigned property ", Where(node), " carries attribute ",
                                       reinterpret_cast<const char*>(a->name),
                                       " (only ", allowed_attribute, " is allowed)"));
    }
  }
  for (xmlNode* c = node->children; c != nullptr; c = c->next) {
    if (c->type == XML_ELEMENT_NODE) {
      if (holds_text) {
        problems->push_back(absl::StrCat("unexpected element inside ", Where(node)));
      }
      continue;
    }
    if (c->type == XML_TEXT_NODE && holds_text) {
      continue;
    }
    if (c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) {
      UniquePtr<xmlChar> text(xmlNodeGetContent(c));
      if (text != nullptr &&
          !absl::StripAsciiWhitespace(reinterpret_cast<char*>(text.get())).empty()) {
        problems->push_back(absl::StrCat("text in ", Where(node),
                                         " is not covered by the signature (unsigned content)"));
      }
    } else if (c->type != XML_COMMENT_NODE) {
      problems->push_back(absl::StrCat("unexpected node inside ", Where(node)));
    }
  }
}

// Values reads base64 DER values, each an element `value_name`, the only
// children of `container`.
void Values(xmlNode* container, const char* value_name, std::vector<std::string>* out,
            std::vector<std::string>* problems) {
  CheckPlain(container, false, problems);
  for (xmlNode* v : ChildElements(container)) {
    if (!IsElement(v, kXadesNs, value_name)) {
      problems->push_back(
          absl::StrCat("element ", Where(v),
                       " is not covered by the signature (unsigned content): not allowed in ",
                       reinterpret_cast<const char*>(container->name)));
      continue;
    }
    CheckPlain(v, true, problems);
    std::string der;
    if (!DecodeBase64Text(v, &der) || der.empty()) {
      problems->push_back(absl::StrCat(Where(v), " is not base64"));
      continue;
    }
    if (static_cast<int>(out->size()) >= kMaxUnsignedValues) {
      problems->push_back(absl::StrCat("more than ", kMaxUnsignedValues, " ", value_name,
                                       " values in one signature"));
      return;
    }
    out->push_back(std::move(der));
  }
}

}  // namespace

absl::StatusOr<std::string> CanonicalizeElement(xmlDoc* doc, xmlNode* element,
                                                const std::string& href) {
  int mode = XML_C14N_1_0;
  int with_comments = 0;
  if (href == "http://www.w3.org/TR/2001/REC-xml-c14n-20010315") {
  } else if (href == "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments") {
    with_comments = 1;
  } else if (href == kExclusiveC14n) {
    mode = XML_C14N_EXCLUSIVE_1_0;
  } else if (href == "http://www.w3.org/2001/10/xml-exc-c14n#WithComments") {
    mode = XML_C14N_EXCLUSIVE_1_0;
    with_comments = 1;
  } else if (href == "http://www.w3.org/2006/12/xml-c14n11") {
    mode = XML_C14N_1_1;
  } else if (href == "http://www.w3.org/2006/12/xml-c14n11#WithComments") {
    mode = XML_C14N_1_1;
    with_comments = 1;
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "canonicalization method ", href.empty() ? "(none)" : href, " is not allowed"));
  }
  xmlOutputBufferPtr buf = xmlAllocOutputBuffer(nullptr);
  if (buf == nullptr) {
    return absl::InternalError("cannot allocate a C14N output buffer");
  }
  int rc = xmlC14NExecute(doc, InSubtree, element, mode, nullptr, with_comments, buf);
  std::string out;
  if (rc >= 0 && xmlOutputBufferGetContent(buf) != nullptr) {
    out.assign(reinterpret_cast<const char*>(xmlOutputBufferGetContent(buf)),
               xmlOutputBufferGetSize(buf));
  }
  xmlOutputBufferClose(buf);
  if (rc < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("canonicalization of ", NodePath(element), " failed"));
  }
  return out;
}

UnsignedValues ReadUnsignedProperties(xmlNode* up, std::vector<std::string>* problems) {
  UnsignedValues values;
  if (up == nullptr) {
    return values;
  }
  CheckPlain(up, false, problems);
  std::vector<xmlNode*> kids = ChildElements(up);
  for (size_t i = 0; i < kids.size(); ++i) {
    if (i > 0 || !IsElement(kids[i], kXadesNs, "UnsignedSignatureProperties")) {
      problems->push_back(absl::StrCat("element ", Where(kids[i]),
                                       " is not covered by the signature (unsigned content): only "
                                       "one UnsignedSignatureProperties is allowed"));
    }
  }
  if (kids.empty() || !IsElement(kids[0], kXadesNs, "UnsignedSignatureProperties")) {
    return values;
  }
  xmlNode* usp = kids[0];
  CheckPlain(usp, false, problems);
  for (xmlNode* p : ChildElements(usp)) {
    if (IsElement(p, kXadesNs, "SignatureTimeStamp")) {
      CheckPlain(p, false, problems);
      TimestampValue ts;
      ts.c14n_method = kDefaultTimestampC14n;
      int tokens = 0;
      std::vector<xmlNode*> parts = ChildElements(p);
      for (size_t i = 0; i < parts.size(); ++i) {
        xmlNode* q = parts[i];
        if (i == 0 && IsElement(q, kDsigNs, "CanonicalizationMethod")) {
          CheckPlain(q, false, problems, "Algorithm");
          bool present = false;
          ts.c14n_method = AttrValue(q, "Algorithm", &present);
          if (!IsC14n(ts.c14n_method)) {
            problems->push_back(absl::StrCat("SignatureTimeStamp canonicalization method \"",
                                             ts.c14n_method, "\" is not allowed"));
          }
          if (!ChildElements(q).empty()) {
            problems->push_back(absl::StrCat("unexpected element inside ", Where(q)));
          }
        } else if (IsElement(q, kXadesNs, "EncapsulatedTimeStamp") && tokens == 0) {
          ++tokens;
          CheckPlain(q, true, problems);
          if (!DecodeBase64Text(q, &ts.token_der) || ts.token_der.empty()) {
            problems->push_back(absl::StrCat(Where(q), " is not base64"));
          }
        } else {
          problems->push_back(absl::StrCat("element ", Where(q),
                                           " is not covered by the signature (unsigned content): "
                                           "not allowed in SignatureTimeStamp"));
        }
      }
      if (tokens != 1) {
        problems->push_back(absl::StrCat(Where(p), " holds no EncapsulatedTimeStamp"));
      } else if (static_cast<int>(values.timestamps.size()) < kMaxUnsignedValues) {
        values.timestamps.push_back(std::move(ts));
      } else {
        problems->push_back("too many signature time-stamps");
      }
    } else if (IsElement(p, kXadesNs, "CertificateValues")) {
      Values(p, "EncapsulatedX509Certificate", &values.certificates, problems);
    } else if (IsElement(p, kXadesNs, "RevocationValues")) {
      CheckPlain(p, false, problems);
      for (xmlNode* q : ChildElements(p)) {
        if (IsElement(q, kXadesNs, "CRLValues")) {
          Values(q, "EncapsulatedCRLValue", &values.crls, problems);
        } else if (IsElement(q, kXadesNs, "OCSPValues")) {
          Values(q, "EncapsulatedOCSPValue", &values.ocsp_responses, problems);
        } else {
          problems->push_back(absl::StrCat("element ", Where(q),
                                           " is not covered by the signature (unsigned content): "
                                           "not allowed in RevocationValues"));
        }
      }
    } else {
      problems->push_back(
          absl::StrCat("element ", Where(p),
                       " is not covered by the signature (unsigned content): not allowed (only "
                       "SignatureTimeStamp, CertificateValues and RevocationValues are)"));
    }
  }
  return values;
}

xmlNode* QualifyingProperties(xmlNode* sig) {
  for (xmlNode* obj : ChildElements(sig)) {
    if (IsElement(obj, kDsigNs, "Object")) {
      if (xmlNode* qp = FirstChildElement(obj, kXadesNs, "QualifyingProperties")) {
        return qp;
      }
    }
  }
  return nullptr;
}

xmlNode* UnsignedSignatureProperties(xmlNode* sig) {
  xmlNode* qp = QualifyingProperties(sig);
  if (qp == nullptr) {
    return nullptr;
  }
  xmlNs* xades = xmlSearchNsByHref(sig->doc, qp, X(kXadesNs));
  xmlNode* up = FirstChildElement(qp, kXadesNs, "UnsignedProperties");
  if (up == nullptr) {
    up = xmlNewChild(qp, xades, X("UnsignedProperties"), nullptr);
  }
  xmlNode* usp = FirstChildElement(up, kXadesNs, "UnsignedSignatureProperties");
  if (usp == nullptr) {
    usp = xmlNewChild(up, xades, X("UnsignedSignatureProperties"), nullptr);
  }
  return usp;
}

bool Predates(absl::Time t, absl::Time judged) {
  return t + absl::Seconds(1) < absl::FromUnixSeconds(absl::ToUnixSeconds(judged));
}

}  // namespace axis::signer::internal
