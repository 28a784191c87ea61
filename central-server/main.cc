// axis-central-server: the central server (registry, management requests,
// signed global configuration).
//
//   axis-central-server --config central.textproto [--check-config]
//
// Prints "listening on HOST:PORT" on stdout once it serves; stops gracefully
// on SIGTERM or SIGINT. Exit codes: 0 success, 2 usage, configuration or I/O
// errors.
#include <signal.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "central-server/config.h"
#include "central-server/server.h"

namespace {

constexpr char kUsage[] =
    "usage: axis-central-server --config FILE [--check-config]\n"
    "  --config FILE    CentralConfig in Protobuf text format (proto/central_config.proto)\n"
    "  --check-config   report every problem of the configuration and exit (0: none)\n";

}  // namespace

int main(int argc, char** argv) {
  std::string config_path;
  bool check_only = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--config" && i + 1 < argc) {
      config_path = argv[++i];
    } else if (absl::StartsWith(arg, "--config=")) {
      config_path = arg.substr(std::strlen("--config="));
    } else if (arg == "--check-config") {
      check_only = true;
    } else if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    } else {
      std::fprintf(stderr, "axis-central-server: unknown argument \"%s\"\n%s", arg.c_str(), kUsage);
      return 2;
    }
  }
  if (config_path.empty()) {
    std::fputs(kUsage, stderr);
    return 2;
  }
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
  if (check_only) {
    std::printf("axis-central-server: %s: configuration OK\n", config_path.c_str());
    return 0;
  }
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  auto server = axis::central::CentralServer::Start(*config);
  if (!server.ok()) {
    std::fprintf(stderr, "axis-central-server: %s: %s\n", config_path.c_str(),
                 std::string(server.status().message()).c_str());
    return 2;
  }
  std::printf("listening on %s\n", (*server)->address().c_str());
  std::fflush(stdout);
  int signal = 0;
  sigwait(&stop_signals, &signal);
  std::fprintf(stderr, "event=central_stopping signal=%s\n", strsignal(signal));
  (*server)->Shutdown();
  std::fprintf(stderr, "event=central_stopped\n");
  return 0;
}
