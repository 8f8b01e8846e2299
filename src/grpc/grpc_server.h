// The KServe v2 gRPC front end: inference.GRPCInferenceService and
// grpc.health.v1.Health on grpc++.
#pragma once

#include <grpcpp/security/server_credentials.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "auth/access_control.h"
#include "common/status.h"
#include "core/inference.h"
#include "shm/shared_memory.h"
#include "tls/tls_context.h"

namespace moat::grpc_server {

struct GrpcServerOptions {
  std::string address = "127.0.0.1";  // an IPv4 or IPv6 address, not a host name
  uint16_t port = 8001;               // 0: the OS picks a free port
  size_t max_message_bytes = 64u << 20;  // larger requests get RESOURCE_EXHAUSTED
  int max_concurrent_calls = 64;         // sync server threads
  // Serve gRPC over TLS with these files; unset: plaintext HTTP/2.
  std::optional<tls::TlsServerOptions> tls;
  // Authenticates and authorizes calls; null serves everyone as
  // "anonymous". Must outlive the server.
  auth::AccessControl* access_control = nullptr;
};

// gRPC server credentials for `files`: TLS 1.2 or newer, and a client
// certificate not asked for (no client CA), verified when sent, or required
// and verified (require_client_cert).
std::shared_ptr<::grpc::ServerCredentials> TlsServerCredentials(const tls::TlsServerFiles& files);

// Serves `service` and `shared_memory` (both must outlive the server).
class GrpcServer {
 public:
  GrpcServer(InferenceService& service, shm::SharedMemoryManager& shared_memory, GrpcServerOptions options);
  ~GrpcServer();  // calls Stop
  GrpcServer(const GrpcServer&) = delete;
  GrpcServer& operator=(const GrpcServer&) = delete;

  // Binds and starts serving. INVALID_ARGUMENT for unusable TLS files (see
  // tls::LoadTlsServerFiles); UNAVAILABLE naming the address when it cannot
  // be bound. At most once.
  Status Start();

  // The bound port; valid after a successful Start.
  uint16_t port() const;

  // Stops accepting, lets running calls finish and returns. Idempotent.
  void Stop();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace moat::grpc_server
