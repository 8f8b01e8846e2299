// The KServe v2 HTTP/1.1 REST front end: a Boost.Beast server that parses
// requests into InferenceService calls.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "common/status.h"
#include "core/inference.h"

namespace moat::server {

struct HttpServerOptions {
  std::string address = "127.0.0.1";    // an IPv4 or IPv6 address, not a host name
  uint16_t port = 8000;                 // 0: the OS picks a free port
  size_t max_body_bytes = 64u << 20;    // larger bodies get 413
  size_t max_header_bytes = 16u << 10;  // larger request headers get 431
  int io_threads = 1;
  int worker_threads = 1;  // inference runs on these, never on an I/O thread
  // How long an open connection may wait for the first byte of its next request.
  std::chrono::milliseconds idle_timeout{60000};
  // How long reading one request (header and body) and writing its response may take.
  std::chrono::milliseconds request_timeout{30000};
  size_t max_connections = 1024;  // connections beyond this are closed at once
};

// Serves the REST endpoints of `service`, which must outlive the server.
// Start, port and Stop may be called from any thread except the server's own.
class HttpServer {
 public:
  HttpServer(InferenceService& service, HttpServerOptions options);
  ~HttpServer();  // calls Stop
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds, listens and starts the threads. INVALID_ARGUMENT for bad options;
  // UNAVAILABLE naming the address when it cannot be bound. At most once.
  Status Start();

  // The bound port; valid after a successful Start.
  uint16_t port() const;

  // Stops accepting, waits for running inferences, closes every connection
  // and joins the threads. Idempotent.
  void Stop();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace moat::server
