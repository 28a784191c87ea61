// edxml_fuzzer: the edXML streaming reader and the validator on arbitrary
// bytes. Messages come from peers we do not trust; whatever the input, the
// reader must not crash, hang, leak, or leave a file behind it did not
// report, and Validate must accept whatever the reader returns.
//
// Each input is read as a message with attachments decoded into a
// per-process temporary directory (the servers' path), which is emptied
// after every input so attachment names never collide across inputs and
// the disk does not fill; the directory goes when the process exits.
//
// Build: cmake --build build-fuzz --target edxml_fuzzer   (-DAXIS_FUZZ=ON)
// Seeds: tests/fuzz/make-corpus --edxml DIR
// Run:   build-fuzz/tests/edxml_fuzzer -max_total_time=600 -rss_limit_mb=4096 DIR
#include <dirent.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <libxml/xmlerror.h>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "edxml/message.h"
#include "edxml/reader.h"
#include "edxml/validate.h"

namespace {

std::string* attachment_dir = nullptr;

// EmptyDir removes every entry of `dir` (the reader creates only plain
// files there). Returns how many it removed.
size_t EmptyDir(const std::string& dir) {
  size_t removed = 0;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) {
    return 0;
  }
  std::vector<std::string> names;
  while (const dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name != "." && name != "..") {
      names.push_back(std::move(name));
    }
  }
  ::closedir(d);
  for (const std::string& name : names) {
    if (::unlink((dir + "/" + name).c_str()) == 0) {
      ++removed;
    }
  }
  return removed;
}

void RemoveDir() {
  if (attachment_dir != nullptr) {
    EmptyDir(*attachment_dir);
    ::rmdir(attachment_dir->c_str());
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const char* tmp = std::getenv("TMPDIR");
  std::string tmpl = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") +
                     "/edxml-fuzz-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) {
    std::perror("edxml_fuzzer: mkdtemp");
    std::abort();
  }
  attachment_dir = new std::string(tmpl);
  std::atexit(RemoveDir);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  axis::edxml::ReadOptions options;
  options.attachment_dir = *attachment_dir;
  // Smaller than the defaults so one input cannot spend the whole RSS limit
  // or the disk; the limits themselves are part of what is fuzzed.
  options.max_text_bytes = size_t{1} << 20;
  options.max_elements = 20000;
  options.max_attachments = 64;
  options.max_attachment_bytes = uint64_t{16} << 20;
  absl::StatusOr<axis::edxml::Message> message = axis::edxml::ReadMessageString(
      absl::string_view(reinterpret_cast<const char*>(data), size), "fuzz.xml", options);
  size_t kept = 0;
  if (message.ok()) {
    std::vector<axis::edxml::Problem> problems = axis::edxml::Validate(*message);
    for (const axis::edxml::Problem& p : problems) {
      (void)p.ToString();
    }
    (void)axis::edxml::HasErrors(problems);
    for (const axis::edxml::Attachment& a : message->attachments) {
      if (a.content.has_value() && !a.content->path.empty()) {
        ++kept;
      }
    }
  }
  // Every file in the directory must be an attachment the message reports:
  // a failed read leaves nothing, a successful one only its attachments.
  size_t found = EmptyDir(*attachment_dir);
  if (found != kept) {
    std::fprintf(stderr, "edxml_fuzzer: %zu files left in %s, %zu attachments reported (%s)\n",
                 found, attachment_dir->c_str(), kept,
                 message.ok() ? "read ok" : std::string(message.status().message()).c_str());
    std::abort();
  }
  // As in verify_fuzzer: libxml2's per-thread copy of the last error would
  // look like unbalanced mallocs to libFuzzer's leak detection.
  xmlResetLastError();
  return 0;
}
