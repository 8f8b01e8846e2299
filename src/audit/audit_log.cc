#include "audit/audit_log.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <utility>

#include "audit/record.h"
#include "audit/verify.h"
#include "common/crypto.h"

namespace moat::audit {

namespace {

std::string ErrnoText(int err) { return std::strerror(err); }

// Opens `path` for appending, creating it with mode 0600 when it is missing.
// Sets `created` when this call made the file.
StatusOr<int> OpenForAppend(const std::string& path, bool& created) {
  constexpr int kFlags = O_RDWR | O_APPEND | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK;
  int fd = ::open(path.c_str(), kFlags | O_CREAT | O_EXCL, 0600);
  created = fd >= 0;
  if (fd >= 0) {
    // The umask may have cleared bits of 0600; set them exactly.
    ::fchmod(fd, 0600);
  } else if (errno == EEXIST) {
    fd = ::open(path.c_str(), kFlags);
  }
  if (fd < 0) {
    int err = errno;
    if (err == ELOOP) return FailedPreconditionError("audit log " + path + ": is a symbolic link");
    return FailedPreconditionError("audit log " + path + ": cannot open: " + ErrnoText(err));
  }

  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return FailedPreconditionError("audit log " + path + ": not a regular file");
  }
  return fd;
}

// Makes the new directory entry of `path` durable.
Status SyncParentDirectory(const std::string& path) {
  std::string parent = std::filesystem::path(path).parent_path().string();
  if (parent.empty()) parent = ".";
  int dir = ::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) return FailedPreconditionError(parent + ": cannot open directory: " + ErrnoText(errno));
  int rc = ::fsync(dir);
  int err = errno;
  ::close(dir);
  if (rc != 0) return FailedPreconditionError(parent + ": fsync failed: " + ErrnoText(err));
  return OkStatus();
}

// Opens, locks and verifies the log, and returns the open descriptor.
StatusOr<int> OpenAndVerify(const std::string& path, bool sync, VerifyReport& report) {
  bool created = false;
  MOAT_ASSIGN_OR_RETURN(int fd, OpenForAppend(path, created));

  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK) {
      return FailedPreconditionError("audit log " + path + ": already open for writing by another audit log");
    }
    return FailedPreconditionError("audit log " + path + ": cannot lock: " + ErrnoText(err));
  }

  Status synced = created && sync ? SyncParentDirectory(path) : OkStatus();
  if (!synced.ok()) {
    ::close(fd);
    return synced;
  }

  StatusOr<VerifyReport> verified = VerifyAuditLogDescriptor(fd, path);
  if (!verified.ok()) {
    ::close(fd);
    if (verified.status().code() != StatusCode::kDataLoss) return verified.status();
    // NOTE: nothing repairs a damaged log yet, so the operator has to move it aside.
    return DataLossError("audit log " + path + ": " + verified.status().message() +
                         ". A damaged log cannot be continued, so keep it as evidence and move it aside "
                         "before starting again");
  }
  report = std::move(verified).value();
  return fd;
}

}  // namespace

StatusOr<std::unique_ptr<AuditLog>> AuditLog::Open(const std::string& path, NodeIdentity node,
                                                   AuditOptions options) {
  VerifyReport report;
  MOAT_ASSIGN_OR_RETURN(int fd, OpenAndVerify(path, options.sync, report));
  return std::unique_ptr<AuditLog>(
      new AuditLog(path, fd, std::move(node), options, report.records, std::move(report.head_sha256)));
}

AuditLog::AuditLog(std::string path, int fd, NodeIdentity node, AuditOptions options, uint64_t records,
                   std::string head_sha256)
    : path_(std::move(path)),
      fd_(fd),
      node_(std::move(node)),
      options_(options),
      next_seq_(records),
      head_sha256_(std::move(head_sha256)) {}

AuditLog::~AuditLog() { ::close(fd_); }

uint64_t AuditLog::record_count() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return next_seq_;
}

Status AuditLog::WriteLine(std::string_view line) {
  // One write() normally takes the whole line. A short write (a full disk, a
  // signal) is continued, and O_APPEND keeps the pieces at the end.
  while (!line.empty()) {
    ssize_t n = ::write(fd_, line.data(), line.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return FailedPreconditionError("audit log " + path_ + ": write failed: " + ErrnoText(errno));
    }
    line.remove_prefix(static_cast<size_t>(n));
  }
  if (options_.sync && ::fdatasync(fd_) != 0) {
    return FailedPreconditionError("audit log " + path_ + ": fdatasync failed: " + ErrnoText(errno));
  }
  return OkStatus();
}

Status AuditLog::Append(const AuditEvent& event) {
  if (event.type.empty()) return InvalidArgumentError("audit event for log " + path_ + ": type is empty");

  // TODO: group commit, so that concurrent appends share one fdatasync.
  std::lock_guard<std::mutex> lock(mutex_);
  if (!failure_.ok()) {
    return FailedPreconditionError("audit log " + path_ + ": no longer writable after an earlier failure (" +
                                   failure_.message() + ")");
  }

  std::string line = EncodeRecord(event, node_, next_seq_, FormatRecordTime(NowUnixMicros()), head_sha256_);
  if (line.size() > kMaxRecordBytes) {
    return InvalidArgumentError("audit event of type '" + event.type + "': the record would be " +
                                std::to_string(line.size()) + " bytes, over the maximum of " +
                                std::to_string(kMaxRecordBytes));
  }

  Status written = WriteLine(line);
  if (!written.ok()) {
    failure_ = written;
    return written;
  }
  head_sha256_ = Sha256Hex(line);
  ++next_seq_;
  return OkStatus();
}

}  // namespace moat::audit
