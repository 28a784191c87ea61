#include "cli/commands.h"

#include <iostream>

#include "absl/strings/str_cat.h"

namespace axis::cli {

int ExitCodeFor(const absl::Status& status) {
  if (status.code() == absl::StatusCode::kUnavailable ||
      status.code() == absl::StatusCode::kDeadlineExceeded) {
    return kExitUnavailable;
  }
  return kExitUsage;
}

int Fail(const absl::Status& status) {
  std::cerr << "axis: " << status.message() << "\n";
  return ExitCodeFor(status);
}

int Main(int argc, char** argv) {
  CLI::App app{"axis: signed document exchange between agencies"};
  app.require_subcommand(1);
  Command run;
  AddSignCommand(app, &run);
  AddVerifyCommand(app, &run);
  AddExtendCommand(app, &run);
  AddEdxmlCommand(app, &run);
  AddDmsCommands(app, &run);
  AddCentralCommand(app, &run);
  AddServerCommand(app, &run);
  AddAuditCommand(app, &run);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kExitUsage;
  }
  if (!run) {
    std::cerr << app.help();
    return kExitUsage;
  }
  return run();
}

}  // namespace axis::cli
