#include "hardware/memory_estimate.h"

#include <string>

namespace moat::hardware {

uint64_t EstimateModelMemory(uint64_t total_file_bytes) {
  if (total_file_bytes > (UINT64_MAX - kMemoryOverheadBytes) / kMemoryMultiplier) return UINT64_MAX;
  return total_file_bytes * kMemoryMultiplier + kMemoryOverheadBytes;
}

uint64_t ToMiB(uint64_t bytes) {
  constexpr uint64_t kMiB = uint64_t{1} << 20;
  return bytes / kMiB + (bytes % kMiB != 0 ? 1 : 0);
}

Status CheckFits(std::string_view model, int64_t version, uint64_t estimate, uint64_t available,
                 uint64_t already_planned) {
  uint64_t remaining = available > already_planned ? available - already_planned : 0;
  if (estimate <= remaining) return OkStatus();
  // Round the remainder down so the message never claims more than is free.
  constexpr uint64_t kMiB = uint64_t{1} << 20;
  return FailedPreconditionError("model " + std::string(model) + " version " + std::to_string(version) +
                                 " needs about " + std::to_string(ToMiB(estimate)) + " MiB, " +
                                 std::to_string(remaining / kMiB) + " MiB of " +
                                 std::to_string(available / kMiB) + " MiB are available");
}

}  // namespace moat::hardware
