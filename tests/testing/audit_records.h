// Test helper: audit log options with keys beside the folder, and the
// decrypted records of an audit folder.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "audit/audit_keys.h"
#include "audit/audit_log.h"
#include "audit/audit_source.h"
#include "audit/log_reader.h"
#include "audit/segment.h"

namespace moat::testing {

// Options of an audit log in `folder`, with keys created beside it.
inline audit::AuditLogOptions TestAuditOptions(const std::string& folder,
                                               audit::AuditDurability durability = audit::AuditDurability::kBatched) {
  auto options = audit::AuditLogOptionsWithDefaultKeys(folder, durability);
  EXPECT_TRUE(options.ok()) << options.status().ToString();
  return options.ok() ? std::move(options).value() : audit::AuditLogOptions{};
}

// Returns the plaintext of every record of `folder`, in order, opened with
// the key file beside it. Adds a test failure for anything unreadable.
inline std::vector<std::string> ReadAuditRecords(const std::string& folder) {
  std::vector<std::string> records;
  auto keys = audit::LoadAuditKeys(audit::DefaultAuditKeyPaths(folder), /*create_missing=*/false);
  auto source = audit::AuditSource::Open(folder);
  if (!keys.ok() || !source.ok()) {
    ADD_FAILURE() << (keys.ok() ? source.status() : keys.status()).ToString();
    return records;
  }
  Status read = audit::ReadAuditRecords(*source, *keys->master_keys, [&](const audit::OpenedRecord& record) {
    records.push_back(record.plaintext);
    return OkStatus();
  });
  if (!read.ok()) ADD_FAILURE() << read.ToString();
  return records;
}

// The records of `folder` as text, one per line, for substring checks.
inline std::string ReadAuditText(const std::string& folder) {
  std::string text;
  for (const std::string& record : ReadAuditRecords(folder)) text += record + "\n";
  return text;
}

// The same, or NOT_FOUND when the folder has no segment yet.
inline StatusOr<std::string> ReadAuditLog(const std::string& folder) {
  if (!std::filesystem::exists(folder + "/" + audit::SegmentFileName(1))) {
    return NotFoundError("no audit segment in " + folder);
  }
  return ReadAuditText(folder);
}

}  // namespace moat::testing
