// `moat audit ...`: the reader side of the audit log (being rewritten).
#include "cli/commands.h"

namespace moat::cli {

void AddAuditCommands(CLI::App& app, int& exit_code) {
  (void)exit_code;
  CLI::App* audit = app.add_subcommand("audit", "Work with audit logs");
  audit->require_subcommand(1);
}

}  // namespace moat::cli
