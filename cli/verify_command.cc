// axis verify: checks every signature of a document and prints the report.
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "cli/commands.h"
#include "common/files.h"
#include "edxml/message.h"
#include "signer/verify.h"

namespace axis::cli {
namespace {

struct VerifyFlags {
  std::vector<std::string> trust;
  std::vector<std::string> intermediates;
  std::vector<std::string> crls;
  std::string at;
  bool json = false;
  bool allow_plain = false;
  bool offline = false;
  std::string ocsp;
  std::string file;
};

int RunVerify(const VerifyFlags& f) {
  absl::StatusOr<signer::TrustStore> trust =
      signer::TrustStore::FromPemFiles(f.trust, f.intermediates, f.crls);
  if (!trust.ok()) {
    return Fail(trust.status());
  }
  signer::VerifyOptions options;
  options.trust = &*trust;
  options.document_name = f.file;
  options.require_xades = !f.allow_plain;
  options.offline = f.offline;
  options.ocsp_url = f.ocsp;
  // edXML messages carry their signatures in edXMLHeader (../shared/EDXML.md).
  options.signature_parent_ns = edxml::kEdxmlNs;
  options.signature_parent_name = "edXMLHeader";
  if (!f.at.empty()) {
    std::string err;
    if (!absl::ParseTime(absl::RFC3339_full, f.at, &options.at, &err)) {
      return Fail(absl::InvalidArgumentError(
          absl::StrCat("--at \"", f.at, "\" is not an RFC 3339 time: ", err)));
    }
  }
  absl::StatusOr<std::string> xml = ReadFile(f.file, options.limits.max_bytes);
  if (!xml.ok()) {
    return Fail(xml.status());
  }
  absl::StatusOr<signer::Report> report = signer::VerifyDocument(*xml, options);
  if (!report.ok()) {
    // An unreadable or refused document is a negative verdict with a reason.
    signer::Report refused;
    refused.document = f.file;
    refused.verified_at = options.at == absl::InfinitePast() ? absl::Now() : options.at;
    refused.problems.push_back(std::string(report.status().message()));
    report = std::move(refused);
  }
  std::cout << (f.json ? signer::ReportJson(*report) + "\n" : signer::ReportText(*report));
  return report->Valid() ? kExitOk : kExitNegative;
}

}  // namespace

void AddVerifyCommand(CLI::App& app, Command* run) {
  auto flags = std::make_shared<VerifyFlags>();
  CLI::App* cmd = app.add_subcommand("verify", "Verify every signature of a document (strict profile)");
  cmd->add_option("--trust", flags->trust, "trusted root certificates (PEM bundle)")->required();
  cmd->add_option("--intermediate", flags->intermediates, "extra intermediate CA certificates (PEM)");
  cmd->add_option("--crl", flags->crls, "certificate revocation list (PEM); repeatable");
  cmd->add_option("--at", flags->at,
                  "evaluate certificates at this RFC 3339 time (default now; a valid signature "
                  "time-stamp's time takes precedence)");
  cmd->add_flag("--json", flags->json, "print the report as JSON");
  cmd->add_flag("--offline", flags->offline,
                "use only the revocation data embedded in the document (B-LT) and --crl; never "
                "ask an OCSP responder");
  cmd->add_option("--ocsp", flags->ocsp, "OCSP responder URL instead of the certificate's AIA URL");
  cmd->add_flag("--allow-plain-xmldsig", flags->allow_plain,
                "accept plain XML-DSig signatures (no XAdES: the signer's identity is then unsigned)");
  cmd->add_option("file", flags->file, "the signed XML document")->required();
  cmd->callback([flags, run] { *run = [flags] { return RunVerify(*flags); }; });
}

}  // namespace axis::cli
