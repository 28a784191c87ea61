// server.h: the security server: the agency gateway (DMS clients), the peer
// relay (other security servers), the outbox workers and the verification
// pipeline, wired from a ServerConfig (proto/server_config.proto).
//
// Life cycle: Start() opens the store, loads the global configuration and
// the seal key, starts both gRPC servers and the relay workers; Shutdown()
// drains in-flight RPCs and joins every thread. A restart resumes the
// outbox from the database.
#ifndef AXIS_SECURITY_SERVER_SERVER_H_
#define AXIS_SECURITY_SERVER_SERVER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server_config.pb.h"

namespace axis::ss {

// LoadServerConfig reads a ServerConfig in Protobuf text format and checks
// it (CheckServerConfig). INVALID_ARGUMENT listing every problem with its
// field path.
absl::StatusOr<ServerConfig> LoadServerConfig(const std::string& path);

// CheckServerConfig returns every problem found, each naming its field; an
// empty list means the config is usable.
std::vector<std::string> CheckServerConfig(const ServerConfig& config);

class SecurityServer {
 public:
  // Start brings the server up. Errors name the part that failed.
  static absl::StatusOr<std::unique_ptr<SecurityServer>> Start(const ServerConfig& config);
  virtual ~SecurityServer() = default;

  virtual int gateway_port() const = 0;
  virtual int relay_port() const = 0;
  // Shutdown stops accepting, drains in-flight RPCs (up to a bound) and joins
  // the workers. Idempotent.
  virtual void Shutdown() = 0;
};

}  // namespace axis::ss

#endif  // AXIS_SECURITY_SERVER_SERVER_H_
