// The audit log's writer over segment files (audit/segment.h): appends from
// many threads, group commit on one writer thread, rotation, recovery.
#pragma once

#include <sys/types.h>
#include <sys/uio.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "audit/merkle.h"
#include "audit/segment.h"
#include "common/status.h"

namespace moat::audit {

enum class SegmentDurability {
  // Append's future completes after the record's group is fdatasync'ed.
  kSync,
  // Append's future completes at once. The writer syncs at least every
  // batch_max_records records or batch_max_delay, whichever comes first, so
  // a crash loses at most that window.
  kBatched,
};

struct SegmentWriterOptions {
  SegmentDurability durability = SegmentDurability::kSync;
  uint64_t batch_max_records = 1000;
  std::chrono::milliseconds batch_max_delay{100};
  // Rotation: a new segment starts before a group once the current one has
  // reached max_segment_bytes or is max_segment_age old. A group is never
  // split, so a segment can exceed max_segment_bytes by one group.
  uint64_t max_segment_bytes = uint64_t{64} << 20;
  std::chrono::milliseconds max_segment_age = std::chrono::hours(1);
  uint32_t max_record_bytes = kDefaultMaxSegmentRecordBytes;
  // Injectable for tests; default std::chrono::steady_clock::now, ::writev
  // and ::fdatasync. They follow the system calls' return conventions.
  std::function<std::chrono::steady_clock::time_point()> clock;
  std::function<ssize_t(int fd, const struct iovec* iov, int count)> write_function;
  std::function<int(int fd)> sync_function;
};

struct AppendResult {
  uint64_t sequence = 0;
  Sha256Digest chain_hash{};
  MerkleHash leaf_hash{};  // LeafHash of the record, what a receipt names
};

// Bytes that Open or Recover cut from the end of the last segment, so that
// the caller can record the cut in the log itself. Zero when nothing was cut.
struct RecoveryReport {
  std::string path;
  uint64_t cut_bytes = 0;
  // The damaged or incomplete frames: 1 when bytes were cut after a valid
  // header, 0 otherwise (a cut header contains no record).
  uint64_t cut_records = 0;
  uint64_t records = 0;  // records kept in the whole log
};

// Lets the caller of SegmentWriter::Open follow the scan of the folder and
// reject it, so that the records are read once at start. `check` runs after
// the scan and before anything on disk changes; its error fails Open.
struct SegmentLoadObserver {
  std::function<void(const SegmentRecordView&)> on_record;
  std::function<Status(const SegmentLogScan&)> check;
};

struct LogHead {
  uint64_t record_count = 0;
  Sha256Digest chain_hash{};
  MerkleHash merkle_root{};
};

// Thread-safe. Holds an exclusive flock on `folder`/LOCK while open, so a
// second writer in this or another process is rejected.
class SegmentWriter {
 public:
  // Opens or creates the log in `folder` (created with mode 0700 if
  // missing): validates every segment, truncates a torn tail of the last
  // one, and starts a new segment. Errors: FAILED_PRECONDITION when the
  // folder cannot be used or another writer has it locked; DATA_LOSS for damage
  // that is not a torn tail, naming file, byte offset and sequence number,
  // and the error of `observer.check`.
  static StatusOr<std::unique_ptr<SegmentWriter>> Open(const std::string& folder, SegmentWriterOptions options = {},
                                                       RecoveryReport* report = nullptr,
                                                       const SegmentLoadObserver& observer = {});

  ~SegmentWriter();
  SegmentWriter(const SegmentWriter&) = delete;
  SegmentWriter& operator=(const SegmentWriter&) = delete;

  // Queues one record. The future contains its sequence number and chain
  // hash, or INVALID_ARGUMENT for an empty or oversized record, or
  // UNAVAILABLE once the writer has failed (see Recover).
  std::future<StatusOr<AppendResult>> Append(std::string record);

  // Builds the record from the sequence number it will get and queues it, as
  // one step, so that a record can commit to its own sequence number (the
  // audit log seals each payload with it). `build` runs under the writer's
  // lock, so it must be short and must not call back into this writer. An
  // error from `build` completes the future and consumes no number.
  using RecordBuilder = std::function<StatusOr<std::string>(uint64_t sequence)>;
  std::future<StatusOr<AppendResult>> AppendBuilt(const RecordBuilder& build);

  // Writes and syncs everything queued so far. Errors: UNAVAILABLE after a failure.
  Status Flush();

  // Returns OK, or the write or sync error that put the writer in the failed state.
  Status status() const;

  // Leaves the failed state: rescans the folder (the disk is the truth about
  // which records survived), cuts a torn tail, and starts a new segment.
  // Records queued or unsynced at the failure may be lost. In sync mode their
  // callers received the error; in batched mode they are within the loss window.
  Status Recover(RecoveryReport* report = nullptr);

  // Count, chain hash and Merkle root of all records accepted by Append.
  LogHead Head() const;
  const std::string& folder() const { return folder_; }
  // The log id, read from the first segment or chosen when the folder was new.
  const LogId& log_id() const { return log_id_; }

 private:
  struct Pending {
    std::string frame;
    AppendResult result;
    std::chrono::steady_clock::time_point appended_at;
    std::promise<StatusOr<AppendResult>> done;  // unused in batched mode
  };

  SegmentWriter(std::string folder, int lock_fd, SegmentWriterOptions options);

  // Queues `record` as the next sequence number. REQUIRES: mutex_ is held.
  void EnqueueLocked(std::string record, std::promise<StatusOr<AppendResult>> promise);
  Status CheckRecordSize(size_t size) const;
  // True when the batched window of the queued records is full or old
  // enough to be written and synced. REQUIRES: mutex_ is held.
  bool BatchDueLocked() const;
  // `observer` is null when Recover rescans the folder.
  Status LoadAndStartSegment(RecoveryReport* report, const SegmentLoadObserver* observer);
  Status StartSegment();
  void WriterLoop();
  Status WriteGroup(std::deque<Pending>& group);
  Status SyncNow();
  void Fail(Status error);

  const std::string folder_;
  const int lock_fd_;
  SegmentWriterOptions options_;

  mutable std::mutex mutex_;
  std::condition_variable wake_writer_;
  std::condition_variable flushed_;
  // Guarded by mutex_.
  std::deque<Pending> queue_;
  uint64_t next_sequence_ = 0;
  Sha256Digest head_chain_hash_{};
  MerkleFrontier merkle_;
  Status failure_;
  bool stopping_ = false;
  uint64_t flush_requests_ = 0;
  uint64_t flushes_done_ = 0;

  // Owned by the writer thread, or by Open/Recover while it waits idle.
  LogId log_id_{};
  int segment_fd_ = -1;
  uint64_t segment_index_ = 0;
  uint64_t segment_bytes_ = 0;
  std::chrono::steady_clock::time_point segment_started_;
  uint64_t written_count_ = 0;  // records written to files
  Sha256Digest written_chain_hash_{};
  uint64_t unsynced_records_ = 0;
  // When the oldest record written but not yet synced was appended: the
  // batched window runs from the caller's acknowledgement.
  std::chrono::steady_clock::time_point oldest_unsynced_;

  std::thread writer_;
};

}  // namespace moat::audit
