// Test helper: audit log options with keys beside the folder, and the
// decrypted records of an audit folder.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "audit/audit_keys.h"
#include "audit/audit_log.h"
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
  if (!keys.ok()) {
    ADD_FAILURE() << keys.status().ToString();
    return records;
  }
  auto scan = audit::ScanSegmentFolder(folder);
  if (!scan.ok()) {
    ADD_FAILURE() << scan.status().ToString();
    return records;
  }
  if (!scan->log_id) return records;
  std::string log_id(reinterpret_cast<const char*>(scan->log_id->data()), scan->log_id->size());
  std::map<uint64_t, std::unique_ptr<audit::PayloadCipher>> ciphers;
  auto read = audit::ScanSegmentFolder(folder, {}, [&](const audit::SegmentRecordView& record) {
    uint64_t period = record.sequence >> audit::kKeyPeriodBits;
    auto& cipher = ciphers[period];
    if (!cipher) {
      auto created = audit::PayloadCipher::Create(*keys->master_keys, log_id, period);
      if (!created.ok()) {
        ADD_FAILURE() << created.status().ToString();
        return;
      }
      cipher = std::move(created).value();
    }
    auto opened = cipher->Open(record.bytes, audit::RecordAad(period, record.sequence));
    if (!opened.ok()) {
      ADD_FAILURE() << "record " << record.sequence << ": " << opened.status().ToString();
      return;
    }
    records.push_back(std::move(opened).value());
  });
  if (!read.ok()) ADD_FAILURE() << read.status().ToString();
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
