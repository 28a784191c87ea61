#include "edxml/internal/xml_text.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace axis::edxml::internal {

void AppendEscapedText(absl::string_view s, std::string* out) {
  for (char c : s) {
    switch (c) {
      case '&': out->append("&amp;"); break;
      case '<': out->append("&lt;"); break;
      case '>': out->append("&gt;"); break;
      case '\r': out->append("&#13;"); break;
      default: out->push_back(c);
    }
  }
}

void AppendEscapedAttribute(absl::string_view s, std::string* out) {
  for (char c : s) {
    switch (c) {
      case '&': out->append("&amp;"); break;
      case '<': out->append("&lt;"); break;
      case '"': out->append("&quot;"); break;
      case '\t': out->append("&#9;"); break;
      case '\n': out->append("&#10;"); break;
      case '\r': out->append("&#13;"); break;
      default: out->push_back(c);
    }
  }
}

namespace {

// DecodeUtf8 reads one code point at s[i]; returns its length, 0 if invalid.
size_t DecodeUtf8(absl::string_view s, size_t i, uint32_t* cp) {
  unsigned char c = static_cast<unsigned char>(s[i]);
  size_t len;
  uint32_t v;
  if (c < 0x80) {
    *cp = c;
    return 1;
  } else if ((c & 0xE0) == 0xC0) {
    len = 2;
    v = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    len = 3;
    v = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    len = 4;
    v = c & 0x07;
  } else {
    return 0;
  }
  if (i + len > s.size()) {
    return 0;
  }
  for (size_t k = 1; k < len; ++k) {
    unsigned char d = static_cast<unsigned char>(s[i + k]);
    if ((d & 0xC0) != 0x80) {
      return 0;
    }
    v = (v << 6) | (d & 0x3F);
  }
  static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (v < kMin[len] || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) {
    return 0;
  }
  *cp = v;
  return len;
}

}  // namespace

absl::Status CheckXmlText(absl::string_view where, absl::string_view s) {
  for (size_t i = 0; i < s.size();) {
    uint32_t cp = 0;
    size_t len = DecodeUtf8(s, i, &cp);
    if (len == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": not valid UTF-8 at byte ", i + 1));
    }
    bool ok = cp == 0x9 || cp == 0xA || cp == 0xD || (cp >= 0x20 && cp <= 0xD7FF) ||
              (cp >= 0xE000 && cp <= 0xFFFD) || cp >= 0x10000;
    if (!ok) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s: character U+%04X at byte %d cannot be written in XML 1.0", where, cp, i + 1));
    }
    i += len;
  }
  return absl::OkStatus();
}

size_t Utf8Length(absl::string_view s) {
  size_t n = 0;
  for (size_t i = 0; i < s.size(); ++n) {
    uint32_t cp = 0;
    size_t len = DecodeUtf8(s, i, &cp);
    i += len == 0 ? 1 : len;
  }
  return n;
}

}  // namespace axis::edxml::internal
