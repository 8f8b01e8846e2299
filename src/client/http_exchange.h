// One synchronous HTTP/1.1 request and response over a fresh TCP connection,
// with a deadline on each phase, on Boost.Beast.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>

#include "client/server_url.h"
#include "common/status.h"

namespace moat::client {

struct HttpRequest {
  std::string method = "GET";  // GET or POST
  std::string target;          // "/v2/health/ready"
  std::string content_type;    // sent only when not empty
  std::string body;
  // Length of the JSON part of a body that carries binary tensor data, sent as
  // Inference-Header-Content-Length.
  std::optional<size_t> inference_header_length;
};

struct HttpResponse {
  int status = 0;
  std::string content_type;
  std::optional<size_t> inference_header_length;
  std::string body;
};

struct HttpOptions {
  // Maximum time for each of connecting, sending the request and receiving
  // the whole response.
  std::chrono::milliseconds timeout{60'000};
  // Maximum size of a response body; larger responses fail.
  size_t max_response_bytes = size_t{1} << 30;
};

// Connects to `address`, sends `request`, reads the whole response and closes
// the connection. Any HTTP status is a success here. Errors: UNAVAILABLE when
// the connection or the exchange fails, DEADLINE_EXCEEDED on a timeout,
// RESOURCE_EXHAUSTED for a body over the limit, INVALID_ARGUMENT for an
// unknown method or a malformed Inference-Header-Content-Length in the
// response. Thread-safe: calls share nothing.
StatusOr<HttpResponse> SendHttpRequest(const ServerAddress& address, HttpRequest request,
                                       const HttpOptions& options);

}  // namespace moat::client
