// commands.h: the `axis` command's subcommands.
//
// Exit codes (../shared/CLI.md): 0 success (for verify: every signature
// valid); 1 a negative verdict; 2 usage, input or I/O errors; 3 a remote
// party unavailable.
#ifndef AXIS_CLI_COMMANDS_H_
#define AXIS_CLI_COMMANDS_H_

#include <functional>
#include <string>

#include <CLI/CLI.hpp>

#include "absl/status/status.h"

namespace axis::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitNegative = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitUnavailable = 3;

// Command is a subcommand's action, run after its flags are parsed; it
// returns the process exit code.
using Command = std::function<int()>;

// ExitCodeFor maps a failed status to an exit code: UNAVAILABLE and
// DEADLINE_EXCEEDED to 3, everything else to 2.
int ExitCodeFor(const absl::Status& status);

// Fail prints "axis: <message>" on stderr and returns ExitCodeFor(status).
int Fail(const absl::Status& status);

// AddSignCommand and AddVerifyCommand register `axis sign` and `axis verify`
// on `app`; the chosen subcommand's action is stored into `*run`.
void AddSignCommand(CLI::App& app, Command* run);
void AddVerifyCommand(CLI::App& app, Command* run);
void AddExtendCommand(CLI::App& app, Command* run);  // axis extend (B-T, B-LT)

// AddEdxmlCommand registers `axis edxml new|show|validate|extract|status`.
void AddEdxmlCommand(CLI::App& app, Command* run);
// AddDmsCommands registers `axis send|inbox|ack|status|agencies` (dms_command.cc).
void AddDmsCommands(CLI::App& app, Command* run);
// AddCentralCommand registers `axis central ...` (central_command.cc); AddServerCommand
// registers `axis server register|request|status` (server_command.cc).
void AddCentralCommand(CLI::App& app, Command* run);
void AddServerCommand(CLI::App& app, Command* run);
// AddAuditCommand registers `axis audit log` (audit_command.cc).
void AddAuditCommand(CLI::App& app, Command* run);

// Main runs the axis command line.
int Main(int argc, char** argv);

}  // namespace axis::cli

#endif  // AXIS_CLI_COMMANDS_H_
