#include "audit/audit_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <utility>
#include <vector>

#include "audit/audit_base.h"
#include "audit/audit_source.h"
#include "audit/record.h"
#include "audit/segment.h"
#include "common/crypto.h"
#include "common/file.h"

namespace moat::audit {

namespace {

// A checkpoints file line: base64 of the 211 bytes, then '\n'.
constexpr uint64_t kCheckpointLineBytes = (kCheckpointBytes + 2) / 3 * 4 + 1;

// How often the checkpoint thread looks at the time rule, at most.
constexpr std::chrono::milliseconds kCheckpointTick{100};

std::string ErrnoText(int err) { return std::strerror(err); }

std::string Hint() {
  return ". Keep the folder as evidence, move it aside, and start with an empty folder; "
         "`moat audit verify` tells what is wrong";
}

// Creates `folder` with mode 0700 when it is missing.
Status EnsureFolder(const std::string& folder) {
  if (::mkdir(folder.c_str(), 0700) != 0 && errno != EEXIST) {
    return FailedPreconditionError("audit folder " + folder + ": cannot create: " + ErrnoText(errno));
  }
  struct stat st {};
  if (::lstat(folder.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return FailedPreconditionError("audit folder " + folder + ": not a directory");
  }
  return OkStatus();
}

// Writes node.pub when missing; otherwise requires that it names `key`, so
// that one folder's checkpoints are all signed by one node key.
Status CheckNodePublicKey(const std::string& folder, const bundle::PrivateKey& key) {
  std::string path = folder + "/" + std::string(kAuditNodeKeyFile);
  MOAT_ASSIGN_OR_RETURN(std::string pem, key.public_key().ToPem());
  if (!std::filesystem::exists(std::filesystem::symlink_status(path))) {
    return WriteFileAtomic(path, pem, 0644, /*replace=*/false);
  }
  MOAT_ASSIGN_OR_RETURN(std::string stored, ReadFile(path, 64 << 10));
  MOAT_ASSIGN_OR_RETURN(bundle::PublicKey stored_key, bundle::PublicKey::FromPem(stored, path));
  if (stored_key.raw() != key.public_key().raw()) {
    return FailedPreconditionError("audit folder " + folder + ": its checkpoints are signed by node key " +
                                   stored_key.key_id() + " (" + path + "), not by the configured node key " +
                                   key.key_id() + ". Pass that key (moat serve --node-key), or start a new audit folder");
  }
  return OkStatus();
}

struct OpenCheckpointsFile {
  int fd = -1;
  uint64_t count = 0;
  std::optional<Checkpoint> last;
};

// Opens the checkpoints file, cuts a torn last line and reads the last
// checkpoint, whose signature must be the node key's.
StatusOr<OpenCheckpointsFile> OpenCheckpoints(const std::string& folder, const bundle::PublicKey& key) {
  std::string path = folder + "/" + std::string(kAuditCheckpointsFile);
  int fd = ::open(path.c_str(), O_RDWR | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return FailedPreconditionError(path + ": cannot open: " + ErrnoText(errno));
  OpenCheckpointsFile file;
  file.fd = fd;
  auto fail = [&](Status status) {
    ::close(fd);
    return status;
  };
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return fail(FailedPreconditionError(path + ": not a regular file"));
  uint64_t size = static_cast<uint64_t>(st.st_size);
  if (size % kCheckpointLineBytes != 0) {
    // Lines have one length, so a remainder is a line torn by a crash while
    // it was written; its checkpoint was never acknowledged.
    uint64_t whole = size - size % kCheckpointLineBytes;
    spdlog::warn("{}: cutting a torn last line of {} bytes", path, size - whole);
    if (::ftruncate(fd, static_cast<off_t>(whole)) != 0 || ::fdatasync(fd) != 0) {
      return fail(UnavailableError(path + ": cannot cut the torn last line: " + ErrnoText(errno)));
    }
    size = whole;
  }
  file.count = size / kCheckpointLineBytes;
  if (file.count == 0) return file;

  std::string line(kCheckpointLineBytes, '\0');
  ssize_t n = ::pread(fd, line.data(), line.size(), static_cast<off_t>(size - kCheckpointLineBytes));
  if (n != static_cast<ssize_t>(line.size())) return fail(UnavailableError(path + ": cannot read the last line"));
  std::string where = path + " line " + std::to_string(file.count);
  StatusOr<Checkpoint> last = CheckpointFromLine(line);
  if (!last.ok()) return fail(DataLossError(where + ": " + last.status().message() + Hint()));
  Status signed_ok = VerifyCheckpoint(*last, key);
  if (signed_ok.code() == StatusCode::kPermissionDenied) {
    return fail(FailedPreconditionError(where + ": signed by another node key (" + signed_ok.message() +
                                        "). Use that key, or start a new audit folder"));
  }
  if (!signed_ok.ok()) return fail(DataLossError(where + ": " + signed_ok.message() + Hint()));
  file.last = std::move(last).value();
  return file;
}

struct FolderStart {
  AuditBase base;  // segment 1 and record 0 when the folder has no base file
  MerkleFrontier frontier;
};

// Reads where the folder starts: segment 1, or the base of a pruning.
StatusOr<FolderStart> ReadFolderStart(const std::string& folder) {
  FolderStart start;
  MOAT_ASSIGN_OR_RETURN(std::optional<AuditBase> base, ReadAuditBaseFile(folder));
  if (!base) return start;
  start.base = std::move(*base);
  MOAT_ASSIGN_OR_RETURN(start.frontier, MerkleFrontier::Restore(start.base.sequence, start.base.frontier));
  return start;
}

// Checks, while SegmentWriter::Open scans the folder, that the records on
// disk still give the latest checkpoint's root: none of the first tree-size
// records was changed, removed or replaced by an older copy.
class CheckpointMatch {
 public:
  // `number` is the count of checkpoints, so the latest is number - 1.
  CheckpointMatch(std::string folder, const Checkpoint& checkpoint, uint64_t number, FolderStart start)
      : folder_(std::move(folder)), checkpoint_(checkpoint), number_(number), frontier_(std::move(start.frontier)) {
    if (size() == frontier_.size()) root_ = frontier_.Root();
  }

  uint64_t size() const { return checkpoint_.fields.tree_size; }

  // Retention deletes only checkpointed records, so the latest checkpoint
  // never lies before the start of the folder.
  Status CheckStart() const {
    if (size() >= frontier_.size()) return OkStatus();
    return DataLossError("audit folder " + folder_ + ": starts at record " + std::to_string(frontier_.size()) +
                         " but checkpoint " + std::to_string(number_ - 1) + " (the latest) covers only " +
                         std::to_string(size()));
  }

  void OnRecord(const SegmentRecordView& record) {
    if (frontier_.size() >= size()) return;
    frontier_.Append(LeafHash(record.bytes));
    if (frontier_.size() == size()) root_ = frontier_.Root();
  }

  Status Check(const SegmentLogScan& scan) const {
    // Numbered from 0, as `moat audit verify` numbers them; line numbers count from 1.
    std::string name = "checkpoint " + std::to_string(number_ - 1) + " (line " + std::to_string(number_) +
                       " of " + std::string(kAuditCheckpointsFile) + ", the latest, " + std::to_string(size()) +
                       " records)";
    std::string torn;
    if (scan.torn_bytes > 0) {
      torn = " (" + scan.torn_path + " ends in " + std::to_string(scan.torn_bytes) +
             " bytes that are not a valid record: a cut or changed last record)";
    }
    if (scan.log_id && *scan.log_id != checkpoint_.fields.log_id) {
      return DataLossError("audit folder " + folder_ + ": the segments belong to log " + HexEncode(*scan.log_id) +
                           " but " + name + " to log " + HexEncode(checkpoint_.fields.log_id));
    }
    if (scan.record_count < size()) {
      return DataLossError("audit folder " + folder_ + ": contains " + std::to_string(scan.record_count) +
                           " valid records" + torn + " but " + name +
                           " covers more: records were removed, cut or changed, or an older segment was restored");
    }
    if (!root_ || *root_ != checkpoint_.fields.root) {
      return DataLossError("audit folder " + folder_ + ": the first " + std::to_string(size()) +
                           " records do not give the root of " + name +
                           ": a record was changed or an older segment was restored");
    }
    return OkStatus();
  }

 private:
  const std::string folder_;
  const Checkpoint& checkpoint_;
  const uint64_t number_;
  MerkleFrontier frontier_;
  std::optional<MerkleHash> root_;
};

std::string RecoveryDetails(const RecoveryReport& report, uint64_t failed_appends, const std::string& error) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  writer.StartObject();
  writer.Key("path");
  std::string path = ToValidUtf8(report.path);
  writer.String(path.data(), static_cast<rapidjson::SizeType>(path.size()));
  writer.Key("cut_bytes");
  writer.Uint64(report.cut_bytes);
  writer.Key("cut_records");
  writer.Uint64(report.cut_records);
  writer.Key("records_kept");
  writer.Uint64(report.records);
  if (!error.empty()) {
    writer.Key("failed_appends");
    writer.Uint64(failed_appends);
    writer.Key("write_error");
    std::string valid = ToValidUtf8(error);
    writer.String(valid.data(), static_cast<rapidjson::SizeType>(valid.size()));
  }
  writer.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

std::string ResponseSignatureMessage(const AuditReceipt& receipt, std::string_view output_digest) {
  std::string message(kResponseSignatureMagic);
  message += FormatReceipt(receipt);
  message += '\n';
  message += output_digest;
  return message;
}

}  // namespace

StatusOr<std::unique_ptr<AuditLog>> AuditLog::Open(AuditLogOptions options) {
  if (!options.keys) return InvalidArgumentError("audit log: no master key provider for sealing records");
  if (!options.signing_key) return InvalidArgumentError("audit log: no node key for signing checkpoints");
  if (options.folder.empty()) return InvalidArgumentError("audit log: the folder is empty");
  MOAT_RETURN_IF_ERROR(EnsureFolder(options.folder));
  MOAT_RETURN_IF_ERROR(CheckNodePublicKey(options.folder, *options.signing_key));
  MOAT_ASSIGN_OR_RETURN(OpenCheckpointsFile checkpoints,
                        OpenCheckpoints(options.folder, options.signing_key->public_key()));
  // The writer's scan of the folder also checks the records against the
  // latest checkpoint, so a start reads each segment once.
  std::optional<CheckpointMatch> match;
  SegmentLoadObserver observer;
  if (checkpoints.last) {
    StatusOr<FolderStart> start = ReadFolderStart(options.folder);
    Status started = start.ok() ? OkStatus() : start.status();
    if (started.ok()) {
      match.emplace(options.folder, *checkpoints.last, checkpoints.count, std::move(start).value());
      started = match->CheckStart();
    }
    if (!started.ok()) {
      ::close(checkpoints.fd);
      return started.code() == StatusCode::kDataLoss ? DataLossError(started.message() + Hint()) : started;
    }
    observer.on_record = [&match](const SegmentRecordView& record) { match->OnRecord(record); };
    observer.check = [&match](const SegmentLogScan& scan) { return match->Check(scan); };
  }

  SegmentWriterOptions writer_options;
  writer_options.durability =
      options.durability == AuditDurability::kSync ? SegmentDurability::kSync : SegmentDurability::kBatched;
  writer_options.batch_max_records = options.batch_max_records;
  writer_options.batch_max_delay = options.batch_max_delay;
  writer_options.max_segment_bytes = options.max_segment_bytes;
  writer_options.max_segment_age = options.max_segment_age;
  writer_options.write_function = options.write_function;
  writer_options.sync_function = options.sync_function;
  RecoveryReport report;
  StatusOr<std::unique_ptr<SegmentWriter>> writer =
      SegmentWriter::Open(options.folder, writer_options, &report, observer);
  if (!writer.ok()) {
    ::close(checkpoints.fd);
    if (writer.status().code() == StatusCode::kDataLoss) return DataLossError(writer.status().message() + Hint());
    return writer.status();
  }
  std::unique_ptr<AuditLog> log(new AuditLog(std::move(options), std::move(writer).value(), checkpoints.fd,
                                             std::move(checkpoints.last), checkpoints.count));
  if (report.cut_bytes > 0) {
    spdlog::warn("audit log {}: cut a torn tail of {} bytes from {}", log->folder(), report.cut_bytes, report.path);
    AuditEvent recovered;
    recovered.type = record_type::kLogRecovered;
    recovered.details = RecoveryDetails(report, 0, "");
    MOAT_RETURN_IF_ERROR(log->Append(recovered).status());
  }
  return log;
}

AuditLog::AuditLog(AuditLogOptions options, std::unique_ptr<SegmentWriter> writer, int checkpoints_fd,
                   std::optional<Checkpoint> last_checkpoint, uint64_t checkpoint_count)
    : options_(std::move(options)),
      writer_(std::move(writer)),
      cipher_(std::make_unique<RecordCipher>(*options_.keys, writer_->log_id())),
      checkpoints_fd_(checkpoints_fd),
      last_checkpoint_(std::move(last_checkpoint)),
      checkpoint_count_(checkpoint_count),
      checkpointed_records_(last_checkpoint_ ? last_checkpoint_->fields.tree_size : 0) {
  checkpoint_thread_ = std::thread([this] { CheckpointLoop(); });
}

AuditLog::~AuditLog() {
  Status closed = Close();
  if (!closed.ok()) spdlog::error("audit log {}: closing failed: {}", folder(), closed.ToString());
  ::close(checkpoints_fd_);
}

int64_t AuditLog::NowMicros() const { return options_.unix_micros ? options_.unix_micros() : NowUnixMicros(); }

StatusOr<AuditReceipt> AuditLog::Append(const AuditEvent& event) {
  if (closed_.load()) return FailedPreconditionError("audit log " + folder() + ": closed");
  StatusOr<AuditReceipt> receipt = AppendOnce(event);
  if (receipt.ok() || receipt.status().code() != StatusCode::kUnavailable) return receipt;
  if (TryResume()) receipt = AppendOnce(event);
  if (!receipt.ok()) {
    failed_appends_.fetch_add(1);
    failed_since_resume_.fetch_add(1);
  }
  return receipt;
}

StatusOr<AuditReceipt> AuditLog::AppendOnce(const AuditEvent& event) {
  if (event.type.empty()) return InvalidArgumentError("audit event: the type is empty");
  const std::string rest = EncodeRecordRest(event, FormatRecordTime(NowMicros()), options_.host);
  if (rest.size() > kMaxRecordPlaintextBytes) {
    return InvalidArgumentError("audit event of type '" + event.type + "': the record would be " +
                                std::to_string(rest.size()) + " bytes, over the limit of " +
                                std::to_string(kMaxRecordPlaintextBytes));
  }
  const LogId& id = writer_->log_id();
  auto done = writer_->AppendBuilt(
      [&](uint64_t sequence) -> StatusOr<std::string> { return cipher_->Seal(sequence, RecordPrefix(sequence) + rest); });
  MOAT_ASSIGN_OR_RETURN(AppendResult appended, done.get());

  uint64_t every = options_.checkpoint_every_records;
  // One wake-up per due checkpoint: the flag is cleared when it is emitted.
  if (every > 0 && appended.sequence + 1 - checkpointed_records_.load() >= every &&
      !checkpoint_wake_sent_.exchange(true)) {
    loop_wake_.notify_one();
  }
  return AuditReceipt{id, appended.sequence, appended.leaf_hash};
}

bool AuditLog::TryResume() {
  std::lock_guard lock(resume_mutex_);
  auto now = std::chrono::steady_clock::now();
  Status failure = writer_->status();
  if (failure.ok()) return true;  // another caller resumed it
  if (last_resume_attempt_.time_since_epoch().count() != 0 && now - last_resume_attempt_ < options_.resume_interval) {
    return false;
  }
  last_resume_attempt_ = now;
  RecoveryReport report;
  Status recovered = writer_->Recover(&report);
  if (!recovered.ok()) {
    spdlog::error("audit log {}: still not writable: {}", folder(), recovered.ToString());
    return false;
  }
  uint64_t failed = failed_since_resume_.exchange(0);
  spdlog::warn("audit log {}: writable again after {} failed appends ({})", folder(), failed, failure.message());
  AuditEvent event;
  event.type = record_type::kAuditFailure;
  event.outcome = std::string(StatusCodeName(failure.code()));
  event.error = failure.message();
  event.details = RecoveryDetails(report, failed, failure.message());
  StatusOr<AuditReceipt> noted = AppendOnce(event);
  if (!noted.ok()) {
    spdlog::error("audit log {}: cannot record the failure: {}", folder(), noted.status().ToString());
    return false;
  }
  return true;
}

Status AuditLog::CheckpointNow() {
  MOAT_RETURN_IF_ERROR(EmitCheckpoint(/*forced=*/true));
  return PruneExpiredSegments();
}

Status AuditLog::PruneExpiredSegments() {
  if (options_.retention.count() <= 0) return OkStatus();
  std::lock_guard lock(checkpoint_mutex_);
  const std::string& dir = folder();
  MOAT_ASSIGN_OR_RETURN(auto segments, ListSegmentFiles(dir));

  MOAT_ASSIGN_OR_RETURN(FolderStart start, ReadFolderStart(dir));
  const AuditBase& base = start.base;
  MerkleFrontier frontier = start.frontier;
  const std::string base_path = dir + "/" + std::string(kAuditBaseFile);
  std::erase_if(segments, [&](const auto& entry) { return entry.first < base.segment_index; });
  if (segments.size() < 2) return OkStatus();

  const uint64_t covered = checkpointed_records_.load();
  const auto oldest_kept = std::filesystem::file_time_type::clock::now() - options_.retention;
  std::error_code error;
  std::vector<std::string> expired;
  SegmentExpectation expected{writer_->log_id(), base.segment_index, base.sequence, base.chain_hash};
  for (auto it = segments.begin(); std::next(it) != segments.end(); ++it) {
    if (it->first != expected.index) break;
    auto modified = std::filesystem::last_write_time(it->second, error);
    if (error || modified > oldest_kept) break;
    MerkleFrontier next = frontier;
    StatusOr<SegmentScan> scan = ReadSegmentFile(it->second, expected, {}, [&](const SegmentRecordView& record) {
      next.Append(LeafHash(record.bytes));
    });
    if (!scan.ok()) return scan.status();
    // Only records that a signed checkpoint covers may go.
    if (next.size() > covered || scan->torn_bytes > 0) break;
    frontier = std::move(next);
    expired.push_back(it->second);
    expected = {writer_->log_id(), it->first + 1, frontier.size(), scan->chain_hash};
  }
  if (expired.empty()) return OkStatus();

  AuditBase pruned{expected.index, expected.first_sequence, expected.previous_chain_hash, frontier.subtree_roots()};
  MOAT_RETURN_IF_ERROR(WriteFileAtomic(base_path, EncodeAuditBase(pruned), 0600));
  for (const std::string& path : expired) {
    if (::unlink(path.c_str()) != 0) return UnavailableError(path + ": cannot delete: " + ErrnoText(errno));
  }
  spdlog::info("audit log {}: retention deleted {} segment(s), records {} to {}", dir, expired.size(), base.sequence,
               pruned.sequence - 1);
  AuditEvent event;
  event.type = record_type::kLogPruned;
  event.details = "{\"segments\":" + std::to_string(expired.size()) + ",\"first_segment\":" +
                  std::to_string(base.segment_index) + ",\"first_record\":" + std::to_string(base.sequence) +
                  ",\"records_deleted\":" + std::to_string(pruned.sequence - base.sequence) +
                  ",\"retention_s\":" + std::to_string(options_.retention.count()) + "}";
  return AppendOnce(event).status();
}

Status AuditLog::EmitCheckpoint(bool forced) {
  std::lock_guard lock(checkpoint_mutex_);
  LogHead head = writer_->Head();
  if (last_checkpoint_ && last_checkpoint_->fields.tree_size == head.record_count) return OkStatus();
  if (!forced && head.record_count == 0) return OkStatus();
  // Everything Head counted is queued, so after Flush it is all durable: a
  // checkpoint never covers a record that a crash could still take away.
  MOAT_RETURN_IF_ERROR(writer_->Flush());

  CheckpointFields fields;
  fields.log_id = writer_->log_id();
  fields.tree_size = head.record_count;
  fields.root = head.merkle_root;
  // Checkpoint times never go back, even when the system clock does.
  fields.time_ms = NowMicros() / 1000;
  if (last_checkpoint_) {
    fields.time_ms = std::max(fields.time_ms, last_checkpoint_->fields.time_ms);
    fields.previous_hash = CheckpointHash(*last_checkpoint_);
  }
  MOAT_ASSIGN_OR_RETURN(Checkpoint checkpoint, SignCheckpoint(fields, *options_.signing_key));
  // NOTE: retention leaves this file whole. At one checkpoint per 5 s of
  // traffic it grows by about 5 MB a day.
  std::string line = CheckpointToLine(checkpoint) + "\n";

  const std::string path = folder() + "/" + std::string(kAuditCheckpointsFile);
  std::string_view rest = line;
  while (!rest.empty()) {
    ssize_t n = ::write(checkpoints_fd_, rest.data(), rest.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int err = n < 0 ? errno : EIO;
      // Take back a partial line, so that the next checkpoint starts a line.
      if (::ftruncate(checkpoints_fd_, static_cast<off_t>(checkpoint_count_.load() * kCheckpointLineBytes)) != 0) {
        spdlog::error("{}: cannot cut a partial line: {}", path, ErrnoText(errno));
      }
      return UnavailableError(path + ": write failed: " + ErrnoText(err));
    }
    rest.remove_prefix(static_cast<size_t>(n));
  }
  if (::fdatasync(checkpoints_fd_) != 0) return UnavailableError(path + ": fdatasync failed: " + ErrnoText(errno));
  last_checkpoint_ = std::move(checkpoint);
  checkpoint_count_.fetch_add(1);
  checkpointed_records_.store(fields.tree_size);
  checkpoint_wake_sent_.store(false);
  return OkStatus();
}

void AuditLog::CheckpointLoop() {
  CheckpointPolicy policy(options_.checkpoint_every_records, options_.checkpoint_every.count(),
                          [this] { return NowMicros() / 1000; });
  policy.MarkEmitted(checkpointed_records_.load());
  std::chrono::milliseconds tick = kCheckpointTick;
  if (options_.checkpoint_every.count() > 0) tick = std::min(tick, options_.checkpoint_every);
  std::unique_lock lock(loop_mutex_);
  while (!stopping_) {
    loop_wake_.wait_for(lock, tick);
    if (stopping_) break;
    lock.unlock();
    uint64_t size = writer_->Head().record_count;
    if (policy.Due(size)) {
      Status emitted = EmitCheckpoint(/*forced=*/false);
      if (emitted.ok()) {
        policy.MarkEmitted(checkpointed_records_.load());
        Status pruned = PruneExpiredSegments();
        if (!pruned.ok()) spdlog::error("audit log {}: retention failed: {}", folder(), pruned.ToString());
      } else {
        spdlog::error("audit log {}: checkpoint failed: {}", folder(), emitted.ToString());
      }
    }
    lock.lock();
  }
}

Status AuditLog::Close() {
  if (closed_.exchange(true)) return OkStatus();
  {
    std::lock_guard lock(loop_mutex_);
    stopping_ = true;
  }
  loop_wake_.notify_all();
  if (checkpoint_thread_.joinable()) checkpoint_thread_.join();
  return EmitCheckpoint(/*forced=*/true);
}

StatusOr<std::string> AuditLog::SignResponse(const AuditReceipt& receipt, std::string_view output_digest) const {
  return options_.signing_key->Sign(ResponseSignatureMessage(receipt, output_digest));
}

AuditLogStats AuditLog::stats() const {
  AuditLogStats stats;
  stats.records = writer_->Head().record_count;
  stats.failed_appends = failed_appends_.load();
  stats.checkpoints = checkpoint_count_.load();
  stats.checkpointed_records = checkpointed_records_.load();
  stats.writable = writer_->status().ok();
  return stats;
}

Status VerifyResponseSignature(const bundle::PublicKey& key, const AuditReceipt& receipt,
                               std::string_view output_digest, std::string_view signature) {
  if (!key.Verify(ResponseSignatureMessage(receipt, output_digest), signature)) {
    return DataLossError("response signature does not match receipt " + FormatReceipt(receipt) +
                         " and output digest '" + std::string(output_digest) + "' under node key " + key.key_id());
  }
  return OkStatus();
}

}  // namespace moat::audit
