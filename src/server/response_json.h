// The bodies of KServe v2 REST responses: inference results (JSON, or JSON
// followed by binary tensor data) and server and model metadata.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

#include "common/status.h"
#include "core/inference.h"
#include "server/infer_request_parser.h"
#include "server/shared_memory_parameters.h"

namespace moat::server {

struct EncodedInferResponse {
  std::string body;
  // The length of the JSON header when binary outputs follow it (the value of
  // the Inference-Header-Content-Length response header); empty for JSON only.
  std::optional<size_t> header_length;
};

// Encodes `response`, sending each output as binary data or as a flat JSON
// "data" array, whichever `format` selects. An output in `shared_memory_writes`
// was written to the region that `format` names and carries only that region
// and the byte count. INVALID_ARGUMENT when an output cannot be written as
// JSON (BYTES that are not UTF-8); INTERNAL when an output's data does not
// match its shape.
StatusOr<EncodedInferResponse> EncodeInferResponse(const InferenceResponse& response,
                                                   const OutputFormat& format,
                                                   const SharedMemoryWrites& shared_memory_writes = {});

std::string ServerMetadataJson(const ServerMetadata& metadata);
std::string ModelMetadataJson(const ModelMetadata& metadata);

}  // namespace moat::server
