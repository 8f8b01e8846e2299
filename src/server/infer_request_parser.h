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
#include "shm/shared_memory.h"

namespace moat::server {

// The form in which the response carries each output: written to shared
// memory, binary data after the JSON header, or a JSON "data" array.
struct OutputFormat {
  bool binary_by_default = false;  // the request parameter "binary_data_output"
  // The per-output parameter "binary_data", which wins over the default.
  std::map<std::string, bool, std::less<>> binary_by_name;
  // Outputs that the shared_memory_* parameters direct into a region; they
  // travel neither as binary data nor as JSON.
  std::map<std::string, shm::SharedMemoryReference, std::less<>> shared_memory_by_name;

  bool IsBinary(std::string_view output) const;
};

struct ParsedInferRequest {
  InferenceRequest request;  // model_name and model_version are left empty
  OutputFormat output_format;
};

// Parses an infer request body. `header_length` is the value of the
// Inference-Header-Content-Length header, or std::nullopt when absent, in
// which case the JSON fills the whole body. Binary and shared-memory inputs
// are not copied: their data points into `body` or into a region of
// `shared_memory`, which their `owner` keeps alive. Shared-memory outputs are
// checked against their region here and written after inference.
// INVALID_ARGUMENT, naming the field, input or value, for malformed JSON (with
// its offset), for missing, unknown or duplicate fields, unknown datatypes and
// data that does not match the shape, for binary data that does not match the
// body, for an input with more or less than one data source, and for a
// priority or timeout that is not a non-negative integer in range. The
// shared-memory errors of shm::SharedMemoryManager (FAILED_PRECONDITION when
// it is disabled, NOT_FOUND for an unregistered region). UNIMPLEMENTED for
// protocol features that Moat does not serve (classification, sequences).
StatusOr<ParsedInferRequest> ParseInferRequest(std::shared_ptr<const std::string> body,
                                               std::optional<std::string_view> header_length,
                                               const shm::SharedMemoryManager& shared_memory);

}  // namespace moat::server
