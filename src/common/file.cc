#include "common/file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace moat {

namespace {
std::string ErrnoText(int err) { return std::strerror(err); }
}  // namespace

StatusOr<std::string> ReadFile(const std::string& path, size_t max_bytes) {
  // O_NONBLOCK keeps a FIFO from blocking the open; it is rejected below, and
  // the flag has no effect on reads of regular files.
  int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    int err = errno;
    if (err == ELOOP) return FailedPreconditionError(path + ": is a symbolic link");
    if (err == ENOENT) return NotFoundError(path + ": file not found");
    return FailedPreconditionError(path + ": cannot open: " + ErrnoText(err));
  }

  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return FailedPreconditionError(path + ": not a regular file");
  }
  if (static_cast<size_t>(st.st_size) > max_bytes) {
    ::close(fd);
    return ResourceExhaustedError(path + ": file size " + std::to_string(st.st_size) +
                                  " exceeds the limit of " + std::to_string(max_bytes) + " bytes");
  }

  std::string out;
  out.resize(static_cast<size_t>(st.st_size));
  size_t done = 0;
  // Read until EOF rather than trusting st_size alone, so a file that grows
  // while it is read is still bounded by max_bytes.
  while (true) {
    if (done == out.size()) {
      if (out.size() >= max_bytes) {
        char extra = 0;
        if (::read(fd, &extra, 1) > 0) {
          ::close(fd);
          return ResourceExhaustedError(path + ": file grew past the limit of " + std::to_string(max_bytes) +
                                        " bytes while it was read");
        }
        break;
      }
      out.resize(std::min(max_bytes, out.size() + 65536));
    }
    ssize_t n = ::read(fd, out.data() + done, out.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      return FailedPreconditionError(path + ": read failed: " + ErrnoText(err));
    }
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }

  ::close(fd);
  out.resize(done);
  return out;
}

Status WriteFileAtomic(const std::string& path, std::string_view contents, mode_t mode, bool replace) {
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, mode);
  if (fd < 0) return FailedPreconditionError(path + ": cannot create: " + ErrnoText(errno));
  // The umask may have cleared bits of `mode`; set them exactly.
  ::fchmod(fd, mode);

  size_t done = 0;
  while (done < contents.size()) {
    ssize_t n = ::write(fd, contents.data() + done, contents.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return FailedPreconditionError(tmp + ": write failed: " + ErrnoText(err));
    }
    done += static_cast<size_t>(n);
  }

  if (::fsync(fd) != 0) {
    int err = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    return FailedPreconditionError(tmp + ": fsync failed: " + ErrnoText(err));
  }

  ::close(fd);
  if (!replace) {
    // link() fails with EEXIST instead of replacing, which rename() cannot do.
    int linked = ::link(tmp.c_str(), path.c_str());
    int err = errno;
    ::unlink(tmp.c_str());
    if (linked == 0) return OkStatus();
    if (err == EEXIST) return AlreadyExistsError(path + ": already exists");
    return FailedPreconditionError(path + ": cannot create: " + ErrnoText(err));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return FailedPreconditionError(path + ": rename failed: " + ErrnoText(err));
  }
  return OkStatus();
}

}  // namespace moat
