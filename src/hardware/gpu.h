// GPU discovery through NVML, loaded at run time with dlopen so that Moat has
// no build-time dependency on the NVIDIA driver.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace moat::hardware {

struct GpuInfo {
  int index = 0;
  std::string name;
  uint64_t total_memory_bytes = 0;
  uint64_t free_memory_bytes = 0;
};

struct GpuInventory {
  std::vector<GpuInfo> gpus;
  // Reason the list is empty or incomplete, such as "no GPU:
  // libnvidia-ml.so.1 could not be loaded". Empty when every NVML call succeeded.
  std::string note;
};

// Lists NVIDIA GPUs through libnvidia-ml.so.1. Returns no error: when the
// library is absent or a call fails, returns the GPUs found and sets `note`.
// Not thread-safe against concurrent NVML users in the same process.
GpuInventory ListGpus();

}  // namespace moat::hardware
