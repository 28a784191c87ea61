// axis sign: adds one XAdES signature to an XML document.
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "cli/commands.h"
#include "common/files.h"
#include "edxml/message.h"
#include "signer/extend.h"
#include "signer/keys.h"
#include "signer/sign.h"
#include "signer/verify.h"

namespace axis::cli {
namespace {

struct SignFlags {
  signer::KeySpec key;
  std::string role;
  std::string as;
  std::vector<std::string> trust;
  std::vector<std::string> intermediates;
  std::vector<std::string> crls;
  std::string pass_file;
  std::string out;
  std::string in;
  bool pss = false;
  std::string tsa;   // B-T: time-stamp the new signature
  bool ltv = false;  // B-LT: embed certificate and revocation values
  std::string ocsp;  // OCSP responder instead of the certificates' AIA URL
};

// CheckExisting verifies the signatures already in `xml` and applies the
// signing order of `commitment`; without --trust only --as leader on an
// unsigned document may go ahead.
absl::Status CheckExisting(const SignFlags& f, const std::string& xml,
                           const std::string& commitment) {
  if (f.trust.empty()) {
    if (commitment == signer::kProofOfOrigin) {
      return absl::InvalidArgumentError(
          "--as agency needs --trust: the leader's signature is checked before the seal goes on");
    }
    return absl::OkStatus();
  }
  absl::StatusOr<signer::TrustStore> trust =
      signer::TrustStore::FromPemFiles(f.trust, f.intermediates, f.crls);
  if (!trust.ok()) {
    return trust.status();
  }
  signer::VerifyOptions options;
  options.trust = &*trust;
  options.document_name = f.in;
  options.ocsp_url = f.ocsp;
  options.signature_parent_ns = edxml::kEdxmlNs;
  options.signature_parent_name = "edXMLHeader";
  absl::StatusOr<signer::Report> report = signer::VerifyDocument(xml, options);
  if (!report.ok()) {
    return report.status();
  }
  absl::Status order = signer::CheckSigningOrder(*report, commitment);
  if (!order.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(f.in, ": ", order.message()));
  }
  return absl::OkStatus();
}

int RunSign(const SignFlags& f) {
  std::string commitment;
  if (f.as == "leader") {
    commitment = signer::kProofOfApproval;
  } else if (f.as == "agency") {
    commitment = signer::kProofOfOrigin;
  } else if (!f.as.empty()) {
    return Fail(absl::InvalidArgumentError(
        absl::StrCat("--as \"", f.as, "\": expected leader or agency")));
  }
  if (f.ltv && f.tsa.empty()) {
    return Fail(absl::InvalidArgumentError(
        "--ltv needs --tsa: B-LT is built on a signature time-stamp (B-T)"));
  }
  absl::StatusOr<std::string> xml = ReadFile(f.in);
  if (!xml.ok()) {
    return Fail(xml.status());
  }
  if (absl::Status s = CheckExisting(f, *xml, commitment); !s.ok()) {
    std::cerr << "axis: " << s.message() << "\n";
    return s.code() == absl::StatusCode::kFailedPrecondition ? kExitNegative : ExitCodeFor(s);
  }
  signer::SecretSource secret =
      f.pass_file.empty() ? signer::SecretFromTerminal() : signer::SecretFromFile(f.pass_file);
  absl::StatusOr<signer::SigningKey> key = signer::LoadSigningKey(f.key, secret);
  if (!key.ok()) {
    return Fail(key.status());
  }
  signer::SignOptions options;
  options.role = f.role;
  options.rsa_pss = f.pss;
  options.commitment = commitment;
  // edXML messages carry their signatures in edXMLHeader (../shared/EDXML.md).
  options.parent_ns = edxml::kEdxmlNs;
  options.parent_name = "edXMLHeader";
  absl::StatusOr<std::string> signed_xml = signer::SignDocument(*xml, *key, options);
  if (!signed_xml.ok()) {
    return Fail(absl::Status(signed_xml.status().code(),
                             absl::StrCat(f.in, ": ", signed_xml.status().message())));
  }
  if (!f.tsa.empty()) {
    // Only the new signature is extended: every earlier one is covered by it.
    absl::StatusOr<signer::TrustStore> extra =
        signer::TrustStore::FromPemFiles({}, f.intermediates, f.crls);
    if (!extra.ok()) {
      return Fail(extra.status());
    }
    signer::ExtendOptions extend;
    extend.tsa_url = f.tsa;
    extend.ltv = f.ltv;
    extend.ocsp_url = f.ocsp;
    extend.extra = &*extra;
    signed_xml = signer::ExtendDocument(*signed_xml, extend);
    if (!signed_xml.ok()) {
      return Fail(absl::Status(signed_xml.status().code(),
                               absl::StrCat(f.in, ": ", signed_xml.status().message())));
    }
  }
  if (absl::Status s = WriteFileAtomic(f.out, *signed_xml); !s.ok()) {
    return Fail(s);
  }
  std::cerr << "signed " << f.in << " -> " << f.out << "\n";
  return kExitOk;
}

}  // namespace

void AddSignCommand(CLI::App& app, Command* run) {
  auto flags = std::make_shared<SignFlags>();
  CLI::App* cmd = app.add_subcommand(
      "sign", "Add an enveloped XAdES signature that covers the document and every earlier signature");
  cmd->add_option("--key", flags->key.key, "PEM or PKCS#12 (.p12) file, or a pkcs11: URI")
      ->required();
  cmd->add_option("--cert", flags->key.cert_path, "signer's certificate (PEM)");
  cmd->add_option("--chain", flags->key.chain_path, "issuing CA certificates (PEM) for KeyInfo");
  cmd->add_option("--role", flags->role, "the signer's role, e.g. \"Thủ tướng\"");
  cmd->add_option("--as", flags->as,
                  "leader (proof of approval) or agency (the seal: needs --trust and a valid "
                  "leader signature already on the document)");
  cmd->add_option("--trust", flags->trust,
                  "trusted roots (PEM): verify the signatures already on the document first");
  cmd->add_option("--intermediate", flags->intermediates, "extra intermediate CAs (PEM)");
  cmd->add_option("--crl", flags->crls, "certificate revocation list (PEM); repeatable");
  cmd->add_option("--pass-file", flags->pass_file,
                  "file whose first line is the key passphrase or token PIN (else asked on the terminal)");
  cmd->add_option("--tsa", flags->tsa,
                  "RFC 3161 time-stamping authority URL: add a SignatureTimeStamp (XAdES B-T)");
  cmd->add_flag("--ltv", flags->ltv,
                "with --tsa: embed the certificates and OCSP responses (or --crl CRLs) that "
                "verification needs (XAdES B-LT)");
  cmd->add_option("--ocsp", flags->ocsp, "OCSP responder URL instead of the certificate's AIA URL");
  cmd->add_flag("--pss", flags->pss, "RSA keys: sign with RSASSA-PSS (RFC 6931) instead of PKCS#1 v1.5");
  cmd->add_option("-o,--out", flags->out, "where to write the signed document")->required();
  cmd->add_option("input", flags->in, "the XML document to sign")->required();
  cmd->callback([flags, run] { *run = [flags] { return RunSign(*flags); }; });
}

}  // namespace axis::cli
