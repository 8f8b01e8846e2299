// Conversion between Moat's inference types and the KServe v2 gRPC messages
// (proto/inference.proto) on the client side. Tensor bytes travel in the raw
// form: raw_input_contents and raw_output_contents.
#pragma once

#include <memory>

#include "client/client_types.h"
#include "common/status.h"
#include "core/inference.h"
#include "inference.pb.h"

namespace moat::client {

// Builds a ModelInferRequest: one raw_input_contents entry per input that is
// not in shared memory, in input order, and shared_memory_region,
// shared_memory_offset and shared_memory_byte_size parameters on the inputs
// and requested outputs that the options place in shared memory. Errors:
// INVALID_ARGUMENT naming the tensor for a byte size that does not fit the
// shape, or shared memory options that do not match the request.
StatusOr<inference::ModelInferRequest> EncodeModelInferRequest(const InferenceRequest& request,
                                                               const InferOptions& options);

// Reads a ModelInferResponse. Output tensors point into the message's
// raw_output_contents, which their `owner` keeps alive. An output whose
// parameters name a shared_memory_region goes to shared_memory_outputs with
// offset 0 (see ResolveSharedMemoryOutputs). Errors: INVALID_ARGUMENT naming
// the output for an unknown datatype, an invalid shape, missing raw contents
// or a byte size that does not fit the shape.
StatusOr<InferResult> DecodeModelInferResponse(std::shared_ptr<const inference::ModelInferResponse> response);

// Reads a ModelMetadataResponse. Errors: INVALID_ARGUMENT naming the field.
StatusOr<ModelMetadata> DecodeModelMetadataResponse(const inference::ModelMetadataResponse& response);

}  // namespace moat::client
