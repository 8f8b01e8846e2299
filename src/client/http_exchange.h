// Synchronous HTTP/1.1 requests over one keep-alive TCP or TLS connection,
// with a deadline on each phase, on Boost.Beast.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "client/server_url.h"
#include "common/status.h"
#include "tls/tls_context.h"

namespace moat::client {

struct HttpRequest {
  std::string method = "GET";  // GET, POST, PUT or DELETE
  std::string target;          // "/v2/health/ready"
  std::string content_type;    // sent only when not empty
  std::string body;
  // Length of the JSON part of a body that carries binary tensor data, sent as
  // Inference-Header-Content-Length.
  std::optional<size_t> inference_header_length;
  // More request header fields, such as Moat-OTP; never Host, Authorization
  // or Content-Length, which the connection sets itself.
  std::vector<std::pair<std::string, std::string>> headers;
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
  // For https:// addresses: the CA that the server's certificate must chain
  // to (required) and an optional client certificate. Must stay empty for
  // http:// addresses.
  tls::TlsClientOptions tls;
  // Sent as "Authorization: Bearer TOKEN" with every request when not empty.
  std::string bearer_token;
};

// One keep-alive connection to a server. The first Send connects; later ones
// reuse the connection until the server closes it, responds with
// "Connection: close", or an exchange fails, and the next Send then connects
// again. Thread-safe: a mutex serialises exchanges, so concurrent callers
// wait for each other.
class HttpConnection {
 public:
  // Creates the connection without connecting. For a TLS address, reads and
  // checks options.tls (see tls::LoadTlsClientFiles). INVALID_ARGUMENT for
  // unusable TLS files, or TLS files given for a plain address.
  static StatusOr<std::shared_ptr<HttpConnection>> Create(ServerAddress address, HttpOptions options);
  ~HttpConnection();
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  // Sends `request` and reads the whole response; any HTTP status is a
  // success here. When a reused connection turns out to be closed by the
  // server (the request cannot be written, or the connection ends before the
  // first byte of the response), it reconnects and sends the request once
  // more. Over TLS, the server's certificate must chain to the CA and name
  // the address's host (an IP SAN for an IP literal). Errors: UNAVAILABLE
  // when connecting, the TLS handshake or the exchange fails,
  // DEADLINE_EXCEEDED on a timeout, RESOURCE_EXHAUSTED for a body over the
  // limit, INVALID_ARGUMENT for an unknown method or a malformed
  // Inference-Header-Content-Length in the response.
  // NOTE: a server that reads a request and then closes without responding
  // gets that request twice when the connection was reused. Moat's server
  // closes idle connections only between requests.
  StatusOr<HttpResponse> Send(HttpRequest request);

  // The number of TCP connections opened so far (counting TLS connections
  // whose handshake failed).
  uint64_t connections_opened() const;

  const ServerAddress& address() const { return address_; }

 private:
  struct Stream;

  // `ssl_context` is null for a plain address.
  HttpConnection(ServerAddress address, HttpOptions options, tls::SslContextPtr ssl_context);

  ServerAddress address_;
  HttpOptions options_;
  std::unique_ptr<Stream> stream_;
};

}  // namespace moat::client
