// axis audit log: checks a security server's message log (hash chain, head,
// Merkle roots, time-stamp tokens) and names the first broken record.
// axis audit document: a decree's whole story: its signatures (FILE.xml), or
// with its transport evidence (an exported FILE.asice, or --server/--message
// fetched from the sending security server), every piece checked against the
// auditor's own roots. axis audit export: that evidence as an ASiC-E file.
#include <iostream>
#include <memory>

#include <google/protobuf/util/json_util.h>
#include <nlohmann/json.hpp>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "cli/asic.h"
#include "cli/commands.h"
#include "cli/evidence.h"
#include "cli/gateway_client.h"
#include "common/files.h"
#include "edxml/message.h"
#include "proto/conversions.h"
#include "evidence.grpc.pb.h"
#include "signer/verify.h"
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

struct AuditDocumentFlags {
  std::string target;  // FILE.xml or FILE.asice
  std::string message;
  Conn conn;
  std::vector<std::string> trust;
  std::vector<std::string> intermediates;
  std::vector<std::string> crls;
  bool offline = false;
  bool json = false;
  std::string html;    // document: also write this HTML page
  std::string output;  // export
};

// WriteHtml writes the HTML page when --html was given.
absl::Status WriteHtml(const AuditDocumentFlags& f, const std::string& title, bool ok,
                       const std::string& story, const std::vector<EvidenceCheck>& checks,
                       const std::string& signatures) {
  if (f.html.empty()) {
    return absl::OkStatus();
  }
  return WriteFileAtomic(f.html, AuditHtml(title, ok, story, checks, signatures));
}

constexpr char kEvidenceEntry[] = "evidence/evidence.pb";
constexpr char kEvidenceJsonEntry[] = "evidence/evidence.json";

// FetchEvidence asks the sending security server for a message's evidence
// and payload.
absl::StatusOr<std::pair<Evidence, std::string>> FetchEvidence(const Conn& conn,
                                                               const std::string& id,
                                                               int* exit_code) {
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = GatewayChannel(conn);
  if (!channel.ok()) {
    return channel.status();
  }
  std::unique_ptr<Audit::Stub> stub = Audit::NewStub(*channel);
  grpc::ClientContext ctx;
  SetDeadline(&ctx, 600);
  EvidenceRequest req;
  req.set_message_id(id);
  std::unique_ptr<grpc::ClientReader<EvidenceResponse>> reader = stub->GetEvidence(&ctx, req);
  std::pair<Evidence, std::string> out;
  bool have_evidence = false;
  EvidenceResponse part;
  while (reader->Read(&part)) {
    if (part.has_evidence()) {
      out.first = std::move(*part.mutable_evidence());
      have_evidence = true;
    } else if (out.second.size() + part.chunk().size() > out.first.payload_size()) {
      return absl::InvalidArgumentError("the server sent more payload than the evidence declares");
    } else {
      out.second.append(part.chunk());
    }
  }
  grpc::Status s = reader->Finish();
  if (!s.ok()) {
    *exit_code = FailRpc(s);
    return FromGrpcStatus(s);
  }
  if (!have_evidence) {
    return absl::InvalidArgumentError("the server sent no evidence");
  }
  return out;
}

std::string DocumentEntryName(const Evidence& e) {
  return absl::StrContains(e.content_type(), "xml") ? "document.xml" : "document.bin";
}

absl::StatusOr<signer::TrustStore> AuditorTrust(const AuditDocumentFlags& f) {
  if (f.trust.empty()) {
    return absl::InvalidArgumentError(
        "give --trust ROOTS.pem: an auditor judges with their own trusted roots");
  }
  return signer::TrustStore::FromPemFiles(f.trust, f.intermediates, f.crls);
}

int PrintEvidence(const Evidence& evidence, const std::string& payload,
                  const AuditDocumentFlags& f) {
  absl::StatusOr<signer::TrustStore> trust = AuditorTrust(f);
  if (!trust.ok()) {
    return Fail(trust.status());
  }
  absl::StatusOr<EvidenceReport> report = CheckEvidence(evidence, payload, *trust, f.offline);
  if (!report.ok()) {
    return Fail(report.status());
  }
  std::cout << (f.json ? EvidenceJson(evidence, *report) + "\n" : EvidenceText(evidence, *report));
  absl::Status html = WriteHtml(
      f, absl::StrCat("Message ", evidence.message_id()), report->Ok(), EvidenceStory(evidence),
      report->checks,
      report->has_document_report ? signer::ReportText(report->document) : std::string());
  if (!html.ok()) {
    return Fail(html);
  }
  return report->Ok() ? kExitOk : kExitNegative;
}

int RunAuditDocument(const AuditDocumentFlags& f) {
  if (!f.message.empty()) {
    if (f.conn.server.empty()) {
      return Fail(absl::InvalidArgumentError("--message needs --server HOST:PORT"));
    }
    int exit_code = kExitUsage;
    absl::StatusOr<std::pair<Evidence, std::string>> got =
        FetchEvidence(f.conn, f.message, &exit_code);
    if (!got.ok()) {
      return exit_code != kExitUsage ? exit_code : Fail(got.status());
    }
    return PrintEvidence(got->first, got->second, f);
  }
  if (f.target.empty()) {
    return Fail(absl::InvalidArgumentError("give FILE.xml, FILE.asice or --server/--message"));
  }
  if (absl::EndsWith(f.target, ".asice") || absl::EndsWith(f.target, ".sce")) {
    absl::StatusOr<std::vector<AsicEntry>> entries = ReadAsicE(f.target);
    if (!entries.ok()) {
      return Fail(entries.status());
    }
    const AsicEntry* evidence_entry = nullptr;
    for (const AsicEntry& e : *entries) {
      if (e.name == kEvidenceEntry) {
        evidence_entry = &e;
      }
    }
    Evidence evidence;
    if (evidence_entry == nullptr || !evidence.ParseFromString(evidence_entry->data)) {
      return Fail(absl::InvalidArgumentError(
          absl::StrCat(f.target, ": no readable ", kEvidenceEntry, " (not an axis evidence package)")));
    }
    const std::string wanted = DocumentEntryName(evidence);
    for (const AsicEntry& e : *entries) {
      if (e.name == wanted) {
        return PrintEvidence(evidence, e.data, f);
      }
    }
    return Fail(absl::InvalidArgumentError(absl::StrCat(f.target, ": no ", wanted)));
  }
  // A document alone: its signatures' story.
  absl::StatusOr<signer::TrustStore> trust = AuditorTrust(f);
  if (!trust.ok()) {
    return Fail(trust.status());
  }
  absl::StatusOr<std::string> xml = ReadFile(f.target, size_t{256} << 20);
  if (!xml.ok()) {
    return Fail(xml.status());
  }
  signer::VerifyOptions options;
  options.trust = &*trust;
  options.offline = f.offline;
  options.document_name = f.target;
  options.signature_parent_ns = edxml::kEdxmlNs;
  options.signature_parent_name = "edXMLHeader";
  absl::StatusOr<signer::Report> report = signer::VerifyDocument(*xml, options);
  if (!report.ok()) {
    std::cerr << "axis: " << report.status().message() << "\n";
    return kExitNegative;
  }
  std::cout << (f.json ? signer::ReportJson(*report) + "\n" : signer::ReportText(*report));
  absl::Status html = WriteHtml(f, f.target, report->Valid(), "", {}, signer::ReportText(*report));
  if (!html.ok()) {
    return Fail(html);
  }
  return report->Valid() ? kExitOk : kExitNegative;
}

int RunAuditExport(const AuditDocumentFlags& f) {
  int exit_code = kExitUsage;
  absl::StatusOr<std::pair<Evidence, std::string>> got =
      FetchEvidence(f.conn, f.message, &exit_code);
  if (!got.ok()) {
    return exit_code != kExitUsage ? exit_code : Fail(got.status());
  }
  const Evidence& evidence = got->first;
  std::string json;
  google::protobuf::util::JsonPrintOptions o;
  o.add_whitespace = true;
  o.preserve_proto_field_names = true;
  if (!google::protobuf::util::MessageToJsonString(evidence, &json, o).ok()) {
    return Fail(absl::InternalError("cannot print the evidence as JSON"));
  }
  std::vector<AsicEntry> entries = {
      {DocumentEntryName(evidence),
       evidence.content_type().empty() ? "application/octet-stream" : evidence.content_type(),
       got->second},
      {kEvidenceEntry, "application/x-protobuf", evidence.SerializeAsString()},
      {kEvidenceJsonEntry, "application/json", json},
  };
  absl::Status w = WriteAsicE(f.output, entries);
  if (!w.ok()) {
    return Fail(w);
  }
  std::cout << f.output << ": evidence of message " << evidence.message_id() << " ("
            << evidence.envelopes_size() << " envelopes, " << evidence.receipts_size()
            << " receipts, " << evidence.records_size() << " log records)\n";
  return kExitOk;
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

  auto df = std::make_shared<AuditDocumentFlags>();
  CLI::App* doc = audit->add_subcommand(
      "document",
      "A decree's story, every piece checked: FILE.xml (its signatures), FILE.asice (an "
      "exported evidence package) or --server/--message (fetched from the sending security "
      "server); exit 0 all valid, 1 something failed, 2 usage or input errors");
  doc->add_option("target", df->target, "FILE.xml or FILE.asice");
  doc->add_option("--message", df->message, "message id (with --server)");
  AddConnFlags(doc, &df->conn, /*server_required=*/false);
  doc->add_option("--trust", df->trust, "the auditor's trusted roots (PEM); repeatable")
      ->required();
  doc->add_option("--intermediate", df->intermediates, "extra intermediate CAs (PEM)");
  doc->add_option("--crl", df->crls, "CRLs (PEM); repeatable");
  doc->add_flag("--offline", df->offline, "use only what the evidence and the document carry");
  doc->add_flag("--json", df->json, "one JSON document on stdout");
  doc->add_option("--html", df->html, "also write the report as a self-contained HTML page");
  doc->callback([df, run] { *run = [df] { return RunAuditDocument(*df); }; });

  auto ef = std::make_shared<AuditDocumentFlags>();
  CLI::App* exp = audit->add_subcommand(
      "export", "Write a message's evidence (document, envelopes, receipts, log proofs) as ASiC-E");
  exp->add_option("message", ef->message, "message id")->required();
  AddConnFlags(exp, &ef->conn);
  exp->add_option("-o,--output", ef->output, "the .asice file to write")->required();
  exp->callback([ef, run] { *run = [ef] { return RunAuditExport(*ef); }; });
}

}  // namespace axis::cli
