#include "common/server_main.h"

#include <pthread.h>

#include <cstdio>
#include <cstring>

#include "absl/strings/match.h"

namespace axis {

std::optional<int> ParseServerFlags(int argc, char** argv, const char* program,
                                    const char* usage, ServerFlags* flags) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--config" && i + 1 < argc) {
      flags->config_path = argv[++i];
    } else if (absl::StartsWith(arg, "--config=")) {
      flags->config_path = arg.substr(std::strlen("--config="));
    } else if (arg == "--check-config") {
      flags->check_only = true;
    } else if (arg == "--help" || arg == "-h") {
      std::fputs(usage, stdout);
      return 0;
    } else {
      std::fprintf(stderr, "%s: unknown argument \"%s\"\n%s", program, arg.c_str(), usage);
      return 2;
    }
  }
  if (flags->config_path.empty()) {
    std::fputs(usage, stderr);
    return 2;
  }
  return std::nullopt;
}

StopSignals::StopSignals() {
  sigemptyset(&signals_);
  sigaddset(&signals_, SIGTERM);
  sigaddset(&signals_, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals_, nullptr);
}

int StopSignals::Wait() {
  int signal = 0;
  sigwait(&signals_, &signal);
  return signal;
}

}  // namespace axis
