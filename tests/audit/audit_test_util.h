// Helpers shared by the audit tests: a private temporary folder, whole-file
// reads and writes, and inference events.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "audit/event.h"

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

}  // namespace moat::audit::testing
