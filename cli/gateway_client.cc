#include "cli/gateway_client.h"

#include <chrono>
#include <cstdlib>
#include <iostream>

#include "cli/commands.h"
#include "common/files.h"

namespace axis::cli {

void AddConnFlags(CLI::App* cmd, Conn* c, bool server_required) {
  CLI::Option* server =
      cmd->add_option("--server", c->server, "your security server's gateway, HOST:PORT");
  if (server_required) {
    server->required();
  }
  cmd->add_option("--tls-cert", c->tls_cert, "client certificate (PEM); default $AXIS_TLS_CERT");
  cmd->add_option("--tls-key", c->tls_key, "client key (PEM); default $AXIS_TLS_KEY");
  cmd->add_option("--tls-ca", c->tls_ca, "CA of the server's certificate (PEM); default $AXIS_TLS_CA");
}

namespace {

std::string EnvOr(const std::string& v, const char* name) {
  if (!v.empty()) {
    return v;
  }
  const char* e = std::getenv(name);
  return e == nullptr ? "" : e;
}

}  // namespace

absl::StatusOr<std::shared_ptr<grpc::Channel>> GatewayChannel(const Conn& c) {
  std::string cert = EnvOr(c.tls_cert, "AXIS_TLS_CERT");
  std::string key = EnvOr(c.tls_key, "AXIS_TLS_KEY");
  std::string ca = EnvOr(c.tls_ca, "AXIS_TLS_CA");
  if (cert.empty() || key.empty() || ca.empty()) {
    return absl::InvalidArgumentError(
        "TLS client material missing: give --tls-cert, --tls-key and --tls-ca (or AXIS_TLS_*)");
  }
  grpc::SslCredentialsOptions o;
  absl::StatusOr<std::string> s = ReadFile(ca, 1 << 20);
  if (!s.ok()) {
    return s.status();
  }
  o.pem_root_certs = *s;
  s = ReadFile(cert, 1 << 20);
  if (!s.ok()) {
    return s.status();
  }
  o.pem_cert_chain = *s;
  s = ReadFile(key, 1 << 20);
  if (!s.ok()) {
    return s.status();
  }
  o.pem_private_key = *s;
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(8 << 20);
  return grpc::CreateCustomChannel(c.server, grpc::SslCredentials(o), args);
}

absl::StatusOr<std::unique_ptr<AgencyGateway::Stub>> ConnectGateway(const Conn& c) {
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = GatewayChannel(c);
  if (!channel.ok()) {
    return channel.status();
  }
  return AgencyGateway::NewStub(*channel);
}

void SetDeadline(grpc::ClientContext* ctx, int seconds) {
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(seconds));
}

// FailRpc prints the server's answer and maps it to an exit code.
int FailRpc(const grpc::Status& s) {
  std::cerr << "axis: " << s.error_message() << " (" << s.error_code() << ")\n";
  switch (s.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return kExitUnavailable;
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::PERMISSION_DENIED:
    case grpc::StatusCode::UNAUTHENTICATED:
    case grpc::StatusCode::FAILED_PRECONDITION:
    case grpc::StatusCode::NOT_FOUND:
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
    case grpc::StatusCode::ALREADY_EXISTS:
      return kExitNegative;
    default:
      return kExitUsage;
  }
}

}  // namespace axis::cli
