#include "audit/audit_base.h"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cstring>
#include <filesystem>

#include "common/file.h"

namespace moat::audit {

namespace {

bool IsLowerHex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

// Splits `text` into lines without their '\n'. A final '\n' ends the last
// line instead of starting an empty one.
std::vector<std::string_view> SplitLines(std::string_view text) {
  std::vector<std::string_view> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

// Returns the value after "<key> " on `line`, or an error naming the line.
StatusOr<std::string_view> ValueOf(std::string_view line, std::string_view key, std::string_view prefix) {
  if (line.size() <= key.size() || !line.starts_with(key) || line[key.size()] != ' ') {
    return DataLossError(std::string(prefix) + "expected \"" + std::string(key) + " <value>\"");
  }
  return line.substr(key.size() + 1);
}

}  // namespace

bool ParseDecimalUint64(std::string_view text, uint64_t& value) {
  if (text.empty() || (text.size() > 1 && text[0] == '0')) return false;
  if (!std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) return false;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  return error == std::errc() && end == text.data() + text.size();
}

bool ParseLowerHex(std::string_view text, std::span<uint8_t> out) {
  if (text.size() != 2 * out.size() || !std::all_of(text.begin(), text.end(), IsLowerHex)) return false;
  StatusOr<std::string> bytes = HexDecode(text);
  if (!bytes.ok() || bytes->size() != out.size()) return false;
  std::memcpy(out.data(), bytes->data(), out.size());
  return true;
}

std::string EncodeAuditBase(const AuditBase& base) {
  std::string out(kAuditBaseMagic);
  out += "\nsegment " + std::to_string(base.segment_index);
  out += "\nsequence " + std::to_string(base.sequence);
  out += "\nchain " + HexEncode(base.chain_hash) + "\n";
  for (const MerkleHash& root : base.frontier) out += "frontier " + HexEncode(root) + "\n";
  return out;
}

StatusOr<AuditBase> ParseAuditBase(std::string_view text, std::string_view source_name) {
  std::vector<std::string_view> lines = SplitLines(text);
  auto line_prefix = [&](size_t index) {
    return std::string(source_name) + ": line " + std::to_string(index + 1) + ": ";
  };
  if (lines.size() < 4) {
    return DataLossError(std::string(source_name) + ": has " + std::to_string(lines.size()) +
                         " lines, expected at least 4 (magic, segment, sequence, chain)");
  }
  if (lines[0] != kAuditBaseMagic) {
    return DataLossError(line_prefix(0) + "expected \"" + std::string(kAuditBaseMagic) + "\"");
  }

  AuditBase base;
  MOAT_ASSIGN_OR_RETURN(std::string_view segment, ValueOf(lines[1], "segment", line_prefix(1)));
  if (!ParseDecimalUint64(segment, base.segment_index) || base.segment_index == 0) {
    return DataLossError(line_prefix(1) + "segment index \"" + std::string(segment) +
                         "\" is not a decimal number of at least 1");
  }
  MOAT_ASSIGN_OR_RETURN(std::string_view sequence, ValueOf(lines[2], "sequence", line_prefix(2)));
  if (!ParseDecimalUint64(sequence, base.sequence)) {
    return DataLossError(line_prefix(2) + "sequence number \"" + std::string(sequence) + "\" is not decimal");
  }
  MOAT_ASSIGN_OR_RETURN(std::string_view chain, ValueOf(lines[3], "chain", line_prefix(3)));
  if (!ParseHashHex(chain, base.chain_hash)) {
    return DataLossError(line_prefix(3) + "chain hash is not 64 lower-case hex digits");
  }
  for (size_t i = 4; i < lines.size(); ++i) {
    MOAT_ASSIGN_OR_RETURN(std::string_view root_hex, ValueOf(lines[i], "frontier", line_prefix(i)));
    MerkleHash root{};
    if (!ParseHashHex(root_hex, root)) {
      return DataLossError(line_prefix(i) + "frontier hash is not 64 lower-case hex digits");
    }
    base.frontier.push_back(root);
  }
  size_t expected_roots = static_cast<size_t>(std::popcount(base.sequence));
  if (base.frontier.size() != expected_roots) {
    return DataLossError(std::string(source_name) + ": has " + std::to_string(base.frontier.size()) +
                         " frontier lines, but sequence " + std::to_string(base.sequence) + " needs " +
                         std::to_string(expected_roots) + " (one per set bit)");
  }
  return base;
}

StatusOr<std::optional<AuditBase>> ReadAuditBaseFile(const std::string& folder) {
  const std::string path = folder + "/" + std::string(kAuditBaseFile);
  if (!std::filesystem::exists(std::filesystem::symlink_status(path))) return std::optional<AuditBase>();
  // A base file has one line per set bit of a 64-bit number, so 64 KiB is ample.
  MOAT_ASSIGN_OR_RETURN(std::string text, ReadFile(path, 64 << 10));
  MOAT_ASSIGN_OR_RETURN(AuditBase base, ParseAuditBase(text, path));
  return std::optional<AuditBase>(std::move(base));
}

}  // namespace moat::audit
