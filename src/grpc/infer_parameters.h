// The parameters of a ModelInferRequest, its inputs and its requested
// outputs. Unknown parameter names are ignored, because clients add their own.
#pragma once

#include <optional>
#include <string>

#include "common/status.h"
#include "core/inference.h"
#include "inference.pb.h"
#include "shm/shared_memory.h"

namespace moat::grpc_server {

using ParameterMap = google::protobuf::Map<std::string, inference::InferParameter>;

// Stores the priority and timeout parameters (int64_param or uint64_param,
// timeout in microseconds, 0 meaning none) in `request`. INVALID_ARGUMENT
// naming the parameter and value for another type, a negative value, a
// priority above UINT32_MAX or a timeout above INT64_MAX. UNIMPLEMENTED when
// sequence_id, sequence_start or sequence_end is set to a non-default value.
Status ParseRequestParameters(const ParameterMap& parameters, InferenceRequest& request);

// UNIMPLEMENTED when `classification` has a value other than its default.
// `where` names the output in the message.
Status CheckOutputParameters(const ParameterMap& parameters, const std::string& where);

// The shared memory location that shared_memory_region, shared_memory_offset
// (default 0) and shared_memory_byte_size name, or nullopt when there is no
// shared_memory_region. INVALID_ARGUMENT naming `where` and the parameter for
// a wrong parameter type, an empty region, a negative offset or size, a
// missing byte size, or an offset or size without a region.
StatusOr<std::optional<shm::SharedMemoryReference>> ParseSharedMemoryParameters(
    const ParameterMap& parameters, const std::string& where);

}  // namespace moat::grpc_server
