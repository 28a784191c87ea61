// axis central ...: the central operator's commands against a running
// axis-central-server (CentralAdmin over mTLS with an admin certificate).
//
// Connection: --central HOST:PORT (or $AXIS_CENTRAL); admin TLS material
// --tls-cert/--tls-key/--tls-ca (or $AXIS_TLS_CERT/$AXIS_TLS_KEY/$AXIS_TLS_CA).
// Each change prints the configuration version after it.
#include <google/protobuf/util/json_util.h>
#include <grpcpp/grpcpp.h>
#include <openssl/pem.h>

#include <cstdlib>
#include <iostream>
#include <memory>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "central-server/conf_client.h"
#include "central-server/globalconf.h"
#include "central.grpc.pb.h"
#include "cli/commands.h"
#include "common/files.h"
#include "common/status_macros.h"
#include "proto/identifiers.h"
#include "signer/bytes_sign.h"
#include "signer/certs.h"

namespace axis::cli {
namespace {

constexpr absl::Duration kDeadline = absl::Seconds(20);

struct Connection {
  std::string central;
  std::string tls_cert;
  std::string tls_key;
  std::string tls_ca;
};

std::string EnvOr(const std::string& value, const char* env) {
  if (!value.empty()) {
    return value;
  }
  const char* v = std::getenv(env);
  return v != nullptr ? v : "";
}

absl::Status FromGrpc(const grpc::Status& s, const std::string& central) {
  absl::StatusCode code = static_cast<absl::StatusCode>(s.error_code());
  if (code == absl::StatusCode::kDeadlineExceeded) {
    code = absl::StatusCode::kUnavailable;
  }
  if (code == absl::StatusCode::kUnavailable) {
    return absl::UnavailableError(
        absl::StrCat("central server ", central, " unavailable: ", s.error_message()));
  }
  return absl::Status(code, s.error_message());
}

absl::StatusOr<std::unique_ptr<CentralAdmin::Stub>> AdminStub(const Connection& flags,
                                                              std::string* central) {
  Connection c{EnvOr(flags.central, "AXIS_CENTRAL"), EnvOr(flags.tls_cert, "AXIS_TLS_CERT"),
               EnvOr(flags.tls_key, "AXIS_TLS_KEY"), EnvOr(flags.tls_ca, "AXIS_TLS_CA")};
  if (c.central.empty()) {
    return absl::InvalidArgumentError("--central HOST:PORT (or AXIS_CENTRAL) is required");
  }
  if (c.tls_cert.empty() || c.tls_key.empty() || c.tls_ca.empty()) {
    return absl::InvalidArgumentError(
        "--tls-cert, --tls-key and --tls-ca (or AXIS_TLS_CERT, AXIS_TLS_KEY, AXIS_TLS_CA) are "
        "required");
  }
  grpc::SslCredentialsOptions ssl;
  AXIS_ASSIGN_OR_RETURN(ssl.pem_root_certs, ReadFile(c.tls_ca, size_t{1} << 20));
  AXIS_ASSIGN_OR_RETURN(ssl.pem_private_key, ReadFile(c.tls_key, size_t{1} << 20));
  AXIS_ASSIGN_OR_RETURN(ssl.pem_cert_chain, ReadFile(c.tls_cert, size_t{1} << 20));
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(256 << 20);
  *central = c.central;
  return CentralAdmin::NewStub(
      grpc::CreateCustomChannel(c.central, grpc::SslCredentials(ssl), args));
}

// Call runs one admin RPC with a deadline and prints the version.
template <typename Req, typename Resp, typename Method>
absl::StatusOr<Resp> Call(const Connection& conn, Method method, const Req& request) {
  std::string central;
  AXIS_ASSIGN_OR_RETURN(std::unique_ptr<CentralAdmin::Stub> stub, AdminStub(conn, &central));
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + kDeadline));
  Resp reply;
  grpc::Status s = ((*stub).*method)(&context, request, &reply);
  if (!s.ok()) {
    return FromGrpc(s, central);
  }
  return reply;
}

template <typename Req, typename Method>
int Change(const Connection& conn, Method method, const Req& request) {
  absl::StatusOr<AdminReply> reply = Call<Req, AdminReply>(conn, method, request);
  if (!reply.ok()) {
    return Fail(reply.status());
  }
  std::cout << "conf version " << reply->conf_version() << "\n";
  return kExitOk;
}

absl::StatusOr<std::string> CertDerFromPemFile(const std::string& path) {
  AXIS_ASSIGN_OR_RETURN(std::vector<UniquePtr<X509>> certs, signer::LoadPemCertificates(path));
  return signer::CertToDer(certs[0].get());
}

absl::StatusOr<std::string> CrlDerFromPemFile(const std::string& path) {
  AXIS_ASSIGN_OR_RETURN(std::string pem, ReadFile(path, size_t{64} << 20));
  UniquePtr<BIO> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  UniquePtr<X509_CRL> crl(PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr));
  if (crl == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": not a PEM CRL"));
  }
  unsigned char* der = nullptr;
  int n = i2d_X509_CRL(crl.get(), &der);
  if (n <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": cannot encode the CRL"));
  }
  std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(n));
  OPENSSL_free(der);
  return out;
}

// MemberFromFlags takes ID, or --code with --class and --instance.
absl::StatusOr<Identifier> MemberFromFlags(const std::string& id, const std::string& code,
                                           const std::string& member_class,
                                           const std::string& instance) {
  if (!id.empty()) {
    return ParseMemberId(id);
  }
  if (code.empty()) {
    return absl::InvalidArgumentError("name the member: ID (VN/GOV/CODE) or --code CODE");
  }
  return ParseMemberId(absl::StrCat(instance, "/", member_class, "/", code));
}

std::string ConfJson(const GlobalConf& conf) {
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(conf, &json, options);
  return json;
}

void PrintConf(const GlobalConf& conf, const ValidityStatement& st) {
  std::cout << "instance " << conf.instance() << "\nversion " << conf.version() << "\ncentral "
            << conf.central_address() << "\nsigned at "
            << absl::FormatTime(absl::RFC3339_sec, absl::FromUnixSeconds(st.signed_at().seconds()),
                                absl::UTCTimeZone())
            << "\nexpires at "
            << absl::FormatTime(absl::RFC3339_sec, absl::FromUnixSeconds(st.expires_at().seconds()),
                                absl::UTCTimeZone())
            << "\nprevious sha256 " << absl::BytesToHexString(conf.previous_sha256()) << "\n";
  std::cout << "members " << conf.members_size() << "\n";
  for (const Member& m : conf.members()) {
    std::cout << "  " << FormatIdentifier(m.id()) << "  " << m.name();
    if (m.other_codes_size() > 0) {
      std::cout << "  (also " << absl::StrJoin(m.other_codes(), ", ") << ")";
    }
    std::cout << "\n";
  }
  std::cout << "subsystems " << conf.subsystems_size() << "\n";
  for (const Subsystem& m : conf.subsystems()) {
    std::cout << "  " << FormatIdentifier(m.id()) << "\n";
  }
  std::cout << "security servers " << conf.security_servers_size() << "\n";
  for (const SecurityServer& s : conf.security_servers()) {
    std::cout << "  " << FormatIdentifier(s.owner()) << "/" << s.server_code() << " at "
              << s.address() << " (" << s.auth_cert_sha256_size() << " auth certs)\n";
  }
  std::cout << "CAs " << conf.cas_size() << "\n";
  for (const TrustedCa& c : conf.cas()) {
    std::cout << "  " << c.name() << (c.is_root() ? " (root)" : " (intermediate)") << "\n";
  }
  std::cout << "TSAs " << conf.tsas_size() << "\n";
  for (const TimestampingAuthority& t : conf.tsas()) {
    std::cout << "  " << t.name() << " " << t.url() << "\n";
  }
  std::cout << "groups " << conf.groups_size() << "\n";
  for (const AccessGroup& g : conf.groups()) {
    std::cout << "  " << g.code() << " (" << g.members_size() << " members)\n";
  }
}

// VerifyHistory replays the hash chain of `confs` (ascending from 1).
absl::Status VerifyHistory(const ConfHistory& history) {
  std::string previous;
  for (int i = 0; i < history.confs_size(); ++i) {
    GlobalConf conf;
    if (!conf.ParseFromString(history.confs(i))) {
      return absl::DataLossError(absl::StrCat("version at position ", i + 1, " is unreadable"));
    }
    if (conf.version() != static_cast<uint64_t>(i) + 1) {
      return absl::DataLossError(
          absl::StrCat("expected version ", i + 1, ", found ", conf.version()));
    }
    std::string want = i == 0 ? std::string() : signer::Sha256(previous);
    if (conf.previous_sha256() != want) {
      return absl::DataLossError(absl::StrCat("hash chain broken at version ", conf.version(),
                                              ": previous_sha256 does not match version ",
                                              conf.version() - 1));
    }
    previous = history.confs(i);
  }
  return absl::OkStatus();
}

}  // namespace

void AddCentralCommand(CLI::App& app, Command* run) {
  auto conn = std::make_shared<Connection>();
  CLI::App* central = app.add_subcommand("central", "The central operator's commands");
  central->require_subcommand(1);
  auto add_conn = [conn](CLI::App* c) {
    c->add_option("--central", conn->central, "central server HOST:PORT ($AXIS_CENTRAL)");
    c->add_option("--tls-cert", conn->tls_cert, "admin client certificate ($AXIS_TLS_CERT)");
    c->add_option("--tls-key", conn->tls_key, "its key ($AXIS_TLS_KEY)");
    c->add_option("--tls-ca", conn->tls_ca, "CA of the central's TLS cert ($AXIS_TLS_CA)");
  };
  add_conn(central);

  struct Flags {
    std::string id, code, member_class = "GOV", instance = "VN", name, address, cert, key, url, crl,
                          output, description, reason, owner;
    std::vector<std::string> ocsp, members, other_codes;
    uint64_t approve = 0, reject = 0;
    bool all = false, json = false, verify = false;
  };
  auto f = std::make_shared<Flags>();

  // member add|remove
  CLI::App* member = central->add_subcommand("member", "Members (agencies)");
  member->require_subcommand(1);
  add_conn(member);
  for (const char* verb : {"add", "remove"}) {
    CLI::App* c = member->add_subcommand(verb, std::string(verb) + " a member");
    add_conn(c);
    c->add_option("id", f->id, "member ID, INSTANCE/CLASS/CODE");
    c->add_option("--code", f->code, "member code (instead of ID)");
    c->add_option("--class", f->member_class, "member class (default GOV)");
    c->add_option("--instance", f->instance, "instance (default VN)");
    if (std::string(verb) == "add") {
      c->add_option("--name", f->name, "the member's name")->required();
      c->add_option("--also-code", f->other_codes,
                    "another agency code of the member, e.g. its legacy 13-character one (repeat)");
    }
    bool add = std::string(verb) == "add";
    c->callback([f, conn, run, add] {
      *run = [f, conn, add] {
        absl::StatusOr<Identifier> id =
            MemberFromFlags(f->id, f->code, f->member_class, f->instance);
        if (!id.ok()) {
          return Fail(id.status());
        }
        MemberRequest r;
        *r.mutable_id() = *id;
        r.set_name(f->name);
        if (add) {
          for (const std::string& code : f->other_codes) {
            r.add_other_codes(code);
          }
        }
        return add ? Change(*conn, &CentralAdmin::Stub::AddMember, r)
                   : Change(*conn, &CentralAdmin::Stub::RemoveMember, r);
      };
    });
  }

  // subsystem add|remove
  CLI::App* subsystem = central->add_subcommand("subsystem", "Subsystems of members");
  subsystem->require_subcommand(1);
  add_conn(subsystem);
  for (const char* verb : {"add", "remove"}) {
    CLI::App* c = subsystem->add_subcommand(verb, std::string(verb) + " a subsystem");
    add_conn(c);
    c->add_option("id", f->id, "INSTANCE/CLASS/CODE/SUBSYSTEM")->required();
    c->add_option("--name", f->name, "its name");
    bool add = std::string(verb) == "add";
    c->callback([f, conn, run, add] {
      *run = [f, conn, add] {
        absl::StatusOr<Identifier> id = ParseSubsystemId(f->id);
        if (!id.ok()) {
          return Fail(id.status());
        }
        SubsystemRequest r;
        *r.mutable_id() = *id;
        r.set_name(f->name);
        return add ? Change(*conn, &CentralAdmin::Stub::AddSubsystem, r)
                   : Change(*conn, &CentralAdmin::Stub::RemoveSubsystem, r);
      };
    });
  }

  // server add|remove
  CLI::App* server = central->add_subcommand("server", "Security servers");
  server->require_subcommand(1);
  add_conn(server);
  for (const char* verb : {"add", "remove"}) {
    CLI::App* c = server->add_subcommand(verb, std::string(verb) + " a security server");
    add_conn(c);
    c->add_option("--owner", f->owner, "owner member ID, INSTANCE/CLASS/CODE")->required();
    c->add_option("--server-code", f->code, "server code, e.g. ss1")->required();
    bool add = std::string(verb) == "add";
    if (add) {
      c->add_option("--address", f->address, "HOST:PORT of its relay")->required();
      c->add_option("--auth-cert", f->cert, "its TLS (authentication) certificate, PEM")
          ->required();
    }
    c->callback([f, conn, run, add] {
      *run = [f, conn, add] {
        absl::StatusOr<Identifier> owner = ParseMemberId(f->owner);
        if (!owner.ok()) {
          return Fail(owner.status());
        }
        ServerRequest r;
        *r.mutable_owner() = *owner;
        r.set_server_code(f->code);
        if (!add) {
          return Change(*conn, &CentralAdmin::Stub::RemoveServer, r);
        }
        r.set_address(f->address);
        absl::StatusOr<std::string> der = CertDerFromPemFile(f->cert);
        if (!der.ok()) {
          return Fail(der.status());
        }
        r.set_auth_cert_der(*der);
        return Change(*conn, &CentralAdmin::Stub::AddServer, r);
      };
    });
  }

  // ca add|remove
  CLI::App* ca = central->add_subcommand("ca", "Trusted certification authorities");
  ca->require_subcommand(1);
  add_conn(ca);
  {
    CLI::App* c = ca->add_subcommand("add", "trust a root or intermediate CA");
    add_conn(c);
    c->add_option("--cert", f->cert, "CA certificate (PEM)")->required();
    c->add_option("--name", f->name, "name (default: the subject)");
    c->add_option("--ocsp", f->ocsp, "OCSP responder URL; repeatable");
    c->add_option("--crl", f->crl, "CRL (PEM)");
    c->callback([f, conn, run] {
      *run = [f, conn] {
        CaRequest r;
        absl::StatusOr<std::string> der = CertDerFromPemFile(f->cert);
        if (!der.ok()) {
          return Fail(der.status());
        }
        r.set_cert_der(*der);
        r.set_name(f->name);
        for (const std::string& u : f->ocsp) {
          r.add_ocsp_urls(u);
        }
        if (!f->crl.empty()) {
          absl::StatusOr<std::string> crl = CrlDerFromPemFile(f->crl);
          if (!crl.ok()) {
            return Fail(crl.status());
          }
          r.set_crl_der(*crl);
        }
        return Change(*conn, &CentralAdmin::Stub::AddCa, r);
      };
    });
    CLI::App* rm = ca->add_subcommand("remove", "stop trusting a CA");
    add_conn(rm);
    rm->add_option("name", f->name, "its name")->required();
    rm->callback([f, conn, run] {
      *run = [f, conn] {
        CaRequest r;
        r.set_name(f->name);
        return Change(*conn, &CentralAdmin::Stub::RemoveCa, r);
      };
    });
  }

  // tsa add|remove
  CLI::App* tsa = central->add_subcommand("tsa", "Time-stamping authorities");
  tsa->require_subcommand(1);
  add_conn(tsa);
  {
    CLI::App* c = tsa->add_subcommand("add", "add a TSA");
    add_conn(c);
    c->add_option("--url", f->url, "RFC 3161 URL")->required();
    c->add_option("--cert", f->cert, "TSA certificate (PEM)")->required();
    c->add_option("--name", f->name, "name (default: the subject)");
    c->callback([f, conn, run] {
      *run = [f, conn] {
        TsaRequest r;
        absl::StatusOr<std::string> der = CertDerFromPemFile(f->cert);
        if (!der.ok()) {
          return Fail(der.status());
        }
        r.set_cert_der(*der);
        r.set_url(f->url);
        r.set_name(f->name);
        return Change(*conn, &CentralAdmin::Stub::AddTsa, r);
      };
    });
    CLI::App* rm = tsa->add_subcommand("remove", "remove a TSA");
    add_conn(rm);
    rm->add_option("name", f->name, "its name")->required();
    rm->callback([f, conn, run] {
      *run = [f, conn] {
        TsaRequest r;
        r.set_name(f->name);
        return Change(*conn, &CentralAdmin::Stub::RemoveTsa, r);
      };
    });
  }

  // group add|remove
  CLI::App* group = central->add_subcommand("group", "Access groups");
  group->require_subcommand(1);
  add_conn(group);
  {
    CLI::App* c = group->add_subcommand("add", "add an access group");
    add_conn(c);
    c->add_option("code", f->code, "group code")->required();
    c->add_option("--description", f->description, "what it is for");
    c->add_option("--member", f->members, "member or subsystem ID; repeatable");
    c->callback([f, conn, run] {
      *run = [f, conn] {
        GroupRequest r;
        r.set_code(f->code);
        r.set_description(f->description);
        for (const std::string& m : f->members) {
          absl::StatusOr<Identifier> id = ParseIdentifier(m);
          if (!id.ok()) {
            return Fail(id.status());
          }
          *r.add_members() = *id;
        }
        return Change(*conn, &CentralAdmin::Stub::AddGroup, r);
      };
    });
    CLI::App* rm = group->add_subcommand("remove", "remove an access group");
    add_conn(rm);
    rm->add_option("code", f->code, "group code")->required();
    rm->callback([f, conn, run] {
      *run = [f, conn] {
        GroupRequest r;
        r.set_code(f->code);
        return Change(*conn, &CentralAdmin::Stub::RemoveGroup, r);
      };
    });
  }

  // requests [--approve ID | --reject ID --reason TEXT]
  {
    CLI::App* c =
        central->add_subcommand("requests", "List, approve or reject management requests");
    add_conn(c);
    auto* approve = c->add_option("--approve", f->approve, "approve request ID");
    auto* reject = c->add_option("--reject", f->reject, "reject request ID");
    approve->excludes(reject);
    c->add_option("--reason", f->reason, "why (with --reject)");
    c->add_flag("--all", f->all, "list decided requests too");
    c->add_flag("--json", f->json, "print as JSON");
    c->callback([f, conn, run] {
      *run = [f, conn] {
        if (f->approve != 0) {
          DecideRequest r;
          r.set_id(f->approve);
          return Change(*conn, &CentralAdmin::Stub::ApproveRequest, r);
        }
        if (f->reject != 0) {
          if (f->reason.empty()) {
            return Fail(absl::InvalidArgumentError("--reject needs --reason TEXT"));
          }
          DecideRequest r;
          r.set_id(f->reject);
          r.set_reason(f->reason);
          return Change(*conn, &CentralAdmin::Stub::RejectRequest, r);
        }
        ListRequestsRequest r;
        r.set_pending_only(!f->all);
        absl::StatusOr<ListRequestsReply> list = Call<ListRequestsRequest, ListRequestsReply>(
            *conn, &CentralAdmin::Stub::ListRequests, r);
        if (!list.ok()) {
          return Fail(list.status());
        }
        if (f->json) {
          std::string json;
          google::protobuf::util::JsonPrintOptions options;
          options.add_whitespace = true;
          options.preserve_proto_field_names = true;
          (void)google::protobuf::util::MessageToJsonString(*list, &json, options);
          std::cout << json;
          return kExitOk;
        }
        for (const RequestInfo& info : list->requests()) {
          std::cout << info.id() << "\t" << info.status() << "\t" << FormatIdentifier(info.member())
                    << "\t" << info.summary() << (info.reason().empty() ? "" : "\t" + info.reason())
                    << "\n";
        }
        return kExitOk;
      };
    });
  }

  // anchor -o ANCHOR
  {
    CLI::App* c = central->add_subcommand("anchor", "Export the configuration anchor");
    add_conn(c);
    c->add_option("-o,--output", f->output, "anchor file to write")->required();
    c->callback([f, conn, run] {
      *run = [f, conn] {
        absl::StatusOr<ConfAnchor> anchor =
            Call<AnchorRequest, ConfAnchor>(*conn, &CentralAdmin::Stub::GetAnchor, AnchorRequest());
        if (!anchor.ok()) {
          return Fail(anchor.status());
        }
        absl::Status s = central::WriteAnchor(*anchor, f->output);
        if (!s.ok()) {
          return Fail(s);
        }
        std::cout << "anchor for " << anchor->instance() << " at " << anchor->central_address()
                  << " written to " << f->output << "\n";
        return kExitOk;
      };
    });
  }

  // conf show | history --verify
  CLI::App* conf = central->add_subcommand("conf", "The global configuration");
  conf->require_subcommand(1);
  add_conn(conf);
  {
    CLI::App* c = conf->add_subcommand("show", "Show the current configuration");
    add_conn(c);
    c->add_flag("--json", f->json, "print as JSON");
    c->callback([f, conn, run] {
      *run = [f, conn] {
        absl::StatusOr<ConfAnchor> anchor =
            Call<AnchorRequest, ConfAnchor>(*conn, &CentralAdmin::Stub::GetAnchor, AnchorRequest());
        if (!anchor.ok()) {
          return Fail(anchor.status());
        }
        // The anchor's own address may not be reachable from here: use --central.
        anchor->set_central_address(EnvOr(conn->central, "AXIS_CENTRAL"));
        absl::StatusOr<SignedGlobalConf> signed_conf =
            central::FetchGlobalConf(*anchor, 0, kDeadline);
        if (!signed_conf.ok()) {
          return Fail(signed_conf.status());
        }
        absl::StatusOr<central::VerifiedConf> verified =
            central::VerifySignedConf(*signed_conf, *anchor, nullptr, absl::Now());
        if (!verified.ok()) {
          std::cerr << "axis: " << verified.status().message() << "\n";
          return kExitNegative;
        }
        if (f->json) {
          std::cout << ConfJson(verified->conf);
        } else {
          PrintConf(verified->conf, verified->statement);
        }
        return kExitOk;
      };
    });
    CLI::App* h = conf->add_subcommand("history", "List every kept version");
    add_conn(h);
    h->add_flag("--verify", f->verify, "replay the hash chain of all kept versions");
    h->callback([f, conn, run] {
      *run = [f, conn] {
        absl::StatusOr<ConfHistory> history = Call<HistoryRequest, ConfHistory>(
            *conn, &CentralAdmin::Stub::GetHistory, HistoryRequest());
        if (!history.ok()) {
          return Fail(history.status());
        }
        for (const std::string& bytes : history->confs()) {
          GlobalConf c;
          c.ParseFromString(bytes);
          std::cout << "version " << c.version() << "  created "
                    << absl::FormatTime(absl::RFC3339_sec,
                                        absl::FromUnixSeconds(c.created_at().seconds()),
                                        absl::UTCTimeZone())
                    << "  sha256 " << absl::BytesToHexString(signer::Sha256(bytes)) << "\n";
        }
        if (f->verify) {
          absl::Status s = VerifyHistory(*history);
          if (!s.ok()) {
            std::cerr << "axis: " << s.message() << "\n";
            return kExitNegative;
          }
          std::cout << history->confs_size() << " versions, hash chain intact\n";
        }
        return kExitOk;
      };
    });
  }

  // key rotate --key --cert
  CLI::App* key = central->add_subcommand("key", "The configuration-signing key");
  key->require_subcommand(1);
  add_conn(key);
  {
    CLI::App* c = key->add_subcommand(
        "rotate", "Announce a new signing key; it signs after the grace period");
    add_conn(c);
    c->add_option("--key", f->key, "new private key (PEM)")->required();
    c->add_option("--cert", f->cert, "its certificate (PEM)")->required();
    c->callback([f, conn, run] {
      *run = [f, conn] {
        RotateKeyRequest r;
        absl::StatusOr<std::string> k = ReadFile(f->key, size_t{1} << 20);
        absl::StatusOr<std::string> c = ReadFile(f->cert, size_t{1} << 20);
        if (!k.ok()) {
          return Fail(k.status());
        }
        if (!c.ok()) {
          return Fail(c.status());
        }
        r.set_key_pem(*k);
        r.set_cert_pem(*c);
        return Change(*conn, &CentralAdmin::Stub::RotateSigningKey, r);
      };
    });
  }
}

}  // namespace axis::cli
