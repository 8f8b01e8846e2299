// The audit log: sealed records in segment files (segment.h), a Merkle tree
// over them (merkle.h) and Ed25519-signed checkpoints (checkpoint.h) in one
// folder. docs/formats/audit.md defines the files.
#pragma once

#include <sys/types.h>
#include <sys/uio.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

// This is the module's public header: it also brings in the events, the node
// identity and DigestTensors, so callers need only this include.
#include "audit/checkpoint.h"
#include "audit/event.h"
#include "audit/node_identity.h"
#include "audit/payload_crypto.h"
#include "audit/receipt.h"
#include "audit/segment_writer.h"
#include "audit/stored_record.h"
#include "audit/tensor_digest.h"
#include "bundle/keys.h"
#include "common/status.h"

namespace moat::audit {

// The prefix of every response signature's message, so that it cannot be
// taken for a signature of a checkpoint or a manifest.
inline constexpr std::string_view kResponseSignatureMagic = "moat-response-v1\n";

enum class AuditDurability {
  kSync,     // Append returns after the record's group is fdatasync'ed
  kBatched,  // Append returns at once; a crash loses at most the batch window
};

struct AuditLogOptions {
  std::string folder;
  AuditDurability durability = AuditDurability::kSync;
  // The batched loss window: at most this many records or this long.
  uint64_t batch_max_records = 1000;
  std::chrono::milliseconds batch_max_delay{100};
  uint64_t max_segment_bytes = uint64_t{64} << 20;
  std::chrono::milliseconds max_segment_age = std::chrono::hours(1);
  // Retention period. Segments last written longer ago are deleted, oldest
  // first, once a signed checkpoint covers them. A `base` file then records
  // where the kept log starts. 0 keeps every segment, and the segment being
  // written is never deleted.
  std::chrono::seconds retention{0};
  // A checkpoint is signed after this many new records or this long after
  // the last one, whichever comes first, and at Close. 0 disables a rule.
  uint64_t checkpoint_every_records = 10000;
  std::chrono::milliseconds checkpoint_every{1000};
  // Required. The master keys that seal the payloads, and the node's key
  // that signs checkpoints; the folder's node.pub must match it.
  std::shared_ptr<const MasterKeyProvider> keys;
  std::shared_ptr<const bundle::PrivateKey> signing_key;
  std::string host;  // the node name in every record
  // After a write error, the folder is rescanned at most this often.
  std::chrono::milliseconds resume_interval{1000};
  // For tests; null means the system calls and the system clock.
  std::function<ssize_t(int fd, const struct iovec* iov, int count)> write_function;
  std::function<int(int fd)> sync_function;
  std::function<int64_t()> unix_micros;
};

// The receipt of one record, which a response carries so that the record can
// be proven later: the log id, the sequence number and the record hash (the
// RFC 6962 leaf hash of the stored record). FormatReceipt gives its text form.
using AuditReceipt = Receipt;

struct AuditLogStats {
  uint64_t records = 0;          // records accepted since the log was created
  uint64_t failed_appends = 0;   // since this process opened it
  uint64_t checkpoints = 0;      // lines in the checkpoints file
  uint64_t checkpointed_records = 0;  // tree size of the latest checkpoint
  bool writable = true;          // false while writes fail
};

// Thread-safe. One process at a time may have a folder open (segment_writer.h).
class AuditLog {
 public:
  // Opens or creates the log in options.folder. It checks that the records
  // still match the latest checkpoint (none removed, none changed), cuts a
  // torn tail and records the cut as a log_recovered record. Errors:
  // INVALID_ARGUMENT for missing keys; FAILED_PRECONDITION when the folder
  // cannot be used, is locked, or belongs to another node key; DATA_LOSS when
  // the records or checkpoints are damaged, naming the file and the record.
  static StatusOr<std::unique_ptr<AuditLog>> Open(AuditLogOptions options);

  // Calls Close.
  ~AuditLog();
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  // Seals and appends one record; in sync mode returns once it is durable.
  // Errors: INVALID_ARGUMENT for an empty type or an oversized record;
  // UNAVAILABLE when the log cannot be written. After a write error, a later
  // Append (at most one attempt per resume_interval) rescans the folder and resumes,
  // first writing an audit_failure record that counts the failed appends.
  StatusOr<AuditReceipt> Append(const AuditEvent& event);

  // Makes every record appended so far durable and signs a checkpoint that
  // covers them, unless the latest checkpoint already does. Then applies
  // the retention.
  Status CheckpointNow();

  // Stops the checkpoint thread, then flushes and signs a final checkpoint.
  // Later calls do nothing. Append must not be called afterwards.
  Status Close();

  // Signs kResponseSignatureMagic || FormatReceipt(receipt) || "\n" || output digest
  // with the node key; returns the 64-byte signature.
  StatusOr<std::string> SignResponse(const AuditReceipt& receipt, std::string_view output_digest) const;

  AuditLogStats stats() const;
  const LogId& log_id() const { return writer_->log_id(); }
  const std::string& folder() const { return options_.folder; }

 private:
  AuditLog(AuditLogOptions options, std::unique_ptr<SegmentWriter> writer, int checkpoints_fd,
           std::optional<Checkpoint> last_checkpoint, uint64_t checkpoint_count);

  StatusOr<AuditReceipt> AppendOnce(const AuditEvent& event);
  // After a failed append: rescans and resumes, at most once per resume_interval.
  // Returns true when the writer works again.
  bool TryResume();
  Status EmitCheckpoint(bool forced);
  // Deletes the expired segments that the latest checkpoint covers.
  Status PruneExpiredSegments();
  void CheckpointLoop();
  int64_t NowMicros() const;

  const AuditLogOptions options_;
  const std::unique_ptr<SegmentWriter> writer_;
  const std::unique_ptr<RecordCipher> cipher_;

  std::mutex checkpoint_mutex_;  // serialises EmitCheckpoint
  const int checkpoints_fd_;
  std::optional<Checkpoint> last_checkpoint_;  // guarded by checkpoint_mutex_
  std::atomic<uint64_t> checkpoint_count_;
  std::atomic<uint64_t> checkpointed_records_;
  std::atomic<bool> checkpoint_wake_sent_{false};

  std::mutex loop_mutex_;
  std::condition_variable loop_wake_;
  bool stopping_ = false;  // guarded by loop_mutex_
  std::thread checkpoint_thread_;

  std::mutex resume_mutex_;
  std::chrono::steady_clock::time_point last_resume_attempt_{};  // guarded by resume_mutex_
  std::atomic<uint64_t> failed_appends_{0};
  std::atomic<uint64_t> failed_since_resume_{0};
  std::atomic<bool> closed_{false};
};

// Checks a response signature made by AuditLog::SignResponse. Errors:
// DATA_LOSS when it does not match.
Status VerifyResponseSignature(const bundle::PublicKey& key, const AuditReceipt& receipt,
                               std::string_view output_digest, std::string_view signature);

}  // namespace moat::audit
