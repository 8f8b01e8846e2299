// The audit log: an append-only file of JSON lines, one record per event,
// each carrying the SHA-256 of the record before it (docs/formats/audit.md).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

// This is the module's public header: it also brings in DigestTensors and
// the verifier, so callers need only this include.
#include "audit/event.h"
#include "audit/node_identity.h"
#include "audit/tensor_digest.h"
#include "audit/verify.h"
#include "common/status.h"

namespace moat::audit {

struct AuditOptions {
  // fdatasync after each record, so that Append returning OK means durable.
  bool sync = true;
};

// Thread-safe. Holds an exclusive flock on the file while open, so a second
// writer (in this or another process) cannot open the same log.
class AuditLog {
 public:
  // Opens or creates the log at `path`; a new file gets mode 0600 and an
  // existing one keeps its mode. An existing log is verified first and the
  // chain continues from its last record. Errors: DATA_LOSS when the log is
  // damaged (a torn last line or a broken chain), naming the file and record;
  // FAILED_PRECONDITION when it cannot be opened or another AuditLog has it open.
  static StatusOr<std::unique_ptr<AuditLog>> Open(const std::string& path, NodeIdentity node,
                                                  AuditOptions options = {});

  ~AuditLog();
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  // Appends one record as a single write of a whole line (O_APPEND), synced
  // when options.sync, before it returns. Errors: INVALID_ARGUMENT for an
  // empty type or a record over kMaxRecordBytes (the log is unchanged);
  // FAILED_PRECONDITION when the write or sync fails, after which every
  // later Append fails too, because the file may end in a torn line.
  Status Append(const AuditEvent& event);

  uint64_t record_count() const;
  const std::string& path() const { return path_; }

 private:
  AuditLog(std::string path, int fd, NodeIdentity node, AuditOptions options, uint64_t records,
           std::string head_sha256);

  Status WriteLine(std::string_view line);

  const std::string path_;
  const int fd_;
  const NodeIdentity node_;
  const AuditOptions options_;

  mutable std::mutex mutex_;
  // Guarded by mutex_: the next record's seq and prev_sha256, and the first
  // write or sync error, after which nothing more is written.
  uint64_t next_seq_;
  std::string head_sha256_;
  Status failure_;
};

}  // namespace moat::audit
