// A rough estimate of the memory a model version takes once loaded, and the
// check that refuses a version that would not fit.
#pragma once

#include <cstdint>
#include <string_view>

#include "common/status.h"

namespace moat::hardware {

// The estimate is kMemoryMultiplier times the bundle's file bytes plus
// kMemoryOverheadBytes, per instance. The multiplier allows for the runtime
// keeping both the serialized model and its initialized weights, plus
// activation buffers.
// NOTE: a guess, not a measurement per model; models with large activations
// (high-resolution images, long sequences) can exceed it.
inline constexpr uint64_t kMemoryMultiplier = 2;
inline constexpr uint64_t kMemoryOverheadBytes = uint64_t{16} << 20;

// Returns the estimated resident bytes of one instance of a model whose
// bundle files total `total_file_bytes`. Saturates at UINT64_MAX.
uint64_t EstimateModelMemory(uint64_t total_file_bytes);

// Returns OK when `estimate` fits in what remains of `available` after
// `already_planned`; otherwise FAILED_PRECONDITION with a message such as
// "model X version N needs about A MiB, B MiB of C MiB are available".
Status CheckFits(std::string_view model, int64_t version, uint64_t estimate, uint64_t available,
                 uint64_t already_planned);

// Returns `bytes` in MiB, rounded up, for messages.
uint64_t ToMiB(uint64_t bytes);

}  // namespace moat::hardware
