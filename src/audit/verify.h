// Verification of an audit log's hash chain, offline and read-only.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "audit/record.h"
#include "common/status.h"

namespace moat::audit {

struct VerifyReport {
  uint64_t records = 0;
  // Lower-case hex SHA-256 of the last record's line including its '\n'
  // (kZeroHash for an empty log): the prev_sha256 of the next record.
  std::string head_sha256 = std::string(kZeroHash);
};

// Verifies a whole log held in memory. An empty log is valid and has no
// records. Errors: DATA_LOSS with "record K (line L): reason" for the first
// record that breaks the format or the chain (K counts from 0, L from 1).
StatusOr<VerifyReport> VerifyAuditLog(std::string_view contents);

// Verifies the log file at `path`, reading it in chunks. Chain errors are as
// in VerifyAuditLog, without the path; open and read errors name the path.
// Symbolic links are rejected.
StatusOr<VerifyReport> VerifyAuditLogFile(const std::string& path);

// Verifies the log open as `fd`, reading from offset 0 with pread so that the
// file offset is left alone. `path` only names the file in read errors.
StatusOr<VerifyReport> VerifyAuditLogDescriptor(int fd, const std::string& path);

}  // namespace moat::audit
