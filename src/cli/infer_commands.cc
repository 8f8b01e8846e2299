#include "cli/commands.h"

namespace moat::cli {

void AddInferCommand(CLI::App& app, int& exit_code) {}

}  // namespace moat::cli
