// axis server ...: a security server operator's management requests to the
// central server (signed with the member's signing key).
//
//   axis server register --central HOST:PORT --anchor ANCHOR --member VN/GOV/CODE|CODE
//       --server-code ss1 --address HOST:PORT --sign-key SEAL.key.pem
//       --sign-cert SEAL.cert.pem --auth-key SERVER.key.pem --auth-cert SERVER.cert.pem
//   axis server request  --central ... --anchor ... --member ... --sign-key ... --sign-cert ...
//       subsystem-add ID | subsystem-delete ID | address --server-code ss1 --address H:P
//       | auth-cert-delete --server-code ss1 --auth-cert CERT.pem
// Prints the request id and its status (pending, or approved by policy).
//
//   axis server status --server HOST:PORT [--json]
// Asks the security server itself (its gateway, as one of its local
// clients) for its configuration, time-stamping, OCSP and queues. Exit 0
// when it accepts new documents, 1 when it refuses them, 3 when unreachable.
#include <google/protobuf/util/json_util.h>

#include <iostream>
#include <memory>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "central-server/conf_client.h"
#include "central-server/globalconf.h"
#include "central-server/requests.h"
#include "cli/commands.h"
#include "cli/gateway_client.h"
#include "proto/conversions.h"
#include "proto/identifiers.h"
#include "signer/bytes_sign.h"
#include "signer/certs.h"
#include "signer/keys.h"

namespace axis::cli {
namespace {

constexpr absl::Duration kDeadline = absl::Seconds(20);

struct ServerFlags {
  std::string central, anchor, member, server_code, address, sign_key, sign_cert, auth_key,
      auth_cert, subsystem, name;
};

int Submit(const ServerFlags& f, ManagementRequest request, bool with_auth_key) {
  absl::StatusOr<ConfAnchor> anchor = central::ReadAnchor(f.anchor);
  if (!anchor.ok()) {
    return Fail(anchor.status());
  }
  if (!f.central.empty()) {
    anchor->set_central_address(f.central);
  }
  // CLI.md teaches `--member CODE`: a bare code is a GOV member of the
  // anchor's instance.
  absl::StatusOr<Identifier> member =
      ParseMemberId(absl::StrContains(f.member, '/')
                        ? f.member
                        : absl::StrCat(anchor->instance(), "/GOV/", f.member));
  if (!member.ok()) {
    return Fail(member.status());
  }
  *request.mutable_member() = *member;
  absl::StatusOr<signer::SigningKey> sign_key =
      signer::LoadSigningKey({f.sign_key, f.sign_cert, ""}, signer::NoSecret());
  if (!sign_key.ok()) {
    return Fail(sign_key.status());
  }
  absl::StatusOr<signer::SigningKey> auth_key;
  if (with_auth_key) {
    auth_key = signer::LoadSigningKey({f.auth_key, f.auth_cert, ""}, signer::NoSecret());
    if (!auth_key.ok()) {
      return Fail(auth_key.status());
    }
  }
  absl::StatusOr<SignedManagementRequest> signed_request = central::SignManagementRequest(
      std::move(request), *sign_key, with_auth_key ? &*auth_key : nullptr, absl::Now());
  if (!signed_request.ok()) {
    return Fail(signed_request.status());
  }
  absl::StatusOr<SubmitRequestReply> reply =
      central::SubmitManagementRequest(*anchor, *signed_request, kDeadline);
  if (!reply.ok()) {
    std::cerr << "axis: " << reply.status().message() << "\n";
    return reply.status().code() == absl::StatusCode::kUnavailable ? kExitUnavailable
                                                                   : kExitNegative;
  }
  std::cout << "request " << reply->request_id() << " " << reply->status() << "\n";
  return kExitOk;
}

void AddCommon(CLI::App* c, ServerFlags* f) {
  c->add_option("--central", f->central, "central server HOST:PORT (default: the anchor's)");
  c->add_option("--anchor", f->anchor, "configuration anchor file")->required();
  c->add_option("--member", f->member,
                "your member: ID (VN/GOV/CODE) or CODE (class GOV, the anchor's instance)")
      ->required();
  c->add_option("--sign-key", f->sign_key, "the member's signing key (seal), PEM or pkcs11: URI")
      ->required();
  c->add_option("--sign-cert", f->sign_cert, "its certificate (PEM)")->required();
}

struct StatusFlags {
  Conn conn;
  bool json = false;
};

std::string TimeText(const google::protobuf::Timestamp& t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", FromProtoTime(t), absl::UTCTimeZone());
}

// PrintServerStatus prints one line per area of `s`.
void PrintServerStatus(const ServerStatusResponse& s) {
  std::cout << "server " << FormatIdentifier(s.member()) << " " << s.server_code() << "\n";
  const ServerStatusResponse::Conf& c = s.global_conf();
  std::cout << "configuration: ";
  if (!c.present()) {
    std::cout << "NONE: " << c.error() << "\n";
  } else if (c.valid()) {
    std::cout << "version " << c.version() << " (" << c.instance() << "), valid until "
              << TimeText(c.expires_at()) << "\n";
  } else {
    std::cout << "version " << c.version() << " (" << c.instance() << ") EXPIRED: " << c.error()
              << "\n";
  }
  const ServerStatusResponse::Timestamping& t = s.timestamping();
  std::cout << "time-stamps: ";
  if (!t.enabled()) {
    std::cout << "not configured (no TSA)\n";
  } else {
    std::cout << "last " << TimeText(t.last_stamp()) << ", " << t.unstamped_records()
              << " unstamped, TSA " << t.tsa_url();
    if (!t.last_error().empty()) {
      std::cout << ", error: " << t.last_error();
    }
    std::cout << "\n";
  }
  const ServerStatusResponse::Ocsp& o = s.ocsp();
  std::cout << "OCSP: ";
  if (!o.enabled()) {
    std::cout << "disabled";
  } else if (!o.has_fresh_until()) {
    std::cout << "no response held yet (fetched when relaying)";
  } else {
    std::cout << (FromProtoTime(o.fresh_until()) > FromProtoTime(s.now()) ? "fresh until "
                                                                          : "STALE since ")
              << TimeText(o.fresh_until()) << " (this update " << TimeText(o.this_update());
    if (o.has_next_update()) {
      std::cout << ", next update " << TimeText(o.next_update());
    }
    std::cout << ")";
  }
  if (!o.url().empty()) {
    std::cout << ", responder " << o.url();
  }
  if (!o.last_error().empty()) {
    std::cout << ", error: " << o.last_error();
  }
  std::cout << "\n";
  const ServerStatusResponse::Queues& q = s.queues();
  std::cout << "queues: outbox " << q.outbox_accepted() << " accepted, " << q.outbox_relayed()
            << " relaying/retrying, " << q.outbox_delivered() << " delivered, "
            << q.outbox_failed() << " failed; inbox " << q.inbox_pending() << " pending, "
            << q.inbox_acknowledged() << " acknowledged\n";
  if (s.accepting_documents()) {
    std::cout << "accepting documents\n";
  } else {
    std::cout << "REFUSING documents: " << s.refusal_reason() << "\n";
  }
}

int RunServerStatus(const StatusFlags& f) {
  absl::StatusOr<std::unique_ptr<AgencyGateway::Stub>> stub = ConnectGateway(f.conn);
  if (!stub.ok()) {
    return Fail(stub.status());
  }
  grpc::ClientContext ctx;
  SetDeadline(&ctx, 30);
  ServerStatusResponse resp;
  grpc::Status s = (*stub)->ServerStatus(&ctx, ServerStatusRequest(), &resp);
  if (!s.ok()) {
    return FailRpc(s);
  }
  if (f.json) {
    std::string out;
    google::protobuf::util::JsonPrintOptions o;
    o.preserve_proto_field_names = true;
    // Zero counts and false flags are part of the report.
    o.always_print_primitive_fields = true;
    (void)google::protobuf::util::MessageToJsonString(resp, &out, o);
    std::cout << out << "\n";
  } else {
    PrintServerStatus(resp);
  }
  return resp.accepting_documents() ? kExitOk : kExitNegative;
}

}  // namespace

void AddServerCommand(CLI::App& app, Command* run) {
  auto f = std::make_shared<ServerFlags>();
  CLI::App* server = app.add_subcommand("server", "A security server operator's commands");
  server->require_subcommand(1);

  CLI::App* reg = server->add_subcommand(
      "register", "Ask the central server to register this security server and its auth cert");
  AddCommon(reg, f.get());
  reg->add_option("--server-code", f->server_code, "server code, e.g. ss1")->required();
  reg->add_option("--address", f->address, "HOST:PORT of its relay")->required();
  reg->add_option("--auth-key", f->auth_key, "the server's TLS key (proof of possession)")
      ->required();
  reg->add_option("--auth-cert", f->auth_cert, "the server's TLS certificate (PEM)")->required();
  reg->callback([f, run] {
    *run = [f] {
      ManagementRequest r;
      absl::StatusOr<std::vector<UniquePtr<X509>>> cert = signer::LoadPemCertificates(f->auth_cert);
      if (!cert.ok()) {
        return Fail(cert.status());
      }
      absl::StatusOr<std::string> der = signer::CertToDer((*cert)[0].get());
      if (!der.ok()) {
        return Fail(der.status());
      }
      r.mutable_register_server()->set_server_code(f->server_code);
      r.mutable_register_server()->set_address(f->address);
      r.mutable_register_server()->set_auth_cert_der(*der);
      return Submit(*f, std::move(r), true);
    };
  });

  CLI::App* req = server->add_subcommand("request", "Other management requests");
  req->require_subcommand(1);
  AddCommon(req, f.get());
  for (const char* verb : {"subsystem-add", "subsystem-delete"}) {
    CLI::App* c = req->add_subcommand(verb, std::string(verb) + " a subsystem of your member");
    c->add_option("id", f->subsystem, "INSTANCE/CLASS/CODE/SUBSYSTEM")->required();
    c->add_option("--name", f->name, "its name");
    bool add = std::string(verb) == "subsystem-add";
    c->callback([f, run, add] {
      *run = [f, add] {
        absl::StatusOr<Identifier> id = ParseSubsystemId(f->subsystem);
        if (!id.ok()) {
          return Fail(id.status());
        }
        ManagementRequest r;
        SubsystemAction* a = add ? r.mutable_add_subsystem() : r.mutable_delete_subsystem();
        *a->mutable_subsystem() = *id;
        a->set_name(f->name);
        return Submit(*f, std::move(r), false);
      };
    });
  }
  CLI::App* addr = req->add_subcommand("address", "change a server's address");
  addr->add_option("--server-code", f->server_code, "server code")->required();
  addr->add_option("--address", f->address, "new HOST:PORT")->required();
  addr->callback([f, run] {
    *run = [f] {
      ManagementRequest r;
      r.mutable_change_address()->set_server_code(f->server_code);
      r.mutable_change_address()->set_address(f->address);
      return Submit(*f, std::move(r), false);
    };
  });
  CLI::App* del = req->add_subcommand("auth-cert-delete", "delete a server's auth certificate");
  del->add_option("--server-code", f->server_code, "server code")->required();
  del->add_option("--auth-cert", f->auth_cert, "the certificate (PEM)")->required();
  del->callback([f, run] {
    *run = [f] {
      absl::StatusOr<std::vector<UniquePtr<X509>>> cert = signer::LoadPemCertificates(f->auth_cert);
      if (!cert.ok()) {
        return Fail(cert.status());
      }
      ManagementRequest r;
      r.mutable_delete_auth_cert()->set_server_code(f->server_code);
      r.mutable_delete_auth_cert()->set_auth_cert_sha256(
          signer::Sha256(signer::CertificateDer((*cert)[0].get())));
      return Submit(*f, std::move(r), false);
    };
  });

  auto sf = std::make_shared<StatusFlags>();
  CLI::App* status = server->add_subcommand(
      "status", "This security server's configuration, time-stamps, OCSP and queues");
  AddConnFlags(status, &sf->conn);
  status->add_flag("--json", sf->json, "print the report as JSON");
  status->callback([sf, run] { *run = [sf] { return RunServerStatus(*sf); }; });
}

}  // namespace axis::cli
