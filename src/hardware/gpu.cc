#include "hardware/gpu.h"

#include <dlfcn.h>

#include <string>
#include <utility>

namespace moat::hardware {

namespace {

// The part of the NVML C ABI used here, declared by hand because Debian 12
// packages no nvml.h: every function returns 0 (NVML_SUCCESS) on success, and
// device handles are opaque pointers.
using NvmlReturn = int;
using NvmlDevice = void*;
struct NvmlMemory {
  unsigned long long total;
  unsigned long long free;
  unsigned long long used;
};
using InitFn = NvmlReturn (*)();
using ShutdownFn = NvmlReturn (*)();
using CountFn = NvmlReturn (*)(unsigned int*);
using HandleFn = NvmlReturn (*)(unsigned int, NvmlDevice*);
using NameFn = NvmlReturn (*)(NvmlDevice, char*, unsigned int);
using MemoryFn = NvmlReturn (*)(NvmlDevice, NvmlMemory*);
constexpr NvmlReturn kNvmlSuccess = 0;
// NVML_DEVICE_NAME_V2_BUFFER_SIZE in nvml.h.
constexpr unsigned int kNameBufferBytes = 96;

template <typename Fn>
Fn Lookup(void* library, const char* name) {
  return reinterpret_cast<Fn>(::dlsym(library, name));
}

}  // namespace

// NOTE: the declarations above have not been checked against nvml.h or run
// with a real NVIDIA driver; the build machines have neither.
GpuInventory ListGpus() {
  GpuInventory inventory;
  void* library = ::dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
  if (library == nullptr) {
    inventory.note = "no GPU: libnvidia-ml.so.1 could not be loaded";
    return inventory;
  }

  auto init = Lookup<InitFn>(library, "nvmlInit_v2");
  auto shutdown = Lookup<ShutdownFn>(library, "nvmlShutdown");
  auto count = Lookup<CountFn>(library, "nvmlDeviceGetCount_v2");
  auto handle = Lookup<HandleFn>(library, "nvmlDeviceGetHandleByIndex_v2");
  auto name = Lookup<NameFn>(library, "nvmlDeviceGetName");
  auto memory = Lookup<MemoryFn>(library, "nvmlDeviceGetMemoryInfo");
  if (!init || !shutdown || !count || !handle || !name || !memory) {
    inventory.note = "no GPU: libnvidia-ml.so.1 lacks an expected NVML function";
    ::dlclose(library);
    return inventory;
  }
  if (NvmlReturn result = init(); result != kNvmlSuccess) {
    inventory.note = "no GPU: nvmlInit_v2 failed with NVML error " + std::to_string(result);
    ::dlclose(library);
    return inventory;
  }

  unsigned int devices = 0;
  if (NvmlReturn result = count(&devices); result != kNvmlSuccess) {
    inventory.note = "nvmlDeviceGetCount_v2 failed with NVML error " + std::to_string(result);
  }
  for (unsigned int i = 0; i < devices; ++i) {
    NvmlDevice device = nullptr;
    if (handle(i, &device) != kNvmlSuccess) {
      inventory.note = "GPU " + std::to_string(i) + ": nvmlDeviceGetHandleByIndex_v2 failed";
      continue;
    }
    GpuInfo gpu;
    gpu.index = static_cast<int>(i);
    char buffer[kNameBufferBytes] = {};
    if (name(device, buffer, kNameBufferBytes) == kNvmlSuccess) gpu.name = buffer;
    NvmlMemory info{};
    if (memory(device, &info) == kNvmlSuccess) {
      gpu.total_memory_bytes = info.total;
      gpu.free_memory_bytes = info.free;
    }
    inventory.gpus.push_back(std::move(gpu));
  }

  shutdown();
  ::dlclose(library);
  return inventory;
}

}  // namespace moat::hardware
