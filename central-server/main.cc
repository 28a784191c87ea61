// axis-central-server: the central server (registry, management requests,
// signed global configuration).
//
//   axis-central-server --config central.textproto [--check-config]
//
// Prints "listening on HOST:PORT" on stdout once it serves; stops gracefully
// on SIGTERM or SIGINT. Exit codes: 0 success, 2 usage, configuration or I/O
// errors.
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "central-server/config.h"
#include "central-server/server.h"
#include "common/server_main.h"

namespace {

constexpr char kUsage[] =
    "usage: axis-central-server --config FILE [--check-config]\n"
    "  --config FILE    CentralConfig in Protobuf text format (proto/central_config.proto)\n"
    "  --check-config   report every problem of the configuration and exit (0: none)\n";

}  // namespace

int main(int argc, char** argv) {
  axis::ServerFlags flags;
  if (std::optional<int> exit_code =
          axis::ParseServerFlags(argc, argv, "axis-central-server", kUsage, &flags)) {
    return *exit_code;
  }
  const std::string& config_path = flags.config_path;
  absl::StatusOr<axis::CentralConfig> config = axis::central::LoadCentralConfig(config_path);
  if (!config.ok()) {
    std::fprintf(stderr, "axis-central-server: %s\n",
                 std::string(config.status().message()).c_str());
    return 2;
  }
  std::vector<std::string> problems = axis::central::CheckCentralConfig(*config);
  for (const std::string& p : problems) {
    std::fprintf(stderr, "axis-central-server: %s: %s\n", config_path.c_str(), p.c_str());
  }
  if (!problems.empty()) {
    return 2;
  }
  if (flags.check_only) {
    std::printf("axis-central-server: %s: configuration OK\n", config_path.c_str());
    return 0;
  }
  axis::StopSignals stop_signals;

  auto server = axis::central::CentralServer::Start(*config);
  if (!server.ok()) {
    std::fprintf(stderr, "axis-central-server: %s: %s\n", config_path.c_str(),
                 std::string(server.status().message()).c_str());
    return 2;
  }
  std::printf("listening on %s\n", (*server)->address().c_str());
  std::fflush(stdout);
  int signal = stop_signals.Wait();
  std::fprintf(stderr, "event=central_stopping signal=%s\n", strsignal(signal));
  (*server)->Shutdown();
  std::fprintf(stderr, "event=central_stopped\n");
  return 0;
}
