#include "audit/verify.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "audit/chain_verifier.h"

namespace moat::audit {

StatusOr<VerifyReport> VerifyAuditLog(std::string_view contents) {
  ChainVerifier verifier;
  MOAT_RETURN_IF_ERROR(verifier.Feed(contents));
  return verifier.Finish();
}

StatusOr<VerifyReport> VerifyAuditLogDescriptor(int fd, const std::string& path) {
  constexpr size_t kChunkBytes = size_t{1} << 16;
  std::vector<char> chunk(kChunkBytes);
  ChainVerifier verifier;
  off_t offset = 0;
  while (true) {
    ssize_t n = ::pread(fd, chunk.data(), chunk.size(), offset);
    if (n < 0) {
      if (errno == EINTR) continue;
      return FailedPreconditionError(path + ": read failed: " + std::strerror(errno));
    }
    if (n == 0) break;
    MOAT_RETURN_IF_ERROR(verifier.Feed(std::string_view(chunk.data(), static_cast<size_t>(n))));
    offset += n;
  }
  return verifier.Finish();
}

StatusOr<VerifyReport> VerifyAuditLogFile(const std::string& path) {
  // O_NONBLOCK keeps a FIFO at `path` from blocking the open; fstat then rejects it.
  int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    int err = errno;
    if (err == ELOOP) return FailedPreconditionError(path + ": is a symbolic link");
    if (err == ENOENT) return NotFoundError(path + ": file not found");
    return FailedPreconditionError(path + ": cannot open: " + std::strerror(err));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return FailedPreconditionError(path + ": not a regular file");
  }
  StatusOr<VerifyReport> report = VerifyAuditLogDescriptor(fd, path);
  ::close(fd);
  return report;
}

}  // namespace moat::audit
