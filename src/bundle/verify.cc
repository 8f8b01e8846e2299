#include "bundle/verify.h"

#include <set>
#include <string_view>

#include "bundle/bundle_tree.h"
#include "bundle/paths.h"
#include "bundle/signature.h"
#include "common/crypto.h"

namespace moat::bundle {

namespace {

constexpr size_t kMaxReportedProblems = 50;

// True for paths strictly below signatures/.
bool IsUnderSignatures(std::string_view path) {
  return path.size() > kSignaturesDirName.size() && path.starts_with(kSignaturesDirName) &&
         path[kSignaturesDirName.size()] == '/';
}

Status CombineProblems(const std::vector<Status>& problems) {
  std::string message;
  for (size_t i = 0; i < problems.size() && i < kMaxReportedProblems; ++i) {
    if (i > 0) message += "\n";
    message += problems[i].message();
  }
  if (problems.size() > kMaxReportedProblems) {
    message += "\n... and " + std::to_string(problems.size() - kMaxReportedProblems) + " more problems";
  }
  return Status(problems.front().code(), message);
}

struct LoadedManifest {
  std::string bytes;
  Manifest manifest;
};

StatusOr<LoadedManifest> LoadManifest(int root_fd) {
  LoadedManifest loaded;
  MOAT_ASSIGN_OR_RETURN(loaded.bytes, ReadBundleFile(root_fd, kManifestFileName, kMaxManifestBytes));
  MOAT_ASSIGN_OR_RETURN(loaded.manifest, ParseManifest(loaded.bytes));
  return loaded;
}

std::string DescribeKind(EntryKind kind) {
  switch (kind) {
    case EntryKind::kSymlink:
      return "is a symbolic link, and bundles may not contain symbolic links";
    case EntryKind::kDirectory:
      return "is a directory";
    case EntryKind::kOther:
      return "is not a regular file or directory";
    case EntryKind::kFile:
      break;
  }
  return "is a regular file";
}

// Checks one entry of signatures/ and, when it contains a valid signature by
// a trusted key, adds that key to `signers`.
void CheckSignatureEntry(int root_fd, const TreeEntry& entry, std::string_view manifest_bytes,
                         const TrustStore& trust, std::vector<std::string>& signers,
                         std::vector<std::string>& untrusted, std::vector<Status>& problems) {
  std::string quoted = QuoteForMessage(entry.path);
  if (entry.kind == EntryKind::kSymlink) {
    problems.push_back(FailedPreconditionError(quoted + " " + DescribeKind(entry.kind)));
    return;
  }
  if (entry.kind != EntryKind::kFile) {
    problems.push_back(FailedPreconditionError(quoted + " " + DescribeKind(entry.kind) +
                                               ". Only signature files are allowed under signatures/"));
    return;
  }
  std::string_view name = entry.path;
  name.remove_prefix(kSignaturesDirName.size() + 1);
  std::string_view key_id = name.substr(0, name.size() >= 5 ? name.size() - 5 : 0);
  if (name.find('/') != std::string_view::npos || !name.ends_with(".json") || !IsValidKeyId(key_id)) {
    problems.push_back(FailedPreconditionError(
        quoted + " is not a signature file name. Signature files are named signatures/<key id>.json"));
    return;
  }
  StatusOr<std::string> bytes = ReadBundleFile(root_fd, entry.path, kMaxSignatureFileBytes);
  if (!bytes.ok()) {
    problems.push_back(bytes.status());
    return;
  }
  StatusOr<SignatureFile> signature = ParseSignatureFile(*bytes, quoted);
  if (!signature.ok()) {
    problems.push_back(
        Status(StatusCode::kUnauthenticated, "invalid signature file: " + signature.status().message()));
    return;
  }
  if (signature->key_id != key_id) {
    problems.push_back(Status(StatusCode::kUnauthenticated, quoted + " contains a signature by key " +
                                                                signature->key_id +
                                                                ", which does not match its file name"));
    return;
  }
  const PublicKey* key = trust.Find(key_id);
  if (key == nullptr) {
    untrusted.emplace_back(key_id);
    return;
  }
  if (!key->Verify(manifest_bytes, signature->signature)) {
    problems.push_back(Status(StatusCode::kUnauthenticated,
                              quoted + ": the signature by trusted key " + std::string(key_id) +
                                  " does not verify, so manifest.json was changed after signing or the "
                                  "signature is corrupt"));
    return;
  }
  signers.emplace_back(key_id);
}

std::vector<std::string> CheckSignatures(int root_fd, const std::vector<TreeEntry>& tree,
                                         std::string_view manifest_bytes, const TrustStore& trust,
                                         const VerifyOptions& options, std::vector<Status>& problems) {
  std::vector<std::string> signers;
  std::vector<std::string> untrusted;
  size_t entries = 0;
  for (const TreeEntry& entry : tree) {
    if (entry.path == kSignaturesDirName) {
      if (entry.kind == EntryKind::kSymlink) {
        problems.push_back(
            FailedPreconditionError(QuoteForMessage(entry.path) + " " + DescribeKind(entry.kind)));
      } else if (entry.kind != EntryKind::kDirectory) {
        problems.push_back(
            FailedPreconditionError(QuoteForMessage(entry.path) + " must be a directory of signature files"));
      }
    } else if (IsUnderSignatures(entry.path)) {
      ++entries;
      CheckSignatureEntry(root_fd, entry, manifest_bytes, trust, signers, untrusted, problems);
    }
  }
  if (signers.size() >= options.min_signatures) return signers;

  std::string message = "manifest.json has " + std::to_string(signers.size()) +
                        " valid signature(s) by trusted keys, fewer than the " +
                        std::to_string(options.min_signatures) + " required";
  if (!untrusted.empty()) {
    message += ". Signatures by untrusted keys were ignored:";
    for (const std::string& key_id : untrusted) message += " " + key_id;
  } else if (entries == 0) {
    message += ". No signature files were found under signatures/";
  }
  problems.push_back(Status(StatusCode::kUnauthenticated, message));
  return signers;
}

uint64_t SaturatingAdd(uint64_t a, uint64_t b) { return a + b < a ? UINT64_MAX : a + b; }

// Returns every directory that contains a listed file, at any depth.
std::set<std::string, std::less<>> ListedDirectories(const Manifest& manifest) {
  std::set<std::string, std::less<>> dirs;
  for (const FileEntry& file : manifest.files) {
    for (size_t slash = file.path.find('/'); slash != std::string::npos;
         slash = file.path.find('/', slash + 1)) {
      dirs.insert(file.path.substr(0, slash));
    }
  }
  return dirs;
}

// Reads a listed regular file and checks its size and digest. On success, it
// stores the bytes in `files` unless that is null.
void CheckListedFile(int root_fd, const TreeEntry& entry, const FileEntry& listed,
                     std::map<std::string, std::shared_ptr<const std::string>>* files,
                     std::vector<Status>& problems) {
  std::string quoted = QuoteForMessage(entry.path);
  if (entry.size != listed.size) {
    problems.push_back(DataLossError(quoted + " is " + std::to_string(entry.size) +
                                     " bytes, but the manifest lists " + std::to_string(listed.size)));
    return;
  }
  StatusOr<std::string> bytes = ReadBundleFile(root_fd, entry.path, listed.size);
  if (!bytes.ok()) {
    problems.push_back(bytes.status());
    return;
  }
  if (bytes->size() != listed.size) {
    problems.push_back(DataLossError(quoted + " changed size while it was read"));
    return;
  }
  std::string digest = Sha256Hex(*bytes);
  if (digest != listed.sha256) {
    problems.push_back(
        DataLossError(quoted + " has SHA-256 " + digest + ", but the manifest lists " + listed.sha256));
    return;
  }
  if (files != nullptr) {
    files->emplace(entry.path, std::make_shared<const std::string>(std::move(bytes).value()));
  }
}

void CheckFiles(int root_fd, const std::vector<TreeEntry>& tree, const Manifest& manifest,
                const VerifyOptions& options,
                std::map<std::string, std::shared_ptr<const std::string>>* files,
                std::vector<Status>& problems) {
  uint64_t total = 0;
  for (const FileEntry& file : manifest.files) total = SaturatingAdd(total, file.size);
  if (total > options.max_bundle_bytes) {
    problems.push_back(ResourceExhaustedError("the manifest lists " + std::to_string(total) +
                                              " bytes of files, above the limit of " +
                                              std::to_string(options.max_bundle_bytes) + " bytes"));
    return;
  }

  std::map<std::string_view, const FileEntry*> listed;
  for (const FileEntry& file : manifest.files) listed.emplace(file.path, &file);
  std::set<std::string, std::less<>> directories = ListedDirectories(manifest);
  std::set<std::string_view> seen;

  for (const TreeEntry& entry : tree) {
    if (entry.path == kManifestFileName || entry.path == kSignaturesDirName ||
        IsUnderSignatures(entry.path)) {
      continue;
    }
    std::string quoted = QuoteForMessage(entry.path);
    auto it = listed.find(entry.path);
    if (it != listed.end()) seen.insert(it->first);

    if (entry.kind == EntryKind::kDirectory) {
      if (it != listed.end()) {
        problems.push_back(
            FailedPreconditionError(quoted + " is a directory, but the manifest lists a file"));
      } else if (!directories.contains(entry.path)) {
        problems.push_back(
            FailedPreconditionError(quoted + " is a directory with no file listed in the manifest"));
      }
    } else if (entry.kind != EntryKind::kFile) {
      problems.push_back(FailedPreconditionError(quoted + " " + DescribeKind(entry.kind)));
    } else if (it == listed.end()) {
      problems.push_back(FailedPreconditionError(quoted + " is not listed in the manifest"));
    } else {
      CheckListedFile(root_fd, entry, *it->second, files, problems);
    }
  }
  for (const FileEntry& file : manifest.files) {
    if (!seen.contains(file.path)) {
      problems.push_back(
          NotFoundError(QuoteForMessage(file.path) + " is listed in the manifest but missing"));
    }
  }
}

// The first steps of every verification: the bundle folder opened without
// following links, its tree listed and its manifest parsed. Problems found in
// the tree are collected for the caller to report with its own.
struct OpenedBundle {
  UniqueFd root;
  std::vector<TreeEntry> tree;
  LoadedManifest manifest;
  std::vector<Status> problems;
};

// Errors: the folder cannot be opened or listed, or the manifest is missing or
// invalid (reported together with the tree's problems).
StatusOr<OpenedBundle> OpenBundle(const std::string& dir) {
  OpenedBundle opened;
  MOAT_ASSIGN_OR_RETURN(opened.root, OpenBundleDirectory(dir));
  MOAT_ASSIGN_OR_RETURN(opened.tree, ListBundleTree(opened.root.get(), opened.problems));
  StatusOr<LoadedManifest> loaded = LoadManifest(opened.root.get());
  if (!loaded.ok()) {
    opened.problems.insert(opened.problems.begin(), loaded.status());
    return CombineProblems(opened.problems);
  }
  opened.manifest = std::move(loaded).value();
  return opened;
}

}  // namespace

StatusOr<VerifiedBundle> VerifyBundle(const std::string& dir, const TrustStore& trust,
                                      const VerifyOptions& options) {
  if (options.min_signatures == 0) {
    return InvalidArgumentError("min_signatures is 0, but a verified bundle needs at least one signature");
  }
  MOAT_ASSIGN_OR_RETURN(OpenedBundle opened, OpenBundle(dir));
  std::vector<Status>& problems = opened.problems;
  VerifiedBundle bundle;
  bundle.signer_key_ids =
      CheckSignatures(opened.root.get(), opened.tree, opened.manifest.bytes, trust, options, problems);
  CheckFiles(opened.root.get(), opened.tree, opened.manifest.manifest, options, &bundle.files, problems);
  if (!problems.empty()) return CombineProblems(problems);

  bundle.digest = Sha256Hex(opened.manifest.bytes);
  bundle.manifest = std::move(opened.manifest.manifest);
  bundle.manifest_bytes = std::move(opened.manifest.bytes);
  return bundle;
}

StatusOr<std::string> CheckBundleContents(const std::string& dir, const VerifyOptions& options) {
  MOAT_ASSIGN_OR_RETURN(OpenedBundle opened, OpenBundle(dir));
  CheckFiles(opened.root.get(), opened.tree, opened.manifest.manifest, options, nullptr, opened.problems);
  if (!opened.problems.empty()) return CombineProblems(opened.problems);
  return std::move(opened.manifest.bytes);
}

}  // namespace moat::bundle
