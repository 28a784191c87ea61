// signer_bench: what an axis signature costs next to the bare public-key
// operation it rests on.
//
// axis_sign / axis_verify run signer::SignDocument / signer::VerifyDocument
// on a 20 KB and a 2 MB official document (Vietnamese UTF-8 paragraphs) with
// the test PKI's RSA-2048 (agencies/vpcp/leader) and ECDSA P-256
// (agencies/mic/leader) leaders. raw_sign / raw_verify are EVP_DigestSign /
// EVP_DigestVerify of a 32-byte message with the same keys, measured in the
// same run. Each benchmark reports ops/s; after the run a table gives how
// many raw operations one axis operation costs.
//
// axis_verify includes what a verifier must do besides the signature: parse
// the document, check the strict profile, every reference digest, and the
// chain (two RSA-3072 certificate signatures) at a fixed time.
//
// With the real axis-tsa (build/bin, started on loopback): axis_sign_bt
// signs and time-stamps (XAdES B-T, one HTTP round trip);
// axis_verify_lt_offline verifies a B-LT signature with the roots alone
// (time-stamp token, chain at its genTime, embedded revocation data: here
// a CRL the bench issues after the time-stamp, as no OCSP responder runs in the bench).
//
// The 2 MB sign figures swing with glibc's heap trimming: each SignDocument
// frees several megabytes (parse tree, serialised copies) that glibc hands
// back to the kernel and faults in again on the next call. Compare with
// GLIBC_TUNABLES=glibc.malloc.trim_threshold=268435456:glibc.malloc.mmap_threshold=268435456
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <benchmark/benchmark.h>

#include <cstdio>
#include <ctime>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/c_ptr.h"
#include "common/files.h"
#include "signer/certs.h"
#include "signer/extend.h"
#include "signer/keys.h"
#include "signer/sign.h"
#include "signer/verify.h"
#include "signer/xml.h"
#include "tests/tsa/tsa_process.h"

namespace axis::signer {
namespace {

std::string Pki(const std::string& rel) { return std::string(AXIS_PKI_DIR) + "/" + rel; }

absl::Time FixedTime() {
  return absl::FromCivil(absl::CivilSecond(2026, 6, 1, 0, 0, 0), absl::UTCTimeZone());
}

// kParagraphs are the body of an official letter; the document repeats them,
// numbered, until it reaches the wanted size.
constexpr const char* kParagraphs[] = {
    "Căn cứ Luật Tổ chức Chính phủ ngày 19 tháng 6 năm 2015; Luật sửa đổi, bổ sung một số "
    "điều của Luật Tổ chức Chính phủ và Luật Tổ chức chính quyền địa phương ngày 22 tháng 11 "
    "năm 2019;",
    "Căn cứ Luật Giao dịch điện tử ngày 22 tháng 6 năm 2023 và Nghị định số 130/2018/NĐ-CP "
    "quy định chi tiết thi hành Luật Giao dịch điện tử về chữ ký số và dịch vụ chứng thực "
    "chữ ký số;",
    "Theo đề nghị của Bộ trưởng Bộ Thông tin và Truyền thông, Thủ tướng Chính phủ quyết định "
    "phê duyệt Đề án phát triển hệ thống trao đổi văn bản điện tử giữa các cơ quan nhà nước.",
    "Các Bộ, cơ quan ngang Bộ, cơ quan thuộc Chính phủ, Ủy ban nhân dân các tỉnh, thành phố "
    "trực thuộc trung ương chịu trách nhiệm thi hành Quyết định này; báo cáo kết quả thực hiện "
    "trước ngày 31 tháng 12 hằng năm.",
};

std::string MakeDocument(size_t target_bytes) {
  std::string doc =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<VanBan xmlns=\"urn:axis:bench:vanban\" Id=\"vanban-1\">\n"
      "  <SoKyHieu>123/QĐ-TTg</SoKyHieu>\n"
      "  <TrichYeu>Quyết định phê duyệt Đề án chuyển đổi số quốc gia</TrichYeu>\n"
      "  <NoiDung>\n";
  const std::string tail = "  </NoiDung>\n</VanBan>\n";
  for (int n = 1; doc.size() + tail.size() < target_bytes; ++n) {
    absl::StrAppend(&doc, "    <DoanVan so=\"", n, "\">",
                    kParagraphs[n % std::size(kParagraphs)], "</DoanVan>\n");
  }
  return doc + tail;
}

struct Signer {
  std::string name;  // "RSA-2048", "P-256"
  SigningKey key;
  UniquePtr<EVP_PKEY> public_key;  // from the certificate, for raw_verify
};

struct Fixture {
  std::vector<std::unique_ptr<Signer>> signers;
  TrustStore trust;
  TrustStore roots_only;  // roots + chain, no CRL: B-LT brings its own data
  TrustStore crls;        // crl.pem only: B-LT's fallback when OCSP is down
  // The real axis-tsa for the B-T/B-LT cases (nullptr when it cannot start).
  std::unique_ptr<axis::testing::TsaProcess> tsa;
  std::map<std::string, std::string> documents;  // "20KB" -> XML
};

Fixture* fixture = nullptr;

void Check(const absl::Status& s, const std::string& what) {
  if (!s.ok()) {
    std::cerr << "signer_bench: " << what << ": " << s << "\n";
    std::exit(2);
  }
}

void LoadFixture() {
  fixture = new Fixture();
  Check(InitXmlSecurity(), "xmlsec");
  for (auto [name, dir] : {std::pair{"RSA-2048", "agencies/vpcp"}, {"P-256", "agencies/mic"}}) {
    KeySpec spec{Pki(std::string(dir) + "/leader.key.pem"),
                 Pki(std::string(dir) + "/leader.cert.pem"), Pki("chain.pem")};
    absl::StatusOr<SigningKey> key = LoadSigningKey(spec, NoSecret());
    Check(key.status(), spec.key);
    auto s = std::make_unique<Signer>();
    s->name = name;
    s->key = std::move(*key);
    s->public_key.reset(X509_get_pubkey(s->key.cert.get()));
    fixture->signers.push_back(std::move(s));
  }
  // With the CRL: the strict profile needs the signer's revocation status,
  // and the bench must not ask an OCSP responder.
  absl::StatusOr<TrustStore> trust =
      TrustStore::FromPemFiles({Pki("roots.pem")}, {Pki("chain.pem")}, {Pki("crl.pem")});
  Check(trust.status(), "trust store");
  fixture->trust = std::move(*trust);
  absl::StatusOr<TrustStore> roots =
      TrustStore::FromPemFiles({Pki("roots.pem")}, {Pki("chain.pem")}, {});
  Check(roots.status(), "trust store");
  fixture->roots_only = std::move(*roots);
  absl::StatusOr<TrustStore> crls = TrustStore::FromPemFiles({}, {}, {Pki("crl.pem")});
  Check(crls.status(), "crl.pem");
  fixture->crls = std::move(*crls);
  absl::StatusOr<axis::testing::TsaProcess> tsa =
      axis::testing::StartTsaProcess(axis::testing::TestPkiTsa(AXIS_BIN_DIR, AXIS_PKI_DIR));
  if (tsa.ok()) {
    fixture->tsa = std::make_unique<axis::testing::TsaProcess>(std::move(*tsa));
  } else {
    std::cerr << "signer_bench: no axis-tsa, B-T/B-LT cases skipped: " << tsa.status() << "\n";
  }
  fixture->documents["20KB"] = MakeDocument(20 * 1024);
  fixture->documents["2MB"] = MakeDocument(2 * 1024 * 1024);
}

SignOptions BenchSignOptions() {
  SignOptions o;
  o.role = "Thủ tướng";
  o.signing_time = FixedTime() - absl::Hours(1);
  return o;
}

void SetOpsPerSecond(benchmark::State& state) {
  state.counters["ops/s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

void AxisSign(benchmark::State& state, const Signer* signer, const std::string* doc) {
  SignOptions options = BenchSignOptions();
  for (auto _ : state) {
    absl::StatusOr<std::string> out = SignDocument(*doc, signer->key, options);
    if (!out.ok()) {
      state.SkipWithError(std::string(out.status().message()).c_str());
      break;
    }
    benchmark::DoNotOptimize(out->data());
  }
  SetOpsPerSecond(state);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * doc->size()));
}

void AxisVerify(benchmark::State& state, const Signer* signer, const std::string* doc) {
  absl::StatusOr<std::string> signed_doc = SignDocument(*doc, signer->key, BenchSignOptions());
  if (!signed_doc.ok()) {
    state.SkipWithError(std::string(signed_doc.status().message()).c_str());
    return;
  }
  VerifyOptions options;
  options.trust = &fixture->trust;
  options.at = FixedTime();
  options.require_xades = true;
  options.offline = true;
  for (auto _ : state) {
    absl::StatusOr<Report> report = VerifyDocument(*signed_doc, options);
    if (!report.ok() || !report->Valid()) {
      state.SkipWithError(report.ok() ? "signature not valid"
                                      : std::string(report.status().message()).c_str());
      break;
    }
    benchmark::DoNotOptimize(report->signatures.data());
  }
  SetOpsPerSecond(state);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * signed_doc->size()));
}

// FreshCrl is the issuing CA's CRL made now (the test CA's key is in
// pki-testdata), as a CA publishing on schedule would have one after the
// time-stamp; like crl.pem it lists the revoked leader (serial F001).
TrustStore FreshCrl() {
  absl::StatusOr<std::string> cert_pem = axis::ReadFile(Pki("issuing-ca/issuing-ca.cert.pem"));
  absl::StatusOr<std::string> key_pem = axis::ReadFile(Pki("issuing-ca/issuing-ca.key.pem"));
  Check(cert_pem.status(), "issuing CA certificate");
  Check(key_pem.status(), "issuing CA key");
  axis::UniquePtr<BIO> cb(BIO_new_mem_buf(cert_pem->data(), static_cast<int>(cert_pem->size())));
  axis::UniquePtr<BIO> kb(BIO_new_mem_buf(key_pem->data(), static_cast<int>(key_pem->size())));
  axis::UniquePtr<X509> ca(PEM_read_bio_X509(cb.get(), nullptr, nullptr, nullptr));
  axis::UniquePtr<EVP_PKEY> key(PEM_read_bio_PrivateKey(kb.get(), nullptr, nullptr, nullptr));
  axis::UniquePtr<X509_CRL> crl(X509_CRL_new());
  axis::UniquePtr<ASN1_STRING> now(ASN1_TIME_set(nullptr, std::time(nullptr)));
  axis::UniquePtr<ASN1_STRING> next(ASN1_TIME_set(nullptr, std::time(nullptr) + 86400));
  axis::UniquePtr<ASN1_STRING> revoked_at(ASN1_TIME_set(nullptr, 1767225600));  // 2026-01-01
  axis::UniquePtr<BIGNUM> serial_bn;
  BIGNUM* bn = nullptr;
  BN_hex2bn(&bn, "F001");
  serial_bn.reset(bn);
  axis::UniquePtr<ASN1_STRING> serial(BN_to_ASN1_INTEGER(serial_bn.get(), nullptr));
  X509_REVOKED* entry = X509_REVOKED_new();
  bool ok = ca != nullptr && key != nullptr && crl != nullptr && entry != nullptr &&
            X509_CRL_set_version(crl.get(), 1) == 1 &&
            X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(ca.get())) == 1 &&
            X509_CRL_set1_lastUpdate(crl.get(), now.get()) == 1 &&
            X509_CRL_set1_nextUpdate(crl.get(), next.get()) == 1 &&
            X509_REVOKED_set_serialNumber(entry, serial.get()) == 1 &&
            X509_REVOKED_set_revocationDate(entry, revoked_at.get()) == 1 &&
            X509_CRL_add0_revoked(crl.get(), entry) == 1;
  if (!ok) {
    X509_REVOKED_free(entry);
  }
  ok = ok && X509_CRL_sort(crl.get()) == 1 && X509_CRL_sign(crl.get(), key.get(), EVP_sha256()) > 0;
  if (!ok) {
    std::cerr << "signer_bench: cannot make a fresh CRL\n";
    std::exit(2);
  }
  TrustStore store;
  store.AddCrl(std::move(crl));
  return store;
}

// ExtendOptionsFor asks the bench's axis-tsa for a time-stamp; for B-LT
// the signer's status comes from crl.pem (no OCSP responder runs here: the
// AIA's http://127.0.0.1:8888/ refuses at once).
ExtendOptions ExtendOptionsFor(bool ltv) {
  ExtendOptions o;
  o.tsa_url = fixture->tsa->url;
  o.ltv = ltv;
  o.ocsp_timeout = absl::Seconds(2);
  o.extra = &fixture->crls;
  return o;
}

// AxisSignBt: sign and time-stamp (one round trip to axis-tsa on loopback).
void AxisSignBt(benchmark::State& state, const Signer* signer, const std::string* doc) {
  SignOptions options = BenchSignOptions();
  ExtendOptions extend = ExtendOptionsFor(/*ltv=*/false);
  for (auto _ : state) {
    absl::StatusOr<std::string> out = SignDocument(*doc, signer->key, options);
    if (out.ok()) {
      out = ExtendDocument(*out, extend);
    }
    if (!out.ok()) {
      state.SkipWithError(std::string(out.status().message()).c_str());
      break;
    }
    benchmark::DoNotOptimize(out->data());
  }
  SetOpsPerSecond(state);
}

// AxisVerifyLtOffline: a B-LT signature verified with nothing but the roots:
// time-stamp token, chain at its genTime, embedded revocation data.
void AxisVerifyLtOffline(benchmark::State& state, const Signer* signer, const std::string* doc) {
  absl::StatusOr<std::string> lt = SignDocument(*doc, signer->key, BenchSignOptions());
  if (lt.ok()) {
    lt = ExtendDocument(*lt, ExtendOptionsFor(/*ltv=*/false));
  }
  // Revocation data must postdate the time-stamp to prove anything about the
  // signer at that time: a CRL issued a moment after it.
  absl::SleepFor(absl::Milliseconds(1100));
  TrustStore fresh = FreshCrl();
  if (lt.ok()) {
    ExtendOptions o = ExtendOptionsFor(/*ltv=*/true);
    o.extra = &fresh;
    lt = ExtendDocument(*lt, o);
  }
  if (!lt.ok()) {
    state.SkipWithError(std::string(lt.status().message()).c_str());
    return;
  }
  VerifyOptions options;
  options.trust = &fixture->roots_only;
  options.offline = true;
  for (auto _ : state) {
    absl::StatusOr<Report> report = VerifyDocument(*lt, options);
    if (!report.ok() || !report->Valid() || report->signatures[0].level != "B-LT") {
      state.SkipWithError(report.ok() ? "B-LT signature not valid offline"
                                      : std::string(report.status().message()).c_str());
      break;
    }
    benchmark::DoNotOptimize(report->signatures.data());
  }
  SetOpsPerSecond(state);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * lt->size()));
}

constexpr unsigned char kMessage[32] = {'a', 'x', 'i', 's', '-', 'b', 'e', 'n', 'c', 'h'};

std::string RawSignOnce(EVP_PKEY* key) {
  UniquePtr<EVP_MD_CTX> ctx(EVP_MD_CTX_new());
  size_t len = 0;
  std::string sig;
  if (EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &len, kMessage, sizeof(kMessage)) != 1) {
    return "";
  }
  sig.resize(len);
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, kMessage,
                     sizeof(kMessage)) != 1) {
    return "";
  }
  sig.resize(len);
  return sig;
}

void RawSign(benchmark::State& state, const Signer* signer) {
  for (auto _ : state) {
    std::string sig = RawSignOnce(signer->key.key.get());
    if (sig.empty()) {
      state.SkipWithError("EVP_DigestSign failed");
      break;
    }
    benchmark::DoNotOptimize(sig.data());
  }
  SetOpsPerSecond(state);
}

void RawVerify(benchmark::State& state, const Signer* signer) {
  std::string sig = RawSignOnce(signer->key.key.get());
  for (auto _ : state) {
    UniquePtr<EVP_MD_CTX> ctx(EVP_MD_CTX_new());
    if (EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr,
                             signer->public_key.get()) != 1 ||
        EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(sig.data()),
                         sig.size(), kMessage, sizeof(kMessage)) != 1) {
      state.SkipWithError("EVP_DigestVerify failed");
      break;
    }
  }
  SetOpsPerSecond(state);
}

void RegisterAll() {
  for (const auto& s : fixture->signers) {
    const Signer* signer = s.get();
    benchmark::RegisterBenchmark(("raw_sign/" + signer->name).c_str(), RawSign, signer)
        ->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark(("raw_verify/" + signer->name).c_str(), RawVerify, signer)
        ->Unit(benchmark::kMicrosecond);
    for (const auto& [size, doc] : fixture->documents) {
      benchmark::RegisterBenchmark(("axis_sign/" + size + "/" + signer->name).c_str(), AxisSign,
                                   signer, &doc)
          ->Unit(benchmark::kMillisecond);
      benchmark::RegisterBenchmark(("axis_verify/" + size + "/" + signer->name).c_str(),
                                   AxisVerify, signer, &doc)
          ->Unit(benchmark::kMillisecond);
    }
    if (fixture->tsa != nullptr) {
      const std::string* doc = &fixture->documents.at("20KB");
      benchmark::RegisterBenchmark(("axis_sign_bt/20KB/" + signer->name).c_str(), AxisSignBt,
                                   signer, doc)
          ->Unit(benchmark::kMillisecond);
      benchmark::RegisterBenchmark(("axis_verify_lt_offline/20KB/" + signer->name).c_str(),
                                   AxisVerifyLtOffline, signer, doc)
          ->Unit(benchmark::kMillisecond);
    }
  }
}

// CapturingReporter prints as the console reporter does and keeps every
// benchmark's CPU time per operation for the ratio table: the same clock as
// the ops/s counters (kIsRate divides by CPU time), and steadier than wall
// time on a shared machine. With --benchmark_repetitions the median wins,
// as it is reported after the repetitions.
class CapturingReporter : public benchmark::ConsoleReporter {
 public:
  // Colours only on a terminal, so ctest logs stay plain text.
  CapturingReporter() : ConsoleReporter(::isatty(1) ? OO_ColorTabular : OO_Tabular) {}

  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& run : runs) {
      if (run.error_occurred) {
        failed_ = true;
        continue;
      }
      bool median = run.run_type == Run::RT_Aggregate && run.aggregate_name == "median";
      if ((run.run_type == Run::RT_Iteration || median) && run.iterations > 0) {
        seconds_per_op_[run.run_name.str()] =
            run.cpu_accumulated_time / static_cast<double>(run.iterations);
      }
    }
    ConsoleReporter::ReportRuns(runs);
  }

  bool failed() const { return failed_; }
  // SecondsPerOp is 0 when `name` did not run (filtered out or failed).
  double SecondsPerOp(const std::string& name) const {
    auto it = seconds_per_op_.find(name);
    return it == seconds_per_op_.end() ? 0 : it->second;
  }

 private:
  bool failed_ = false;
  std::map<std::string, double> seconds_per_op_;
};

void PrintRatios(const CapturingReporter& r) {
  std::printf("\n%-38s %12s %12s %10s\n", "axis operation / raw operation", "axis ops/s",
              "raw ops/s", "ratio");
  for (const auto& s : fixture->signers) {
    for (const char* op : {"sign", "verify"}) {
      for (const char* size : {"20KB", "2MB"}) {
        double axis = r.SecondsPerOp(absl::StrCat("axis_", op, "/", size, "/", s->name));
        double raw = r.SecondsPerOp(absl::StrCat("raw_", op, "/", s->name));
        if (axis == 0 || raw == 0) {
          continue;
        }
        std::string label =
            absl::StrFormat("axis %s %s %s / raw %s", op, size, s->name, op);
        std::printf("%-38s %12.1f %12.1f %9.1fx\n", label.c_str(), 1 / axis, 1 / raw, axis / raw);
      }
    }
  }
  std::printf("ratio: CPU time of one axis operation over one raw EVP operation (32 bytes)\n");
}

}  // namespace
}  // namespace axis::signer

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) {
    return 2;
  }
  axis::signer::LoadFixture();
  axis::signer::RegisterAll();
  axis::signer::CapturingReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  axis::signer::PrintRatios(reporter);
  axis::signer::fixture->tsa.reset();  // stops axis-tsa
  return reporter.failed() ? 1 : 0;
}
