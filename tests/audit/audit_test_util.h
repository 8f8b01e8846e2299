// Helpers shared by the audit tests: a private temporary folder, whole-file
// reads and writes, and a log of a few records to tamper with.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "audit/audit_log.h"

namespace moat::audit::testing {

// A fresh folder under the test temporary directory, removed at the end.
class TempFolder {
 public:
  TempFolder() {
    std::string pattern = ::testing::TempDir() + "moat_audit_XXXXXX";
    char* created = ::mkdtemp(pattern.data());
    EXPECT_NE(created, nullptr) << "mkdtemp failed for " << pattern;
    path_ = pattern;
  }
  ~TempFolder() { std::filesystem::remove_all(path_); }
  TempFolder(const TempFolder&) = delete;
  TempFolder& operator=(const TempFolder&) = delete;

  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

inline std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline void WriteAll(const std::string& path, const std::string& contents) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << contents;
}

// Splits a log into its lines, each keeping its '\n'. A torn tail becomes the last line.
inline std::vector<std::string> SplitLines(const std::string& contents) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < contents.size()) {
    size_t end = contents.find('\n', start);
    end = end == std::string::npos ? contents.size() : end + 1;
    lines.push_back(contents.substr(start, end - start));
    start = end;
  }
  return lines;
}

inline std::string JoinLines(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& line : lines) out += line;
  return out;
}

inline NodeIdentity TestNode() { return NodeIdentity{"node-a", "1.29.0", "Test CPU @ 1.00GHz"}; }

inline AuditEvent InferenceEvent(int index) {
  AuditEvent event;
  event.type = record_type::kInference;
  event.request_id = "req-" + std::to_string(index);
  event.protocol = "http";
  event.peer = "127.0.0.1:40000";
  event.model = "add_sub";
  event.version = 1;
  event.bundle_digest = std::string(64, 'b');
  event.input_digest = std::string(64, 'c');
  event.output_digest = std::string(64, 'd');
  event.latency_us = 100 + index;
  return event;
}

// Writes a log of `count` inference records at `path` and returns its bytes.
inline std::string WriteTestLog(const std::string& path, int count) {
  auto log = AuditLog::Open(path, TestNode(), AuditOptions{.sync = false});
  EXPECT_TRUE(log.ok()) << log.status().ToString();
  if (!log.ok()) return "";
  for (int i = 0; i < count; ++i) {
    Status appended = (*log)->Append(InferenceEvent(i));
    EXPECT_TRUE(appended.ok()) << appended.ToString();
  }
  return ReadAll(path);
}

}  // namespace moat::audit::testing
