#include "cli/commands.h"

namespace moat::cli {

void AddAuditCommands(CLI::App& app, int& exit_code) {}

}  // namespace moat::cli
