#include "audit/audit_export.h"

#include <chrono>
#include <limits>

#include "audit/audit_archive.h"
#include "audit/log_reader.h"
#include "common/file.h"

namespace moat::audit {

namespace {

// Returns the position in `segments` of the segment that contains record `sequence`.
size_t SegmentOf(const std::vector<SegmentSummary>& segments, uint64_t sequence) {
  for (size_t i = 0; i < segments.size(); ++i) {
    if (sequence < segments[i].first_sequence + segments[i].record_count) return i;
  }
  return segments.size() - 1;
}

}  // namespace

StatusOr<ExportSummary> ExportAuditLog(const AuditSource& source, uint64_t first, uint64_t last,
                                       const std::string& out_path) {
  if (first > last) {
    return InvalidArgumentError("the range starts at record " + std::to_string(first) + ", after its end at record " +
                                std::to_string(last));
  }
  MOAT_ASSIGN_OR_RETURN(AuditScan scan, ScanAuditSegments(source));
  if (first < scan.first_sequence || last >= scan.record_count) {
    return OutOfRangeError("records " + std::to_string(first) + " to " + std::to_string(last) + " are not all in " +
                           source.path() + ", which contains records " + std::to_string(scan.first_sequence) +
                           " to " + std::to_string(scan.record_count) + " (exclusive)");
  }

  // Extend the range to the first checkpoint that covers it, so that the
  // archive proves its records with a signature of its own.
  const std::string checkpoints_name = source.NameOf(kAuditCheckpointsFile);
  CheckpointsFile checkpoints;
  if (source.checkpoints_text()) {
    MOAT_ASSIGN_OR_RETURN(checkpoints, ParseCheckpointsFile(*source.checkpoints_text(), checkpoints_name));
  }
  size_t kept_checkpoints = checkpoints.checkpoints.size();
  uint64_t end = scan.record_count;
  for (size_t i = 0; i < checkpoints.checkpoints.size(); ++i) {
    uint64_t size = checkpoints.checkpoints[i].fields.tree_size;
    if (size > last) {
      if (size > scan.record_count) {
        return DataLossError(checkpoints_name + ": line " + std::to_string(i + 1) + ": checkpoint of size " +
                             std::to_string(size) + " covers more records than the log contains (" +
                             std::to_string(scan.record_count) + ")");
      }
      kept_checkpoints = i + 1;
      end = size;
      break;
    }
  }

  size_t begin_segment = SegmentOf(scan.segments, first);
  size_t end_segment = SegmentOf(scan.segments, end - 1);
  std::vector<ArchiveMember> members;
  const SegmentSummary& head = scan.segments[begin_segment];
  ExportSummary summary;
  summary.first_segment = head.index;
  summary.last_segment = scan.segments[end_segment].index;
  summary.first_sequence = head.first_sequence;
  summary.record_count = scan.segments[end_segment].first_sequence + scan.segments[end_segment].record_count;
  summary.checkpoint_count = kept_checkpoints;
  if (head.index != 1) {
    AuditBase base{head.index, head.first_sequence, head.previous_chain_hash, head.frontier};
    members.push_back({std::string(kAuditBaseFile), EncodeAuditBase(base)});
    summary.has_base = true;
  }
  std::string checkpoint_lines;
  for (size_t i = 0; i < kept_checkpoints; ++i) checkpoint_lines += checkpoints.lines[i] + "\n";
  members.push_back({std::string(kAuditCheckpointsFile), std::move(checkpoint_lines)});
  if (source.node_public_key_pem()) {
    members.push_back({std::string(kAuditNodeKeyFile), *source.node_public_key_pem()});
  }
  SegmentReaderOptions reader;
  for (size_t i = begin_segment; i <= end_segment; ++i) {
    const SegmentSummary& segment = scan.segments[i];
    MOAT_ASSIGN_OR_RETURN(std::string data, source.ReadSegment(segment.index, reader.max_segment_bytes));
    data.resize(segment.valid_bytes);  // leaves out a torn tail
    members.push_back({SegmentFileName(segment.index), std::move(data)});
  }

  int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                    std::chrono::system_clock::now().time_since_epoch()).count();
  MOAT_ASSIGN_OR_RETURN(std::string archive, EncodeUstarArchive(members, now));
  MOAT_RETURN_IF_ERROR(WriteFileAtomic(out_path, archive, 0600, /*replace=*/false));
  return summary;
}

StatusOr<SequenceRange> FindTimeRange(const AuditSource& source, const MasterKeyProvider& keys,
                                      std::optional<int64_t> since, std::optional<int64_t> until) {
  std::optional<uint64_t> first;
  std::optional<uint64_t> last;
  MOAT_RETURN_IF_ERROR(ReadAuditRecords(source, keys, [&](const OpenedRecord& record) {
    const RecordSummary& summary = record.summary;
    if (!first && (!since || summary.time_micros >= *since)) first = summary.sequence;
    if (!until || summary.time_micros <= *until) last = summary.sequence;
    return OkStatus();
  }));
  if (!first || !last || *first > *last) {
    return NotFoundError("no record of " + source.path() + " has a time in the range given");
  }
  return SequenceRange{*first, *last};
}

}  // namespace moat::audit
