// Parsing the body of a KServe v2 REST infer request, in JSON or with the
// binary tensor data extension, into an InferenceRequest.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "core/inference.h"

namespace moat::server {

// The form in which the response carries each output: binary data after the
// JSON header, or a JSON "data" array.
struct OutputFormat {
  bool binary_by_default = false;  // the request parameter "binary_data_output"
  // The per-output parameter "binary_data", which wins over the default.
  std::map<std::string, bool, std::less<>> binary_by_name;

  bool IsBinary(std::string_view output) const;
};

struct ParsedInferRequest {
  InferenceRequest request;  // model_name and model_version are left empty
  OutputFormat output_format;
};

// Parses an infer request body. `header_length` is the value of the
// Inference-Header-Content-Length header, or std::nullopt when absent, in
// which case the JSON fills the whole body. Binary inputs are not copied:
// their data points into `body`, which their `owner` keeps alive.
// INVALID_ARGUMENT, naming the field, input or value, for malformed JSON (with
// its offset), for missing, unknown or duplicate fields, unknown datatypes and
// data that does not match the shape, and for binary data that does not match
// the body. UNIMPLEMENTED for protocol features that Moat does not serve
// (classification, shared memory, sequences, priorities, timeouts).
StatusOr<ParsedInferRequest> ParseInferRequest(std::shared_ptr<const std::string> body,
                                               std::optional<std::string_view> header_length);

}  // namespace moat::server
