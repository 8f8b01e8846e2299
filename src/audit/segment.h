// Audit segment files: the append-only storage of the audit log, as a
// sequence of files `segment-NNNNNNNNNNNN.log` (12 decimal digits, the
// segment index, from 1) in one folder. Records are opaque bytes here.
//
// Every integer is unsigned and little-endian. A segment file is a header
// followed by zero or more frames.
//
// Header, kSegmentHeaderBytes = 80 bytes:
//   offset  size  field
//   0       8     magic, the ASCII bytes "MOATSEG" and a 0x0A byte
//   8       4     format version, kSegmentFormatVersion (1)
//   12      16    log id: random bytes chosen when the log is created, the
//                 same in every segment of the log
//   28      8     segment index: 1 for the first segment, +1 for each next
//   36      8     first sequence number: the number of records in all
//                 earlier segments, so the sequence number of this segment's
//                 first record (records are numbered from 0)
//   44      32    chain hash after the last record of the earlier segments,
//                 32 zero bytes for segment 1
//   76      4     CRC-32C (Castagnoli) of header bytes 0 to 75
//
// Frame, 8 + length bytes:
//   0       4     length of the record in bytes, 1 to max_record_bytes
//   4       4     CRC-32C of the record bytes
//   8       length  the record bytes
//
// Chain hash of record s: SHA-256(chain hash of record s-1 || record bytes),
// with 32 zero bytes before record 0, continuing across segments. The
// Merkle tree of the log (audit/merkle.h) has LeafHash(record bytes) as
// leaf s, over all segments in sequence order.
//
// A bad frame has a length out of bounds, a length past the end of the
// file, or a checksum mismatch. It is a TORN TAIL, which a crash in the
// middle of a write leaves, when no valid frame starts at any later byte
// offset of the file. Any other bad frame is corruption: DATA_LOSS.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "audit/merkle.h"
#include "common/crypto.h"
#include "common/status.h"

namespace moat::audit {

inline constexpr char kSegmentMagic[8] = {'M', 'O', 'A', 'T', 'S', 'E', 'G', '\n'};
inline constexpr uint32_t kSegmentFormatVersion = 1;
inline constexpr size_t kSegmentHeaderBytes = 80;
inline constexpr size_t kFrameHeaderBytes = 8;
inline constexpr uint32_t kDefaultMaxSegmentRecordBytes = 16u << 20;

using LogId = std::array<uint8_t, 16>;

// CRC-32C (Castagnoli polynomial, reflected, as in iSCSI and ext4).
uint32_t Crc32c(std::string_view bytes);

struct SegmentHeader {
  LogId log_id{};
  uint64_t index = 1;
  uint64_t first_sequence = 0;
  Sha256Digest previous_chain_hash{};
};

std::string EncodeSegmentHeader(const SegmentHeader& header);
// Appends the frame of `record` to `out`.
void AppendFrame(std::string_view record, std::string& out);
// Returns SHA-256(previous || record).
Sha256Digest NextChainHash(const Sha256Digest& previous, std::string_view record);

// File name of segment `index`, e.g. "segment-000000000001.log".
std::string SegmentFileName(uint64_t index);
// Returns the index that a segment file name states, or nullopt when `name`
// is not "segment-" + 12 decimal digits + ".log".
std::optional<uint64_t> SegmentIndexFromFileName(std::string_view name);

// Returns the path of every segment file in `folder` by index. Errors:
// FAILED_PRECONDITION when the folder cannot be listed.
StatusOr<std::map<uint64_t, std::string>> ListSegmentFiles(const std::string& folder);

// Expected header fields of a segment. An unset log_id accepts the segment's own.
struct SegmentExpectation {
  std::optional<LogId> log_id;
  uint64_t index = 1;
  uint64_t first_sequence = 0;
  Sha256Digest previous_chain_hash{};
};

struct SegmentRecordView {
  uint64_t sequence = 0;
  uint64_t offset = 0;  // byte offset of the frame in the file
  std::string_view bytes;
  Sha256Digest chain_hash{};
};

struct SegmentScan {
  SegmentHeader header;
  uint64_t record_count = 0;
  // End of the last valid frame. Bytes from here to the end are the torn tail.
  uint64_t valid_bytes = 0;
  uint64_t torn_bytes = 0;
  // Chain hash after the last valid record (the header's when there is none).
  Sha256Digest chain_hash{};
};

struct SegmentReaderOptions {
  uint32_t max_record_bytes = kDefaultMaxSegmentRecordBytes;
  // Bound on the file size, so that memory use is bounded too.
  uint64_t max_segment_bytes = uint64_t{1} << 30;
};

// Validates one segment held in memory. `name` (the file path) prefixes
// every message. Calls `on_record`, if set, for each valid record in order;
// the view's bytes live as long as `data`. Errors: DATA_LOSS for a bad or
// unexpected header or a bad frame that is not a torn tail, naming the
// byte offset and sequence number. Data shorter than a header is DATA_LOSS.
StatusOr<SegmentScan> ScanSegment(std::string_view name, std::string_view data,
                                  const SegmentExpectation& expected, const SegmentReaderOptions& options = {},
                                  const std::function<void(const SegmentRecordView&)>& on_record = {});

// Reads and validates one segment file, as ScanSegment. Errors as
// ScanSegment, plus FAILED_PRECONDITION when the file cannot be read and
// DATA_LOSS when it exceeds options.max_segment_bytes.
StatusOr<SegmentScan> ReadSegmentFile(const std::string& path, const SegmentExpectation& expected,
                                      const SegmentReaderOptions& options = {},
                                      const std::function<void(const SegmentRecordView&)>& on_record = {});

// State of a whole segment folder after validation.
struct SegmentLogScan {
  std::optional<LogId> log_id;  // unset when the folder has no segment
  std::vector<uint64_t> segment_indexes;
  // Records before the first segment present: 0, or the `base` file's
  // sequence when older segments were pruned (audit_base.h).
  uint64_t first_sequence = 0;
  uint64_t record_count = 0;  // the next sequence number
  Sha256Digest chain_hash{};
  MerkleFrontier merkle;
  // Torn tail of the last segment: its path, bytes and valid length. A last
  // segment shorter than a header counts as torn whole (valid_bytes 0).
  std::string torn_path;
  uint64_t torn_bytes = 0;
  uint64_t torn_valid_bytes = 0;
};

// Validates every segment of `folder` in index order: the indexes must be
// 1, 2, ... without gaps, or start at the index that a `base` file names
// (whose frontier and chain hash then start the tree and the chain). Each
// header must continue the previous segment's log id, record count and chain
// hash, and only the last segment may end in a torn tail. Changes nothing on disk. Errors: DATA_LOSS naming the file,
// offset and sequence number; FAILED_PRECONDITION when the folder cannot be read.
StatusOr<SegmentLogScan> ScanSegmentFolder(const std::string& folder, const SegmentReaderOptions& options = {},
                                           const std::function<void(const SegmentRecordView&)>& on_record = {});

}  // namespace moat::audit
