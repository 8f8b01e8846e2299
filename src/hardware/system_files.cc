#include "hardware/system_files.h"
#include "common/text.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <vector>

namespace moat::hardware {

namespace {

std::optional<uint64_t> ParseUnsigned(std::string_view text) {
  uint64_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

// Calls `visit(line)` for each line of `text`, stopping when it returns true.
template <typename Visit>
void ForEachLine(std::string_view text, Visit visit) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    if (visit(text.substr(pos, end - pos))) return;
    pos = end + 1;
  }
}

// Returns the kB value of a /proc/meminfo line "NAME:   12345 kB" as bytes.
std::optional<uint64_t> MemInfoField(std::string_view text, std::string_view name) {
  std::optional<uint64_t> bytes;
  ForEachLine(text, [&](std::string_view line) {
    if (!line.starts_with(name) || line.size() <= name.size() || line[name.size()] != ':') return false;
    std::string_view value = TrimWhitespace(line.substr(name.size() + 1));
    if (value.ends_with("kB")) value = TrimWhitespace(value.substr(0, value.size() - 2));
    std::optional<uint64_t> kib = ParseUnsigned(value);
    if (kib && *kib <= UINT64_MAX / 1024) bytes = *kib * 1024;
    return true;
  });
  return bytes;
}

}  // namespace

StatusOr<MemInfo> ParseMemInfo(std::string_view text) {
  std::optional<uint64_t> total = MemInfoField(text, "MemTotal");
  std::optional<uint64_t> available = MemInfoField(text, "MemAvailable");
  if (!total) return InvalidArgumentError("/proc/meminfo: missing or malformed MemTotal line");
  if (!available) return InvalidArgumentError("/proc/meminfo: missing or malformed MemAvailable line");
  return MemInfo{*total, *available};
}

StatusOr<std::optional<double>> ParseCgroupCpuMax(std::string_view text) {
  std::string_view line = TrimWhitespace(text);
  size_t space = line.find(' ');
  if (space == std::string_view::npos) {
    return InvalidArgumentError("cpu.max: expected 'QUOTA PERIOD', got \"" + std::string(line.substr(0, 64)) +
                                "\"");
  }
  std::string_view quota = line.substr(0, space);
  std::optional<uint64_t> period = ParseUnsigned(TrimWhitespace(line.substr(space + 1)));
  if (!period || *period == 0) {
    return InvalidArgumentError("cpu.max: invalid period in \"" + std::string(line.substr(0, 64)) + "\"");
  }
  if (quota == "max") return std::optional<double>();
  std::optional<uint64_t> quota_us = ParseUnsigned(quota);
  if (!quota_us)
    return InvalidArgumentError("cpu.max: invalid quota in \"" + std::string(line.substr(0, 64)) + "\"");
  return std::optional<double>(static_cast<double>(*quota_us) / static_cast<double>(*period));
}

StatusOr<std::optional<uint64_t>> ParseCgroupBytes(std::string_view text) {
  std::string_view value = TrimWhitespace(text);
  if (value == "max") return std::optional<uint64_t>();
  std::optional<uint64_t> bytes = ParseUnsigned(value);
  if (!bytes) return InvalidArgumentError("cgroup memory file: expected a byte count or \"max\"");
  return bytes;
}

std::optional<std::string> ParseCgroupV2Path(std::string_view text) {
  std::optional<std::string> path;
  ForEachLine(text, [&](std::string_view line) {
    if (!line.starts_with("0::")) return false;
    path = std::string(TrimWhitespace(line.substr(3)));
    return true;
  });
  return path;
}

std::optional<std::string> ParseCpuModel(std::string_view text) {
  std::optional<std::string> model;
  ForEachLine(text, [&](std::string_view line) {
    if (!line.starts_with("model name")) return false;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) return false;
    model = std::string(TrimWhitespace(line.substr(colon + 1)));
    return true;
  });
  return model;
}

int64_t UsableCores(int64_t affinity_cores, std::optional<double> cgroup_cpus) {
  int64_t cores = std::max<int64_t>(affinity_cores, 1);
  if (cgroup_cpus) cores = std::min(cores, static_cast<int64_t>(std::ceil(*cgroup_cpus)));
  return std::max<int64_t>(cores, 1);
}

}  // namespace moat::hardware
