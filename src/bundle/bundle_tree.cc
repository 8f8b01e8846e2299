#include "bundle/bundle_tree.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "bundle/paths.h"

namespace moat::bundle {

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.release();
  }
  return *this;
}

UniqueFd::~UniqueFd() {
  if (fd_ >= 0) ::close(fd_);
}

int UniqueFd::release() {
  int fd = fd_;
  fd_ = -1;
  return fd;
}

std::string ErrnoText(int err) {
  char buffer[256];
  // glibc's GNU strerror_r returns either `buffer` or a static string.
  return ::strerror_r(err, buffer, sizeof(buffer));
}

namespace {

constexpr int kDirectoryFlags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
// O_NONBLOCK keeps open() from waiting for a writer on a FIFO. The file type
// is checked right after, and the flag has no effect on regular files.
constexpr int kFileFlags = O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK;

Status OpenError(std::string_view path, int err) {
  // With O_NOFOLLOW, a symbolic link as the last segment fails with ELOOP.
  // With O_DIRECTORY as well, Linux reports one as ENOTDIR, the same error as
  // for a regular file where a directory should be.
  std::string quoted = QuoteForMessage(path);
  if (err == ELOOP) return FailedPreconditionError(quoted + " is a symbolic link");
  if (err == ENOENT) return NotFoundError(quoted + " is missing");
  if (err == ENOTDIR) {
    return FailedPreconditionError(quoted +
                                   " passes through a symbolic link or a file where a directory should be");
  }
  return FailedPreconditionError(quoted + " cannot be opened: " + ErrnoText(err));
}

EntryKind KindOf(mode_t mode) {
  if (S_ISREG(mode)) return EntryKind::kFile;
  if (S_ISDIR(mode)) return EntryKind::kDirectory;
  if (S_ISLNK(mode)) return EntryKind::kSymlink;
  return EntryKind::kOther;
}

StatusOr<std::vector<std::string>> ReadDirectoryNames(int dir_fd, const std::string& path) {
  // fdopendir takes ownership of its descriptor, so give it a duplicate.
  int copy = ::fcntl(dir_fd, F_DUPFD_CLOEXEC, 0);
  DIR* dir = copy < 0 ? nullptr : ::fdopendir(copy);
  if (dir == nullptr) {
    int err = errno;
    if (copy >= 0) ::close(copy);
    return FailedPreconditionError("directory " + QuoteForMessage(path) +
                                   " cannot be read: " + ErrnoText(err));
  }
  std::vector<std::string> names;
  errno = 0;
  while (const dirent* entry = ::readdir(dir)) {
    std::string_view name = entry->d_name;
    if (name != "." && name != "..") names.emplace_back(name);
    if (names.size() > kMaxTreeEntries) {
      ::closedir(dir);
      return ResourceExhaustedError("directory " + QuoteForMessage(path) + " contains more than " +
                                    std::to_string(kMaxTreeEntries) + " entries");
    }
    errno = 0;
  }
  int err = errno;
  ::closedir(dir);
  if (err != 0) {
    return FailedPreconditionError("directory " + QuoteForMessage(path) +
                                   " cannot be read: " + ErrnoText(err));
  }
  std::sort(names.begin(), names.end());
  return names;
}

Status Walk(int dir_fd, const std::string& prefix, size_t depth, std::vector<TreeEntry>& entries,
            std::vector<Status>& problems) {
  MOAT_ASSIGN_OR_RETURN(std::vector<std::string> names,
                        ReadDirectoryNames(dir_fd, prefix.empty() ? "." : prefix));
  for (const std::string& name : names) {
    if (entries.size() >= kMaxTreeEntries) {
      return ResourceExhaustedError("bundle contains more than " + std::to_string(kMaxTreeEntries) +
                                    " entries");
    }
    std::string path = prefix.empty() ? name : prefix + "/" + name;
    struct stat st {};
    if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      int err = errno;
      return FailedPreconditionError(QuoteForMessage(path) + " cannot be examined: " + ErrnoText(err));
    }
    TreeEntry entry{path, KindOf(st.st_mode), static_cast<uint64_t>(st.st_size)};
    entries.push_back(entry);
    if (entry.kind != EntryKind::kDirectory) continue;

    if (depth + 1 >= kMaxPathSegments) {
      problems.push_back(FailedPreconditionError("directory " + QuoteForMessage(path) +
                                                 " is nested deeper than " +
                                                 std::to_string(kMaxPathSegments) + " levels"));
      continue;
    }
    UniqueFd child(::openat(dir_fd, name.c_str(), kDirectoryFlags));
    if (child.get() < 0) return OpenError(path, errno);
    MOAT_RETURN_IF_ERROR(Walk(child.get(), path, depth + 1, entries, problems));
  }
  return OkStatus();
}

Status ReadAll(int fd, std::string_view path, uint64_t expected, uint64_t max_bytes, std::string& out) {
  out.resize(static_cast<size_t>(expected));
  size_t done = 0;
  while (true) {
    // Reading one byte past the limit distinguishes a file that grew from one
    // that is exactly at the limit.
    if (done == out.size()) {
      if (out.size() > max_bytes) break;
      out.resize(static_cast<size_t>(std::min<uint64_t>(max_bytes + 1, out.size() + 65536)));
    }
    ssize_t n = ::read(fd, out.data() + done, out.size() - done);
    if (n < 0) {
      int err = errno;
      if (err == EINTR) continue;
      return FailedPreconditionError(QuoteForMessage(path) + " cannot be read: " + ErrnoText(err));
    }
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  out.resize(done);
  if (done > max_bytes) {
    return ResourceExhaustedError(QuoteForMessage(path) + " is larger than " + std::to_string(max_bytes) +
                                  " bytes");
  }
  return OkStatus();
}

}  // namespace

StatusOr<UniqueFd> OpenBundleDirectory(const std::string& dir) {
  UniqueFd fd(::open(dir.c_str(), kDirectoryFlags));
  if (fd.get() < 0) {
    int err = errno;
    // open() with O_DIRECTORY | O_NOFOLLOW reports a symbolic link as ENOTDIR
    // on Linux, so lstat distinguishes the two cases for the message.
    struct stat st {};
    if (err == ELOOP || (err == ENOTDIR && ::lstat(dir.c_str(), &st) == 0 && S_ISLNK(st.st_mode))) {
      return FailedPreconditionError("bundle directory " + dir + " is a symbolic link");
    }
    if (err == ENOENT) return NotFoundError("bundle directory " + dir + " not found");
    if (err == ENOTDIR) return FailedPreconditionError(dir + " is not a directory");
    return FailedPreconditionError("bundle directory " + dir + " cannot be opened: " + ErrnoText(err));
  }
  return fd;
}

StatusOr<std::vector<TreeEntry>> ListBundleTree(int root_fd, std::vector<Status>& problems) {
  std::vector<TreeEntry> entries;
  MOAT_RETURN_IF_ERROR(Walk(root_fd, "", 0, entries, problems));
  return entries;
}

StatusOr<std::string> ReadBundleFile(int root_fd, std::string_view path, uint64_t max_bytes) {
  UniqueFd dir;
  int parent = root_fd;
  size_t start = 0;
  for (size_t slash = path.find('/'); slash != std::string_view::npos; slash = path.find('/', start)) {
    std::string segment(path.substr(start, slash - start));
    UniqueFd next(::openat(parent, segment.c_str(), kDirectoryFlags));
    if (next.get() < 0) return OpenError(path, errno);
    dir = std::move(next);
    parent = dir.get();
    start = slash + 1;
  }
  std::string name(path.substr(start));
  UniqueFd file(::openat(parent, name.c_str(), kFileFlags));
  if (file.get() < 0) return OpenError(path, errno);
  struct stat st {};
  if (::fstat(file.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return FailedPreconditionError(QuoteForMessage(path) + " is not a regular file");
  }
  auto size = static_cast<uint64_t>(st.st_size);
  if (size > max_bytes) {
    return ResourceExhaustedError(QuoteForMessage(path) + " is " + std::to_string(size) +
                                  " bytes, above the limit of " + std::to_string(max_bytes) + " bytes");
  }
  std::string contents;
  MOAT_RETURN_IF_ERROR(ReadAll(file.get(), path, size, max_bytes, contents));
  return contents;
}

}  // namespace moat::bundle
