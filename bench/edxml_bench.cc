// edxml_bench: what receiving an edXML message costs.
//
// 50KB/*: a ~50 KB document message (header plus a 25 KiB attachment),
// signed by the leader (ProofOfApproval, agencies/vpcp/leader) and then
// sealed by the agency (ProofOfOrigin, agencies/vpcp/seal) in edXMLHeader,
// as `axis sign --as leader` / `--as agency` do. read_validate is
// edxml::ReadMessageString (attachments decoded, hashed, discarded) plus
// Validate; verify is signer::VerifyDocument with the test roots and chain
// at a fixed time; receive is both, what a server does per message.
//
// 100MB/read_validate: a message with a 100 MB attachment (~135 MB of XML)
// on disk, read with edxml::ReadMessageFile, the attachment decoded into a
// temporary directory (and removed after each iteration), then Validate.
// The reader streams, so its peak RSS should not grow with the attachment.
// That message is signed leader-then-agency too (in the fixture), and
// 100MB/verify reads it into memory and runs signer::VerifyDocument, which
// works on a DOM of the whole document (bounded at 256 MiB): its peak RSS
// does grow with the attachment; 100MB/receive is read_validate + verify.
//
// Each benchmark reports MB/s of message XML and peak_rss_MB, the process's
// resident high-water mark during that benchmark (reset through
// /proc/self/clear_refs before it starts; where that is refused, the figure
// is the process's peak so far). The peak of the whole run (getrusage
// ru_maxrss, kept across the resets) is printed at the end.
//
// Environment: AXIS_BENCH_TMP, where the 100 MB files go (default TMPDIR or
// /tmp; ~340 MB needed, removed at exit).
#include <dirent.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/files.h"
#include "edxml/message.h"
#include "edxml/reader.h"
#include "edxml/validate.h"
#include "edxml/writer.h"
#include "signer/certs.h"
#include "signer/keys.h"
#include "signer/sign.h"
#include "signer/verify.h"
#include "signer/xml.h"

namespace axis {
namespace {

std::string Pki(const std::string& rel) { return std::string(AXIS_PKI_DIR) + "/" + rel; }

absl::Time FixedTime() {
  return absl::FromCivil(absl::CivilSecond(2026, 6, 1, 0, 0, 0), absl::UTCTimeZone());
}

void Check(const absl::Status& s, const std::string& what) {
  if (!s.ok()) {
    std::cerr << "edxml_bench: " << what << ": " << s << "\n";
    std::exit(2);
  }
}

struct Fixture {
  std::string dir;            // temporary directory for every file below
  std::string decoded_dir;    // where the 100 MB attachment is decoded
  std::string small_signed;   // the ~50 KB message, leader then agency signed
  std::string large_path;     // the message with a 100 MB attachment
  uint64_t large_bytes = 0;
  signer::TrustStore trust;
};

Fixture* fixture = nullptr;

// WriteAttachment writes `size` bytes of a deterministic, incompressible-ish
// pattern to `path`, in 1 MiB pieces.
void WriteAttachment(const std::string& path, size_t size) {
  std::ofstream out(path, std::ios::binary);
  std::string block(size_t{1} << 20, '\0');
  uint64_t x = 0x9e3779b97f4a7c15u;
  for (size_t done = 0; done < size;) {
    for (char& c : block) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      c = static_cast<char>(x);
    }
    size_t n = std::min(block.size(), size - done);
    out.write(block.data(), static_cast<std::streamsize>(n));
    done += n;
  }
  if (!out.good()) {
    Check(absl::InternalError("write failed"), path);
  }
}

edxml::Message MakeMessage(const std::string& attachment_path, const std::string& name) {
  edxml::Message m;
  edxml::MessageHeader& h = m.header;
  h.from.emplace();
  h.from->organ_id = "000.00.00.G22";
  h.from->organ_name = "Văn phòng Chính phủ";
  h.to.emplace_back();
  h.to.back().organ_id = "000.00.01.H26";
  h.to.back().organ_name = "Bộ Thông tin và Truyền thông";
  h.code.emplace();
  h.code->code_number = "123";
  h.code->code_notation = "QĐ-TTg";
  h.promulgation_info.emplace();
  h.promulgation_info->place = "Hà Nội";
  h.promulgation_info->promulgation_date = "2026/05/15";
  h.document_id = "000.00.00.G22,2026/05/15,123/QĐ-TTg";
  h.document_type.emplace();
  h.document_type->type = "1";
  h.document_type->type_name = "Quyết định";
  h.subject = "Quyết định phê duyệt Đề án phát triển hệ thống trao đổi văn bản điện tử";
  h.signer_info.emplace();
  h.signer_info->competence = "TM. Chính phủ";
  h.signer_info->position = "Thủ tướng";
  h.signer_info->full_name = "Nguyễn Văn A";
  m.manifest.emplace();
  m.manifest->version = "1.0";
  m.manifest->reference.emplace_back();
  m.manifest->reference.back().content_id = "cid:1";
  m.manifest->reference.back().content_type = "application/pdf";
  m.manifest->reference.back().attachment_name = name;
  m.attachments.emplace_back();
  edxml::Attachment& a = m.attachments.back();
  a.content_id = "cid:1";
  a.attachment_name = name;
  a.content_type = "application/pdf";
  a.content.emplace();
  a.content->path = attachment_path;
  return m;
}

void RemoveFilesIn(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) {
    return;
  }
  std::vector<std::string> names;
  while (const dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") {
      names.push_back(n);
    }
  }
  ::closedir(d);
  for (const std::string& n : names) {
    ::unlink((dir + "/" + n).c_str());
  }
}

void Cleanup() {
  if (fixture != nullptr && !fixture->dir.empty()) {
    RemoveFilesIn(fixture->decoded_dir);
    ::rmdir(fixture->decoded_dir.c_str());
    RemoveFilesIn(fixture->dir);
    ::rmdir(fixture->dir.c_str());
  }
}

signer::SigningKey LoadKey(const std::string& agency, const std::string& who) {
  signer::KeySpec spec{Pki("agencies/" + agency + "/" + who + ".key.pem"),
                       Pki("agencies/" + agency + "/" + who + ".cert.pem"), Pki("chain.pem")};
  absl::StatusOr<signer::SigningKey> key = signer::LoadSigningKey(spec, signer::NoSecret());
  Check(key.status(), spec.key);
  return std::move(*key);
}

std::string Sign(const std::string& xml, const signer::SigningKey& key,
                 const std::string& commitment) {
  signer::SignOptions o;
  o.signing_time = FixedTime() - absl::Hours(1);
  o.parent_ns = edxml::kEdxmlNs;
  o.parent_name = "edXMLHeader";
  o.commitment = commitment;
  absl::StatusOr<std::string> out = signer::SignDocument(xml, key, o);
  Check(out.status(), "sign");
  return std::move(*out);
}

void LoadFixture() {
  fixture = new Fixture();
  Check(signer::InitXmlSecurity(), "xmlsec");
  const char* base = std::getenv("AXIS_BENCH_TMP");
  if (base == nullptr || *base == '\0') {
    base = std::getenv("TMPDIR");
  }
  std::string tmpl = absl::StrCat(base != nullptr && *base != '\0' ? base : "/tmp",
                                  "/edxml-bench-XXXXXX");
  if (::mkdtemp(tmpl.data()) == nullptr) {
    Check(absl::InternalError("mkdtemp failed"), tmpl);
  }
  fixture->dir = tmpl;
  fixture->decoded_dir = tmpl + "/decoded";
  ::mkdir(fixture->decoded_dir.c_str(), 0700);
  std::atexit(Cleanup);

  // ~50 KB signed: 25 KiB decoded is 34.6 KB of base64 lines, plus ~2 KB of
  // header and ~14 KB for the two signatures.
  const std::string small_att = fixture->dir + "/small.pdf";
  WriteAttachment(small_att, 25 * 1024);
  absl::StatusOr<std::string> small =
      edxml::BuildMessage(MakeMessage(small_att, "quyet-dinh-123.pdf"));
  Check(small.status(), "build 50 KB message");
  std::string leader = Sign(*small, LoadKey("vpcp", "leader"), signer::kProofOfApproval);
  fixture->small_signed = Sign(leader, LoadKey("vpcp", "seal"), signer::kProofOfOrigin);

  const std::string large_att = fixture->dir + "/large.pdf";
  WriteAttachment(large_att, size_t{100} << 20);
  fixture->large_path = fixture->dir + "/large.xml";
  Check(edxml::WriteMessageFile(MakeMessage(large_att, "ho-so-100MB.pdf"), fixture->large_path),
        "write 100 MB message");
  ::unlink(large_att.c_str());
  {
    absl::StatusOr<std::string> unsigned_xml = ReadFile(fixture->large_path, size_t{256} << 20);
    Check(unsigned_xml.status(), "read 100 MB message");
    std::string leader = Sign(*unsigned_xml, LoadKey("vpcp", "leader"), signer::kProofOfApproval);
    unsigned_xml->clear();
    unsigned_xml->shrink_to_fit();
    Check(WriteFileAtomic(fixture->large_path,
                          Sign(leader, LoadKey("vpcp", "seal"), signer::kProofOfOrigin)),
          "write signed 100 MB message");
  }
  std::ifstream in(fixture->large_path, std::ios::binary | std::ios::ate);
  fixture->large_bytes = static_cast<uint64_t>(in.tellg());

  absl::StatusOr<signer::TrustStore> trust =
      signer::TrustStore::FromPemFiles({Pki("roots.pem")}, {Pki("chain.pem")}, {Pki("crl.pem")});
  Check(trust.status(), "trust store");
  fixture->trust = std::move(*trust);
}

double PeakRssMb() {
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB
}

double run_peak_mb = 0;  // the peak before the last reset

// ResetPeakRss asks the kernel to restart the resident high-water mark
// (Linux >= 4.0; getrusage reads the same mark); harmless where refused.
void ResetPeakRss() {
  run_peak_mb = std::max(run_peak_mb, PeakRssMb());
  int fd = ::open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
  if (fd >= 0) {
    ssize_t n = ::write(fd, "5", 1);
    (void)n;
    ::close(fd);
  }
}

void Finish(benchmark::State& state, uint64_t bytes_per_op) {
  state.counters["MB/s"] = benchmark::Counter(
      static_cast<double>(state.iterations() * bytes_per_op) / 1e6, benchmark::Counter::kIsRate);
  state.counters["peak_rss_MB"] = PeakRssMb();
}

bool ReadValidate(benchmark::State& state, const std::string& xml) {
  absl::StatusOr<edxml::Message> m = edxml::ReadMessageString(xml, "bench.xml");
  if (!m.ok()) {
    state.SkipWithError(std::string(m.status().message()).c_str());
    return false;
  }
  std::vector<edxml::Problem> problems = edxml::Validate(*m);
  if (edxml::HasErrors(problems)) {
    state.SkipWithError(("invalid: " + problems.front().ToString()).c_str());
    return false;
  }
  benchmark::DoNotOptimize(problems.data());
  return true;
}

bool Verify(benchmark::State& state, const std::string& xml) {
  signer::VerifyOptions o;
  o.trust = &fixture->trust;
  o.at = FixedTime();
  o.offline = true;  // revocation from the CRL above; never the network
  o.document_name = "bench.xml";
  o.signature_parent_ns = edxml::kEdxmlNs;
  o.signature_parent_name = "edXMLHeader";
  absl::StatusOr<signer::Report> report = signer::VerifyDocument(xml, o);
  if (!report.ok() || !report->Valid() || report->signatures.size() != 2) {
    state.SkipWithError(report.ok() ? "signatures not valid (or not two)"
                                    : std::string(report.status().message()).c_str());
    return false;
  }
  benchmark::DoNotOptimize(report->signatures.data());
  return true;
}

void SmallReadValidate(benchmark::State& state) {
  ResetPeakRss();
  for (auto _ : state) {
    if (!ReadValidate(state, fixture->small_signed)) {
      break;
    }
  }
  Finish(state, fixture->small_signed.size());
}

void SmallVerify(benchmark::State& state) {
  ResetPeakRss();
  for (auto _ : state) {
    if (!Verify(state, fixture->small_signed)) {
      break;
    }
  }
  Finish(state, fixture->small_signed.size());
}

void SmallReceive(benchmark::State& state) {
  ResetPeakRss();
  for (auto _ : state) {
    if (!ReadValidate(state, fixture->small_signed) || !Verify(state, fixture->small_signed)) {
      break;
    }
  }
  Finish(state, fixture->small_signed.size());
}

void LargeReadValidate(benchmark::State& state) {
  edxml::ReadOptions options;
  options.attachment_dir = fixture->decoded_dir;
  ResetPeakRss();
  for (auto _ : state) {
    absl::StatusOr<edxml::Message> m = edxml::ReadMessageFile(fixture->large_path, options);
    if (!m.ok()) {
      state.SkipWithError(std::string(m.status().message()).c_str());
      break;
    }
    std::vector<edxml::Problem> problems = edxml::Validate(*m);
    if (edxml::HasErrors(problems) || m->attachments.size() != 1 ||
        m->attachments[0].content->size != (uint64_t{100} << 20)) {
      state.SkipWithError("invalid message or wrong attachment size");
      break;
    }
    ::unlink(m->attachments[0].content->path.c_str());
  }
  Finish(state, fixture->large_bytes);
}

bool LargeVerifyOnce(benchmark::State& state) {
  absl::StatusOr<std::string> xml = ReadFile(fixture->large_path, size_t{256} << 20);
  if (!xml.ok()) {
    state.SkipWithError(std::string(xml.status().message()).c_str());
    return false;
  }
  return Verify(state, *xml);
}

void LargeVerify(benchmark::State& state) {
  ResetPeakRss();
  for (auto _ : state) {
    if (!LargeVerifyOnce(state)) {
      break;
    }
  }
  Finish(state, fixture->large_bytes);
}

void LargeReceive(benchmark::State& state) {
  edxml::ReadOptions options;
  ResetPeakRss();
  for (auto _ : state) {
    absl::StatusOr<edxml::Message> m = edxml::ReadMessageFile(fixture->large_path, options);
    if (!m.ok() || edxml::HasErrors(edxml::Validate(*m))) {
      state.SkipWithError("100 MB message does not read or validate");
      break;
    }
    if (!LargeVerifyOnce(state)) {
      break;
    }
  }
  Finish(state, fixture->large_bytes);
}

}  // namespace
}  // namespace axis

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) {
    return 2;
  }
  axis::LoadFixture();
  std::printf("50KB message: %zu bytes, 2 signatures; 100MB message: %llu bytes\n",
              axis::fixture->small_signed.size(),
              static_cast<unsigned long long>(axis::fixture->large_bytes));
  benchmark::RegisterBenchmark("50KB/read_validate", axis::SmallReadValidate)
      ->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark("50KB/verify", axis::SmallVerify)->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark("50KB/receive", axis::SmallReceive)->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark("100MB/read_validate", axis::LargeReadValidate)
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime();
  benchmark::RegisterBenchmark("100MB/verify", axis::LargeVerify)
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime();
  benchmark::RegisterBenchmark("100MB/receive", axis::LargeReceive)
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime();
  // The failed flag comes from a reporter wrapper, as in signer_bench.
  class Reporter : public benchmark::ConsoleReporter {
   public:
    Reporter() : ConsoleReporter(::isatty(1) ? OO_ColorTabular : OO_Tabular) {}
    void ReportRuns(const std::vector<Run>& runs) override {
      for (const Run& r : runs) {
        failed = failed || r.error_occurred;
      }
      ConsoleReporter::ReportRuns(runs);
    }
    bool failed = false;
  } reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  std::printf("peak RSS of the whole run (getrusage ru_maxrss): %.1f MB\n",
              std::max(axis::run_peak_mb, axis::PeakRssMb()));
  return reporter.failed ? 1 : 0;
}
