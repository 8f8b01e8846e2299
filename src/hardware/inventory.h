// The hardware inventory: usable cores, memory, CPU model and GPUs, read from
// /proc, the process's cgroup v2 limits and NVML.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "hardware/gpu.h"

namespace moat::hardware {

struct HardwareInventory {
  int64_t affinity_cores = 0;           // CPUs in the process's affinity mask
  std::optional<double> cgroup_cpus;    // cgroup cpu.max quota in CPUs, if any
  int64_t usable_cores = 1;             // the lower of the two, at least 1
  uint64_t total_memory_bytes = 0;      // MemTotal, lowered to memory.max
  uint64_t available_memory_bytes = 0;  // MemAvailable, lowered to the cgroup's headroom
  std::optional<uint64_t> cgroup_memory_max;
  std::string cpu_model;  // "unknown" when /proc/cpuinfo does not name it
  GpuInventory gpus;
  // Files that could not be read or parsed; the fields above then keep
  // their fallbacks.
  std::vector<std::string> problems;
};

// Reads the inventory of this machine and process. Returns no error: files it
// could not read or parse are listed in `problems`. Only reads files.
HardwareInventory ReadHardwareInventory();

}  // namespace moat::hardware
