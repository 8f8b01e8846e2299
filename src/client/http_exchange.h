// Synchronous HTTP/1.1 requests over one keep-alive TCP connection, with a
// deadline on each phase, on Boost.Beast.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
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

// One keep-alive connection to a server. The first Send connects; later ones
// reuse the connection until the server closes it, responds with
// "Connection: close", or an exchange fails, and the next Send then connects
// again. Thread-safe: a mutex serialises exchanges, so concurrent callers
// wait for each other.
class HttpConnection {
 public:
  HttpConnection(ServerAddress address, HttpOptions options);
  ~HttpConnection();
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  // Sends `request` and reads the whole response; any HTTP status is a
  // success here. When a reused connection turns out to be closed by the
  // server (the request cannot be written, or the connection ends before the
  // first byte of the response), it reconnects and sends the request once
  // more. Errors: UNAVAILABLE when connecting or the exchange fails,
  // DEADLINE_EXCEEDED on a timeout, RESOURCE_EXHAUSTED for a body over the
  // limit, INVALID_ARGUMENT for an unknown method or a malformed
  // Inference-Header-Content-Length in the response.
  // NOTE: a server that reads a request and then closes without responding
  // gets that request twice when the connection was reused. Moat's server
  // closes idle connections only between requests.
  StatusOr<HttpResponse> Send(HttpRequest request);

  // The number of TCP connections opened so far.
  uint64_t connections_opened() const;

  const ServerAddress& address() const { return address_; }

 private:
  struct Stream;

  ServerAddress address_;
  HttpOptions options_;
  std::unique_ptr<Stream> stream_;
};

}  // namespace moat::client
