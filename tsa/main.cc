// axis-tsa: the RFC 3161 time-stamping authority.
//
//   axis-tsa --config tsa.textproto [--check-config]
//
// Prints "axis-tsa listening on HOST:PORT" on stdout once it accepts
// requests; stops gracefully on SIGTERM or SIGINT. Exit codes: 0 success,
// 2 usage, configuration or I/O errors.
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/server_main.h"
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
  axis::ServerFlags flags;
  if (std::optional<int> exit_code =
          axis::ParseServerFlags(argc, argv, "axis-tsa", kUsage, &flags)) {
    return *exit_code;
  }
  const std::string& config_path = flags.config_path;

  absl::StatusOr<axis::TsaConfig> config = axis::tsa::LoadTsaConfig(config_path);
  if (!config.ok()) {
    return Fail(std::string(config.status().message()));
  }
  if (flags.check_only) {
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

  // Before any thread starts, so that every thread inherits the mask.
  axis::StopSignals stop_signals;

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

  int signal = stop_signals.Wait();
  std::fprintf(stderr, "event=tsa_stopping signal=%s\n", strsignal(signal));
  (*server)->Shutdown();
  std::fprintf(stderr, "event=tsa_stopped\n");
  return 0;
}
