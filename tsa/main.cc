// axis-tsa: the RFC 3161 time-stamping authority.
//
//   axis-tsa --config tsa.textproto [--check-config]
//
// Prints "axis-tsa listening on HOST:PORT" on stdout once it accepts
// requests; stops gracefully on SIGTERM or SIGINT. Exit codes: 0 success,
// 2 usage, configuration or I/O errors.
#include <signal.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "tsa/authority.h"
#include "tsa/config.h"
#include "tsa/server.h"

namespace {

constexpr char kUsage[] =
    "usage: axis-tsa --config FILE [--check-config]\n"
    "  --config FILE    TsaConfig in Protobuf text format (proto/tsa_config.proto)\n"
    "  --check-config   report every problem of the configuration and exit (0: none)\n";

int Fail(const std::string& message) {
  std::fprintf(stderr, "axis-tsa: %s\n", message.c_str());
  return 2;
}

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
      std::fprintf(stderr, "axis-tsa: unknown argument \"%s\"\n%s", arg.c_str(), kUsage);
      return 2;
    }
  }
  if (config_path.empty()) {
    std::fputs(kUsage, stderr);
    return 2;
  }

  absl::StatusOr<axis::TsaConfig> config = axis::tsa::LoadTsaConfig(config_path);
  if (!config.ok()) {
    return Fail(std::string(config.status().message()));
  }
  if (check_only) {
    std::vector<std::string> problems = axis::tsa::TimeStampAuthority::CheckConfig(*config);
    for (const std::string& p : problems) {
      std::fprintf(stderr, "axis-tsa: %s: %s\n", config_path.c_str(), p.c_str());
    }
    if (!problems.empty()) {
      return 2;
    }
    std::printf("axis-tsa: %s: configuration OK\n", config_path.c_str());
    return 0;
  }

  // Signals are taken synchronously by sigwait below; block them before any
  // thread starts so every thread inherits the mask.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  auto authority = axis::tsa::TimeStampAuthority::Create(*config);
  if (!authority.ok()) {
    return Fail(absl::StrCat(config_path, ": ", authority.status().message()));
  }
  auto server = axis::tsa::TsaServer::Start(authority->get(), config->listen());
  if (!server.ok()) {
    return Fail(absl::StrCat(config_path, ": ", server.status().message()));
  }
  std::printf("axis-tsa listening on %s\n", (*server)->address().c_str());
  std::fflush(stdout);

  int signal = 0;
  sigwait(&stop_signals, &signal);
  std::fprintf(stderr, "event=tsa_stopping signal=%s\n", strsignal(signal));
  (*server)->Shutdown();
  std::fprintf(stderr, "event=tsa_stopped\n");
  return 0;
}
