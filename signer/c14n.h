// c14n.h: whole-document canonicalization (W3C Canonical XML 1.0 and 1.1,
// Exclusive XML Canonicalization 1.0) of untrusted documents.
//
// The document is parsed with ParseXml, so the DTD rules apply: a document
// with a DOCTYPE is refused, which means inputs that rely on DTD attribute
// defaults or entity declarations cannot be canonicalized here (axis never
// accepts such documents anyway).
#ifndef AXIS_SIGNER_C14N_H_
#define AXIS_SIGNER_C14N_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "signer/xml.h"

namespace axis::signer {

// C14nMethod names a canonicalization algorithm (and its URI in comments).
enum class C14nMethod {
  kC14n10,                 // http://www.w3.org/TR/2001/REC-xml-c14n-20010315
  kC14n10WithComments,     // ...REC-xml-c14n-20010315#WithComments
  kExclusive,              // http://www.w3.org/2001/10/xml-exc-c14n#
  kExclusiveWithComments,  // http://www.w3.org/2001/10/xml-exc-c14n#WithComments
  kC14n11,                 // http://www.w3.org/2006/12/xml-c14n11
  kC14n11WithComments,     // http://www.w3.org/2006/12/xml-c14n11#WithComments
};

// Canonicalize returns the canonical form of the whole document `xml`
// (every node, so no XPath subset) under `method`. `inclusive_prefixes` is
// Exclusive C14N's InclusiveNamespaces PrefixList ("#default" for the
// default namespace); it is refused for the other methods.
// INVALID_ARGUMENT when the XML is not acceptable to ParseXml (malformed,
// DOCTYPE, too deep) or canonicalization fails; RESOURCE_EXHAUSTED when it
// is over `limits.max_bytes`. Thread-safe.
absl::StatusOr<std::string> Canonicalize(absl::string_view xml, C14nMethod method,
                                         const std::vector<std::string>& inclusive_prefixes = {},
                                         const XmlLimits& limits = XmlLimits());

}  // namespace axis::signer

#endif  // AXIS_SIGNER_C14N_H_
