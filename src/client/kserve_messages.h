// Encoding and decoding of KServe v2 REST messages on the client side,
// including the binary tensor data extension. With that extension a body
// starts with Inference-Header-Content-Length bytes of JSON. The raw bytes of
// each input or output whose "parameters" contain "binary_data_size" follow.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "core/inference.h"

namespace moat::client {

struct InferOptions {
  // Send input tensors as binary data after the JSON (else as JSON "data").
  bool binary_inputs = true;
  // Ask the server to return outputs as binary data (else as JSON "data").
  bool binary_outputs = true;
};

struct EncodedRequest {
  std::string body;
  // Set when binary data follows the JSON: the JSON's length in bytes.
  std::optional<size_t> json_length;
};

// Encodes an infer request body. The model name and version belong in the
// URL and are not encoded. Errors: INVALID_ARGUMENT naming the tensor for a
// byte size that does not fit the shape, or a value JSON cannot carry.
StatusOr<EncodedRequest> EncodeInferRequest(const InferenceRequest& request, const InferOptions& options);

// Decodes an infer response body. `json_length` is the response's
// Inference-Header-Content-Length, absent when the body is JSON only. Binary
// output tensors point into the body, which their `owner` keeps alive.
// Errors: INVALID_ARGUMENT naming the field or tensor that is malformed.
StatusOr<InferenceResponse> DecodeInferResponse(std::string body, std::optional<size_t> json_length);

// Decodes a model metadata response. Errors: INVALID_ARGUMENT naming the field.
StatusOr<ModelMetadata> DecodeModelMetadata(std::string_view json);

// Returns the text of an error response: the "error" string of a JSON object,
// or else the start of the body.
std::string ErrorMessageFromBody(std::string_view body);

}  // namespace moat::client
