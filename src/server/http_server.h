// The KServe v2 HTTP/1.1 REST front end: a Boost.Beast server that parses
// requests into InferenceService calls.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "auth/access_control.h"
#include "common/status.h"
#include "core/inference.h"
#include "shm/shared_memory.h"
#include "tls/tls_context.h"

namespace moat::server {

struct HttpRequest;

struct HttpServerOptions {
  std::string address = "127.0.0.1";  // an IPv4 or IPv6 address, not a host name
  uint16_t port = 8000;               // 0: the OS picks a free port
  // Larger bodies get 413, as received and again after decompression.
  size_t max_body_bytes = 64u << 20;
  size_t max_header_bytes = 16u << 10;  // larger request headers get 431
  // A chunked request body with more chunks than this gets 413, because each
  // chunk costs parsing work however small it is.
  size_t max_body_chunks = 100000;
  int io_threads = 1;
  int worker_threads = 1;  // inference runs on these, never on an I/O thread
  // How long an open connection may wait for the first byte of its next request.
  std::chrono::milliseconds idle_timeout{60000};
  // How long reading one request (header and body) and writing its response may take.
  std::chrono::milliseconds request_timeout{30000};
  // Connections beyond this get a 503 with a JSON error and are closed.
  size_t max_connections = 1024;
  // Serve HTTPS: every connection starts with a TLS handshake, which the
  // request timeout bounds. Unset: plain HTTP.
  std::optional<tls::TlsServerOptions> tls;
  // Called with each complete request just before the handler gets it, on
  // the thread that runs the handler (an I/O or a worker thread), so it must
  // be thread-safe and quick. Lets tests and tracing see what the
  // connection added to the request, such as its client certificate.
  std::function<void(const HttpRequest&)> request_observer;
  // Authenticates and authorizes requests; null serves everyone as
  // "anonymous". Must outlive the server.
  auth::AccessControl* access_control = nullptr;
};

// Serves the REST endpoints of `service` and the regions of `shared_memory`,
// which must both outlive the server. Start, port and Stop may be called from
// any thread except the server's own.
class HttpServer {
 public:
  HttpServer(InferenceService& service, shm::SharedMemoryManager& shared_memory, HttpServerOptions options);
  // Serves without shared memory: its endpoints and parameters get 400
  // saying that it is disabled.
  HttpServer(InferenceService& service, HttpServerOptions options);
  ~HttpServer();  // calls Stop
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds, listens and starts the threads. INVALID_ARGUMENT for bad options,
  // TLS files included (see tls::LoadTlsServerFiles); UNAVAILABLE naming the
  // address when it cannot be bound. At most once.
  Status Start();

  // The bound port; valid after a successful Start.
  uint16_t port() const;

  // Stops accepting, waits for running inferences, closes every connection
  // and joins the threads. Idempotent.
  void Stop();

 private:
  class Impl;
  // Set by the constructor without a manager; declared first so that it
  // outlives `impl_`.
  std::unique_ptr<shm::SharedMemoryManager> disabled_shared_memory_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace moat::server
