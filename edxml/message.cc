#include "edxml/message.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace axis::edxml {

bool IsWeakSignature(const SignatureInfo& sig, std::string* reason) {
  auto weak = [](absl::string_view alg) {
    std::string lower = absl::AsciiStrToLower(alg);
    return absl::StrContains(lower, "sha1") || absl::StrContains(lower, "md5");
  };
  std::string why;
  if (!sig.dsig_namespace) {
    why = "Signature is not in the XML-DSig namespace (legacy form, not a standard signature)";
  }
  if (weak(sig.signature_method)) {
    absl::StrAppend(&why, why.empty() ? "" : "; ", "signature algorithm ", sig.signature_method,
                    " is below the required RSA/ECDSA with SHA-256");
  }
  for (const std::string& d : sig.digest_methods) {
    if (weak(d)) {
      absl::StrAppend(&why, why.empty() ? "" : "; ", "digest algorithm ", d,
                      " is below the required SHA-256");
      break;
    }
  }
  if (sig.signature_method.empty()) {
    absl::StrAppend(&why, why.empty() ? "" : "; ", "no SignatureMethod");
  }
  if (reason != nullptr) {
    *reason = why;
  }
  return !why.empty();
}

const StatusCodeInfo* FindStatusCode(absl::string_view code) {
  static constexpr StatusCodeInfo kCodes[] = {
      {"01", "arrived", "Đã đến"},
      {"02", "refused", "Từ chối tiếp nhận"},
      {"03", "accepted and registered", "Đã tiếp nhận, vào sổ"},
      {"04", "assigned for handling", "Phân công xử lý"},
      {"05", "in progress", "Đang xử lý"},
      {"06", "finished", "Hoàn thành"},
      {"13", "sender asks to take it back", "Lấy lại"},
      {"15", "recipient agrees to a take-back, revocation or update", "Đồng ý lấy lại, thu hồi, cập nhật"},
      {"16", "recipient refuses a take-back, revocation or update", "Từ chối lấy lại, thu hồi, cập nhật"},
  };
  for (const StatusCodeInfo& c : kCodes) {
    if (code == c.code) {
      return &c;
    }
  }
  return nullptr;
}

std::string ElementPath(absl::string_view parent, absl::string_view name, size_t index) {
  if (index == 0) {
    return absl::StrCat(parent, "/", name);
  }
  return absl::StrCat(parent, "/", name, "[", index, "]");
}

}  // namespace axis::edxml
