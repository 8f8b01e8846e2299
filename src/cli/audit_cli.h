// Helpers shared by the `moat audit` subcommands, which live in
// audit_commands.cc and audit_export_commands.cc.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "audit/payload_crypto.h"
#include "common/status.h"

namespace moat::cli {

// Prints "moat audit COMMAND: message" to stderr and sets the exit code: 1
// for DATA_LOSS and PERMISSION_DENIED (damaged, does not verify), 2 otherwise
// (unreadable or invalid input).
void ReportAuditFailure(std::string_view command, const Status& status, int& exit_code);

// Loads the master key file at `path`, or returns nullopt when `path` is
// empty. Errors: FAILED_PRECONDITION naming the file.
StatusOr<std::optional<audit::KeyFileProvider>> LoadAuditKeyFile(const std::string& path);

// A range bound given on the command line: a decimal sequence number, or
// else an RFC 3339 time in Unix microseconds.
struct RecordBound {
  std::optional<uint64_t> sequence;
  std::optional<int64_t> time_micros;
};

// Errors: INVALID_ARGUMENT naming `option` when `text` is neither.
StatusOr<RecordBound> ParseRecordBound(const std::string& text, std::string_view option);

void AddAuditExport(CLI::App& audit, int& exit_code);
void AddAuditQuery(CLI::App& audit, int& exit_code);

}  // namespace moat::cli
