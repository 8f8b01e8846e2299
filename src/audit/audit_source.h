// Read-only access to an audit log as a reader finds it: an audit folder or
// an export archive (audit_archive.h) with the same files. Structural checks
// of the segments live here; signatures and checkpoint roots are checked by
// log_reader.h.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "audit/audit_base.h"
#include "audit/checkpoint.h"
#include "audit/merkle.h"
#include "audit/segment.h"
#include "common/status.h"

namespace moat::audit {

inline constexpr std::string_view kAuditCheckpointsFile = "checkpoints";
inline constexpr std::string_view kAuditNodeKeyFile = "node.pub";

// The files of one audit log, opened read-only. Cheap to move.
class AuditSource {
 public:
  // Opens `path`: a folder is read in place (segments on demand), anything
  // else is parsed as an export archive and held in memory. The LOCK file
  // and names that are not audit files are ignored in a folder; an archive
  // may contain only audit files. Errors: FAILED_PRECONDITION when `path`
  // cannot be read, DATA_LOSS for a damaged archive.
  static StatusOr<AuditSource> Open(const std::string& path);

  const std::string& path() const { return path_; }
  bool is_archive() const { return is_archive_; }
  // Indexes of the segment files present, ascending.
  std::vector<uint64_t> segment_indexes() const;
  // The name of a member or file for messages: "<path>/<file name>" for a
  // folder, "<path>:<member name>" for an archive.
  std::string NameOf(std::string_view file_name) const;

  // Contents of the optional files; unset when absent.
  const std::optional<std::string>& base_text() const { return base_text_; }
  const std::optional<std::string>& checkpoints_text() const { return checkpoints_text_; }
  const std::optional<std::string>& node_public_key_pem() const { return node_public_key_pem_; }

  // Reads segment `index`. Errors: NOT_FOUND when absent, FAILED_PRECONDITION
  // when unreadable, DATA_LOSS when over `max_bytes`.
  StatusOr<std::string> ReadSegment(uint64_t index, uint64_t max_bytes) const;

 private:
  std::string path_;
  bool is_archive_ = false;
  // Folder: file paths by index. Archive: member contents by index.
  std::map<uint64_t, std::string> segments_;
  std::optional<std::string> base_text_;
  std::optional<std::string> checkpoints_text_;
  std::optional<std::string> node_public_key_pem_;
};

// One segment as the scan found it.
struct SegmentSummary {
  uint64_t index = 0;
  uint64_t first_sequence = 0;
  uint64_t record_count = 0;
  Sha256Digest previous_chain_hash{};
  uint64_t valid_bytes = 0;  // bytes up to the end of the last valid frame
  // The Merkle frontier before the segment's first record.
  std::vector<MerkleHash> frontier;
};

struct AuditScan {
  std::optional<LogId> log_id;  // unset when no segment is present
  std::optional<AuditBase> base;
  uint64_t first_sequence = 0;  // the first record present
  uint64_t record_count = 0;    // one past the last record present
  std::vector<SegmentSummary> segments;
  Sha256Digest chain_hash{};    // after the last record
  MerkleFrontier merkle;        // over all records, including those before the base
  // Torn tail of the last segment, as in SegmentLogScan.
  std::string torn_name;
  uint64_t torn_bytes = 0;
};

struct AuditRecordView {
  LogId log_id{};
  uint64_t sequence = 0;
  std::string_view bytes;  // the stored record, valid during the call
  MerkleHash leaf_hash{};
  // The tree of records 0 to `sequence`, this one included.
  const MerkleFrontier* merkle = nullptr;
};

// Called with each valid record, in sequence order. A non-OK status stops the
// scan after the current segment and is returned.
using AuditRecordCallback = std::function<Status(const AuditRecordView& record)>;

// Parses `base` when present and checks every segment in index order. The
// indexes must run without gaps from the base's segment (or from 1). The
// first header must match the base's sequence and chain hash, and each later
// header must continue the one before. Only the last segment may end in a
// torn tail. Signatures and checkpoints are not checked. Errors: DATA_LOSS
// naming the file, byte offset and sequence number; FAILED_PRECONDITION when
// a file cannot be read; and any error of `on_record`.
StatusOr<AuditScan> ScanAuditSegments(const AuditSource& source, const AuditRecordCallback& on_record = {},
                                      const SegmentReaderOptions& options = {});

// The lines of a checkpoints file.
struct CheckpointsFile {
  std::vector<Checkpoint> checkpoints;
  std::vector<std::string> lines;  // without '\n', one per checkpoint
  uint64_t torn_bytes = 0;         // a last line without '\n', ignored
};

// Parses a checkpoints file: one base64 checkpoint per line, each ended by
// '\n'. A last line without '\n' is a write that a crash cut short; it is
// ignored and reported in torn_bytes. Errors: DATA_LOSS "<name>: line N: ..."
// for any other line that does not decode.
StatusOr<CheckpointsFile> ParseCheckpointsFile(std::string_view text, std::string_view name);

}  // namespace moat::audit
