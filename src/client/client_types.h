// Request options and results that the REST client (KServeClient) and the
// gRPC client (GrpcClient) share, including the system shared memory
// extension: tensors that travel through a registered POSIX shared memory
// region instead of the socket.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "common/status.h"
#include "core/inference.h"

namespace moat::client {

// A byte range of a shared memory region that the server has registered.
struct SharedMemoryRange {
  std::string region;      // the name the region was registered under
  uint64_t offset = 0;     // from the start of the region
  uint64_t byte_size = 0;  // an input's exact size, or the room left for an output
};

struct InferOptions {
  // REST only: send input tensors as binary data after the JSON (else as JSON
  // "data"). The gRPC client always sends raw_input_contents.
  bool binary_inputs = true;
  // REST only: ask for outputs as binary data (else as JSON "data"). The gRPC
  // client always receives raw_output_contents.
  bool binary_outputs = true;
  // Inputs that the server reads from shared memory, by input name. Their
  // tensors in the request give the name, datatype and shape; their data is
  // not sent and may be empty.
  std::map<std::string, SharedMemoryRange> shared_memory_inputs;
  // Outputs that the server writes to shared memory, by output name. Each must
  // also be listed in InferenceRequest::requested_outputs.
  std::map<std::string, SharedMemoryRange> shared_memory_outputs;
};

// An output that the server wrote to shared memory instead of returning it.
struct SharedMemoryOutput {
  std::string name;
  DataType datatype = DataType::kFp32;
  std::vector<int64_t> shape;
  std::string region;
  uint64_t offset = 0;     // as requested
  uint64_t byte_size = 0;  // the bytes written, as the server reports them
};

// An inference response. `outputs` contains the outputs returned in the
// message, and `shared_memory_outputs` those written to shared memory, in
// response order.
struct InferResult : InferenceResponse {
  std::vector<SharedMemoryOutput> shared_memory_outputs;
};

// A registered shared memory region as the server reports it.
struct SharedMemoryRegionStatus {
  std::string name;
  std::string key;  // the POSIX shared memory object name, such as "/input0"
  uint64_t offset = 0;
  uint64_t byte_size = 0;
};

// Checks `options` against `request` before anything is sent: every shared
// memory input names an input of the request, every shared memory output a
// requested output, and every range a non-empty region. INVALID_ARGUMENT
// naming the tensor otherwise.
Status CheckSharedMemoryOptions(const InferenceRequest& request, const InferOptions& options);

// Completes `result.shared_memory_outputs` from the options the request was
// sent with: sets each output's offset, and checks that the server wrote
// exactly the outputs requested in shared memory, each to its requested region
// and within its requested size. INVALID_ARGUMENT naming the output otherwise.
Status ResolveSharedMemoryOutputs(const InferOptions& options, InferResult& result);

// Makes a tensor that views `output` inside `region`, the client's own mapping
// of the whole registered region. The tensor does not own the bytes, so
// `region` must outlive it. INVALID_ARGUMENT naming the output when the range
// passes the end of `region` or its size does not fit the datatype and shape.
StatusOr<Tensor> TensorFromSharedMemory(const SharedMemoryOutput& output, std::span<const uint8_t> region);

}  // namespace moat::client
