// Subcommands of the `moat` executable. Each Add* function registers its
// subcommands on `app`; a callback reports failure by setting `exit_code`
// to non-zero after printing the reason to stderr.
#pragma once

#include <CLI/CLI.hpp>

namespace moat::cli {

void AddBundleCommands(CLI::App& app, int& exit_code);  // keygen, pack, sign, verify
void AddServeCommand(CLI::App& app, int& exit_code);    // serve
void AddInferCommand(CLI::App& app, int& exit_code);    // infer
void AddAuditCommands(CLI::App& app, int& exit_code);   // audit verify
void AddDoctorCommand(CLI::App& app, int& exit_code);   // doctor
void AddBenchCommand(CLI::App& app, int& exit_code);    // bench
// init, whoami, user, group, token, totp, approvals, policy
void AddAccessCommands(CLI::App& app, int& exit_code);

}  // namespace moat::cli
