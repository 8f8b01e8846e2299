// Loading a model repository: <root>/<model>/<version>/ with one signed bundle
// per version. Each bundle is verified, then loaded from the verified bytes.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "bundle/manifest.h"
#include "bundle/verify.h"
#include "common/status.h"
#include "runtime/backend.h"

namespace moat::repository {

// A verified, loaded model version. Immutable after loading; shared by every
// request that runs on it, so it lives until the last of them finishes.
struct ModelVersion {
  std::string name;
  int64_t version = 0;
  std::string bundle_digest;  // hex SHA-256 of the canonical manifest bytes
  std::vector<std::string> signer_key_ids;
  bundle::Manifest manifest;
  std::unique_ptr<runtime::ModelInstance> instance;
};

// A bundle that was found but not served, and why.
struct RejectedVersion {
  std::string path;
  std::string model;    // as named by its folder
  std::string version;  // as named by its folder
  Status reason;
};

struct RepositoryContents {
  std::vector<std::shared_ptr<const ModelVersion>> loaded;
  std::vector<RejectedVersion> rejected;
};

// Verifies and loads every version under `root`. A version that fails any
// check is listed in `rejected` with the reason and the rest still load.
// Errors only when `root` itself cannot be read.
StatusOr<RepositoryContents> LoadRepository(const std::string& root, const bundle::TrustStore& trust);

// Verifies and loads every version of one model, <root>/<model>/<version>/.
// INVALID_ARGUMENT for a name that is not a plain folder name; NOT_FOUND
// when the repository has no such folder.
StatusOr<RepositoryContents> LoadRepositoryModel(const std::string& root, const std::string& model,
                                                 const bundle::TrustStore& trust);

// Verifies the bundle at `path` and loads it; `model` and `version` are the
// names of its folders, which must match the manifest.
StatusOr<std::shared_ptr<const ModelVersion>> LoadModelVersion(const std::string& path,
                                                               const std::string& model,
                                                               const std::string& version,
                                                               const bundle::TrustStore& trust);

}  // namespace moat::repository
