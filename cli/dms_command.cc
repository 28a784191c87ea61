// dms_command.cc: `axis send|inbox|ack|status|agencies`, a DMS's client of
// its own security server (AgencyGateway over mutual TLS).
//
// TLS material: --tls-cert/--tls-key/--tls-ca, else AXIS_TLS_CERT,
// AXIS_TLS_KEY, AXIS_TLS_CA. Exit codes: 0 done; 1 the server refused
// (invalid, not allowed, configuration expired, unknown id); 2 usage, input
// or I/O errors; 3 the server is unavailable.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <google/protobuf/util/json_util.h>
#include <grpcpp/grpcpp.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cli/commands.h"
#include "cli/gateway_client.h"
#include "common/files.h"
#include "proto/identifiers.h"
#include "security_server.grpc.pb.h"

namespace axis::cli {
namespace {

std::string Json(const google::protobuf::Message& m) {
  std::string out;
  google::protobuf::util::JsonPrintOptions o;
  o.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(m, &out, o);
  return out;
}

struct SendFlags {
  Conn conn;
  std::string from;
  std::vector<std::string> to;
  std::string type = "edxml";
  std::string content_type;
  std::string reference;
  std::string reply_to;
  std::string status_code;
  std::string status_text;
  std::string file;
};

int RunSend(const SendFlags& f) {
  SendHeader h;
  absl::StatusOr<Identifier> from = ParseSubsystemId(f.from);
  if (!from.ok()) {
    return Fail(from.status());
  }
  *h.mutable_sender() = *from;
  for (const std::string& t : f.to) {
    absl::StatusOr<Identifier> to = ParseSubsystemId(t);
    if (!to.ok()) {
      return Fail(to.status());
    }
    *h.add_recipients() = *to;
  }
  h.set_document_type(f.type);
  h.set_content_type(f.content_type);
  h.set_dms_reference(f.reference);
  h.set_in_reply_to(f.reply_to);
  h.set_status_code(f.status_code);
  h.set_status_text(f.status_text);
  int fd = ::open(f.file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return Fail(PosixError(f.file, "open", errno));
  }
  struct stat st {};
  ::fstat(fd, &st);
  absl::StatusOr<std::unique_ptr<AgencyGateway::Stub>> stub = ConnectGateway(f.conn);
  if (!stub.ok()) {
    ::close(fd);
    return Fail(stub.status());
  }
  grpc::ClientContext ctx;
  SetDeadline(&ctx, 60 + static_cast<int>(st.st_size / (10 << 20)));
  SendResponse resp;
  std::unique_ptr<grpc::ClientWriter<SendRequest>> w = (*stub)->Send(&ctx, &resp);
  SendRequest req;
  *req.mutable_header() = h;
  bool ok = w->Write(req);
  std::string buf(256 * 1024, '\0');
  while (ok) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      int err = errno;
      ::close(fd);
      ctx.TryCancel();
      (void)w->Finish();
      return Fail(PosixError(f.file, "read", err));
    }
    if (n == 0) {
      break;
    }
    SendRequest chunk;
    chunk.set_chunk(buf.data(), static_cast<size_t>(n));
    ok = w->Write(chunk);
  }
  ::close(fd);
  if (ok) {
    w->WritesDone();
  }
  grpc::Status s = w->Finish();
  if (!s.ok()) {
    return FailRpc(s);
  }
  std::cout << resp.message_id() << "\n";
  return kExitOk;
}

struct InboxFlags {
  Conn conn;
  std::string subsystem;
  bool wait = false;
  int wait_seconds = 30;
  std::string out_dir;
  bool json = false;
};

int RunInbox(const InboxFlags& f) {
  absl::StatusOr<Identifier> me = ParseSubsystemId(f.subsystem);
  if (!me.ok()) {
    return Fail(me.status());
  }
  absl::StatusOr<std::unique_ptr<AgencyGateway::Stub>> stub = ConnectGateway(f.conn);
  if (!stub.ok()) {
    return Fail(stub.status());
  }
  grpc::ClientContext ctx;
  SetDeadline(&ctx, f.wait_seconds + 600);
  ReceiveRequest req;
  *req.mutable_subsystem() = *me;
  req.set_wait(f.wait);
  req.set_wait_seconds(static_cast<uint32_t>(f.wait_seconds));
  std::unique_ptr<grpc::ClientReader<ReceiveResponse>> r = (*stub)->Receive(&ctx, req);
  ReceiveResponse resp;
  std::ofstream out;
  while (r->Read(&resp)) {
    if (resp.has_message()) {
      const InboxMessage& m = resp.message();
      if (out.is_open()) {
        out.close();
      }
      if (!f.out_dir.empty()) {
        std::string base = absl::StrCat(f.out_dir, "/", m.message_id());
        absl::Status s = WriteFileAtomic(base + ".json", Json(m) + "\n");
        if (!s.ok()) {
          ctx.TryCancel();
          return Fail(s);
        }
        out.open(base + ".payload", std::ios::binary | std::ios::trunc);
        if (!out) {
          ctx.TryCancel();
          return Fail(absl::InternalError(absl::StrCat(base, ".payload: cannot write")));
        }
      }
      if (f.json) {
        std::cout << Json(m) << "\n";
      } else {
        std::cout << m.message_id() << " from " << FormatIdentifier(m.sender()) << " type "
                  << m.document_type() << " size " << m.payload_size()
                  << (m.status_code().empty() ? "" : absl::StrCat(" status ", m.status_code()))
                  << (m.in_reply_to().empty() ? "" : absl::StrCat(" re ", m.in_reply_to()))
                  << "\n";
      }
    } else if (out.is_open()) {
      out.write(resp.chunk().data(), static_cast<std::streamsize>(resp.chunk().size()));
    }
  }
  grpc::Status s = r->Finish();
  if (!s.ok()) {
    return FailRpc(s);
  }
  if (out.is_open()) {
    out.close();
    if (!out) {
      return Fail(absl::InternalError("writing a payload failed"));
    }
  }
  return kExitOk;
}

struct IdFlags {
  Conn conn;
  std::string id;
  std::string subsystem;
  bool json = false;
};

struct AckFlags {
  Conn conn;
  std::vector<std::string> ids;
  std::string subsystem;
};

int RunAck(const AckFlags& f) {
  absl::StatusOr<std::unique_ptr<AgencyGateway::Stub>> stub = ConnectGateway(f.conn);
  if (!stub.ok()) {
    return Fail(stub.status());
  }
  AckRequest req;
  for (const std::string& id : f.ids) {
    req.add_message_ids(id);
  }
  if (!f.subsystem.empty()) {
    absl::StatusOr<Identifier> me = ParseSubsystemId(f.subsystem);
    if (!me.ok()) {
      return Fail(me.status());
    }
    *req.mutable_subsystem() = *me;
  }
  grpc::ClientContext ctx;
  SetDeadline(&ctx, 30);
  AckResponse resp;
  grpc::Status s = (*stub)->Ack(&ctx, req, &resp);
  if (!s.ok()) {
    return FailRpc(s);
  }
  return kExitOk;
}

const char* StateName(RecipientStatus::State s) {
  switch (s) {
    case RecipientStatus::ACCEPTED:
      return "accepted";
    case RecipientStatus::RELAYED:
      return "relayed";
    case RecipientStatus::DELIVERED:
      return "delivered";
    case RecipientStatus::FAILED:
      return "failed";
    case RecipientStatus::ACKNOWLEDGED:
      return "acknowledged";
    default:
      return "unknown";
  }
}

int RunStatus(const IdFlags& f) {
  absl::StatusOr<std::unique_ptr<AgencyGateway::Stub>> stub = ConnectGateway(f.conn);
  if (!stub.ok()) {
    return Fail(stub.status());
  }
  StatusRequest req;
  req.set_message_id(f.id);
  grpc::ClientContext ctx;
  SetDeadline(&ctx, 30);
  StatusResponse resp;
  grpc::Status s = (*stub)->Status(&ctx, req, &resp);
  if (!s.ok()) {
    return FailRpc(s);
  }
  if (f.json) {
    std::cout << Json(resp) << "\n";
    return kExitOk;
  }
  std::cout << resp.message_id() << " from " << FormatIdentifier(resp.sender()) << "\n";
  for (const RecipientStatus& r : resp.recipients()) {
    std::cout << "  " << FormatIdentifier(r.recipient()) << ": " << StateName(r.state());
    if (r.has_receipt()) {
      std::cout << " (signed receipt)";
    }
    if (!r.reason().empty()) {
      std::cout << " reason: " << r.reason();
    }
    std::cout << "\n";
    for (const BusinessStatus& b : r.statuses()) {
      std::cout << "    status " << b.code() << (b.text().empty() ? "" : " ") << b.text() << "\n";
    }
  }
  return kExitOk;
}

struct AgenciesFlags {
  Conn conn;
  bool json = false;
};

int RunAgencies(const AgenciesFlags& f) {
  absl::StatusOr<std::unique_ptr<AgencyGateway::Stub>> stub = ConnectGateway(f.conn);
  if (!stub.ok()) {
    return Fail(stub.status());
  }
  grpc::ClientContext ctx;
  SetDeadline(&ctx, 30);
  ListAgenciesResponse resp;
  grpc::Status s = (*stub)->ListAgencies(&ctx, ListAgenciesRequest(), &resp);
  if (!s.ok()) {
    return FailRpc(s);
  }
  if (f.json) {
    std::cout << Json(resp) << "\n";
    return kExitOk;
  }
  for (const Agency& a : resp.agencies()) {
    std::cout << a.agency_code() << "  " << a.name();
    if (a.other_codes_size() > 0) {
      std::cout << "  (also " << absl::StrJoin(a.other_codes(), ", ") << ")";
    }
    std::cout << "\n";
    for (const Identifier& sub : a.subsystems()) {
      std::cout << "    " << FormatIdentifier(sub) << "\n";
    }
  }
  return kExitOk;
}

}  // namespace

void AddDmsCommands(CLI::App& app, Command* run) {
  {
    auto f = std::make_shared<SendFlags>();
    CLI::App* cmd = app.add_subcommand("send", "send a document to one or more subsystems");
    AddConnFlags(cmd, &f->conn);
    cmd->add_option("--from", f->from, "your subsystem, INSTANCE/CLASS/CODE/SUBSYSTEM")->required();
    cmd->add_option("--to", f->to, "recipient subsystem; repeatable")->required();
    cmd->add_option("--type", f->type, "document type (default edxml; \"status\" for a business status)");
    cmd->add_option("--content-type", f->content_type, "default application/xml");
    cmd->add_option("--reference", f->reference, "your DMS's own reference");
    cmd->add_option("--reply-to", f->reply_to, "status: the message id it is about");
    cmd->add_option("--status-code", f->status_code, "status: edXML code 01..06");
    cmd->add_option("--status-text", f->status_text, "status: free text");
    cmd->add_option("file", f->file, "the document")->required();
    cmd->callback([run, f] { *run = [f] { return RunSend(*f); }; });
  }
  {
    auto f = std::make_shared<InboxFlags>();
    CLI::App* cmd = app.add_subcommand("inbox", "receive the pending messages of a subsystem");
    AddConnFlags(cmd, &f->conn);
    cmd->add_option("--subsystem", f->subsystem, "your subsystem")->required();
    cmd->add_flag("--wait", f->wait, "wait for a message when the inbox is empty");
    cmd->add_option("--wait-seconds", f->wait_seconds, "how long --wait waits (default 30)");
    cmd->add_option("-o,--out", f->out_dir, "write ID.payload and ID.json here");
    cmd->add_flag("--json", f->json, "one JSON line per message");
    cmd->callback([run, f] { *run = [f] { return RunInbox(*f); }; });
  }
  {
    auto f = std::make_shared<AckFlags>();
    CLI::App* cmd = app.add_subcommand(
        "ack", "acknowledge received messages (several: all in one transaction, or none)");
    AddConnFlags(cmd, &f->conn);
    cmd->add_option("--subsystem", f->subsystem, "the recipient subsystem (default: all of yours)");
    cmd->add_option("id", f->ids, "message id(s)")->required();
    cmd->callback([run, f] { *run = [f] { return RunAck(*f); }; });
  }
  {
    auto f = std::make_shared<IdFlags>();
    CLI::App* cmd = app.add_subcommand("status", "per-recipient status of a message");
    AddConnFlags(cmd, &f->conn);
    cmd->add_flag("--json", f->json, "print JSON");
    cmd->add_option("id", f->id, "message id")->required();
    cmd->callback([run, f] { *run = [f] { return RunStatus(*f); }; });
  }
  {
    auto f = std::make_shared<AgenciesFlags>();
    CLI::App* cmd = app.add_subcommand("agencies", "the agencies and subsystems you may send to");
    AddConnFlags(cmd, &f->conn);
    cmd->add_flag("--json", f->json, "print JSON");
    cmd->callback([run, f] { *run = [f] { return RunAgencies(*f); }; });
  }
}

}  // namespace axis::cli
