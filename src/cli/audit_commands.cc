// `moat audit verify FILE`: checks the hash chain of an audit log offline.
#include <iostream>
#include <memory>
#include <string>

#include "audit/verify.h"
#include "cli/commands.h"

namespace moat::cli {

namespace {

// Exit codes of `audit verify`: the log is damaged, or it could not be read.
constexpr int kExitDamaged = 1;
constexpr int kExitUnreadable = 2;

void AddVerifyCommand(CLI::App& audit, int& exit_code) {
  CLI::App* verify = audit.add_subcommand(
      "verify", "Check the hash chain of an audit log file; exit 1 if it is damaged, 2 if it cannot be read");
  auto path = std::make_shared<std::string>();
  verify->add_option("FILE", *path, "Audit log file to verify")->required();
  verify->callback([path, &exit_code] {
    StatusOr<audit::VerifyReport> report = audit::VerifyAuditLogFile(*path);
    if (!report.ok()) {
      std::cerr << "audit log: " << report.status().message() << "\n";
      exit_code = report.status().code() == StatusCode::kDataLoss ? kExitDamaged : kExitUnreadable;
      return;
    }
    std::cout << "audit log: verified (" << report->records << " records)\n";
  });
}

}  // namespace

void AddAuditCommands(CLI::App& app, int& exit_code) {
  CLI::App* audit = app.add_subcommand("audit", "Work with audit logs");
  audit->require_subcommand(1);
  AddVerifyCommand(*audit, exit_code);
}

}  // namespace moat::cli
