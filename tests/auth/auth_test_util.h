// Helpers shared by the auth tests: a private temporary folder, whole-file
// reads, file modes and an identity store in a folder.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "auth/identity_store.h"
#include "common/status.h"

namespace moat::auth::testing {

// A fresh folder made by mkdtemp under /tmp, removed with its contents at
// the end of the test.
class TempDir {
 public:
  TempDir() {
    std::string pattern = "/tmp/moat_auth_XXXXXX";
    char* created = ::mkdtemp(pattern.data());
    EXPECT_NE(created, nullptr) << "mkdtemp failed for " << pattern;
    path_ = pattern;
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

inline std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Permission bits of a file, or -1 when it cannot be read.
inline int FileMode(const std::string& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) return -1;
  return static_cast<int>(info.st_mode & 07777);
}

// A fixed clock reading for tests, in Unix seconds (2023-11-14).
inline constexpr int64_t kNow = 1700000000;
inline constexpr int64_t kDay = 24 * 60 * 60;

inline std::unique_ptr<IdentityStore> OpenStore(const std::string& data_dir) {
  StatusOr<std::unique_ptr<IdentityStore>> store = IdentityStore::Open(data_dir);
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  return store.ok() ? std::move(*store) : nullptr;
}

}  // namespace moat::auth::testing
