// Conversion of a ModelInferRequest message into the core InferenceRequest.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "common/status.h"
#include "core/inference.h"
#include "inference.pb.h"
#include "shm/shared_memory.h"

namespace moat::grpc_server {

struct ParsedModelInferRequest {
  InferenceRequest request;
  // Requested outputs to write into shared memory instead of the response,
  // by output name.
  std::map<std::string, shm::SharedMemoryReference> shared_memory_outputs;
};

// Converts `message` into an InferenceRequest. Inputs from raw_input_contents
// and from shared memory are not copied: their data points into `message`
// (kept alive by `keep_alive`, which must own it) or into the mapped region.
// Typed contents are encoded into buffers the tensors own.
// Errors name the field, tensor or value. INVALID_ARGUMENT: an invalid
// version, datatype or shape, data that does not match the shape, raw and
// typed contents in one request, a raw entry count that differs from the
// inputs that need one, malformed shared memory parameters, repeated names,
// an invalid priority or timeout parameter. UNIMPLEMENTED: sequence and
// classification parameters with non-default values. Inputs in shared memory return the errors of
// shm::InputFromSharedMemory. Thread-safe.
StatusOr<ParsedModelInferRequest> ParseModelInferRequest(const inference::ModelInferRequest& message,
                                                         const shm::SharedMemoryManager& shared_memory,
                                                         std::shared_ptr<const void> keep_alive);

}  // namespace moat::grpc_server
