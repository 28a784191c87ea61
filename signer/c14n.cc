#include "signer/c14n.h"

#include <libxml/c14n.h>

#include "absl/strings/str_cat.h"

namespace axis::signer {

absl::StatusOr<std::string> Canonicalize(absl::string_view xml, C14nMethod method,
                                         const std::vector<std::string>& inclusive_prefixes,
                                         const XmlLimits& limits) {
  int mode = XML_C14N_1_0;
  int with_comments = 0;
  switch (method) {
    case C14nMethod::kC14n10:
      break;
    case C14nMethod::kC14n10WithComments:
      with_comments = 1;
      break;
    case C14nMethod::kExclusive:
      mode = XML_C14N_EXCLUSIVE_1_0;
      break;
    case C14nMethod::kExclusiveWithComments:
      mode = XML_C14N_EXCLUSIVE_1_0;
      with_comments = 1;
      break;
    case C14nMethod::kC14n11:
      mode = XML_C14N_1_1;
      break;
    case C14nMethod::kC14n11WithComments:
      mode = XML_C14N_1_1;
      with_comments = 1;
      break;
  }
  if (!inclusive_prefixes.empty() && mode != XML_C14N_EXCLUSIVE_1_0) {
    return absl::InvalidArgumentError(
        "an InclusiveNamespaces prefix list applies only to exclusive canonicalization");
  }
  absl::StatusOr<UniquePtr<xmlDoc>> doc = ParseXml(xml, "document", limits);
  if (!doc.ok()) {
    return doc.status();
  }
  // libxml2 wants a NULL-terminated array of prefixes; the strings stay
  // owned by the caller's vector for the duration of the call.
  std::vector<xmlChar*> prefixes;
  for (const std::string& p : inclusive_prefixes) {
    prefixes.push_back(const_cast<xmlChar*>(reinterpret_cast<const xmlChar*>(p.c_str())));
  }
  prefixes.push_back(nullptr);
  xmlChar* out = nullptr;
  // nodes == nullptr: the whole document, as a URI="" reference without
  // transforms would see it (comments kept or dropped per `with_comments`).
  int size = xmlC14NDocDumpMemory(doc->get(), nullptr, mode,
                                  inclusive_prefixes.empty() ? nullptr : prefixes.data(),
                                  with_comments, &out);
  UniquePtr<xmlChar> owned(out);
  if (size < 0 || out == nullptr) {
    return absl::InvalidArgumentError("document: canonicalization failed");
  }
  return std::string(reinterpret_cast<const char*>(out), static_cast<size_t>(size));
}

}  // namespace axis::signer
