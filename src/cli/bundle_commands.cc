#include "cli/commands.h"

namespace moat::cli {

void AddBundleCommands(CLI::App& app, int& exit_code) {}

}  // namespace moat::cli
