// gateway_client.h: how `axis` commands reach a security server's gateway
// port (AgencyGateway, Audit) as one of the member's DMS clients, over
// mutual TLS.
//
// TLS material: --tls-cert/--tls-key/--tls-ca, else AXIS_TLS_CERT,
// AXIS_TLS_KEY, AXIS_TLS_CA.
#ifndef AXIS_CLI_GATEWAY_CLIENT_H_
#define AXIS_CLI_GATEWAY_CLIENT_H_

#include <memory>
#include <string>

#include <CLI/CLI.hpp>
#include <grpcpp/grpcpp.h>

#include "absl/status/statusor.h"
#include "security_server.grpc.pb.h"

namespace axis::cli {

struct Conn {
  std::string server;
  std::string tls_cert;
  std::string tls_key;
  std::string tls_ca;
};

// AddConnFlags adds --server (required when `server_required`) and the TLS flags.
void AddConnFlags(CLI::App* cmd, Conn* c, bool server_required = true);

// GatewayChannel opens a mutual-TLS channel to c.server. INVALID_ARGUMENT
// when TLS material is missing; file errors name the file.
absl::StatusOr<std::shared_ptr<grpc::Channel>> GatewayChannel(const Conn& c);

// ConnectGateway is an AgencyGateway stub on GatewayChannel(c).
absl::StatusOr<std::unique_ptr<AgencyGateway::Stub>> ConnectGateway(const Conn& c);

// SetDeadline gives a call `seconds` from now.
void SetDeadline(grpc::ClientContext* ctx, int seconds);

// FailRpc prints the server's answer and maps it to an exit code: 3 when the
// server is unavailable, 1 when it refused, 2 otherwise.
int FailRpc(const grpc::Status& s);

}  // namespace axis::cli

#endif  // AXIS_CLI_GATEWAY_CLIENT_H_
