#include "signer/report.h"

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace axis::signer {
namespace {

std::string Rfc3339(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

nlohmann::json CertJson(const CertificateInfo& c) {
  return {{"subject", c.subject},
          {"issuer", c.issuer},
          {"serial", c.serial_hex},
          {"not_before", Rfc3339(c.not_before)},
          {"not_after", Rfc3339(c.not_after)},
          {"key", c.key_type},
          {"key_usage", c.key_usage},
          {"sha256", c.sha256_hex}};
}

}  // namespace

std::string CommitmentName(const std::string& uri) {
  if (uri == "http://uri.etsi.org/01903/v1.2.2#ProofOfApproval") {
    return "proof of approval (a leader's signature)";
  }
  if (uri == "http://uri.etsi.org/01903/v1.2.2#ProofOfOrigin") {
    return "proof of origin (the agency's seal)";
  }
  if (uri == "http://uri.etsi.org/01903/v1.2.2#ProofOfReceipt") {
    return "proof of receipt (an agency answering a document)";
  }
  return uri;
}

bool Report::Valid() const {
  if (!problems.empty() || signatures.empty()) {
    return false;
  }
  for (const SignatureReport& s : signatures) {
    if (!s.valid) {
      return false;
    }
  }
  return true;
}

std::string ReportText(const Report& report) {
  std::string out;
  absl::StrAppend(&out, report.document, ": ", report.Valid() ? "VALID" : "NOT VALID", " (",
                  report.signatures.size(), " signature", report.signatures.size() == 1 ? "" : "s",
                  ", evaluated at ", Rfc3339(report.verified_at), ")\n");
  for (const std::string& p : report.problems) {
    absl::StrAppend(&out, "  document refused: ", p, "\n");
  }
  if (report.signatures.empty() && report.problems.empty()) {
    absl::StrAppend(&out, "  no signature found\n");
  }
  if (report.signing_order.size() > 1) {
    absl::StrAppend(&out, "  signing order: ", absl::StrJoin(report.signing_order, " -> "), "\n");
  }
  for (const SignatureReport& s : report.signatures) {
    absl::StrAppend(&out, "\n  signature ", s.index, " [", s.id, "]: ", s.valid ? "valid" : "INVALID",
                    "\n");
    for (const std::string& r : s.reasons) {
      absl::StrAppend(&out, "    reason: ", r, "\n");
    }
    if (s.signer.has_value()) {
      absl::StrAppend(&out, "    signer:   ", s.signer->subject, "\n");
      absl::StrAppend(&out, "    serial:   ", s.signer->serial_hex, "\n");
      absl::StrAppend(&out, "    issuer:   ", s.signer->issuer, "\n");
      absl::StrAppend(&out, "    key:      ", s.signer->key_type, ", usage ",
                      absl::StrJoin(s.signer->key_usage, ","), "\n");
    }
    if (!s.role.empty()) {
      absl::StrAppend(&out, "    role:     ", s.role, "\n");
    }
    if (!s.commitment.empty()) {
      absl::StrAppend(&out, "    commits:  ", CommitmentName(s.commitment), "\n");
    }
    if (s.claimed_signing_time.has_value()) {
      absl::StrAppend(&out, "    signed:   ", Rfc3339(*s.claimed_signing_time), " (claimed)\n");
    }
    absl::StrAppend(&out, "    method:   ", s.signature_method, "\n");
    absl::StrAppend(&out, "    covers:   ", s.covers_document ? "the document" : "NOT the document");
    if (!s.covers_signatures.empty()) {
      absl::StrAppend(&out, " and signature(s) ", absl::StrJoin(s.covers_signatures, ", "));
    }
    absl::StrAppend(&out, "\n");
    absl::StrAppend(&out, "    chain:    ",
                    s.chain_valid ? "trusted" : absl::StrCat("NOT trusted: ", s.chain_error),
                    s.chain.empty() ? "" : absl::StrCat(" [", absl::StrJoin(s.chain, " <- "), "]"),
                    "\n");
    if (!s.level.empty()) {
      absl::StrAppend(&out, "    level:    XAdES ", s.level, "\n");
    }
    for (const TimestampReport& t : s.timestamps) {
      if (t.valid) {
        absl::StrAppend(&out, "    time-stamp: ", Rfc3339(t.gen_time), " by ", t.tsa_subject,
                        " (policy ", t.policy_oid, ", serial ", t.serial_hex, "): valid\n");
      } else {
        absl::StrAppend(&out, "    time-stamp: NOT valid: ", t.error, "\n");
      }
    }
    if (s.judged_at != absl::InfinitePast()) {
      absl::StrAppend(&out, "    judged at: ", Rfc3339(s.judged_at), " (", s.time_source, ")\n");
    }
    if (!s.revocation.empty()) {
      absl::StrAppend(&out, "    revocation: ", s.revocation, "\n");
    }
    for (const RevocationCheck& c : s.revocation_checks) {
      absl::StrAppend(&out, "      ", c.source, ": ", c.status);
      if (c.status == "revoked") {
        absl::StrAppend(
            &out, " at ", Rfc3339(c.revocation_time),
            c.revocation_reason.empty() ? "" : absl::StrCat(" (", c.revocation_reason, ")"));
      }
      if (c.produced_at != absl::InfinitePast()) {
        absl::StrAppend(&out, ", producedAt ", Rfc3339(c.produced_at));
      }
      if (c.this_update != absl::InfinitePast()) {
        absl::StrAppend(&out, ", thisUpdate ", Rfc3339(c.this_update));
      }
      if (!c.detail.empty()) {
        absl::StrAppend(&out, "; ", c.detail);
      }
      absl::StrAppend(&out, "\n");
    }
    absl::StrAppend(&out, "    xades:    ",
                    !s.xades ? "none (plain XML-DSig)"
                             : absl::StrCat("SignedProperties ",
                                            s.signed_properties_covered ? "covered" : "NOT covered",
                                            ", SigningCertificateV2 ",
                                            s.signing_certificate_matches ? "matches" : "DOES NOT match"),
                    "\n");
    for (const std::string& w : s.warnings) {
      absl::StrAppend(&out, "    note:     ", w, "\n");
    }
  }
  return out;
}

std::string ReportJson(const Report& report) {
  nlohmann::json j;
  j["document"] = report.document;
  j["valid"] = report.Valid();
  j["verified_at"] = Rfc3339(report.verified_at);
  j["problems"] = report.problems;
  j["signing_order"] = report.signing_order;
  j["signatures"] = nlohmann::json::array();
  for (const SignatureReport& s : report.signatures) {
    nlohmann::json sj;
    sj["index"] = s.index;
    sj["id"] = s.id;
    sj["verdict"] = s.valid ? "valid" : "invalid";
    sj["reasons"] = s.reasons;
    sj["warnings"] = s.warnings;
    sj["signature_method"] = s.signature_method;
    sj["signer"] = s.signer.has_value() ? CertJson(*s.signer) : nlohmann::json(nullptr);
    sj["role"] = s.role;
    sj["commitment"] = s.commitment;
    sj["claimed_signing_time"] =
        s.claimed_signing_time.has_value() ? nlohmann::json(Rfc3339(*s.claimed_signing_time))
                                           : nlohmann::json(nullptr);
    sj["covers_document"] = s.covers_document;
    sj["covers_signatures"] = s.covers_signatures;
    sj["chain"] = {{"trusted", s.chain_valid},
                   {"revoked", s.revoked},
                   {"revocation", s.revocation},
                   {"error", s.chain_error},
                   {"subjects", s.chain}};
    sj["level"] = s.level;
    sj["judged_at"] = s.judged_at == absl::InfinitePast() ? nlohmann::json(nullptr)
                                                           : nlohmann::json(Rfc3339(s.judged_at));
    sj["time_source"] = s.time_source;
    nlohmann::json stamps = nlohmann::json::array();
    for (const TimestampReport& t : s.timestamps) {
      stamps.push_back({{"kind", t.kind},
                        {"valid", t.valid},
                        {"error", t.error},
                        {"c14n_method", t.c14n_method},
                        {"gen_time", t.valid ? nlohmann::json(Rfc3339(t.gen_time))
                                             : nlohmann::json(nullptr)},
                        {"tsa", t.tsa_subject},
                        {"policy", t.policy_oid},
                        {"serial", t.serial_hex}});
    }
    sj["timestamps"] = stamps;
    nlohmann::json checks = nlohmann::json::array();
    auto when = [](absl::Time t) {
      return t == absl::InfinitePast() ? nlohmann::json(nullptr) : nlohmann::json(Rfc3339(t));
    };
    for (const RevocationCheck& c : s.revocation_checks) {
      checks.push_back({{"certificate", c.certificate},
                        {"source", c.source},
                        {"status", c.status},
                        {"detail", c.detail},
                        {"produced_at", when(c.produced_at)},
                        {"this_update", when(c.this_update)},
                        {"revocation_time", when(c.revocation_time)},
                        {"revocation_reason", c.revocation_reason}});
    }
    sj["revocation_checks"] = checks;
    sj["key_usage_ok"] = s.key_usage_ok;
    sj["cryptographic_ok"] = s.cryptographic_ok;
    sj["xades"] = {{"present", s.xades},
                   {"signed_properties_covered", s.signed_properties_covered},
                   {"signing_certificate_matches", s.signing_certificate_matches}};
    nlohmann::json refs = nlohmann::json::array();
    for (const ReferenceReport& r : s.references) {
      refs.push_back({{"uri", r.uri},
                      {"covers", r.covers},
                      {"transforms", r.transforms},
                      {"digest_method", r.digest_method},
                      {"digest_ok", r.digest_ok}});
    }
    sj["references"] = refs;
    j["signatures"].push_back(sj);
  }
  return j.dump(2);
}

}  // namespace axis::signer
