// One conformance case: a request in HTTP and/or gRPC form and the response
// the server must give, read from a JSON file under tests/conformance/cases/.
// tests/conformance/README.md describes the file format.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace moat::conformance {

struct HttpForm {
  std::string method = "POST";
  std::string path;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;                          // the JSON part, or the whole body
  std::string binary;                        // bytes appended after `body`
  std::optional<std::string> header_length;  // Inference-Header-Content-Length
};

struct GrpcForm {
  std::string rpc;           // "ModelInfer", "ModelMetadata", ...
  std::string request_json;  // the request message in protobuf's JSON mapping
};

// A POSIX shared memory object the driver creates before the request and
// removes after it. "${object}" in a request is replaced by its key.
struct SharedMemoryObject {
  std::string object;
  uint64_t size = 0;
  std::string contents;  // written at offset 0
  // When set, the driver registers this region on the object itself.
  std::optional<std::string> region;
  uint64_t region_offset = 0;
  uint64_t region_size = 0;
};

struct ExpectedOutput {
  std::string name;
  std::string datatype;
  std::vector<int64_t> shape;
  std::string data_json;             // a JSON array, empty when bytes are given
  std::optional<std::string> bytes;  // the binary form
};

struct ExpectedMemory {
  std::string object;
  uint64_t offset = 0;
  std::string bytes;
};

struct Expectation {
  std::string code = "OK";              // a StatusCode name, such as INVALID_ARGUMENT
  std::optional<unsigned> http_status;  // the expected HTTP status when it differs from the table's
  std::string error;                    // a fragment of the error message, both protocols
  std::string http_error;               // extra fragment for HTTP only
  std::string grpc_error;               // extra fragment for gRPC only
  std::optional<std::string> id;
  std::vector<ExpectedOutput> outputs;
  std::vector<ExpectedMemory> memory;
  std::string body_contains;  // a fragment of a successful HTTP body
};

struct Case {
  std::string file;
  std::string description;
  std::optional<HttpForm> http;
  std::optional<GrpcForm> grpc;
  std::vector<SharedMemoryObject> shared_memory;
  Expectation expect;
};

// Reads a case file. INVALID_ARGUMENT naming the file and field otherwise.
StatusOr<Case> LoadCase(const std::string& path);

// The case files of `dir`, sorted by name.
std::vector<std::string> ListCases(const std::string& dir);

}  // namespace moat::conformance
