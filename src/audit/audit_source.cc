#include "audit/audit_source.h"

#include <cstring>
#include <filesystem>
#include <system_error>

#include "audit/audit_archive.h"
#include "common/file.h"

namespace moat::audit {

namespace {

// Bounds on the small files, so that a damaged folder cannot exhaust memory.
constexpr size_t kMaxBaseBytes = 64 << 10;
constexpr size_t kMaxNodeKeyBytes = 64 << 10;
constexpr size_t kMaxCheckpointsBytes = size_t{1} << 30;
// NOTE: an archive is read whole into memory, so this also bounds memory use.
constexpr size_t kMaxArchiveBytes = size_t{16} << 30;

// Reads `path` when it exists. Errors: FAILED_PRECONDITION when it exists but cannot be read.
StatusOr<std::optional<std::string>> ReadOptionalFile(const std::string& path, size_t max_bytes) {
  std::error_code error;
  std::filesystem::file_status status = std::filesystem::symlink_status(path, error);
  if (status.type() == std::filesystem::file_type::not_found) return std::optional<std::string>();
  StatusOr<std::string> contents = ReadFile(path, max_bytes);
  if (!contents.ok()) return FailedPreconditionError(contents.status().message());
  return std::optional<std::string>(std::move(*contents));
}

}  // namespace

StatusOr<AuditSource> AuditSource::Open(const std::string& path) {
  AuditSource source;
  source.path_ = path;
  std::error_code error;
  std::filesystem::file_status status = std::filesystem::status(path, error);
  if (error) return FailedPreconditionError(path + ": cannot open the audit log: " + error.message());

  if (std::filesystem::is_directory(status)) {
    MOAT_ASSIGN_OR_RETURN(source.segments_, ListSegmentFiles(path));
    MOAT_ASSIGN_OR_RETURN(source.base_text_, ReadOptionalFile(path + "/" + std::string(kAuditBaseFile),
                                                              kMaxBaseBytes));
    MOAT_ASSIGN_OR_RETURN(source.checkpoints_text_,
                          ReadOptionalFile(path + "/" + std::string(kAuditCheckpointsFile), kMaxCheckpointsBytes));
    MOAT_ASSIGN_OR_RETURN(source.node_public_key_pem_,
                          ReadOptionalFile(path + "/" + std::string(kAuditNodeKeyFile), kMaxNodeKeyBytes));
    return source;
  }

  source.is_archive_ = true;
  StatusOr<std::string> data = ReadFile(path, kMaxArchiveBytes);
  if (!data.ok()) return FailedPreconditionError(data.status().message());
  MOAT_ASSIGN_OR_RETURN(std::vector<ArchiveMember> members, ParseUstarArchive(*data, path));
  for (ArchiveMember& member : members) {
    std::optional<uint64_t> index = SegmentIndexFromFileName(member.name);
    if (index) {
      source.segments_[*index] = std::move(member.data);
    } else if (member.name == kAuditBaseFile) {
      source.base_text_ = std::move(member.data);
    } else if (member.name == kAuditCheckpointsFile) {
      source.checkpoints_text_ = std::move(member.data);
    } else if (member.name == kAuditNodeKeyFile) {
      source.node_public_key_pem_ = std::move(member.data);
    } else {
      return DataLossError(path + ": archive member " + member.name + " is not a file of an audit log");
    }
  }
  return source;
}

std::vector<uint64_t> AuditSource::segment_indexes() const {
  std::vector<uint64_t> indexes;
  for (const auto& [index, unused] : segments_) indexes.push_back(index);
  return indexes;
}

std::string AuditSource::NameOf(std::string_view file_name) const {
  return path_ + (is_archive_ ? ":" : "/") + std::string(file_name);
}

StatusOr<std::string> AuditSource::ReadSegment(uint64_t index, uint64_t max_bytes) const {
  auto found = segments_.find(index);
  std::string name = NameOf(SegmentFileName(index));
  if (found == segments_.end()) return NotFoundError(name + ": segment not found");
  if (is_archive_) {
    if (found->second.size() > max_bytes) {
      return DataLossError(name + ": segment has " + std::to_string(found->second.size()) +
                           " bytes, over the maximum of " + std::to_string(max_bytes));
    }
    return found->second;
  }
  std::error_code error;
  uint64_t size = std::filesystem::file_size(found->second, error);
  if (error) return FailedPreconditionError(name + ": cannot read segment: " + error.message());
  if (size > max_bytes) {
    return DataLossError(name + ": segment has " + std::to_string(size) + " bytes, over the maximum of " +
                         std::to_string(max_bytes));
  }
  StatusOr<std::string> data = ReadFile(found->second, max_bytes);
  if (!data.ok()) return FailedPreconditionError(data.status().message());
  return std::move(*data);
}

StatusOr<AuditScan> ScanAuditSegments(const AuditSource& source, const AuditRecordCallback& on_record,
                                      const SegmentReaderOptions& options) {
  AuditScan scan;
  if (source.base_text()) {
    MOAT_ASSIGN_OR_RETURN(scan.base, ParseAuditBase(*source.base_text(), source.NameOf(kAuditBaseFile)));
    MOAT_ASSIGN_OR_RETURN(scan.merkle, MerkleFrontier::Restore(scan.base->sequence, scan.base->frontier));
    scan.first_sequence = scan.base->sequence;
    scan.chain_hash = scan.base->chain_hash;
  }
  std::vector<uint64_t> indexes = source.segment_indexes();
  uint64_t expected_index = scan.base ? scan.base->segment_index : 1;
  if (indexes.empty()) {
    if (scan.base) {
      return DataLossError(source.NameOf(kAuditBaseFile) + ": names " + SegmentFileName(expected_index) +
                           " as the first segment, but no segment is present");
    }
    return scan;
  }
  scan.record_count = scan.first_sequence;

  for (uint64_t index : indexes) {
    // Segments below the base are leftovers of a pruning that a crash cut
    // short: the base was written first, so they are no longer part of the log.
    if (scan.base && index < scan.base->segment_index) continue;
    std::string name = source.NameOf(SegmentFileName(index));
    if (index != expected_index) {
      std::string reason = index > expected_index && expected_index == 1 && !scan.base
                               ? " is the first segment present, but there is no base file, so " +
                                     SegmentFileName(1) + " is expected"
                               : ": expected " + SegmentFileName(expected_index) + " before it, which is missing";
      return DataLossError(name + reason);
    }
    bool last = index == indexes.back();
    MOAT_ASSIGN_OR_RETURN(std::string data, source.ReadSegment(index, options.max_segment_bytes));

    SegmentSummary summary;
    summary.index = index;
    summary.first_sequence = scan.record_count;
    summary.previous_chain_hash = scan.chain_hash;
    summary.frontier = scan.merkle.subtree_roots();
    // ScanSegment validates the header before the first record, so the
    // callback never receives a log id from a header that fails the checks.
    LogId segment_log_id{};
    if (data.size() >= kSegmentHeaderBytes) std::memcpy(segment_log_id.data(), data.data() + 12, segment_log_id.size());
    Status callback_error;
    auto visit = [&](const SegmentRecordView& record) {
      MerkleHash leaf = LeafHash(record.bytes);
      scan.merkle.Append(leaf);
      if (on_record && callback_error.ok()) {
        callback_error = on_record(AuditRecordView{segment_log_id, record.sequence, record.bytes, leaf, &scan.merkle});
      }
    };
    SegmentExpectation expected{scan.log_id, index, scan.record_count, scan.chain_hash};
    StatusOr<SegmentScan> segment = ScanSegment(name, data, expected, options, visit);
    MOAT_RETURN_IF_ERROR(callback_error);
    if (!segment.ok()) {
      // A crash while a new segment's header was written leaves a short file.
      if (last && data.size() < kSegmentHeaderBytes) {
        scan.torn_name = name;
        scan.torn_bytes = data.size();
        break;
      }
      return segment.status();
    }
    if (segment->torn_bytes > 0 && !last) {
      return DataLossError(name + ": record " + std::to_string(scan.record_count + segment->record_count) +
                           " at byte offset " + std::to_string(segment->valid_bytes) +
                           " is incomplete or damaged, but later segments follow");
    }
    if (segment->torn_bytes > 0) {
      scan.torn_name = name;
      scan.torn_bytes = segment->torn_bytes;
    }
    scan.log_id = segment->header.log_id;
    scan.record_count += segment->record_count;
    scan.chain_hash = segment->chain_hash;
    summary.record_count = segment->record_count;
    summary.valid_bytes = segment->valid_bytes;
    scan.segments.push_back(std::move(summary));
    ++expected_index;
  }
  return scan;
}

StatusOr<CheckpointsFile> ParseCheckpointsFile(std::string_view text, std::string_view name) {
  CheckpointsFile file;
  size_t start = 0;
  for (size_t line_number = 1; start < text.size(); ++line_number) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) {
      file.torn_bytes = text.size() - start;
      break;
    }
    std::string_view line = text.substr(start, end - start);
    StatusOr<Checkpoint> checkpoint = CheckpointFromLine(line);
    if (!checkpoint.ok()) {
      return DataLossError(std::string(name) + ": line " + std::to_string(line_number) + ": " +
                           checkpoint.status().message());
    }
    file.checkpoints.push_back(std::move(*checkpoint));
    file.lines.emplace_back(line);
    start = end + 1;
  }
  return file;
}

}  // namespace moat::audit
