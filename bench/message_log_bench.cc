// message_log_bench: message-log appends per second (one record per
// transaction, and 100 per transaction, WAL + synchronous FULL as the
// security server runs it), and the time to stamp a backlog of 10,000
// records with the real axis-tsa on loopback.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/files.h"
#include "security-server/log_audit.h"
#include "security-server/message_log.h"
#include "security-server/timestamper.h"
#include "signer/certs.h"
#include "tests/testing/process.h"

namespace {

using axis::ss::LogDb;

std::string Pki(const std::string& rel) { return std::string(AXIS_PKI_DIR) + "/" + rel; }

LogDb FreshDb(const std::string& path) {
  unlink(path.c_str());
  unlink((path + "-wal").c_str());
  unlink((path + "-shm").c_str());
  absl::StatusOr<LogDb> db = axis::ss::OpenLogDb(path);
  if (!db.ok() || !axis::ss::CreateLogSchema(db->get()).ok()) {
    return nullptr;
  }
  return std::move(*db);
}

const std::string& Dir() {
  static const std::string* dir = new std::string(axis::testing::MakeTempDir("log-bench"));
  return *dir;
}

axis::ss::LogEntry Entry(int64_t i) {
  // An envelope header's size: ~300 bytes of data per record.
  return axis::ss::LogEntry{axis::ss::LogEvent::kAccepted, absl::StrCat("msg-", i),
                            "VN/GOV/000.00.00.G12/dms", std::string(300, 'h')};
}

void Append(benchmark::State& state) {
  const int per_txn = static_cast<int>(state.range(0));
  LogDb db = FreshDb(Dir() + "/append.db");
  if (db == nullptr) {
    state.SkipWithError("cannot create the database");
    return;
  }
  int64_t n = 0;
  for (auto _ : state) {
    axis::ss::ExecSql(db.get(), "BEGIN IMMEDIATE").IgnoreError();
    for (int i = 0; i < per_txn; ++i) {
      absl::StatusOr<int64_t> seq = axis::ss::AppendLog(db.get(), Entry(n++), absl::Now());
      if (!seq.ok()) {
        state.SkipWithError(std::string(seq.status().message()).c_str());
        return;
      }
    }
    axis::ss::ExecSql(db.get(), "COMMIT").IgnoreError();
  }
  state.SetItemsProcessed(n);
}
BENCHMARK(Append)->Arg(1)->Arg(100)->UseRealTime();

// TsaChild is axis-tsa on a free loopback port.
struct TsaChild {
  std::unique_ptr<axis::testing::ChildProcess> process;
  std::string url;
};

std::unique_ptr<TsaChild> StartTsa() {
  absl::StatusOr<int> port = axis::testing::PickFreePort();
  if (!port.ok()) {
    return nullptr;
  }
  std::string config = Dir() + "/tsa.textproto";
  auto q = [](const std::string& s) { return absl::StrCat("\"", s, "\""); };
  std::string text = absl::StrCat(
      "listen: ", q(absl::StrCat("127.0.0.1:", *port)), "\nkey_file: ", q(Pki("tsa/tsa.key.pem")),
      "\ncert_file: ", q(Pki("tsa/tsa.cert.pem")), "\nchain_files: ", q(Pki("chain.pem")),
      "\npolicy_oid: \"1.3.6.1.4.1.99999.1.1\"\n", "serial_file: ", q(Dir() + "/serial"), "\n");
  if (!axis::WriteFileAtomic(config, text).ok()) {
    return nullptr;
  }
  auto child = axis::testing::ChildProcess::Start(
      {std::string(AXIS_BIN_DIR) + "/axis-tsa", "--config", config}, Dir() + "/tsa.log");
  if (!child.ok() || !axis::testing::WaitForTcpPort(*port, absl::Seconds(20), child->get()).ok()) {
    return nullptr;
  }
  auto tsa = std::make_unique<TsaChild>();
  tsa->process = std::move(*child);
  tsa->url = absl::StrCat("http://127.0.0.1:", *port, "/");
  return tsa;
}

void StampBacklog(benchmark::State& state) {
  const int records = static_cast<int>(state.range(0));
  std::unique_ptr<TsaChild> tsa = StartTsa();
  if (tsa == nullptr) {
    state.SkipWithError("cannot start axis-tsa");
    return;
  }
  auto trust = axis::signer::TrustStore::FromPemFiles({Pki("roots.pem")}, {Pki("chain.pem")}, {});
  if (!trust.ok()) {
    state.SkipWithError("cannot load the test PKI");
    return;
  }
  auto shared = std::make_shared<const axis::signer::TrustStore>(std::move(*trust));
  const std::string path = Dir() + "/stamp.db";
  double audit_seconds = 0;
  for (auto _ : state) {
    state.PauseTiming();
    LogDb db = FreshDb(path);
    axis::ss::ExecSql(db.get(), "BEGIN IMMEDIATE").IgnoreError();
    for (int i = 0; i < records; ++i) {
      axis::ss::AppendLog(db.get(), Entry(i), absl::Now()).IgnoreError();
    }
    axis::ss::ExecSql(db.get(), "COMMIT").IgnoreError();
    axis::ss::Timestamper::Options o;
    o.db_path = path;
    o.tsa_url = tsa->url;
    o.tsa_trust = shared;
    o.run_thread = false;
    auto stamper = axis::ss::Timestamper::Start(o);
    if (!stamper.ok()) {
      state.SkipWithError(std::string(stamper.status().message()).c_str());
      return;
    }
    state.ResumeTiming();
    absl::Status s = (*stamper)->StampNow();
    state.PauseTiming();
    if (!s.ok() || (*stamper)->Unstamped() != 0) {
      state.SkipWithError(std::string(s.message()).c_str());
      return;
    }
    absl::Time t0 = absl::Now();
    auto audit = axis::ss::AuditLog(path, shared.get());
    audit_seconds = absl::ToDoubleSeconds(absl::Now() - t0);
    if (!audit.ok() || !audit->ok) {
      state.SkipWithError("the audit of the stamped log failed");
      return;
    }
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * records);
  state.counters["audit_s"] = audit_seconds;
}
BENCHMARK(StampBacklog)->Arg(10000)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
