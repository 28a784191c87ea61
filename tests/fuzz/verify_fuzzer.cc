// verify_fuzzer: signer::VerifyDocument on arbitrary bytes. It must never
// crash, hang or leak, whatever the input: the verifier's first reader is
// a peer we do not trust.
//
// Build: cmake -S . -B build-fuzz -G Ninja -DCMAKE_C_COMPILER=clang-14 \
//   -DCMAKE_CXX_COMPILER=clang++-14 -DAXIS_FUZZ=ON -DAXIS_BENCH=OFF
// Seeds: tests/fuzz/make-corpus DIR
// Run:   build-fuzz/tests/verify_fuzzer -max_total_time=600 -rss_limit_mb=4096 DIR
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstdio>

#include <libxml/xmlerror.h>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "signer/certs.h"
#include "signer/verify.h"
#include "signer/xml.h"

namespace {

// The trust store and libxml2/xmlsec are set up once per process, as in the
// servers; a fuzzer iteration only pays for the verification itself.
const axis::signer::TrustStore& Trust() {
  static const axis::signer::TrustStore* trust = [] {
    absl::StatusOr<axis::signer::TrustStore> t = axis::signer::TrustStore::FromPemFiles(
        {std::string(AXIS_PKI_DIR) + "/roots.pem"}, {}, {});
    if (!t.ok()) {
      std::fprintf(stderr, "verify_fuzzer: %s\n", std::string(t.status().message()).c_str());
      std::abort();
    }
    return new axis::signer::TrustStore(std::move(*t));
  }();
  return *trust;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (!axis::signer::InitXmlSecurity().ok()) {
    std::abort();
  }
  Trust();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  axis::signer::VerifyOptions options;
  options.trust = &Trust();
  // A fixed time keeps runs reproducible (no wall clock) and inside the
  // test PKI's validity.
  options.at = absl::FromUnixSeconds(1767225600);  // 2026-01-01T00:00:00Z
  options.document_name = "fuzz.xml";
  options.offline = true;  // fuzz inputs must never make the verifier fetch OCSP
  options.limits.max_bytes = size_t{1} << 20;
  absl::StatusOr<axis::signer::Report> report = axis::signer::VerifyDocument(
      absl::string_view(reinterpret_cast<const char*>(data), size), options);
  if (report.ok()) {
    // Exercise the renderers too: they walk everything the verifier filled.
    (void)axis::signer::ReportText(*report);
    (void)axis::signer::ReportJson(*report);
  }
  // libxml2 keeps a copy of the last parse error per thread until the next
  // one; without this reset libFuzzer sees unbalanced mallocs, takes them
  // for a leak-like global state and turns off per-input leak detection.
  xmlResetLastError();
  return 0;
}
