// Helpers shared by the bundle tests: temporary directories, small file I/O
// and a signed bundle built from the committed test models.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "bundle/keys.h"
#include "bundle/pack.h"
#include "core/tensor.h"

namespace moat::bundle::testing {

// A fresh directory under the system temporary folder, removed on destruction.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "moat-bundle-XXXXXX").string();
    char* created = ::mkdtemp(pattern.data());
    EXPECT_NE(created, nullptr);
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string Child(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

inline std::string ModelPath(const std::string& file) {
  return std::string(MOAT_SOURCE_DIR) + "/tests/models/" + file;
}

inline void WriteText(const std::string& path, const std::string& contents) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << contents;
  ASSERT_TRUE(out.good()) << path;
}

inline std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// A request for tests/models/identity_fp32.onnx with the inputs and outputs it declares.
inline PackRequest IdentityRequest(const std::string& name = "identity", int64_t version = 1) {
  PackRequest request;
  request.model_path = ModelPath("identity_fp32.onnx");
  request.name = name;
  request.version = version;
  request.inputs = {{"INPUT0", DataType::kFp32, {-1, -1}}};
  request.outputs = {{"OUTPUT0", DataType::kFp32, {-1, -1}}};
  return request;
}

inline PrivateKey NewKey() {
  StatusOr<PrivateKey> key = PrivateKey::Generate();
  EXPECT_TRUE(key.ok()) << key.status().ToString();
  return std::move(key).value();
}

// Packs identity_fp32.onnx plus a labels file into `dir` and signs it.
inline void MakeSignedBundle(const std::string& dir, const PrivateKey& key, const TempDir& scratch) {
  std::string labels = scratch.Child("labels.txt");
  WriteText(labels, "cat\ndog\n");
  PackRequest request = IdentityRequest();
  request.extra_paths = {labels};
  StatusOr<Manifest> manifest = PackBundle(request, dir);
  ASSERT_TRUE(manifest.ok()) << manifest.status().ToString();
  StatusOr<std::string> signed_path = SignBundle(dir, key);
  ASSERT_TRUE(signed_path.ok()) << signed_path.status().ToString();
}

}  // namespace moat::bundle::testing
