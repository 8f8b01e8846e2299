#include "repository/repository.h"

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>

#include <spdlog/spdlog.h>

#include "core/model_version.h"
#include "hardware/process_memory.h"
#include "runtime/onnx_runtime.h"

namespace moat::repository {

namespace {

namespace fs = std::filesystem;

// Version folders are positive decimal integers without leading zeros, so
// one version has exactly one folder name.
StatusOr<int64_t> ParseVersionFolder(const std::string& name) {
  std::optional<int64_t> version = ParseVersionNumber(name);
  if (!version) return InvalidArgumentError("version folder '" + name + "' is not a positive integer");
  return *version;
}

bool IsRealDirectory(const fs::path& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::string SpecText(const TensorSpec& spec) {
  return "'" + spec.name + "' " + std::string(DataTypeName(spec.datatype)) + " " + ShapeToString(spec.shape);
}

// The manifest is the published contract; the model must implement it. A
// manifest dimension may be fixed where the model's is variable, never the
// other way round.
Status CheckSpecs(const std::string& what, const std::vector<TensorSpec>& declared,
                  const std::vector<TensorSpec>& actual) {
  if (declared.size() != actual.size()) {
    return FailedPreconditionError("the manifest declares " + std::to_string(declared.size()) + " " + what +
                                   " but the model has " + std::to_string(actual.size()));
  }
  for (const TensorSpec& spec : declared) {
    auto it =
        std::find_if(actual.begin(), actual.end(), [&](const TensorSpec& a) { return a.name == spec.name; });
    if (it == actual.end()) {
      return FailedPreconditionError("the manifest declares " + what + " " + SpecText(spec) +
                                     " but the model has no such tensor");
    }
    bool match = it->datatype == spec.datatype && it->shape.size() == spec.shape.size();
    for (size_t i = 0; match && i < spec.shape.size(); ++i) {
      match = it->shape[i] == -1 || it->shape[i] == spec.shape[i];
    }
    if (!match) {
      return FailedPreconditionError("the manifest declares " + what + " " + SpecText(spec) +
                                     " but the model has " + SpecText(*it));
    }
  }
  return OkStatus();
}

// Creates the session from the verified model file and records how much the
// process's resident memory grew meanwhile.
Status CreateSession(ModelVersion& loaded, std::shared_ptr<const std::string> model_file,
                     const runtime::SessionOptions& session_options) {
  std::optional<uint64_t> before = hardware::ReadResidentBytes();
  MOAT_ASSIGN_OR_RETURN(
      loaded.instance,
      runtime::LoadOnnxModel(std::move(model_file),
                             loaded.name + " version " + std::to_string(loaded.version), session_options));
  std::optional<uint64_t> after = hardware::ReadResidentBytes();
  if (before && after) loaded.session_resident_bytes = *after > *before ? *after - *before : 0;
  return OkStatus();
}

// Verifies and loads every version folder of `model_dir` into `contents`.
void LoadModelFolder(const fs::path& model_dir, const bundle::TrustStore& trust,
                     const SessionPlanner& planner, RepositoryContents& contents) {
  std::string model = model_dir.filename().string();
  if (!IsRealDirectory(model_dir)) {
    contents.rejected.push_back(
        {model_dir.string(), model, "",
         FailedPreconditionError("not a directory (symbolic links are not followed)")});
    return;
  }
  std::error_code ec;
  std::vector<fs::path> versions;
  for (const auto& entry : fs::directory_iterator(model_dir, ec)) versions.push_back(entry.path());
  if (ec) {
    contents.rejected.push_back({model_dir.string(), model, "", FailedPreconditionError(ec.message())});
    return;
  }
  std::sort(versions.begin(), versions.end());
  for (const fs::path& version_dir : versions) {
    std::string version = version_dir.filename().string();
    if (!IsRealDirectory(version_dir)) {
      contents.rejected.push_back(
          {version_dir.string(), model, version,
           FailedPreconditionError("not a directory (symbolic links are not followed)")});
      continue;
    }
    auto loaded = LoadModelVersion(version_dir.string(), model, version, trust, planner, contents.loaded);
    if (loaded.ok()) {
      contents.loaded.push_back(std::move(loaded).value());
    } else {
      contents.rejected.push_back({version_dir.string(), model, version, loaded.status()});
    }
  }
}

}  // namespace

StatusOr<std::shared_ptr<const ModelVersion>> LoadModelVersion(
    const std::string& path, const std::string& model, const std::string& version,
    const bundle::TrustStore& trust, const SessionPlanner& planner,
    const std::vector<std::shared_ptr<const ModelVersion>>& loaded_before) {
  MOAT_ASSIGN_OR_RETURN(int64_t number, ParseVersionFolder(version));
  MOAT_ASSIGN_OR_RETURN(bundle::VerifiedBundle verified, bundle::VerifyBundle(path, trust));
  const bundle::Manifest& manifest = verified.manifest;
  if (manifest.name != model) {
    return FailedPreconditionError("the manifest names model '" + manifest.name +
                                   "' but the bundle is in folder '" + model + "'");
  }
  if (manifest.version != number) {
    return FailedPreconditionError("the manifest names version " + std::to_string(manifest.version) +
                                   " but the bundle is in folder '" + version + "'");
  }
  if (manifest.runtime != "onnxruntime") {
    return UnimplementedError("runtime '" + manifest.runtime +
                              "' is not supported; this server runs 'onnxruntime'");
  }
  auto file = verified.files.find(manifest.model_file);
  if (file == verified.files.end()) {
    return FailedPreconditionError("model file '" + manifest.model_file +
                                   "' is not among the bundle's files");
  }

  runtime::SessionOptions session_options;
  if (planner) {
    MOAT_ASSIGN_OR_RETURN(session_options, planner(manifest, loaded_before));
  }

  auto loaded = std::make_shared<ModelVersion>();
  loaded->name = manifest.name;
  loaded->version = manifest.version;
  loaded->bundle_digest = verified.digest;
  loaded->signer_key_ids = verified.signer_key_ids;
  MOAT_RETURN_IF_ERROR(CreateSession(*loaded, file->second, session_options));
  MOAT_RETURN_IF_ERROR(CheckSpecs("input", manifest.inputs, loaded->instance->signature().inputs));
  MOAT_RETURN_IF_ERROR(CheckSpecs("output", manifest.outputs, loaded->instance->signature().outputs));
  loaded->manifest = std::move(verified.manifest);
  return std::shared_ptr<const ModelVersion>(std::move(loaded));
}

StatusOr<RepositoryContents> LoadRepository(const std::string& root, const bundle::TrustStore& trust,
                                            const SessionPlanner& planner) {
  if (!IsRealDirectory(root)) {
    return NotFoundError("model repository '" + root + "' is not a directory");
  }
  RepositoryContents contents;
  std::error_code ec;
  std::vector<fs::path> models;
  for (const auto& entry : fs::directory_iterator(root, ec)) models.push_back(entry.path());
  if (ec) return FailedPreconditionError("cannot read model repository '" + root + "': " + ec.message());
  std::sort(models.begin(), models.end());

  for (const fs::path& model_dir : models) LoadModelFolder(model_dir, trust, planner, contents);
  return contents;
}

StatusOr<RepositoryContents> LoadRepositoryModel(const std::string& root, const std::string& model,
                                                 const bundle::TrustStore& trust,
                                                 const SessionPlanner& planner) {
  // The name becomes a path component: only a plain folder name may reach the file system.
  if (model.empty() || model == "." || model == ".." || model.find('/') != std::string::npos ||
      model.find('\0') != std::string::npos) {
    return InvalidArgumentError("model name '" + model + "' cannot name a repository folder");
  }
  if (!IsRealDirectory(root)) {
    return NotFoundError("model repository '" + root + "' is not a directory");
  }
  fs::path model_dir = fs::path(root) / model;
  std::error_code ec;
  if (!fs::exists(fs::symlink_status(model_dir, ec))) {
    return NotFoundError("model '" + model + "' is not in the repository");
  }
  RepositoryContents contents;
  LoadModelFolder(model_dir, trust, planner, contents);
  return contents;
}

}  // namespace moat::repository
