// The JSON bodies of the model repository and system shared memory extension
// requests. An empty body (or one of only whitespace) means no options.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace moat::server {

// Parses a repository index body, {"ready": true|false}, and returns "ready"
// (false when absent). INVALID_ARGUMENT for malformed JSON, an unknown field
// or a "ready" that is not a boolean.
StatusOr<bool> ParseRepositoryIndexRequest(std::string_view body);

// Checks a load or unload body, {"parameters": {...}}, for model `model`.
// Unknown parameters are ignored. INVALID_ARGUMENT for malformed JSON or an
// unknown field; UNIMPLEMENTED for the load parameters "config" and "file:*",
// which would replace the signed bundle.
Status CheckModelControlRequest(std::string_view body, std::string_view model);

struct RegisterRequest {
  std::string key;  // the POSIX shared memory object name
  uint64_t offset = 0;
  uint64_t byte_size = 0;
};

// Parses a register body for region `region`: {"key": "/name",
// "offset": N (optional, 0 when absent), "byte_size": N}. INVALID_ARGUMENT for
// malformed JSON, a missing "key" or "byte_size", an unknown field, and a
// value of the wrong type or a negative number.
StatusOr<RegisterRequest> ParseRegisterRequest(std::string_view body, std::string_view region);

}  // namespace moat::server
