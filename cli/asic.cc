#include "cli/asic.h"

#include <fcntl.h>
#include <libxml/xmlwriter.h>
#include <unistd.h>
#include <zip.h>

#include <cstdio>
#include <map>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/c_ptr.h"
#include "common/files.h"
#include "common/status_macros.h"
#include "signer/xml.h"

AXIS_MAKE_DELETER(zip_file_t, zip_fclose)

namespace axis::cli {
namespace {

constexpr char kManifestPath[] = "META-INF/manifest.xml";
constexpr char kManifestNs[] = "urn:oasis:names:tc:opendocument:xmlns:manifest:1.0";

// zip_t is closed explicitly on success (that is when libzip writes), and
// discarded on every error path.
struct ZipDiscard {
  void operator()(zip_t* z) const { zip_discard(z); }
};
using ZipPtr = std::unique_ptr<zip_t, ZipDiscard>;

std::string ZipMessage(zip_t* z) { return zip_strerror(z); }

// CheckName refuses names that could escape an extraction folder or clash.
absl::Status CheckName(const std::string& name) {
  if (name.empty() || name.size() > 255 || name.front() == '/' || name.back() == '/' ||
      absl::StrContains(name, '\\') || absl::StrContains(name, '\0')) {
    return absl::InvalidArgumentError(absl::StrCat("container entry name \"", name,
                                                   "\" is not a plain relative path"));
  }
  for (absl::string_view part : absl::StrSplit(name, '/')) {
    if (part.empty() || part == "." || part == "..") {
      return absl::InvalidArgumentError(absl::StrCat("container entry name \"", name,
                                                     "\" is not a plain relative path"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> Manifest(const std::vector<AsicEntry>& entries) {
  UniquePtr<xmlBuffer> buf(xmlBufferCreate());
  UniquePtr<xmlTextWriter> w(xmlNewTextWriterMemory(buf.get(), 0));
  if (w == nullptr) {
    return absl::InternalError("cannot create the manifest writer");
  }
  xmlTextWriterSetIndent(w.get(), 1);
  bool ok = xmlTextWriterStartDocument(w.get(), "1.0", "UTF-8", nullptr) >= 0;
  auto x = [](const char* s) { return reinterpret_cast<const xmlChar*>(s); };
  ok = ok && xmlTextWriterStartElementNS(w.get(), x("manifest"), x("manifest"),
                                         x(kManifestNs)) >= 0;
  ok = ok && xmlTextWriterStartElementNS(w.get(), x("manifest"), x("file-entry"), nullptr) >= 0;
  ok = ok && xmlTextWriterWriteAttributeNS(w.get(), x("manifest"), x("full-path"), nullptr,
                                           x("/")) >= 0;
  ok = ok && xmlTextWriterWriteAttributeNS(w.get(), x("manifest"), x("media-type"), nullptr,
                                           x(kAsicEMimeType)) >= 0;
  ok = ok && xmlTextWriterEndElement(w.get()) >= 0;
  for (const AsicEntry& e : entries) {
    ok = ok && xmlTextWriterStartElementNS(w.get(), x("manifest"), x("file-entry"), nullptr) >= 0;
    ok = ok && xmlTextWriterWriteAttributeNS(w.get(), x("manifest"), x("full-path"), nullptr,
                                             x(e.name.c_str())) >= 0;
    ok = ok && xmlTextWriterWriteAttributeNS(w.get(), x("manifest"), x("media-type"), nullptr,
                                             x(e.mime_type.c_str())) >= 0;
    ok = ok && xmlTextWriterEndElement(w.get()) >= 0;
  }
  ok = ok && xmlTextWriterEndDocument(w.get()) >= 0;
  w.reset();  // flushes into buf
  if (!ok) {
    return absl::InternalError("cannot write the container manifest");
  }
  return std::string(reinterpret_cast<const char*>(xmlBufferContent(buf.get())),
                     static_cast<size_t>(xmlBufferLength(buf.get())));
}

absl::Status AddEntry(zip_t* z, const std::string& name, const std::string& data, bool store) {
  zip_source_t* src = zip_source_buffer(z, data.data(), data.size(), 0);
  if (src == nullptr) {
    return absl::InternalError(absl::StrCat("zip: ", ZipMessage(z)));
  }
  zip_int64_t index = zip_file_add(z, name.c_str(), src, ZIP_FL_ENC_UTF_8);
  if (index < 0) {
    zip_source_free(src);
    return absl::InternalError(absl::StrCat("zip: ", name, ": ", ZipMessage(z)));
  }
  if (zip_set_file_compression(z, static_cast<zip_uint64_t>(index),
                               store ? ZIP_CM_STORE : ZIP_CM_DEFLATE, 0) != 0) {
    return absl::InternalError(absl::StrCat("zip: ", name, ": ", ZipMessage(z)));
  }
  return absl::OkStatus();
}

absl::Status SyncAndRename(const std::string& tmp, const std::string& path) {
  int fd = ::open(tmp.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 || ::fsync(fd) != 0) {
    absl::Status s = PosixError(tmp, "fsync", errno);
    if (fd >= 0) {
      ::close(fd);
    }
    return s;
  }
  ::close(fd);
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    return PosixError(path, "rename", errno);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadEntry(zip_t* z, zip_uint64_t index, const std::string& name,
                                      uint64_t limit) {
  UniquePtr<zip_file_t> f(zip_fopen_index(z, index, 0));
  if (f == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(name, ": ", ZipMessage(z)));
  }
  std::string out;
  char buf[64 * 1024];
  while (true) {
    zip_int64_t n = zip_fread(f.get(), buf, sizeof(buf));
    if (n < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(name, ": ", zip_file_strerror(f.get())));
    }
    if (n == 0) {
      break;
    }
    if (out.size() + static_cast<uint64_t>(n) > limit) {
      return absl::ResourceExhaustedError(
          absl::StrCat(name, ": larger than ", limit, " bytes once decompressed"));
    }
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

// ManifestTypes reads full-path -> media-type from the manifest.
absl::StatusOr<std::map<std::string, std::string>> ManifestTypes(const std::string& xml) {
  AXIS_ASSIGN_OR_RETURN(UniquePtr<xmlDoc> doc, signer::ParseXml(xml, kManifestPath));
  xmlNode* root = xmlDocGetRootElement(doc.get());
  if (root == nullptr || root->ns == nullptr ||
      std::string(reinterpret_cast<const char*>(root->ns->href)) != kManifestNs ||
      std::string(reinterpret_cast<const char*>(root->name)) != "manifest") {
    return absl::InvalidArgumentError(absl::StrCat(kManifestPath, ": not an ODF manifest"));
  }
  std::map<std::string, std::string> types;
  for (xmlNode* n = root->children; n != nullptr; n = n->next) {
    if (n->type != XML_ELEMENT_NODE) {
      continue;
    }
    UniquePtr<xmlChar> path(xmlGetNsProp(n, reinterpret_cast<const xmlChar*>("full-path"),
                                         reinterpret_cast<const xmlChar*>(kManifestNs)));
    UniquePtr<xmlChar> type(xmlGetNsProp(n, reinterpret_cast<const xmlChar*>("media-type"),
                                         reinterpret_cast<const xmlChar*>(kManifestNs)));
    if (path == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(kManifestPath, ": file-entry without full-path"));
    }
    std::string p(reinterpret_cast<const char*>(path.get()));
    if (p == "/") {
      continue;
    }
    if (!types.emplace(p, type == nullptr ? "" : reinterpret_cast<const char*>(type.get()))
             .second) {
      return absl::InvalidArgumentError(absl::StrCat(kManifestPath, ": \"", p, "\" listed twice"));
    }
  }
  return types;
}

}  // namespace

absl::Status WriteAsicE(const std::string& path, const std::vector<AsicEntry>& entries) {
  std::set<std::string> names;
  for (const AsicEntry& e : entries) {
    AXIS_RETURN_IF_ERROR(CheckName(e.name));
    if (e.name == "mimetype" || absl::StartsWith(e.name, "META-INF/")) {
      return absl::InvalidArgumentError(absl::StrCat("entry name \"", e.name, "\" is reserved"));
    }
    if (!names.insert(e.name).second) {
      return absl::InvalidArgumentError(absl::StrCat("entry \"", e.name, "\" given twice"));
    }
  }
  AXIS_ASSIGN_OR_RETURN(std::string manifest, Manifest(entries));
  const std::string mimetype = kAsicEMimeType;
  std::string tmp = absl::StrCat(path, ".tmp");
  int err = 0;
  ZipPtr z(zip_open(tmp.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &err));
  if (z == nullptr) {
    zip_error_t e;
    zip_error_init_with_code(&e, err);
    absl::Status s = absl::InvalidArgumentError(absl::StrCat(tmp, ": ", zip_error_strerror(&e)));
    zip_error_fini(&e);
    return s;
  }
  // ASiC: `mimetype` first and stored, so the type can be read at offset 38.
  AXIS_RETURN_IF_ERROR(AddEntry(z.get(), "mimetype", mimetype, /*store=*/true));
  for (const AsicEntry& e : entries) {
    AXIS_RETURN_IF_ERROR(AddEntry(z.get(), e.name, e.data, /*store=*/false));
  }
  AXIS_RETURN_IF_ERROR(AddEntry(z.get(), kManifestPath, manifest, /*store=*/false));
  if (zip_close(z.get()) != 0) {
    absl::Status s = absl::InternalError(absl::StrCat(tmp, ": ", ZipMessage(z.get())));
    std::remove(tmp.c_str());
    return s;
  }
  z.release();  // zip_close freed it
  return SyncAndRename(tmp, path);
}

absl::StatusOr<std::vector<AsicEntry>> ReadAsicE(const std::string& path,
                                                 const AsicLimits& limits) {
  int err = 0;
  ZipPtr z(zip_open(path.c_str(), ZIP_RDONLY | ZIP_CHECKCONS, &err));
  if (z == nullptr) {
    zip_error_t e;
    zip_error_init_with_code(&e, err);
    absl::Status s = absl::InvalidArgumentError(
        absl::StrCat(path, ": not a readable ZIP container: ", zip_error_strerror(&e)));
    zip_error_fini(&e);
    return s;
  }
  zip_int64_t count = zip_get_num_entries(z.get(), 0);
  if (count < 2) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": too few entries for ASiC-E"));
  }
  if (static_cast<uint64_t>(count) > limits.max_entries) {
    return absl::ResourceExhaustedError(absl::StrCat(path, ": more than ", limits.max_entries,
                                                     " entries"));
  }
  zip_stat_t st;
  if (zip_stat_index(z.get(), 0, 0, &st) != 0 || std::string(st.name) != "mimetype" ||
      st.comp_method != ZIP_CM_STORE) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": first entry is not a stored \"mimetype\" (not ASiC)"));
  }
  AXIS_ASSIGN_OR_RETURN(std::string mimetype, ReadEntry(z.get(), 0, "mimetype", 256));
  if (mimetype != kAsicEMimeType) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": mimetype is \"", mimetype, "\", not ", kAsicEMimeType));
  }
  uint64_t total = 0;
  std::vector<AsicEntry> out;
  std::string manifest;
  bool have_manifest = false;
  std::set<std::string> seen;
  for (zip_int64_t i = 1; i < count; ++i) {
    const char* raw = zip_get_name(z.get(), static_cast<zip_uint64_t>(i), ZIP_FL_ENC_GUESS);
    if (raw == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": entry ", i, " has no name"));
    }
    std::string name = raw;
    if (absl::EndsWith(name, "/")) {
      continue;  // a folder entry
    }
    AXIS_RETURN_IF_ERROR(CheckName(name));
    if (name == "mimetype" || !seen.insert(name).second) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": entry \"", name, "\" repeated"));
    }
    AXIS_ASSIGN_OR_RETURN(std::string data,
                          ReadEntry(z.get(), static_cast<zip_uint64_t>(i), name,
                                    std::min(limits.max_entry_bytes,
                                             limits.max_total_bytes - total)));
    total += data.size();
    if (name == kManifestPath) {
      manifest = std::move(data);
      have_manifest = true;
    } else if (!absl::StartsWith(name, "META-INF/")) {
      out.push_back({name, "", std::move(data)});
    }
  }
  if (!have_manifest) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": no ", kManifestPath));
  }
  AXIS_ASSIGN_OR_RETURN(auto types, ManifestTypes(manifest));
  for (AsicEntry& e : out) {
    auto it = types.find(e.name);
    if (it == types.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": \"", e.name, "\" is not listed in the manifest"));
    }
    e.mime_type = it->second;
    types.erase(it);
  }
  if (!types.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": the manifest lists \"", types.begin()->first, "\", which is not in the container"));
  }
  return out;
}

}  // namespace axis::cli
