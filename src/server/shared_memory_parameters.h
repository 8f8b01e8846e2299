// The shared_memory_* parameters of infer request inputs and outputs, and the
// writing of outputs that a request directs into shared memory.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "common/status.h"
#include "core/inference.h"
#include "server/json.h"
#include "shm/shared_memory.h"

namespace moat::server {

// The parameter members of one input or output; nullptr where absent.
struct SharedMemoryParameters {
  const rapidjson::Value* region = nullptr;     // "shared_memory_region"
  const rapidjson::Value* offset = nullptr;     // "shared_memory_offset"
  const rapidjson::Value* byte_size = nullptr;  // "shared_memory_byte_size"

  bool any() const { return region != nullptr || offset != nullptr || byte_size != nullptr; }
};

// Builds the reference that `parameters` describe, or std::nullopt when none
// of them is present. `where` names the tensor in errors. FAILED_PRECONDITION
// (the manager's message) when shared memory is disabled; INVALID_ARGUMENT for
// an offset or size without a region, a region that is not a non-empty
// string, or an offset or size that is not a non-negative integer.
StatusOr<std::optional<shm::SharedMemoryReference>> ParseSharedMemoryReference(
    const SharedMemoryParameters& parameters, const shm::SharedMemoryManager& manager,
    const std::string& where);

// Output name to the number of bytes written into its region.
using SharedMemoryWrites = std::map<std::string, uint64_t, std::less<>>;

// Copies every output of `response` that has an entry in `references` into
// its region. The errors of shm::WriteOutputToSharedMemory, naming the output.
StatusOr<SharedMemoryWrites> WriteSharedMemoryOutputs(
    const shm::SharedMemoryManager& manager, const InferenceResponse& response,
    const std::map<std::string, shm::SharedMemoryReference, std::less<>>& references);

}  // namespace moat::server
