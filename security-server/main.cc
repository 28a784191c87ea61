// axis-security-server: reads its config, starts the server, prints the
// ports it listens on, and runs until SIGTERM or SIGINT.
//
//   axis-security-server --config server.textproto [--check-config]
#include <malloc.h>
#include <signal.h>

#include <cstdio>
#include <cstring>
#include <optional>
#include <string>

#include "absl/synchronization/mutex.h"
#include "central-server/globalconf.h"
#include "common/server_main.h"
#include "security-server/server.h"

int main(int argc, char** argv) {
  axis::ServerFlags flags;
  if (std::optional<int> exit_code =
          axis::ParseServerFlags(argc, argv, "axis-security-server",
                                 "usage: axis-security-server --config FILE [--check-config]\n",
                                 &flags)) {
    return *exit_code;
  }
  const std::string& config_path = flags.config_path;
  absl::StatusOr<axis::ServerConfig> config = axis::ss::LoadServerConfig(config_path);
  if (!config.ok()) {
    std::fprintf(stderr, "axis-security-server: %s\n", std::string(config.status().message()).c_str());
    return 2;
  }
  // The anchor is read at start anyway; read it here too so --check-config
  // catches an anchor that cannot reach the central server.
  absl::StatusOr<axis::ConfAnchor> anchor = axis::central::ReadAnchor(config->anchor_path());
  if (!anchor.ok()) {
    std::fprintf(stderr, "axis-security-server: %s: anchor_path: %s\n", config_path.c_str(),
                 std::string(anchor.status().message()).c_str());
    return 2;
  }
  if (config->global_conf_file().empty() && anchor->central_tls_ca_der().empty()) {
    std::fprintf(stderr,
                 "axis-security-server: %s: anchor_path: %s has no central_tls_ca_der, and "
                 "without global_conf_file the configuration comes from the central server "
                 "(export the anchor with `axis central anchor`)\n",
                 config_path.c_str(), config->anchor_path().c_str());
    return 2;
  }
  if (flags.check_only) {
    std::printf("%s: OK\n", config_path.c_str());
    return 0;
  }
  // Few malloc arenas: gRPC's many threads otherwise each keep their own,
  // and a 1 GB stream leaves tens of MB parked in them.
  mallopt(M_ARENA_MAX, 2);
  // Debian's Abseil keeps the Mutex deadlock detector on: a graph update on
  // every lock, measurable at thousands of messages a second.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  // Block the stop signals in every thread; the main thread waits for them.
  axis::StopSignals stop;
  signal(SIGPIPE, SIG_IGN);

  absl::StatusOr<std::unique_ptr<axis::ss::SecurityServer>> server =
      axis::ss::SecurityServer::Start(*config);
  if (!server.ok()) {
    std::fprintf(stderr, "axis-security-server: %s\n", std::string(server.status().message()).c_str());
    return server.status().code() == absl::StatusCode::kUnavailable ? 3 : 2;
  }
  std::printf("gateway listening on 127.0.0.1:%d\n", (*server)->gateway_port());
  std::printf("relay listening on 127.0.0.1:%d\n", (*server)->relay_port());
  std::fflush(stdout);
  int sig = stop.Wait();
  std::fprintf(stderr, "axis-security-server: signal %d, shutting down\n", sig);
  (*server)->Shutdown();
  return 0;
}
