// Loading a model repository: <root>/<model>/<version>/ with one signed bundle
// per version. Each bundle is verified, then loaded from the verified bytes.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bundle/manifest.h"
#include "bundle/verify.h"
#include "common/status.h"
#include "runtime/backend.h"
#include "runtime/onnx_runtime.h"

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
  // How much the process's resident memory grew while the session was
  // created, in bytes; nullopt when /proc/self/statm could not be read.
  // NOTE: a measurement of the whole process, so allocations by other
  // threads at the same time (requests to other models) count too.
  std::optional<uint64_t> session_resident_bytes;
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

// Decides whether a verified version gets a session, and how it runs. Called
// after the bundle verifies and its manifest matches its folders, before the
// session is created. An error rejects the version with that reason, so a
// version that would not fit in memory never allocates a session. `loaded`
// lists the versions this scan loaded before it.
using SessionPlanner = std::function<StatusOr<runtime::SessionOptions>(
    const bundle::Manifest& manifest, const std::vector<std::shared_ptr<const ModelVersion>>& loaded)>;

// Verifies and loads every version under `root`. A version that fails any
// check, or that `planner` rejects, is listed in `rejected` with the reason
// and the rest still load. A null `planner` runs every session on the shared
// pool. Errors only when `root` itself cannot be read.
StatusOr<RepositoryContents> LoadRepository(const std::string& root, const bundle::TrustStore& trust,
                                            const SessionPlanner& planner = nullptr);

// Verifies and loads every version of one model, <root>/<model>/<version>/.
// INVALID_ARGUMENT for a name that is not a plain folder name; NOT_FOUND
// when the repository has no such folder.
StatusOr<RepositoryContents> LoadRepositoryModel(const std::string& root, const std::string& model,
                                                 const bundle::TrustStore& trust,
                                                 const SessionPlanner& planner = nullptr);

// Verifies the bundle at `path` and loads it; `model` and `version` are the
// names of its folders, which must match the manifest. `planner`, when not
// null, receives `loaded_before` as its `loaded` argument.
StatusOr<std::shared_ptr<const ModelVersion>> LoadModelVersion(
    const std::string& path, const std::string& model, const std::string& version,
    const bundle::TrustStore& trust, const SessionPlanner& planner = nullptr,
    const std::vector<std::shared_ptr<const ModelVersion>>& loaded_before = {});

}  // namespace moat::repository
