#include "bundle/pack.h"

#include <sys/stat.h>

#include <cerrno>
#include <filesystem>
#include <set>
#include <system_error>

#include "bundle/bundle_tree.h"
#include "bundle/paths.h"
#include "bundle/signature.h"
#include "bundle/verify.h"
#include "common/crypto.h"
#include "common/file.h"

namespace moat::bundle {

namespace {

struct SourceFile {
  std::string bundle_path;
  std::string contents;
};

StatusOr<SourceFile> ReadSource(const std::string& path) {
  std::error_code error;
  // Resolving first lets a publisher pack from a model cache made of symbolic
  // links, because ReadFile refuses to follow one.
  std::filesystem::path resolved = std::filesystem::canonical(path, error);
  if (error) return NotFoundError(path + ": cannot resolve the path: " + error.message());
  SourceFile source;
  source.bundle_path = std::filesystem::path(path).filename().string();
  MOAT_ASSIGN_OR_RETURN(source.contents, ReadFile(resolved.string()));
  return source;
}

// Creates `dir` and any missing parents, or accepts it when it already is an
// empty directory.
Status PrepareOutputDirectory(const std::string& dir) {
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0) {
    if (errno != ENOENT) return FailedPreconditionError(dir + ": cannot examine: " + ErrnoText(errno));
    std::filesystem::path parent = std::filesystem::path(dir).parent_path();
    std::error_code error;
    if (!parent.empty()) std::filesystem::create_directories(parent, error);
    if (error) {
      return FailedPreconditionError(parent.string() + ": cannot create the parent directory: " + error.message());
    }
    if (::mkdir(dir.c_str(), 0755) != 0) {
      return FailedPreconditionError(dir + ": cannot create the output directory: " + ErrnoText(errno));
    }
    return OkStatus();
  }
  if (S_ISLNK(st.st_mode)) return FailedPreconditionError(dir + ": output directory is a symbolic link");
  if (!S_ISDIR(st.st_mode)) return AlreadyExistsError(dir + ": exists and is not a directory");
  std::error_code error;
  bool empty = std::filesystem::is_empty(dir, error);
  if (error) return FailedPreconditionError(dir + ": cannot list the output directory: " + error.message());
  if (!empty) return AlreadyExistsError(dir + ": output directory exists and is not empty");
  return OkStatus();
}

Status EnsureSignaturesDirectory(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return OkStatus();
    return FailedPreconditionError(path + ": exists and is not a directory");
  }
  if (errno != ENOENT) return FailedPreconditionError(path + ": cannot examine: " + ErrnoText(errno));
  if (::mkdir(path.c_str(), 0755) != 0) {
    return FailedPreconditionError(path + ": cannot create: " + ErrnoText(errno));
  }
  return OkStatus();
}

}  // namespace

StatusOr<Manifest> PackBundle(const PackRequest& request, const std::string& out_dir) {
  std::vector<SourceFile> sources;
  std::set<std::string> names;
  std::vector<std::string> paths = {request.model_path};
  paths.insert(paths.end(), request.extra_paths.begin(), request.extra_paths.end());
  for (const std::string& path : paths) {
    MOAT_ASSIGN_OR_RETURN(SourceFile source, ReadSource(path));
    if (!names.insert(source.bundle_path).second) {
      return InvalidArgumentError(path + ": another input file is also named \"" + source.bundle_path +
                                  "\", and bundle files are stored under their base names");
    }
    sources.push_back(std::move(source));
  }

  Manifest manifest;
  manifest.name = request.name;
  manifest.version = request.version;
  manifest.runtime = std::string(kOnnxRuntimeName);
  manifest.model_file = sources.front().bundle_path;
  manifest.inputs = request.inputs;
  manifest.outputs = request.outputs;
  for (const SourceFile& source : sources) {
    manifest.files.push_back({source.bundle_path, source.contents.size(), Sha256Hex(source.contents)});
  }
  // Parsing the serialization applies every manifest rule before anything
  // is written.
  std::string manifest_bytes = SerializeManifest(manifest);
  MOAT_ASSIGN_OR_RETURN(Manifest checked, ParseManifest(manifest_bytes));

  MOAT_RETURN_IF_ERROR(PrepareOutputDirectory(out_dir));
  for (const SourceFile& source : sources) {
    MOAT_RETURN_IF_ERROR(WriteFileAtomic(out_dir + "/" + source.bundle_path, source.contents, 0644));
  }
  MOAT_RETURN_IF_ERROR(WriteFileAtomic(out_dir + "/" + std::string(kManifestFileName), manifest_bytes, 0644));
  return checked;
}

StatusOr<std::string> SignBundle(const std::string& dir, const PrivateKey& key) {
  MOAT_ASSIGN_OR_RETURN(std::string manifest_bytes, CheckBundleContents(dir));
  MOAT_ASSIGN_OR_RETURN(std::string signature, key.Sign(manifest_bytes));
  MOAT_RETURN_IF_ERROR(EnsureSignaturesDirectory(dir + "/" + std::string(kSignaturesDirName)));

  SignatureFile file{key.key_id(), std::string(kEd25519AlgorithmName), signature};
  std::string path = dir + "/" + SignatureFilePath(key.key_id());
  MOAT_RETURN_IF_ERROR(WriteFileAtomic(path, SerializeSignatureFile(file), 0644));
  return path;
}

}  // namespace moat::bundle
