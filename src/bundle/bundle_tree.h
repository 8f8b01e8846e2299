// Walking and reading a bundle directory through file descriptors, with
// O_NOFOLLOW on every path segment, so that no symbolic link is ever followed
// even if one appears while a bundle is being read.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace moat::bundle {

// Upper bound on the entries one bundle directory tree may hold.
inline constexpr size_t kMaxTreeEntries = 100000;

// An owned file descriptor, closed on destruction.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd();

  int get() const { return fd_; }
  int release();

 private:
  int fd_ = -1;
};

enum class EntryKind { kFile, kDirectory, kSymlink, kOther };

struct TreeEntry {
  std::string path;  // relative to the bundle directory, '/'-separated
  EntryKind kind = EntryKind::kOther;
  uint64_t size = 0;  // for kFile, as lstat saw it
};

// Opens `dir` as a bundle directory. Fails when it is missing, is a symbolic
// link or is not a directory.
StatusOr<UniqueFd> OpenBundleDirectory(const std::string& dir);

// Lists every entry below `root_fd` depth-first in path order, without
// entering symbolic links. A directory nested more than kMaxPathSegments deep
// is listed but not entered, and a problem naming it is added to `problems`.
// Fails past kMaxTreeEntries entries or when a directory cannot be read.
StatusOr<std::vector<TreeEntry>> ListBundleTree(int root_fd, std::vector<Status>& problems);

// Returns the system's description of the errno value `err`. Thread-safe,
// unlike strerror.
std::string ErrnoText(int err);

// Reads the regular file at `path` (relative, '/'-separated) below `root_fd`.
// Fails, naming `path`, when any segment is a symbolic link, the file is not a
// regular file, or it is larger than `max_bytes`.
StatusOr<std::string> ReadBundleFile(int root_fd, std::string_view path, uint64_t max_bytes);

}  // namespace moat::bundle
