// axis extend: XAdES B-B/B-T -> B-T/B-LT (signer/extend.h).
#include <iostream>

#include "absl/strings/str_cat.h"
#include "cli/commands.h"
#include "common/files.h"
#include "signer/certs.h"
#include "signer/extend.h"

namespace axis::cli {
namespace {

struct ExtendFlags {
  std::string tsa;
  bool ltv = false;
  std::string ocsp;
  std::vector<std::string> intermediates;
  std::vector<std::string> crls;
  std::string out;
  std::string in;
};

int RunExtend(const ExtendFlags& f) {
  if (f.tsa.empty() && !f.ltv) {
    return Fail(absl::InvalidArgumentError("nothing to do: give --ltv, --tsa URL, or both"));
  }
  absl::StatusOr<std::string> xml = ReadFile(f.in);
  if (!xml.ok()) {
    return Fail(xml.status());
  }
  absl::StatusOr<signer::TrustStore> extra =
      signer::TrustStore::FromPemFiles({}, f.intermediates, f.crls);
  if (!extra.ok()) {
    return Fail(extra.status());
  }
  signer::ExtendOptions options;
  options.tsa_url = f.tsa;
  options.ltv = f.ltv;
  options.ocsp_url = f.ocsp;
  options.extra = &*extra;
  absl::StatusOr<std::string> extended = signer::ExtendDocument(*xml, options);
  if (!extended.ok()) {
    std::cerr << "axis: " << f.in << ": " << extended.status().message() << "\n";
    // A signature that may not be touched is a refusal, not a usage error.
    return extended.status().code() == absl::StatusCode::kFailedPrecondition
               ? kExitNegative
               : ExitCodeFor(extended.status());
  }
  if (absl::Status s = WriteFileAtomic(f.out, *extended); !s.ok()) {
    return Fail(s);
  }
  std::cerr << "extended " << f.in << " -> " << f.out << "\n";
  return kExitOk;
}

}  // namespace

void AddExtendCommand(CLI::App& app, Command* run) {
  auto flags = std::make_shared<ExtendFlags>();
  CLI::App* cmd = app.add_subcommand(
      "extend",
      "Add a signature time-stamp (B-T) and validation data (B-LT) to the signatures no later "
      "signature covers");
  cmd->add_flag("--ltv", flags->ltv,
                "embed certificate and revocation values (B-LT); needs a time-stamp, already "
                "there or from --tsa");
  cmd->add_option("--tsa", flags->tsa, "time-stamping authority URL, for signatures without one");
  cmd->add_option("--ocsp", flags->ocsp, "OCSP responder URL instead of the certificate's AIA URL");
  cmd->add_option("--intermediate", flags->intermediates, "extra intermediate CAs (PEM)");
  cmd->add_option("--crl", flags->crls, "CRL (PEM) embedded when OCSP cannot be had; repeatable");
  cmd->add_option("-o,--out", flags->out, "where to write the extended document")->required();
  cmd->add_option("input", flags->in, "the signed XML document")->required();
  cmd->callback([flags, run] { *run = [flags] { return RunExtend(*flags); }; });
}

}  // namespace axis::cli
