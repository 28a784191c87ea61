// batch_signer_bench: how many envelope headers one seal key signs per
// second when T threads ask at once, signing each header alone
// (signer::SignBytes, as before batch signatures) or through a BatchSigner
// (security-server/batch_signer.h: one signature per batch of whatever
// waited). RSA-2048 (vpcp's seal) and P-256 (mic's seal); items/s = headers
// signed per second; "batch" = mean headers per signature. This is the
// ceiling the seal sets when signing is the bottleneck (a slow token key, a
// burst); ../security-server/README.md ("Performance") has the end-to-end
// figures, where a software key's signature is ~0.3 ms and batches stay small.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "security-server/batch_signer.h"
#include "signer/bytes_sign.h"
#include "signer/keys.h"

namespace axis::ss {
namespace {

const signer::SigningKey* Load(const std::string& agency) {
  signer::KeySpec spec;
  spec.key = absl::StrCat(AXIS_PKI_DIR, "/agencies/", agency, "/seal.key.pem");
  spec.cert_path = absl::StrCat(AXIS_PKI_DIR, "/agencies/", agency, "/seal.cert.pem");
  absl::StatusOr<signer::SigningKey> k = signer::LoadSigningKey(spec, signer::NoSecret());
  if (!k.ok()) {
    std::abort();
  }
  return new signer::SigningKey(std::move(*k));
}

// Seal is vpcp's RSA-2048 seal (rsa = 1) or mic's P-256 seal (rsa = 0).
const signer::SigningKey& Seal(int rsa) {
  static const signer::SigningKey* vpcp = Load("vpcp");  // thread-safe initialisation
  static const signer::SigningKey* mic = Load("mic");
  return rsa == 1 ? *vpcp : *mic;
}

// A header-sized leaf (serialized EnvelopeHeaders are ~200-300 bytes).
std::string Leaf(int thread, int64_t i) {
  return absl::StrCat(std::string(200, 'h'), thread, "/", i);
}

void BM_SignEachAlone(benchmark::State& state) {
  const signer::SigningKey& key = Seal(static_cast<int>(state.range(0)));
  int64_t i = 0;
  for (auto _ : state) {
    auto sig = signer::SignBytes(key, Leaf(state.thread_index(), i++));
    benchmark::DoNotOptimize(sig);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_BatchSigner(benchmark::State& state) {
  static BatchSigner* signers[2] = {nullptr, nullptr};
  const int rsa = static_cast<int>(state.range(0));
  if (state.thread_index() == 0) {
    delete signers[rsa];
    signers[rsa] = new BatchSigner(&Seal(rsa), BatchKind::kEnvelope);
  }
  // Google Benchmark starts the threads' loops together (a barrier), after
  // thread 0's setup above.
  int64_t i = 0;
  for (auto _ : state) {
    auto proof = signers[rsa]->Sign(Leaf(state.thread_index(), i++));
    benchmark::DoNotOptimize(proof);
  }
  state.SetItemsProcessed(state.iterations());
  if (state.thread_index() == 0) {
    BatchSigner::Stats s = signers[rsa]->stats();
    state.counters["batch"] =
        s.signatures > 0 ? static_cast<double>(s.leaves) / static_cast<double>(s.signatures) : 0;
  }
}

BENCHMARK(BM_SignEachAlone)->ArgName("rsa")->Arg(1)->Arg(0)->Threads(1)->Threads(4)->Threads(16)->UseRealTime();
BENCHMARK(BM_BatchSigner)->ArgName("rsa")->Arg(1)->Arg(0)->Threads(1)->Threads(4)->Threads(16)->UseRealTime();

}  // namespace
}  // namespace axis::ss

BENCHMARK_MAIN();
