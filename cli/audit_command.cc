// axis audit log: checks a security server's message log (hash chain, head,
// Merkle roots, time-stamp tokens) and names the first broken record.
#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "cli/commands.h"
#include "security-server/log_audit.h"

namespace axis::cli {
namespace {

struct AuditLogFlags {
  std::string db;
  std::vector<std::string> trust;
  std::vector<std::string> intermediates;
  bool json = false;
};

std::string TimeText(absl::Time t) {
  return t == absl::InfinitePast() ? ""
                                   : absl::FormatTime(absl::RFC3339_sec, t, absl::UTCTimeZone());
}

int RunAuditLog(const AuditLogFlags& f) {
  std::unique_ptr<signer::TrustStore> trust;
  if (!f.trust.empty()) {
    absl::StatusOr<signer::TrustStore> store =
        signer::TrustStore::FromPemFiles(f.trust, f.intermediates, {});
    if (!store.ok()) {
      return Fail(store.status());
    }
    trust = std::make_unique<signer::TrustStore>(std::move(*store));
  }
  absl::StatusOr<ss::LogAuditResult> r = ss::AuditLog(f.db, trust.get());
  if (!r.ok()) {
    return Fail(r.status());
  }
  if (f.json) {
    nlohmann::json j = {
        {"db", f.db},
        {"ok", r->ok},
        {"records", r->records},
        {"stamped", r->stamped},
        {"batches", r->batches},
        {"tokens_verified", r->tokens_verified},
        {"last_stamp", TimeText(r->last_stamp)},
    };
    if (!r->ok) {
      j["first_broken_seq"] = r->first_broken_seq;
      j["first_broken_batch"] = r->first_broken_batch;
      j["reason"] = r->reason;
    }
    std::cout << j.dump(2) << "\n";
  } else if (r->ok) {
    std::cout << f.db << ": message log intact: " << r->records << " records, " << r->stamped
              << " time-stamped in " << r->batches << " batches";
    if (r->batches > 0) {
      std::cout << " (newest stamp " << TimeText(r->last_stamp) << ")";
    }
    std::cout << "\n";
    if (!r->tokens_verified && r->batches > 0) {
      std::cout << "note: time-stamp tokens were matched to their Merkle roots but their "
                   "signatures were not verified (give --trust)\n";
    }
  } else {
    std::cout << f.db << ": message log BROKEN: " << r->reason << "\n";
  }
  return r->ok ? kExitOk : kExitNegative;
}

}  // namespace

void AddAuditCommand(CLI::App& app, Command* run) {
  CLI::App* audit = app.add_subcommand("audit", "Auditors' checks");
  audit->require_subcommand(1);
  auto flags = std::make_shared<AuditLogFlags>();
  CLI::App* log = audit->add_subcommand(
      "log",
      "Check a security server's message log: hash chain, Merkle proofs, time-stamps; "
      "exit 0 intact, 1 broken (names the first broken record), 2 unreadable");
  log->add_option("--db", flags->db, "the security server's database file")->required();
  log->add_option("--trust", flags->trust,
                  "trusted roots for the TSA's certificate (PEM); repeatable. Without it the "
                  "tokens' signatures are not verified");
  log->add_option("--intermediate", flags->intermediates,
                  "extra intermediate CA certificates (PEM)");
  log->add_flag("--json", flags->json, "print the verdict as JSON");
  log->callback([flags, run] { *run = [flags] { return RunAuditLog(*flags); }; });
}

}  // namespace axis::cli
