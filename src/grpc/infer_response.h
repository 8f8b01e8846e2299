// Conversion of the core InferenceResponse into a ModelInferResponse message.
#pragma once

#include <map>
#include <string>

#include "common/status.h"
#include "core/inference.h"
#include "inference.pb.h"
#include "shm/shared_memory.h"

namespace moat::grpc_server {

// Fills `message` from `response`. Outputs named in `shared_memory_outputs`
// are written into their region and reported with the parameters
// shared_memory_region and shared_memory_byte_size (the bytes written).
// Every other output is copied into raw_output_contents, which gets one entry
// per output (empty for a shared memory output) so that indexes match
// `outputs`. Returns the errors of shm::WriteOutputToSharedMemory (region too
// small or no longer registered), and `message` is then partly filled.
Status BuildModelInferResponse(const InferenceResponse& response,
                               const std::map<std::string, shm::SharedMemoryReference>& shared_memory_outputs,
                               const shm::SharedMemoryManager& shared_memory,
                               inference::ModelInferResponse& message);

}  // namespace moat::grpc_server
