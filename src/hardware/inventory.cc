#include "hardware/inventory.h"

#include <sched.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "hardware/system_files.h"

namespace moat::hardware {

namespace {

constexpr std::string_view kCgroupRoot = "/sys/fs/cgroup";

// Reads a small /proc or /sys file; those report size 0, so read to EOF.
std::optional<std::string> ReadSystemFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

int64_t AffinityCores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof(set), &set) != 0) return 1;
  return CPU_COUNT(&set);
}

// Returns the process's cgroup folder and each ancestor up to the cgroup
// root, because a limit on any ancestor applies to the process too.
std::vector<std::string> CgroupFolders() {
  std::vector<std::string> folders;
  std::optional<std::string> self = ReadSystemFile("/proc/self/cgroup");
  if (!self) return folders;
  std::optional<std::string> path = ParseCgroupV2Path(*self);
  if (!path) return folders;  // cgroup v1: its limits are not read
  std::filesystem::path current =
      std::filesystem::path(kCgroupRoot) / std::filesystem::path(*path).relative_path();
  while (true) {
    folders.push_back(current.string());
    if (current == kCgroupRoot || !current.has_parent_path() || current.parent_path() == current) break;
    current = current.parent_path();
  }
  return folders;
}

void ReadCgroupLimits(HardwareInventory& inventory, uint64_t& headroom) {
  for (const std::string& folder : CgroupFolders()) {
    if (std::optional<std::string> text = ReadSystemFile(folder + "/cpu.max")) {
      StatusOr<std::optional<double>> cpus = ParseCgroupCpuMax(*text);
      if (!cpus.ok()) {
        inventory.problems.push_back(folder + "/" + cpus.status().message());
      } else if (*cpus && (!inventory.cgroup_cpus || **cpus < *inventory.cgroup_cpus)) {
        inventory.cgroup_cpus = *cpus;
      }
    }
    std::optional<std::string> max_text = ReadSystemFile(folder + "/memory.max");
    if (!max_text) continue;
    StatusOr<std::optional<uint64_t>> max = ParseCgroupBytes(*max_text);
    if (!max.ok()) {
      inventory.problems.push_back(folder + "/memory.max: " + max.status().message());
      continue;
    }
    if (!*max) continue;
    if (!inventory.cgroup_memory_max || **max < *inventory.cgroup_memory_max)
      inventory.cgroup_memory_max = *max;
    std::optional<std::string> current_text = ReadSystemFile(folder + "/memory.current");
    if (!current_text) continue;
    StatusOr<std::optional<uint64_t>> current = ParseCgroupBytes(*current_text);
    if (current.ok() && *current) headroom = std::min(headroom, **max > **current ? **max - **current : 0);
  }
}

}  // namespace

HardwareInventory ReadHardwareInventory() {
  HardwareInventory inventory;
  inventory.affinity_cores = AffinityCores();

  uint64_t headroom = UINT64_MAX;
  ReadCgroupLimits(inventory, headroom);
  inventory.usable_cores = UsableCores(inventory.affinity_cores, inventory.cgroup_cpus);

  if (std::optional<std::string> text = ReadSystemFile("/proc/meminfo")) {
    StatusOr<MemInfo> memory = ParseMemInfo(*text);
    if (memory.ok()) {
      inventory.total_memory_bytes = memory->total_bytes;
      inventory.available_memory_bytes = memory->available_bytes;
    } else {
      inventory.problems.push_back(memory.status().message());
    }
  } else {
    inventory.problems.push_back("/proc/meminfo could not be read");
  }
  if (inventory.cgroup_memory_max) {
    inventory.total_memory_bytes = std::min(inventory.total_memory_bytes, *inventory.cgroup_memory_max);
  }
  inventory.available_memory_bytes =
      std::min({inventory.available_memory_bytes, headroom, inventory.total_memory_bytes});

  std::optional<std::string> cpuinfo = ReadSystemFile("/proc/cpuinfo");
  std::optional<std::string> model = cpuinfo ? ParseCpuModel(*cpuinfo) : std::nullopt;
  inventory.cpu_model = model.value_or("unknown");

  inventory.gpus = ListGpus();
  return inventory;
}

}  // namespace moat::hardware
