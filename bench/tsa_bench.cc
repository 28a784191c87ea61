// tsa_bench: how many RFC 3161 time-stamps per second axis-tsa gives on
// loopback, and what the HTTP round trip adds to the signing itself.
//
// stamp_http runs signer::RequestTimestamp against a real axis-tsa process
// (build/bin/axis-tsa, test PKI's RSA-2048 TSA key, port 0 on 127.0.0.1)
// from 1 and 2 client threads; each request is a new TCP connection, as the
// client makes one per call. respond_in_process calls
// TimeStampAuthority::Respond directly (request parsing, serial, TSTInfo,
// CMS signature with ESS certificate id v2). verify_token is
// signer::VerifyTimestampToken of one token (signature, ESS binding, chain of
// two RSA-3072 signatures). After the run a table gives time-stamps/s per
// thread count and the scaling from 1 to 2 threads.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <map>
#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/files.h"
#include "signer/certs.h"
#include "signer/timestamp.h"
#include "tests/testing/process.h"
#include "tsa/authority.h"

namespace axis::tsa {
namespace {

std::string PkiPath(const std::string& rel) { return std::string(AXIS_PKI_DIR) + "/" + rel; }

struct Fixture {
  std::string dir;
  std::string url;
  std::unique_ptr<axis::testing::ChildProcess> process;
  std::unique_ptr<TimeStampAuthority> in_process;
  signer::TrustStore trust;
  signer::MessageImprint imprint;
  std::string token;
};
Fixture* fixture = nullptr;

absl::Mutex rates_mu;
// rates[name][threads] = time-stamps per second over all threads, wall time.
std::map<std::string, std::map<int, double>> rates ABSL_GUARDED_BY(rates_mu);

TsaConfig BenchConfig(const std::string& dir) {
  TsaConfig c;
  c.set_listen("127.0.0.1:0");
  c.set_key_file(PkiPath("tsa/tsa.key.pem"));
  c.set_cert_file(PkiPath("tsa/tsa.cert.pem"));
  c.add_chain_files(PkiPath("chain.pem"));
  c.set_policy_oid("1.3.6.1.4.1.99999.1.1");
  c.set_accuracy_seconds(1);
  c.set_serial_file(dir + "/serial");
  return c;
}

std::string ConfigText(const TsaConfig& c) {
  return absl::StrCat("listen: \"", c.listen(), "\"\nkey_file: \"", c.key_file(),
                      "\"\ncert_file: \"", c.cert_file(), "\"\nchain_files: \"", c.chain_files(0),
                      "\"\npolicy_oid: \"", c.policy_oid(), "\"\naccuracy_seconds: ",
                      c.accuracy_seconds(), "\nserial_file: \"", c.serial_file(), "\"\n");
}

bool SetUp() {
  fixture = new Fixture();
  fixture->dir = axis::testing::MakeTempDir("tsa-bench");
  TsaConfig config = BenchConfig(fixture->dir);
  std::string config_path = fixture->dir + "/tsa.textproto";
  std::string log = fixture->dir + "/tsa.log";
  if (!WriteFileAtomic(config_path, ConfigText(config)).ok()) {
    return false;
  }
  auto child = axis::testing::ChildProcess::Start(
      {std::string(AXIS_BIN_DIR) + "/axis-tsa", "--config", config_path}, log);
  if (!child.ok()) {
    std::fprintf(stderr, "tsa_bench: %s\n", std::string(child.status().message()).c_str());
    return false;
  }
  fixture->process = std::move(*child);
  constexpr absl::string_view kReady = "axis-tsa listening on ";
  absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (fixture->url.empty() && absl::Now() < deadline && fixture->process->Running()) {
    absl::StatusOr<std::string> text = ReadFile(log);
    for (absl::string_view line : absl::StrSplit(text.value_or(""), '\n')) {
      if (absl::StartsWith(line, kReady)) {
        fixture->url = absl::StrCat("http://", line.substr(kReady.size()), "/");
      }
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
  if (fixture->url.empty()) {
    std::fprintf(stderr, "tsa_bench: axis-tsa did not start:\n%s\n",
                 ReadFile(log).value_or("").c_str());
    return false;
  }
  // The in-process authority keeps its own serial state.
  TsaConfig local = BenchConfig(fixture->dir);
  local.set_serial_file(fixture->dir + "/serial.local");
  auto authority = TimeStampAuthority::Create(local);
  auto trust = signer::TrustStore::FromPemFiles({PkiPath("roots.pem")}, {PkiPath("chain.pem")}, {});
  auto imprint = signer::ImprintOf("merkle root of a message-log batch");
  if (!authority.ok() || !trust.ok() || !imprint.ok()) {
    return false;
  }
  fixture->in_process = std::move(*authority);
  fixture->trust = std::move(*trust);
  fixture->imprint = *imprint;
  auto token = signer::RequestTimestamp(fixture->url, fixture->imprint);
  if (!token.ok()) {
    std::fprintf(stderr, "tsa_bench: %s\n", std::string(token.status().message()).c_str());
    return false;
  }
  fixture->token = *token;
  return true;
}

// Record stores the all-threads rate; thread 0 times the whole run.
void Record(const std::string& name, benchmark::State& state, absl::Time start) {
  if (state.thread_index() != 0) {
    return;
  }
  double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  if (seconds <= 0) {
    return;
  }
  absl::MutexLock lock(&rates_mu);
  // Every thread ran about as many iterations as thread 0.
  rates[name][state.threads()] =
      static_cast<double>(state.iterations()) * state.threads() / seconds;
}

void BM_StampHttp(benchmark::State& state) {
  absl::Time start = absl::Now();
  for (auto _ : state) {
    absl::StatusOr<std::string> token = signer::RequestTimestamp(fixture->url, fixture->imprint);
    if (!token.ok()) {
      state.SkipWithError(std::string(token.status().message()).c_str());
      break;
    }
    benchmark::DoNotOptimize(token->data());
  }
  state.SetItemsProcessed(state.iterations());
  Record("stamp_http", state, start);
}

void BM_RespondInProcess(benchmark::State& state) {
  // A request as the client sends it, taken from a token's imprint.
  static const std::string request = [] {
    UniquePtr<TS_REQ> req(TS_REQ_new());
    UniquePtr<TS_MSG_IMPRINT> mi(TS_MSG_IMPRINT_new());
    UniquePtr<X509_ALGOR> algor(X509_ALGOR_new());
    X509_ALGOR_set0(algor.get(), OBJ_nid2obj(NID_sha256), V_ASN1_NULL, nullptr);
    TS_MSG_IMPRINT_set_algo(mi.get(), algor.get());
    TS_MSG_IMPRINT_set_msg(
        mi.get(), reinterpret_cast<unsigned char*>(fixture->imprint.digest.data()),
        static_cast<int>(fixture->imprint.digest.size()));
    TS_REQ_set_version(req.get(), 1);
    TS_REQ_set_msg_imprint(req.get(), mi.get());
    TS_REQ_set_cert_req(req.get(), 1);
    int len = i2d_TS_REQ(req.get(), nullptr);
    std::string der(static_cast<size_t>(len), '\0');
    unsigned char* p = reinterpret_cast<unsigned char*>(der.data());
    i2d_TS_REQ(req.get(), &p);
    return der;
  }();
  absl::Time start = absl::Now();
  for (auto _ : state) {
    absl::StatusOr<std::string> reply = fixture->in_process->Respond(request);
    if (!reply.ok()) {
      state.SkipWithError(std::string(reply.status().message()).c_str());
      break;
    }
    benchmark::DoNotOptimize(reply->data());
  }
  state.SetItemsProcessed(state.iterations());
  Record("respond_in_process", state, start);
}

void BM_VerifyToken(benchmark::State& state) {
  absl::Time start = absl::Now();
  for (auto _ : state) {
    auto info = signer::VerifyTimestampToken(fixture->token, fixture->imprint, fixture->trust);
    if (!info.ok()) {
      state.SkipWithError(std::string(info.status().message()).c_str());
      break;
    }
    benchmark::DoNotOptimize(info->serial_hex.data());
  }
  state.SetItemsProcessed(state.iterations());
  Record("verify_token", state, start);
}

BENCHMARK(BM_StampHttp)->Name("stamp_http")->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(BM_RespondInProcess)->Name("respond_in_process")->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(BM_VerifyToken)->Name("verify_token")->Threads(1)->UseRealTime();

void PrintTable() {
  absl::MutexLock lock(&rates_mu);
  std::printf("\n%-22s %14s %14s %8s\n", "time-stamps/s", "1 thread", "2 threads", "scaling");
  for (const auto& [name, by_threads] : rates) {
    auto one = by_threads.find(1);
    auto two = by_threads.find(2);
    double r1 = one == by_threads.end() ? 0 : one->second;
    double r2 = two == by_threads.end() ? 0 : two->second;
    if (r2 > 0 && r1 > 0) {
      std::printf("%-22s %14.0f %14.0f %7.2fx\n", name.c_str(), r1, r2, r2 / r1);
    } else {
      std::printf("%-22s %14.0f %14s %8s\n", name.c_str(), r1, "-", "-");
    }
  }
  double http = rates.count("stamp_http") ? rates["stamp_http"][1] : 0;
  double local = rates.count("respond_in_process") ? rates["respond_in_process"][1] : 0;
  if (http > 0 && local > 0) {
    std::printf("HTTP round trip (new connection each) costs %.0f us on top of %.0f us of "
                "time-stamping, 1 thread\n",
                1e6 / http - 1e6 / local, 1e6 / local);
  }
}

}  // namespace
}  // namespace axis::tsa

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) {
    return 2;
  }
  if (!axis::tsa::SetUp()) {
    return 1;
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  axis::tsa::PrintTable();
  axis::tsa::fixture->process->Stop();
  return 0;
}
