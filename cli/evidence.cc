#include "cli/evidence.h"

#include <map>

#include <openssl/x509.h>

#include <libxml/xmlwriter.h>

#include <nlohmann/json.hpp>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/c_ptr.h"
#include "common/status_macros.h"
#include "edxml/message.h"
#include "proto/conversions.h"
#include "proto/identifiers.h"
#include "security-server/batch_signer.h"
#include "security-server/log_audit.h"
#include "security-server/message_log.h"
#include "security-server/trust.h"
#include "signer/bytes_sign.h"
#include "signer/ocsp.h"
#include "signer/verify.h"


namespace axis::cli {
namespace {

std::string Time(absl::Time t) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%E3S UTC", t, absl::UTCTimeZone());
}

std::string Subject(X509* cert) {
  UniquePtr<BIO> bio(BIO_new(BIO_s_mem()));
  X509_NAME_print_ex(bio.get(), X509_get_subject_name(cert), 0,
                     XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

// OrganizationalUnit is the subject's OU: how the test PKI (and
// central-server/member_identity.h) names the member a seal belongs to.
std::string OrganizationalUnit(X509* cert) {
  X509_NAME* name = X509_get_subject_name(cert);
  int i = X509_NAME_get_index_by_NID(name, NID_organizationalUnitName, -1);
  if (i < 0) {
    return "";
  }
  ASN1_STRING* s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
  unsigned char* utf8 = nullptr;
  int n = ASN1_STRING_to_UTF8(&utf8, s);
  if (n < 0) {
    return "";
  }
  std::string out(reinterpret_cast<char*>(utf8), static_cast<size_t>(n));
  OPENSSL_free(utf8);
  return out;
}

// SignedBy checks that `data` is in a batch of `kind` (by `proof`) whose
// signature was made by chain[0], a member's seal whose OU is `member_code`,
// chaining to `trust` at `at`. Returns the signer's subject.
absl::StatusOr<std::string> SignedBy(const google::protobuf::RepeatedPtrField<std::string>& chain,
                                     ss::BatchKind kind, const std::string& data,
                                     const ss::BatchProof& proof, const std::string& member_code,
                                     const signer::TrustStore& trust, absl::Time at) {
  if (chain.empty()) {
    return absl::InvalidArgumentError("no signing certificate");
  }
  std::vector<UniquePtr<X509>> certs;
  for (const std::string& der : chain) {
    absl::StatusOr<UniquePtr<X509>> c = signer::CertFromDer(der);
    if (!c.ok()) {
      return c.status();
    }
    certs.push_back(std::move(*c));
  }
  std::vector<X509*> untrusted;
  for (size_t i = 1; i < certs.size(); ++i) {
    untrusted.push_back(certs[i].get());
  }
  signer::ChainResult chain_result =
      signer::ValidateChain(certs[0].get(), untrusted, trust, at, /*check_crls=*/false);
  if (!chain_result.valid) {
    return absl::InvalidArgumentError(
        absl::StrCat("certificate does not chain to a trusted root: ", chain_result.error));
  }
  std::string ou = OrganizationalUnit(certs[0].get());
  if (ou != member_code) {
    return absl::InvalidArgumentError(absl::StrCat("signed by a seal of \"", ou,
                                                   "\", not of member ", member_code));
  }
  absl::Status sig = ss::VerifyBatchProof(certs[0].get(), kind, data, proof);
  if (!sig.ok()) {
    return sig;
  }
  return Subject(certs[0].get());
}

// ReceivedAt maps each envelope (SHA-256 of its header) to when its
// recipient received it, from the receipts in the evidence.
std::map<std::string, absl::Time> ReceivedAt(const Evidence& evidence) {
  std::map<std::string, absl::Time> out;
  for (const Receipt& r : evidence.receipts()) {
    ReceiptBody b;
    if (b.ParseFromString(r.body())) {
      out.emplace(b.envelope_sha256(), FromProtoTime(b.received_at()));
    }
  }
  return out;
}

// StapledOcsp checks the OCSP response stapled to a delivered envelope: it
// is about the envelope's signing certificate, may be believed (signed by
// the issuer or its delegated responder, chaining to `trust`) and says
// "good" at `at`, when the recipient received it. Returns what to print; an
// envelope without one (not delivered yet) is noted, not refused.
absl::StatusOr<std::string> StapledOcsp(const Envelope& e, absl::Time at,
                                        const signer::TrustStore& trust) {
  if (e.ocsp_response().empty()) {
    return std::string("no OCSP response kept (not delivered)");
  }
  if (e.cert_chain_der_size() < 2) {
    return absl::InvalidArgumentError("the envelope's chain has no issuer to check it against");
  }
  AXIS_ASSIGN_OR_RETURN(UniquePtr<X509> cert, signer::CertFromDer(e.cert_chain_der(0)));
  AXIS_ASSIGN_OR_RETURN(UniquePtr<X509> issuer, signer::CertFromDer(e.cert_chain_der(1)));
  AXIS_ASSIGN_OR_RETURN(signer::OcspStatus st,
                        signer::CheckOcspResponse(e.ocsp_response(), cert.get(), issuer.get(),
                                                  trust, at));
  if (st.status != signer::OcspCertStatus::kGood) {
    return absl::InvalidArgumentError(
        absl::StrCat("the seal's certificate was not good at ", Time(at),
                     st.status == signer::OcspCertStatus::kRevoked
                         ? absl::StrCat(": revoked at ", Time(st.revocation_time), " ", st.reason)
                         : ": status unknown"));
  }
  return absl::StrCat("OCSP good (produced ", Time(st.produced_at), " by ", st.responder, ")");
}

ss::RecordProof ToRecordProof(const LogRecordProof& p) {
  ss::RecordProof out;
  out.record.seq = p.seq();
  out.record.at_us = p.at_us();
  out.record.event = p.event();
  out.record.message_id = p.message_id();
  out.record.peer = p.peer();
  out.record.data = p.data();
  out.record.prev_hash = p.prev_hash();
  out.record.hash = p.hash();
  out.batch_id = p.batch_id();
  out.batch_first_seq = p.batch_first_seq();
  out.batch_size = p.batch_size();
  out.index = p.index();
  out.path.assign(p.path().begin(), p.path().end());
  out.root = p.root();
  out.token = p.token();
  return out;
}

}  // namespace

bool EvidenceReport::Ok() const {
  for (const EvidenceCheck& c : checks) {
    if (!c.ok) {
      return false;
    }
  }
  return !checks.empty() && (!has_document_report || document.Valid());
}

absl::StatusOr<EvidenceReport> CheckEvidence(const Evidence& evidence, absl::string_view payload,
                                             const signer::TrustStore& trust, bool offline) {
  if (evidence.message_id().empty()) {
    return absl::InvalidArgumentError("evidence names no message");
  }
  EvidenceReport report;
  report.message_id = evidence.message_id();
  std::string digest = signer::Sha256(payload);
  report.checks.push_back(
      {"document bytes", digest == evidence.payload_sha256(),
       digest == evidence.payload_sha256()
           ? absl::StrCat(payload.size(), " bytes, SHA-256 ", absl::BytesToHexString(digest))
           : "SHA-256 of the document is not the one the evidence records (altered document)"});

  std::vector<std::string> envelope_hashes;
  const std::map<std::string, absl::Time> received_at = ReceivedAt(evidence);
  for (const Envelope& e : evidence.envelopes()) {
    EnvelopeHeader h;
    EvidenceCheck c;
    if (e.header().empty() || !h.ParseFromString(e.header())) {
      report.checks.push_back({"envelope", false, "header is missing or not readable"});
      continue;
    }
    c.what = absl::StrCat("envelope to ", FormatIdentifier(h.recipient()));
    absl::StatusOr<std::string> who =
        SignedBy(e.cert_chain_der(), ss::BatchKind::kEnvelope, e.header(), ss::ProofOf(e),
                 h.sender().member_code(), trust, FromProtoTime(h.created_at()));
    if (!who.ok()) {
      c.detail = absl::StrCat("envelope signature: ", who.status().message());
    } else if (h.message_id() != evidence.message_id()) {
      c.detail = absl::StrCat("header names message ", h.message_id());
    } else if (h.payload_sha256() != digest) {
      c.detail = "header's payload SHA-256 is not this document's";
    } else {
      // Judged when the recipient took it (its receipt), else when sealed.
      std::string sha = signer::Sha256(e.header());
      auto when = received_at.find(sha);
      absl::StatusOr<std::string> ocsp = StapledOcsp(
          e, when != received_at.end() ? when->second : FromProtoTime(h.created_at()), trust);
      c.ok = ocsp.ok();
      c.detail = ocsp.ok() ? absl::StrCat("sealed by ", *who, " at ",
                                          Time(FromProtoTime(h.created_at())), "; ", *ocsp)
                           : absl::StrCat("stapled OCSP response: ", ocsp.status().message());
      envelope_hashes.push_back(std::move(sha));
    }
    report.checks.push_back(std::move(c));
  }

  for (const Receipt& r : evidence.receipts()) {
    ReceiptBody b;
    EvidenceCheck c;
    if (r.body().empty() || !b.ParseFromString(r.body())) {
      report.checks.push_back({"receipt", false, "body is missing or not readable"});
      continue;
    }
    c.what = absl::StrCat("receipt from ", FormatIdentifier(b.recipient()));
    absl::StatusOr<std::string> who =
        SignedBy(r.cert_chain_der(), ss::BatchKind::kReceipt, r.body(), ss::ProofOf(r),
                 b.recipient().member_code(), trust, FromProtoTime(b.received_at()));
    bool known_envelope = std::find(envelope_hashes.begin(), envelope_hashes.end(),
                                    b.envelope_sha256()) != envelope_hashes.end();
    if (!who.ok()) {
      c.detail = absl::StrCat("receipt signature: ", who.status().message());
    } else if (b.message_id() != evidence.message_id()) {
      c.detail = absl::StrCat("receipt names message ", b.message_id());
    } else if (!known_envelope) {
      c.detail = "receipt is for an envelope that is not in the evidence";
    } else {
      c.ok = true;
      c.detail = absl::StrCat("signed by ", *who, ", received ", Time(FromProtoTime(b.received_at())));
    }
    report.checks.push_back(std::move(c));
  }

  for (const LogRecordProof& p : evidence.records()) {
    EvidenceCheck c;
    c.what = absl::StrCat("log record ", p.seq(), " (",
                          ss::LogEventName(static_cast<ss::LogEvent>(p.event())), ")");
    ss::RecordProof proof = ToRecordProof(p);
    if (ss::RecordHash(proof.record) != p.hash()) {
      c.detail = "hash does not match its content";
    } else if (!p.stamped()) {
      c.ok = true;
      c.detail = absl::StrCat("logged ", Time(absl::FromUnixMicros(p.at_us())),
                              "; not yet time-stamped when exported");
    } else {
      absl::StatusOr<signer::TimestampInfo> ts = ss::CheckRecordProof(proof, trust);
      if (!ts.ok()) {
        c.detail = std::string(ts.status().message());
      } else {
        c.ok = true;
        c.detail = absl::StrCat("logged ", Time(absl::FromUnixMicros(p.at_us())),
                                "; in batch ", p.batch_id(), " time-stamped ", Time(ts->gen_time),
                                " by ", ts->tsa_subject);
      }
    }
    report.checks.push_back(std::move(c));
  }

  if (evidence.content_type().find("xml") != std::string::npos) {
    signer::VerifyOptions options;
    options.trust = &trust;
    options.offline = offline;
    options.document_name = evidence.message_id();
    options.signature_parent_ns = edxml::kEdxmlNs;
    options.signature_parent_name = "edXMLHeader";
    absl::StatusOr<signer::Report> doc = signer::VerifyDocument(payload, options);
    if (doc.ok()) {
      report.has_document_report = true;
      report.document = std::move(*doc);
    } else {
      report.checks.push_back(
          {"document signatures", false, std::string(doc.status().message())});
    }
  }
  return report;
}

std::string EvidenceStory(const Evidence& evidence) {
  const StatusResponse& s = evidence.status();
  std::string out = absl::StrCat("Message ", evidence.message_id(), "\n");
  absl::StrAppend(&out, "  from ", FormatIdentifier(s.sender()), ", type ", s.document_type(),
                  s.dms_reference().empty() ? "" : absl::StrCat(", reference ", s.dms_reference()),
                  ", accepted ", Time(FromProtoTime(s.created_at())), "\n");
  absl::StrAppend(&out, "  exported by ", evidence.exported_by(), " at ",
                  Time(FromProtoTime(evidence.exported_at())), "\n");
  for (const RecipientStatus& r : s.recipients()) {
    absl::StrAppend(&out, "  to ", FormatIdentifier(r.recipient()), ": ",
                    RecipientStatus::State_Name(r.state()));
    for (const BusinessStatus& b : r.statuses()) {
      absl::StrAppend(&out, "; status ", b.code(), b.text().empty() ? "" : " ", b.text(), " at ",
                      Time(FromProtoTime(b.at())));
    }
    absl::StrAppend(&out, "\n");
  }
  return out;
}

std::string EvidenceText(const Evidence& evidence, const EvidenceReport& report) {
  std::string out = EvidenceStory(evidence);
  if (report.has_document_report) {
    absl::StrAppend(&out, "\nThe document's signatures:\n", signer::ReportText(report.document));
  }
  absl::StrAppend(&out, "\nEvidence checks:\n");
  for (const EvidenceCheck& c : report.checks) {
    absl::StrAppend(&out, c.ok ? "  ok    " : "  FAIL  ", c.what, ": ", c.detail, "\n");
  }
  absl::StrAppend(&out, "\nVerdict: ",
                  report.Ok() ? "the evidence is complete and every check passed"
                              : "NOT VALID: at least one check failed",
                  "\n");
  return out;
}

std::string EvidenceJson(const Evidence& evidence, const EvidenceReport& report) {
  nlohmann::json j;
  j["message_id"] = evidence.message_id();
  j["valid"] = report.Ok();
  j["sender"] = FormatIdentifier(evidence.status().sender());
  j["exported_by"] = evidence.exported_by();
  j["recipients"] = nlohmann::json::array();
  for (const RecipientStatus& r : evidence.status().recipients()) {
    nlohmann::json rj;
    rj["recipient"] = FormatIdentifier(r.recipient());
    rj["state"] = RecipientStatus::State_Name(r.state());
    rj["statuses"] = nlohmann::json::array();
    for (const BusinessStatus& b : r.statuses()) {
      rj["statuses"].push_back({{"code", b.code()}, {"text", b.text()}});
    }
    j["recipients"].push_back(rj);
  }
  j["checks"] = nlohmann::json::array();
  for (const EvidenceCheck& c : report.checks) {
    j["checks"].push_back({{"what", c.what}, {"ok", c.ok}, {"detail", c.detail}});
  }
  if (report.has_document_report) {
    j["document"] = nlohmann::json::parse(signer::ReportJson(report.document));
  }
  return j.dump(2);
}

std::string AuditHtml(const std::string& title, bool ok, const std::string& story,
                      const std::vector<EvidenceCheck>& checks,
                      const std::string& signatures_text) {
  UniquePtr<xmlBuffer> buf(xmlBufferCreate());
  UniquePtr<xmlTextWriter> w(xmlNewTextWriterMemory(buf.get(), 0));
  if (w == nullptr) {
    return "";
  }
  auto x = [](const char* s) { return reinterpret_cast<const xmlChar*>(s); };
  auto element = [&](const char* name, const std::string& text) {
    xmlTextWriterWriteElement(w.get(), x(name), x(text.c_str()));
  };
  auto start = [&](const char* name, const char* cls = nullptr) {
    xmlTextWriterStartElement(w.get(), x(name));
    if (cls != nullptr) {
      xmlTextWriterWriteAttribute(w.get(), x("class"), x(cls));
    }
  };
  auto end = [&] { xmlTextWriterEndElement(w.get()); };
  xmlTextWriterWriteDTD(w.get(), x("html"), nullptr, nullptr, nullptr);
  start("html");
  xmlTextWriterWriteAttribute(w.get(), x("lang"), x("vi"));
  start("head");
  xmlTextWriterStartElement(w.get(), x("meta"));
  xmlTextWriterWriteAttribute(w.get(), x("charset"), x("utf-8"));
  end();
  element("title", title);
  element("style",
          "body{font-family:sans-serif;margin:2em;max-width:70em}"
          "h1{font-size:1.4em}.ok{color:#126b2f}.fail{color:#a4161a;font-weight:bold}"
          "table{border-collapse:collapse}td{border-top:1px solid #ccc;padding:.3em .6em;"
          "vertical-align:top}pre{background:#f6f6f6;padding:1em;white-space:pre-wrap}");
  end();  // head
  start("body");
  element("h1", title);
  start("p", ok ? "ok" : "fail");
  xmlTextWriterWriteString(w.get(), x(ok ? "Every check passed." : "NOT VALID: at least one check failed."));
  end();
  if (!story.empty()) {
    element("h2", "The message");
    element("pre", story);
  }
  if (!checks.empty()) {
    element("h2", "Evidence checks");
    start("table");
    for (const EvidenceCheck& c : checks) {
      start("tr");
      start("td", c.ok ? "ok" : "fail");
      xmlTextWriterWriteString(w.get(), x(c.ok ? "ok" : "FAIL"));
      end();
      element("td", c.what);
      element("td", c.detail);
      end();
    }
    end();  // table
  }
  if (!signatures_text.empty()) {
    element("h2", "The document's signatures");
    element("pre", signatures_text);
  }
  end();  // body
  end();  // html
  xmlTextWriterEndDocument(w.get());
  w.reset();
  return std::string(reinterpret_cast<const char*>(xmlBufferContent(buf.get())),
                     static_cast<size_t>(xmlBufferLength(buf.get())));
}

}  // namespace axis::cli
