// central_bench: the central server's work for a national-size registry:
// 10,000 members (each with one subsystem), 2,000 security servers (one auth
// certificate hash each), the test PKI's two CAs and one TSA.
//
//   build_conf       construct and serialize the GlobalConf (in memory)
//   sign_conf        SignGlobalConf: SHA-256 of the bytes + one RSA-2048
//                    signature (pki-testdata/central/config-signing)
//   verify_conf      VerifySignedConf against the anchor and the previous
//                    version (parse, hash, signature, chain link)
//   registry_publish one admin change on a SQLite registry holding all of
//                    it: the transaction, rebuilding the content from the
//                    tables, comparing with the latest version and storing
//                    the new one (WAL, synchronous FULL: includes fsync)
// Counters: conf_bytes is the serialized GlobalConf size.
#include <unistd.h>

#include <benchmark/benchmark.h>
#include <sqlite3.h>

#include <cstdio>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "central-server/globalconf.h"
#include "central-server/registry.h"
#include "common/clock.h"
#include "proto/identifiers.h"
#include "signer/bytes_sign.h"
#include "signer/certs.h"
#include "signer/keys.h"

namespace axis::central {
namespace {

constexpr int kMembers = 10000;
constexpr int kServers = 2000;

std::string Pki(const std::string& rel) { return std::string(AXIS_PKI_DIR) + "/" + rel; }

std::string Code(int i) {
  return absl::StrFormat("000.%02d.%02d.G%02d", i / 10000, (i / 100) % 100, i % 100);
}

std::string CertDer(const std::string& rel) {
  auto certs = signer::LoadPemCertificates(Pki(rel));
  if (!certs.ok()) {
    std::fprintf(stderr, "%s\n", std::string(certs.status().message()).c_str());
    std::abort();
  }
  return signer::CertificateDer((*certs)[0].get());
}

signer::SigningKey ConfKey() {
  auto key = signer::LoadSigningKey(
      {Pki("central/config-signing.key.pem"), Pki("central/config-signing.cert.pem"), ""},
      signer::NoSecret());
  if (!key.ok()) {
    std::abort();
  }
  return std::move(*key);
}

GlobalConf BuildConf(uint64_t version, const std::string& previous_bytes) {
  GlobalConf conf;
  conf.set_version(version);
  conf.set_instance("VN");
  conf.mutable_created_at()->set_seconds(absl::ToUnixSeconds(absl::Now()));
  if (!previous_bytes.empty()) {
    conf.set_previous_sha256(signer::Sha256(previous_bytes));
  }
  conf.set_central_address("127.0.0.1:4400");
  for (int i = 0; i < kMembers; ++i) {
    Member* m = conf.add_members();
    m->mutable_id()->set_instance("VN");
    m->mutable_id()->set_member_class("GOV");
    m->mutable_id()->set_member_code(Code(i));
    m->set_name(absl::StrCat("Ủy ban nhân dân xã số ", i));
    Subsystem* s = conf.add_subsystems();
    *s->mutable_id() = m->id();
    s->mutable_id()->set_subsystem("QLVB");
    s->set_name("Quản lý văn bản");
  }
  for (int i = 0; i < kServers; ++i) {
    SecurityServer* s = conf.add_security_servers();
    *s->mutable_owner() = conf.members(i * (kMembers / kServers)).id();
    s->set_server_code("ss1");
    s->set_address(absl::StrCat("10.", i / 250, ".", i % 250, ".1:7001"));
    s->add_auth_cert_sha256(signer::Sha256(absl::StrCat("auth cert ", i)));
  }
  TrustedCa* root = conf.add_cas();
  root->set_name("root");
  root->set_is_root(true);
  root->set_cert_der(CertDer("roots.pem"));
  TrustedCa* issuing = conf.add_cas();
  issuing->set_name("issuing");
  issuing->set_cert_der(CertDer("chain.pem"));
  issuing->add_ocsp_urls("http://127.0.0.1:8888/");
  TimestampingAuthority* tsa = conf.add_tsas();
  tsa->set_name("tsa");
  tsa->set_url("http://127.0.0.1:3180/");
  tsa->set_cert_der(CertDer("tsa/tsa.cert.pem"));
  conf.add_signing_certs_der(CertDer("central/config-signing.cert.pem"));
  return conf;
}

ConfAnchor Anchor() {
  ConfAnchor anchor;
  anchor.set_instance("VN");
  anchor.set_central_address("127.0.0.1:4400");
  anchor.add_signing_certs_der(CertDer("central/config-signing.cert.pem"));
  return anchor;
}

void BM_BuildConf(benchmark::State& state) {
  size_t bytes = 0;
  for (auto _ : state) {
    std::string s = BuildConf(2, "x").SerializeAsString();
    bytes = s.size();
    benchmark::DoNotOptimize(s);
  }
  state.counters["conf_bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_BuildConf)->Name("build_conf")->Unit(benchmark::kMillisecond);

void BM_SignConf(benchmark::State& state) {
  std::string bytes = BuildConf(2, "x").SerializeAsString();
  signer::SigningKey key = ConfKey();
  for (auto _ : state) {
    auto s = SignGlobalConf(bytes, key, absl::Now(), absl::Minutes(10));
    if (!s.ok()) {
      state.SkipWithError("sign failed");
      break;
    }
    benchmark::DoNotOptimize(s);
  }
  state.counters["conf_bytes"] = static_cast<double>(bytes.size());
}
BENCHMARK(BM_SignConf)->Name("sign_conf")->Unit(benchmark::kMillisecond);

void BM_VerifyConf(benchmark::State& state) {
  std::string v1 = BuildConf(1, "").SerializeAsString();
  std::string v2 = BuildConf(2, v1).SerializeAsString();
  signer::SigningKey key = ConfKey();
  ConfAnchor anchor = Anchor();
  auto s1 = SignGlobalConf(v1, key, absl::Now(), absl::Minutes(10));
  auto s2 = SignGlobalConf(v2, key, absl::Now(), absl::Minutes(10));
  auto previous = VerifySignedConf(*s1, anchor, nullptr, absl::Now());
  if (!previous.ok()) {
    state.SkipWithError(std::string(previous.status().message()).c_str());
    return;
  }
  for (auto _ : state) {
    auto v = VerifySignedConf(*s2, anchor, &*previous, absl::Now());
    if (!v.ok()) {
      state.SkipWithError(std::string(v.status().message()).c_str());
      break;
    }
    benchmark::DoNotOptimize(v);
  }
  state.counters["conf_bytes"] = static_cast<double>(v2.size());
}
BENCHMARK(BM_VerifyConf)->Name("verify_conf")->Unit(benchmark::kMillisecond);

// FillRegistry writes the registry's tables directly (one transaction),
// as a registry that grew over years would hold them.
void FillRegistry(const std::string& path) {
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr);
  sqlite3_stmt* m = nullptr;
  sqlite3_prepare_v2(db, "INSERT INTO members (id, name) VALUES (?, ?)", -1, &m, nullptr);
  sqlite3_stmt* s = nullptr;
  sqlite3_prepare_v2(db, "INSERT INTO subsystems (id, member, name) VALUES (?, ?, ?)", -1, &s,
                     nullptr);
  for (int i = 0; i < kMembers; ++i) {
    std::string id = absl::StrCat("VN/GOV/", Code(i));
    std::string name = absl::StrCat("Ủy ban nhân dân xã số ", i);
    std::string sub = id + "/QLVB";
    sqlite3_bind_text(m, 1, id.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(m, 2, name.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_step(m);
    sqlite3_reset(m);
    sqlite3_bind_text(s, 1, sub.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 2, id.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 3, "Quản lý văn bản", -1, SQLITE_TRANSIENT);
    sqlite3_step(s);
    sqlite3_reset(s);
  }
  sqlite3_finalize(m);
  sqlite3_finalize(s);
  sqlite3_stmt* v = nullptr;
  sqlite3_prepare_v2(db, "INSERT INTO servers (owner, code, address) VALUES (?, 'ss1', ?)", -1, &v,
                     nullptr);
  sqlite3_stmt* c = nullptr;
  sqlite3_prepare_v2(
      db, "INSERT INTO server_auth_certs (owner, code, sha256, cert_der) VALUES (?, 'ss1', ?, ?)",
      -1, &c, nullptr);
  for (int i = 0; i < kServers; ++i) {
    std::string owner = absl::StrCat("VN/GOV/", Code(i * (kMembers / kServers)));
    std::string address = absl::StrCat("10.", i / 250, ".", i % 250, ".1:7001");
    std::string sha = signer::Sha256(absl::StrCat("auth cert ", i));
    sqlite3_bind_text(v, 1, owner.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(v, 2, address.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_step(v);
    sqlite3_reset(v);
    sqlite3_bind_text(c, 1, owner.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_blob(c, 2, sha.data(), static_cast<int>(sha.size()), SQLITE_TRANSIENT);
    sqlite3_bind_blob(c, 3, "x", 1, SQLITE_TRANSIENT);
    sqlite3_step(c);
    sqlite3_reset(c);
  }
  sqlite3_finalize(v);
  sqlite3_finalize(c);
  sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
  sqlite3_close(db);
}

void BM_RegistryPublish(benchmark::State& state) {
  char tmpl[] = "/tmp/central_bench.XXXXXX";
  if (mkdtemp(tmpl) == nullptr) {
    state.SkipWithError("mkdtemp failed");
    return;
  }
  std::string path = std::string(tmpl) + "/central.db";
  RealClock clock;
  std::string cert = CertDer("central/config-signing.cert.pem");
  {
    auto r = Registry::Open(path, "VN", "127.0.0.1:4400", cert, &clock);
    if (!r.ok()) {
      state.SkipWithError(std::string(r.status().message()).c_str());
      return;
    }
  }
  FillRegistry(path);
  auto registry = Registry::Open(path, "VN", "127.0.0.1:4400", cert, &clock);
  if (!registry.ok()) {
    state.SkipWithError(std::string(registry.status().message()).c_str());
    return;
  }
  auto id = ParseMemberId("VN/GOV/000.99.99.X01");
  bool add = true;
  for (auto _ : state) {
    auto v = add ? (*registry)->AddMember(*id, "Bench") : (*registry)->RemoveMember(*id);
    add = !add;
    if (!v.ok()) {
      state.SkipWithError(std::string(v.status().message()).c_str());
      break;
    }
  }
  state.counters["conf_bytes"] = static_cast<double>((*registry)->Latest().bytes.size());
  registry->reset();
  for (const char* suffix : {"", "-wal", "-shm"}) {
    unlink((path + suffix).c_str());
  }
  rmdir(tmpl);
}
BENCHMARK(BM_RegistryPublish)
    ->Name("registry_publish")
    ->Unit(benchmark::kMillisecond)
    ->Iterations(20);

}  // namespace
}  // namespace axis::central

BENCHMARK_MAIN();
