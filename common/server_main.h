// server_main.h: the pieces every server's thin main() shares: its flags
// (`--config FILE [--check-config]`) and stopping on SIGTERM or SIGINT.
#ifndef AXIS_COMMON_SERVER_MAIN_H_
#define AXIS_COMMON_SERVER_MAIN_H_

#include <signal.h>

#include <optional>
#include <string>

namespace axis {

// ServerFlags is what a server's command line says.
struct ServerFlags {
  std::string config_path;  // --config FILE or --config=FILE
  bool check_only = false;  // --check-config
};

// ParseServerFlags reads argv into `flags`. Returns nullopt when main()
// should go on; otherwise the exit code for main() to return, after
// printing `usage`: 0 for --help or -h (usage on stdout); 2 for an unknown
// argument (stderr: `PROGRAM: unknown argument "ARG"`, then usage) or a
// missing --config (usage on stderr).
std::optional<int> ParseServerFlags(int argc, char** argv, const char* program,
                                    const char* usage, ServerFlags* flags);

// StopSignals blocks SIGTERM and SIGINT in the calling thread, and so in
// every thread it starts afterwards, for Wait() to take them synchronously.
// Construct it in main() before any thread starts.
class StopSignals {
 public:
  StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

  // Wait blocks until SIGTERM or SIGINT arrives and returns its number.
  int Wait();

 private:
  sigset_t signals_;
};

}  // namespace axis

#endif  // AXIS_COMMON_SERVER_MAIN_H_
