// axis sign: adds one XAdES signature to an XML document.
#include <iostream>

#include "absl/strings/str_cat.h"
#include "cli/commands.h"
#include "common/files.h"
#include "signer/keys.h"
#include "signer/sign.h"

namespace axis::cli {
namespace {

struct SignFlags {
  signer::KeySpec key;
  std::string role;
  std::string pass_file;
  std::string out;
  std::string in;
  bool pss = false;
};

int RunSign(const SignFlags& f) {
  signer::SecretSource secret =
      f.pass_file.empty() ? signer::SecretFromTerminal() : signer::SecretFromFile(f.pass_file);
  absl::StatusOr<signer::SigningKey> key = signer::LoadSigningKey(f.key, secret);
  if (!key.ok()) {
    return Fail(key.status());
  }
  absl::StatusOr<std::string> xml = ReadFile(f.in);
  if (!xml.ok()) {
    return Fail(xml.status());
  }
  signer::SignOptions options;
  options.role = f.role;
  options.rsa_pss = f.pss;
  absl::StatusOr<std::string> signed_xml = signer::SignDocument(*xml, *key, options);
  if (!signed_xml.ok()) {
    return Fail(absl::Status(signed_xml.status().code(),
                             absl::StrCat(f.in, ": ", signed_xml.status().message())));
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
  cmd->add_option("--pass-file", flags->pass_file,
                  "file whose first line is the key passphrase or token PIN (else asked on the terminal)");
  cmd->add_flag("--pss", flags->pss, "RSA keys: sign with RSASSA-PSS (RFC 6931) instead of PKCS#1 v1.5");
  cmd->add_option("-o,--out", flags->out, "where to write the signed document")->required();
  cmd->add_option("input", flags->in, "the XML document to sign")->required();
  cmd->callback([flags, run] { *run = [flags] { return RunSign(*flags); }; });
}

}  // namespace axis::cli
