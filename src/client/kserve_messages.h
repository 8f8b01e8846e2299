// Encoding and decoding of KServe v2 REST messages on the client side,
// including the binary tensor data extension. With that extension a body
// starts with Inference-Header-Content-Length bytes of JSON. The raw bytes of
// each input or output whose "parameters" contain "binary_data_size" follow.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "client/client_types.h"
#include "common/status.h"
#include "core/inference.h"

namespace moat::client {

struct EncodedRequest {
  std::string body;
  // Set when binary data follows the JSON: the JSON's length in bytes.
  std::optional<size_t> json_length;
};

// Encodes an infer request body. The model name and version belong in the
// URL and are not encoded. Inputs and outputs named in the options' shared
// memory maps carry shared_memory_region, shared_memory_offset and
// shared_memory_byte_size parameters instead of data. Errors:
// INVALID_ARGUMENT naming the tensor for a byte size that does not fit the
// shape, a value JSON cannot carry, or shared memory options that do not
// match the request (see CheckSharedMemoryOptions).
StatusOr<EncodedRequest> EncodeInferRequest(const InferenceRequest& request, const InferOptions& options);

// Decodes an infer response body. `json_length` is the response's
// Inference-Header-Content-Length, absent when the body is JSON only. Binary
// output tensors point into the body, which their `owner` keeps alive. An
// output whose parameters name a shared_memory_region goes to
// shared_memory_outputs with offset 0 (the response does not carry the
// offset; see ResolveSharedMemoryOutputs). Errors: INVALID_ARGUMENT naming
// the field or tensor that is malformed.
StatusOr<InferResult> DecodeInferResponse(std::string body, std::optional<size_t> json_length);

// Returns the body of a system shared memory register request.
std::string EncodeSharedMemoryRegister(const std::string& key, uint64_t offset, uint64_t byte_size);

// Decodes a system shared memory status response, a JSON array of regions.
// Errors: INVALID_ARGUMENT naming the field that is malformed.
StatusOr<std::vector<SharedMemoryRegionStatus>> DecodeSharedMemoryStatus(std::string_view json);

// Decodes a model metadata response. Errors: INVALID_ARGUMENT naming the field.
StatusOr<ModelMetadata> DecodeModelMetadata(std::string_view json);

// Returns the text of an error response: the "error" string of a JSON object,
// or else the start of the body.
std::string ErrorMessageFromBody(std::string_view body);

}  // namespace moat::client
