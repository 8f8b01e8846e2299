// Parsers for the Linux files the hardware inventory reads. They take the
// file text, so tests feed fixtures instead of depending on the machine.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace moat::hardware {

struct MemInfo {
  uint64_t total_bytes = 0;
  uint64_t available_bytes = 0;
};

// Parses /proc/meminfo: MemTotal and MemAvailable (both in kB there).
// INVALID_ARGUMENT when either line is missing or malformed.
StatusOr<MemInfo> ParseMemInfo(std::string_view text);

// Parses a cgroup v2 cpu.max ("QUOTA PERIOD" or "max PERIOD") into the number
// of CPUs the quota allows; nullopt for "max" (no quota).
StatusOr<std::optional<double>> ParseCgroupCpuMax(std::string_view text);

// Parses a cgroup v2 memory.max or memory.current: a byte count, or "max"
// (nullopt, no limit).
StatusOr<std::optional<uint64_t>> ParseCgroupBytes(std::string_view text);

// Returns the cgroup v2 path of the process from /proc/self/cgroup (the
// "0::PATH" line), or nullopt under cgroup v1 or when the line is absent.
std::optional<std::string> ParseCgroupV2Path(std::string_view text);

// Returns the first "model name" of /proc/cpuinfo, or nullopt when there is
// none (some ARM kernels do not print it).
std::optional<std::string> ParseCpuModel(std::string_view text);

// Returns the usable core count: the affinity count, lowered to the cgroup
// quota rounded up, and at least 1.
int64_t UsableCores(int64_t affinity_cores, std::optional<double> cgroup_cpus);

}  // namespace moat::hardware
