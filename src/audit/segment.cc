#include "audit/segment.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <map>
#include <system_error>

#include "audit/audit_base.h"
#include "common/file.h"

namespace moat::audit {

namespace {

constexpr std::string_view kNamePrefix = "segment-";
constexpr std::string_view kNameSuffix = ".log";
constexpr size_t kIndexDigits = 12;

std::array<uint32_t, 256> MakeCrc32cTable() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t crc = i;
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ ((crc & 1) ? 0x82F63B78u : 0);
    table[i] = crc;
  }
  return table;
}

void PutUint32(uint32_t value, std::string& out) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xFF));
}

void PutUint64(uint64_t value, std::string& out) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xFF));
}

uint64_t GetLittleEndian(std::string_view data, size_t offset, int bytes) {
  uint64_t value = 0;
  for (int i = bytes - 1; i >= 0; --i) value = (value << 8) | static_cast<uint8_t>(data[offset + i]);
  return value;
}

std::string HashHex(const Sha256Digest& hash) { return HexEncode(hash); }

std::string LogIdHex(const LogId& id) { return HexEncode(id); }

// Parses the header fields; checks only the magic, version and checksum.
StatusOr<SegmentHeader> DecodeHeader(std::string_view name, std::string_view data) {
  std::string prefix = std::string(name) + ": ";
  if (data.size() < kSegmentHeaderBytes) {
    return DataLossError(prefix + "file has " + std::to_string(data.size()) + " bytes, shorter than the " +
                         std::to_string(kSegmentHeaderBytes) + "-byte segment header");
  }
  if (std::memcmp(data.data(), kSegmentMagic, sizeof kSegmentMagic) != 0) {
    return DataLossError(prefix + "not an audit segment: the magic bytes at offset 0 are wrong");
  }
  uint32_t stored_crc = static_cast<uint32_t>(GetLittleEndian(data, 76, 4));
  if (Crc32c(data.substr(0, 76)) != stored_crc) {
    return DataLossError(prefix + "segment header checksum mismatch (bytes 0 to 79)");
  }
  uint32_t version = static_cast<uint32_t>(GetLittleEndian(data, 8, 4));
  if (version != kSegmentFormatVersion) {
    return DataLossError(prefix + "unsupported segment format version " + std::to_string(version) +
                         ", expected " + std::to_string(kSegmentFormatVersion));
  }
  SegmentHeader header;
  std::memcpy(header.log_id.data(), data.data() + 12, header.log_id.size());
  header.index = GetLittleEndian(data, 28, 8);
  header.first_sequence = GetLittleEndian(data, 36, 8);
  std::memcpy(header.previous_chain_hash.data(), data.data() + 44, header.previous_chain_hash.size());
  return header;
}

Status CheckHeader(std::string_view name, const SegmentHeader& header, const SegmentExpectation& expected) {
  std::string prefix = std::string(name) + ": segment header ";
  if (expected.log_id && *expected.log_id != header.log_id) {
    return DataLossError(prefix + "has log id " + LogIdHex(header.log_id) + ", but the log's id is " +
                         LogIdHex(*expected.log_id));
  }
  if (header.index != expected.index) {
    return DataLossError(prefix + "has segment index " + std::to_string(header.index) + ", expected " +
                         std::to_string(expected.index));
  }
  if (header.first_sequence != expected.first_sequence) {
    return DataLossError(prefix + "states that " + std::to_string(header.first_sequence) +
                         " records precede it, but the earlier segments contain " +
                         std::to_string(expected.first_sequence) + " (records missing, added or cut)");
  }
  if (header.previous_chain_hash != expected.previous_chain_hash) {
    return DataLossError(prefix + "continues chain hash " + HashHex(header.previous_chain_hash) +
                         ", but the earlier segments end with " + HashHex(expected.previous_chain_hash) +
                         " (records changed, reordered or replaced)");
  }
  return OkStatus();
}

// Checks the frame at `offset` and returns its record length, or nullopt
// when the frame is not valid.
std::optional<uint32_t> ValidFrameAt(std::string_view data, size_t offset, uint32_t max_record_bytes) {
  if (data.size() - offset < kFrameHeaderBytes) return std::nullopt;
  uint64_t length = GetLittleEndian(data, offset, 4);
  if (length == 0 || length > max_record_bytes) return std::nullopt;
  if (length > data.size() - offset - kFrameHeaderBytes) return std::nullopt;
  uint32_t stored_crc = static_cast<uint32_t>(GetLittleEndian(data, offset + 4, 4));
  if (Crc32c(data.substr(offset + kFrameHeaderBytes, length)) != stored_crc) return std::nullopt;
  return static_cast<uint32_t>(length);
}

// Describes why the frame at `offset` is invalid, for a DATA_LOSS message.
std::string DescribeBadFrame(std::string_view data, size_t offset, uint32_t max_record_bytes) {
  if (data.size() - offset < kFrameHeaderBytes) return "frame header incomplete";
  uint64_t length = GetLittleEndian(data, offset, 4);
  if (length == 0) return "record length 0";
  if (length > max_record_bytes) {
    return "record length " + std::to_string(length) + " over the maximum of " + std::to_string(max_record_bytes);
  }
  if (length > data.size() - offset - kFrameHeaderBytes) {
    return "record length " + std::to_string(length) + " runs past the end of the file";
  }
  return "record checksum mismatch";
}

}  // namespace

namespace {

uint32_t Crc32cTable(std::string_view bytes) {
  static const std::array<uint32_t, 256> kTable = MakeCrc32cTable();
  uint32_t crc = 0xFFFFFFFFu;
  for (char c : bytes) crc = (crc >> 8) ^ kTable[(crc ^ static_cast<uint8_t>(c)) & 0xFF];
  return crc ^ 0xFFFFFFFFu;
}

#if defined(__x86_64__)
// SSE 4.2's crc32 instruction computes the same CRC-32C, 8 bytes a step.
__attribute__((target("sse4.2"))) uint32_t Crc32cSse42(std::string_view bytes) {
  uint64_t crc = 0xFFFFFFFFu;
  const char* p = bytes.data();
  size_t n = bytes.size();
  for (; n >= 8; p += 8, n -= 8) {
    uint64_t word;
    std::memcpy(&word, p, 8);
    crc = __builtin_ia32_crc32di(crc, word);
  }
  uint32_t crc32 = static_cast<uint32_t>(crc);
  for (; n > 0; ++p, --n) crc32 = __builtin_ia32_crc32qi(crc32, static_cast<unsigned char>(*p));
  return crc32 ^ 0xFFFFFFFFu;
}
#endif

}  // namespace

uint32_t Crc32c(std::string_view bytes) {
#if defined(__x86_64__)
  static const bool kHardware = __builtin_cpu_supports("sse4.2");
  if (kHardware) return Crc32cSse42(bytes);
#endif
  return Crc32cTable(bytes);
}

std::string EncodeSegmentHeader(const SegmentHeader& header) {
  std::string out(kSegmentMagic, sizeof kSegmentMagic);
  PutUint32(kSegmentFormatVersion, out);
  out.append(reinterpret_cast<const char*>(header.log_id.data()), header.log_id.size());
  PutUint64(header.index, out);
  PutUint64(header.first_sequence, out);
  out.append(reinterpret_cast<const char*>(header.previous_chain_hash.data()), header.previous_chain_hash.size());
  PutUint32(Crc32c(out), out);
  return out;
}

void AppendFrame(std::string_view record, std::string& out) {
  PutUint32(static_cast<uint32_t>(record.size()), out);
  PutUint32(Crc32c(record), out);
  out.append(record);
}

Sha256Digest NextChainHash(const Sha256Digest& previous, std::string_view record) {
  Sha256 hasher;
  hasher.Update(std::span<const uint8_t>(previous));
  hasher.Update(record);
  return hasher.Finish();
}

std::string SegmentFileName(uint64_t index) {
  std::string digits = std::to_string(index);
  if (digits.size() < kIndexDigits) digits.insert(0, kIndexDigits - digits.size(), '0');
  return std::string(kNamePrefix) + digits + std::string(kNameSuffix);
}

std::optional<uint64_t> SegmentIndexFromFileName(std::string_view name) {
  if (name.size() != kNamePrefix.size() + kIndexDigits + kNameSuffix.size() || !name.starts_with(kNamePrefix) ||
      !name.ends_with(kNameSuffix)) {
    return std::nullopt;
  }
  std::string_view digits = name.substr(kNamePrefix.size(), kIndexDigits);
  if (!std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) return std::nullopt;
  return std::stoull(std::string(digits));
}

StatusOr<SegmentScan> ScanSegment(std::string_view name, std::string_view data, const SegmentExpectation& expected,
                                  const SegmentReaderOptions& options,
                                  const std::function<void(const SegmentRecordView&)>& on_record) {
  MOAT_ASSIGN_OR_RETURN(SegmentHeader header, DecodeHeader(name, data));
  MOAT_RETURN_IF_ERROR(CheckHeader(name, header, expected));

  SegmentScan scan;
  scan.header = header;
  scan.chain_hash = header.previous_chain_hash;
  size_t offset = kSegmentHeaderBytes;
  while (offset < data.size()) {
    std::optional<uint32_t> length = ValidFrameAt(data, offset, options.max_record_bytes);
    if (!length) break;
    SegmentRecordView record;
    record.sequence = header.first_sequence + scan.record_count;
    record.offset = offset;
    record.bytes = data.substr(offset + kFrameHeaderBytes, *length);
    record.chain_hash = NextChainHash(scan.chain_hash, record.bytes);
    scan.chain_hash = record.chain_hash;
    if (on_record) on_record(record);
    ++scan.record_count;
    offset += kFrameHeaderBytes + *length;
  }
  scan.valid_bytes = offset;
  scan.torn_bytes = data.size() - offset;
  if (scan.torn_bytes == 0) return scan;

  // A valid frame at any later offset means the bad frame is not a crash's
  // tail. NOTE: this search computes a CRC at each offset whose length field
  // fits, so a long damaged tail can cost time quadratic in its size.
  for (size_t later = offset + 1; later + kFrameHeaderBytes < data.size(); ++later) {
    if (ValidFrameAt(data, later, options.max_record_bytes)) {
      return DataLossError(std::string(name) + ": record " +
                           std::to_string(header.first_sequence + scan.record_count) + " at byte offset " +
                           std::to_string(offset) + ": " + DescribeBadFrame(data, offset, options.max_record_bytes) +
                           ", and a valid frame follows at byte offset " + std::to_string(later));
    }
  }
  return scan;
}

StatusOr<SegmentScan> ReadSegmentFile(const std::string& path, const SegmentExpectation& expected,
                                      const SegmentReaderOptions& options,
                                      const std::function<void(const SegmentRecordView&)>& on_record) {
  std::error_code error;
  uint64_t size = std::filesystem::file_size(path, error);
  if (error) return FailedPreconditionError(path + ": cannot read segment: " + error.message());
  if (size > options.max_segment_bytes) {
    return DataLossError(path + ": segment has " + std::to_string(size) + " bytes, over the maximum of " +
                         std::to_string(options.max_segment_bytes));
  }
  StatusOr<std::string> data = ReadFile(path, options.max_segment_bytes);
  if (!data.ok()) return FailedPreconditionError(data.status().message());
  return ScanSegment(path, *data, expected, options, on_record);
}

StatusOr<std::map<uint64_t, std::string>> ListSegmentFiles(const std::string& folder) {
  std::map<uint64_t, std::string> segments;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(folder, error)) {
    std::optional<uint64_t> index = SegmentIndexFromFileName(entry.path().filename().string());
    if (index) segments[*index] = entry.path().string();
  }
  if (error) return FailedPreconditionError(folder + ": cannot list the audit segments: " + error.message());
  return segments;
}

StatusOr<SegmentLogScan> ScanSegmentFolder(const std::string& folder, const SegmentReaderOptions& options,
                                           const std::function<void(const SegmentRecordView&)>& on_record) {
  MOAT_ASSIGN_OR_RETURN(auto segments, ListSegmentFiles(folder));

  SegmentLogScan log;
  uint64_t expected_index = 1;
  MOAT_ASSIGN_OR_RETURN(std::optional<AuditBase> read_base, ReadAuditBaseFile(folder));
  if (read_base) {
    const AuditBase& base = *read_base;
    StatusOr<MerkleFrontier> frontier = MerkleFrontier::Restore(base.sequence, base.frontier);
    if (!frontier.ok()) return DataLossError(folder + "/base: " + frontier.status().message());
    log.merkle = std::move(frontier).value();
    log.record_count = log.first_sequence = base.sequence;
    log.chain_hash = base.chain_hash;
    expected_index = base.segment_index;
    // Segments below the base are leftovers of a pruning that a crash cut short.
    std::erase_if(segments, [&](const auto& entry) { return entry.first < base.segment_index; });
  }
  for (const auto& [index, path] : segments) {
    if (index != expected_index) {
      return DataLossError(path + ": expected segment " + SegmentFileName(expected_index) +
                           " before it, which is missing");
    }
    bool last = index == segments.rbegin()->first;
    SegmentExpectation expected{log.log_id, index, log.record_count, log.chain_hash};
    auto add_record = [&](const SegmentRecordView& record) {
      log.merkle.Append(LeafHash(record.bytes));
      if (on_record) on_record(record);
    };
    StatusOr<SegmentScan> scan = ReadSegmentFile(path, expected, options, add_record);
    if (!scan.ok()) {
      // A crash while a new segment's header was written leaves a short file.
      std::error_code error;
      uint64_t size = std::filesystem::file_size(path, error);
      if (last && !error && size < kSegmentHeaderBytes) {
        log.torn_path = path;
        log.torn_bytes = size;
        log.torn_valid_bytes = 0;
        break;
      }
      return scan.status();
    }
    if (scan->torn_bytes > 0 && !last) {
      return DataLossError(path + ": record " + std::to_string(log.record_count + scan->record_count) +
                           " at byte offset " + std::to_string(scan->valid_bytes) +
                           " is incomplete or damaged, but later segments follow");
    }
    if (scan->torn_bytes > 0) {
      log.torn_path = path;
      log.torn_bytes = scan->torn_bytes;
      log.torn_valid_bytes = scan->valid_bytes;
    }
    log.log_id = scan->header.log_id;
    log.record_count += scan->record_count;
    log.chain_hash = scan->chain_hash;
    log.segment_indexes.push_back(index);
    ++expected_index;
  }
  return log;
}

}  // namespace moat::audit
