#include "cli/commands.h"

namespace moat::cli {

void AddServeCommand(CLI::App& app, int& exit_code) {}

}  // namespace moat::cli
