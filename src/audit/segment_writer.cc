#include "audit/segment_writer.h"

#include <fcntl.h>
#include <openssl/rand.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace moat::audit {

namespace {

std::string ErrnoText(int err) { return std::strerror(err); }

Status SyncDirectory(const std::string& folder) {
  int dir = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) return UnavailableError(folder + ": cannot open directory: " + ErrnoText(errno));
  int rc = ::fsync(dir);
  int err = errno;
  ::close(dir);
  if (rc != 0) return UnavailableError(folder + ": fsync failed: " + ErrnoText(err));
  return OkStatus();
}

StatusOr<int> LockFolder(const std::string& folder) {
  if (::mkdir(folder.c_str(), 0700) != 0 && errno != EEXIST) {
    return FailedPreconditionError("audit folder " + folder + ": cannot create: " + ErrnoText(errno));
  }
  std::string lock_path = folder + "/LOCK";
  int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return FailedPreconditionError(lock_path + ": cannot open: " + ErrnoText(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK) {
      return FailedPreconditionError("audit folder " + folder + ": already open by another segment writer");
    }
    return FailedPreconditionError(lock_path + ": cannot lock: " + ErrnoText(err));
  }
  return fd;
}

// Cuts the torn tail that `scan` found, so the last segment ends at its last
// valid frame. A last segment without a whole header is removed.
Status CutTornTail(const std::string& folder, const SegmentLogScan& scan, RecoveryReport& report) {
  report.records = scan.record_count;
  if (scan.torn_path.empty()) return OkStatus();
  report.path = scan.torn_path;
  report.cut_bytes = scan.torn_bytes;
  report.cut_records = scan.torn_valid_bytes > 0 ? 1 : 0;
  if (scan.torn_valid_bytes == 0) {
    if (::unlink(scan.torn_path.c_str()) != 0) {
      return UnavailableError(scan.torn_path + ": cannot remove the incomplete segment: " + ErrnoText(errno));
    }
    return SyncDirectory(folder);
  }
  int fd = ::open(scan.torn_path.c_str(), O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return UnavailableError(scan.torn_path + ": cannot open to cut the torn tail: " + ErrnoText(errno));
  int rc = ::ftruncate(fd, static_cast<off_t>(scan.torn_valid_bytes));
  if (rc == 0) rc = ::fdatasync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return UnavailableError(scan.torn_path + ": cannot cut the torn tail: " + ErrnoText(err));
  return OkStatus();
}

}  // namespace

StatusOr<std::unique_ptr<SegmentWriter>> SegmentWriter::Open(const std::string& folder, SegmentWriterOptions options,
                                                             RecoveryReport* report,
                                                             const SegmentLoadObserver& observer) {
  if (!options.clock) options.clock = [] { return std::chrono::steady_clock::now(); };
  if (!options.write_function) options.write_function = ::writev;
  if (!options.sync_function) options.sync_function = ::fdatasync;
  if (options.batch_max_records == 0) options.batch_max_records = 1;

  MOAT_ASSIGN_OR_RETURN(int lock_fd, LockFolder(folder));
  std::unique_ptr<SegmentWriter> writer(new SegmentWriter(folder, lock_fd, std::move(options)));
  {
    std::lock_guard<std::mutex> lock(writer->mutex_);
    Status loaded = writer->LoadAndStartSegment(report, &observer);
    if (!loaded.ok()) {
      if (loaded.code() == StatusCode::kDataLoss) return loaded;
      return FailedPreconditionError(loaded.message());
    }
  }
  writer->writer_ = std::thread([w = writer.get()] { w->WriterLoop(); });
  return writer;
}

SegmentWriter::SegmentWriter(std::string folder, int lock_fd, SegmentWriterOptions options)
    : folder_(std::move(folder)), lock_fd_(lock_fd), options_(std::move(options)) {}

SegmentWriter::~SegmentWriter() {
  if (writer_.joinable()) {
    // Queued records are written and synced before the thread ends.
    (void)Flush();
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    wake_writer_.notify_all();
    writer_.join();
  }
  if (segment_fd_ >= 0) ::close(segment_fd_);
  ::close(lock_fd_);
}

Status SegmentWriter::LoadAndStartSegment(RecoveryReport* report, const SegmentLoadObserver* observer) {
  SegmentReaderOptions reader;
  reader.max_record_bytes = options_.max_record_bytes;
  reader.max_segment_bytes = 2 * options_.max_segment_bytes + options_.max_record_bytes + kSegmentHeaderBytes;
  MOAT_ASSIGN_OR_RETURN(SegmentLogScan scan,
                        ScanSegmentFolder(folder_, reader, observer ? observer->on_record : nullptr));
  if (observer && observer->check) MOAT_RETURN_IF_ERROR(observer->check(scan));
  RecoveryReport cut;
  MOAT_RETURN_IF_ERROR(CutTornTail(folder_, scan, cut));
  if (report) *report = cut;

  if (scan.log_id) {
    log_id_ = *scan.log_id;
  } else if (RAND_bytes(log_id_.data(), static_cast<int>(log_id_.size())) != 1) {
    return InternalError("audit folder " + folder_ + ": cannot draw a random log id");
  }
  next_sequence_ = written_count_ = scan.record_count;
  head_chain_hash_ = written_chain_hash_ = scan.chain_hash;
  merkle_ = scan.merkle;
  segment_index_ = scan.segment_indexes.empty() ? 0 : scan.segment_indexes.back();
  unsynced_records_ = 0;
  return StartSegment();
}

Status SegmentWriter::StartSegment() {
  if (segment_fd_ >= 0) ::close(segment_fd_);
  segment_fd_ = -1;
  SegmentHeader header{log_id_, segment_index_ + 1, written_count_, written_chain_hash_};
  std::string path = folder_ + "/" + SegmentFileName(header.index);
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return UnavailableError(path + ": cannot create segment: " + ErrnoText(errno));
  // The umask may have cleared bits of 0600; set them exactly.
  ::fchmod(fd, 0600);
  segment_fd_ = fd;
  segment_index_ = header.index;
  segment_bytes_ = 0;
  segment_started_ = options_.clock();

  std::string bytes = EncodeSegmentHeader(header);
  struct iovec iov {bytes.data(), bytes.size()};
  ssize_t n = options_.write_function(fd, &iov, 1);
  if (n != static_cast<ssize_t>(bytes.size())) {
    return UnavailableError(path + ": writing the segment header failed: " + ErrnoText(n < 0 ? errno : EIO));
  }
  segment_bytes_ = bytes.size();
  if (options_.sync_function(fd) != 0) return UnavailableError(path + ": fdatasync failed: " + ErrnoText(errno));
  return SyncDirectory(folder_);
}

Status SegmentWriter::CheckRecordSize(size_t size) const {
  if (size == 0 || size > options_.max_record_bytes) {
    return InvalidArgumentError("audit record of " + std::to_string(size) + " bytes: the size must be 1 to " +
                                std::to_string(options_.max_record_bytes));
  }
  return OkStatus();
}

std::future<StatusOr<AppendResult>> SegmentWriter::Append(std::string record) {
  std::promise<StatusOr<AppendResult>> promise;
  std::future<StatusOr<AppendResult>> future = promise.get_future();
  Status size = CheckRecordSize(record.size());
  if (!size.ok()) {
    promise.set_value(size);
    return future;
  }
  std::lock_guard<std::mutex> lock(mutex_);
  EnqueueLocked(std::move(record), std::move(promise));
  return future;
}

std::future<StatusOr<AppendResult>> SegmentWriter::AppendBuilt(const RecordBuilder& build) {
  std::promise<StatusOr<AppendResult>> promise;
  std::future<StatusOr<AppendResult>> future = promise.get_future();
  std::lock_guard<std::mutex> lock(mutex_);
  if (!failure_.ok()) {
    EnqueueLocked({}, std::move(promise));  // reports the failure
    return future;
  }
  StatusOr<std::string> record = build(next_sequence_);
  Status valid = record.ok() ? CheckRecordSize(record->size()) : record.status();
  if (!valid.ok()) {
    promise.set_value(valid);
    return future;
  }
  EnqueueLocked(std::move(record).value(), std::move(promise));
  return future;
}

void SegmentWriter::EnqueueLocked(std::string record, std::promise<StatusOr<AppendResult>> promise) {
  if (!failure_.ok()) {
    promise.set_value(UnavailableError("audit folder " + folder_ + ": writer failed earlier (" +
                                       failure_.message() + "); call Recover"));
    return;
  }
  Pending pending;
  pending.result.sequence = next_sequence_++;
  pending.result.chain_hash = NextChainHash(head_chain_hash_, record);
  pending.result.leaf_hash = LeafHash(record);
  head_chain_hash_ = pending.result.chain_hash;
  merkle_.Append(pending.result.leaf_hash);
  pending.appended_at = options_.clock();
  AppendFrame(record, pending.frame);
  if (options_.durability == SegmentDurability::kBatched) {
    promise.set_value(pending.result);
    queue_.push_back(std::move(pending));
    // A batched record wakes the writer only when it starts a window (so that
    // the writer arms its timer) or closes one. Waking it for every record
    // would cost a thread switch per request.
    if (queue_.size() == 1 || BatchDueLocked()) wake_writer_.notify_one();
    return;
  }
  pending.done = std::move(promise);
  queue_.push_back(std::move(pending));
  wake_writer_.notify_one();
}

bool SegmentWriter::BatchDueLocked() const {
  if (queue_.empty()) return false;
  // Only the queue: the unsynced count belongs to the writer thread. A
  // batched write is followed by its sync, so both windows start together.
  return queue_.size() >= options_.batch_max_records ||
         options_.clock() - queue_.front().appended_at >= options_.batch_max_delay;
}

Status SegmentWriter::Flush() {
  std::unique_lock<std::mutex> lock(mutex_);
  uint64_t ticket = ++flush_requests_;
  wake_writer_.notify_one();
  flushed_.wait(lock, [&] { return flushes_done_ >= ticket || !failure_.ok(); });
  return failure_;
}

Status SegmentWriter::status() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return failure_;
}

LogHead SegmentWriter::Head() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return {next_sequence_, head_chain_hash_, merkle_.Root()};
}

Status SegmentWriter::Recover(RecoveryReport* report) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (failure_.ok()) return OkStatus();
  // The writer thread touches the segment state only while no failure is
  // set, so this thread owns it here.
  Status loaded = LoadAndStartSegment(report, nullptr);
  if (!loaded.ok()) return loaded;
  failure_ = OkStatus();
  return OkStatus();
}

void SegmentWriter::Fail(Status error) {
  std::deque<Pending> dropped;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    failure_ = error;
    dropped.swap(queue_);
  }
  Status unavailable = UnavailableError("audit record not stored: " + error.message());
  for (Pending& pending : dropped) {
    if (options_.durability == SegmentDurability::kSync) pending.done.set_value(unavailable);
  }
  flushed_.notify_all();
}

Status SegmentWriter::SyncNow() {
  if (options_.sync_function(segment_fd_) != 0) {
    return UnavailableError(folder_ + "/" + SegmentFileName(segment_index_) + ": fdatasync failed: " +
                            ErrnoText(errno));
  }
  unsynced_records_ = 0;
  return OkStatus();
}

Status SegmentWriter::WriteGroup(std::deque<Pending>& group) {
  bool full = segment_bytes_ >= options_.max_segment_bytes;
  bool old = segment_bytes_ > kSegmentHeaderBytes &&
             options_.clock() - segment_started_ >= options_.max_segment_age;
  if (full || old) {
    if (unsynced_records_ > 0) MOAT_RETURN_IF_ERROR(SyncNow());
    MOAT_RETURN_IF_ERROR(StartSegment());
  }

  std::string bytes;
  for (const Pending& pending : group) bytes += pending.frame;
  size_t done = 0;
  while (done < bytes.size()) {
    struct iovec iov {bytes.data() + done, bytes.size() - done};
    ssize_t n = options_.write_function(segment_fd_, &iov, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      return UnavailableError(folder_ + "/" + SegmentFileName(segment_index_) +
                              ": write failed: " + ErrnoText(n < 0 ? errno : EIO));
    }
    done += static_cast<size_t>(n);
  }
  segment_bytes_ += bytes.size();
  if (unsynced_records_ == 0) oldest_unsynced_ = group.front().appended_at;
  unsynced_records_ += group.size();
  written_count_ += group.size();
  written_chain_hash_ = group.back().result.chain_hash;
  return OkStatus();
}

void SegmentWriter::WriterLoop() {
  const bool batched = options_.durability == SegmentDurability::kBatched;
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    auto has_work = [&] { return stopping_ || (failure_.ok() && (!queue_.empty() || flush_requests_ > flushes_done_)); };
    auto batch_due = [&] {
      return stopping_ || flush_requests_ > flushes_done_ || (failure_.ok() && BatchDueLocked());
    };
    if (batched && failure_.ok() && (!queue_.empty() || unsynced_records_ > 0)) {
      // The window's records wait here until it is full or old enough. The
      // timeout is in real time; the window's age is in options_.clock.
      if (queue_.empty()) {
        wake_writer_.wait_for(lock, options_.batch_max_delay, has_work);
      } else {
        while (!batch_due()) wake_writer_.wait_for(lock, options_.batch_max_delay);
      }
    } else {
      wake_writer_.wait(lock, has_work);
    }
    if (stopping_) return;
    if (!failure_.ok()) continue;

    // Everything queued now goes in one group, up to about one segment.
    std::deque<Pending> group;
    uint64_t group_bytes = 0;
    while (!queue_.empty() && (group.empty() || group_bytes < options_.max_segment_bytes)) {
      group_bytes += queue_.front().frame.size();
      group.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    uint64_t flush_ticket = queue_.empty() ? flush_requests_ : flushes_done_;
    lock.unlock();

    Status status = group.empty() ? OkStatus() : WriteGroup(group);
    bool window_full = unsynced_records_ >= options_.batch_max_records ||
                       (unsynced_records_ > 0 && options_.clock() - oldest_unsynced_ >= options_.batch_max_delay);
    bool sync = unsynced_records_ > 0 && (!batched || window_full || flush_ticket > flushes_done_);
    if (status.ok() && sync) status = SyncNow();
    if (!status.ok()) {
      // The failed state is set first, so a caller notified of the failure sees it in status().
      Fail(status);
      for (Pending& pending : group) {
        if (!batched) pending.done.set_value(UnavailableError("audit record not stored: " + status.message()));
      }
      lock.lock();
      continue;
    }
    if (!batched) {
      for (Pending& pending : group) pending.done.set_value(pending.result);
    }

    lock.lock();
    flushes_done_ = std::max(flushes_done_, flush_ticket);
    flushed_.notify_all();
  }
}

}  // namespace moat::audit
