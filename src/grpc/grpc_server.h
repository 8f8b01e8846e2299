// The KServe v2 gRPC front end: inference.GRPCInferenceService and
// grpc.health.v1.Health on grpc++.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "common/status.h"
#include "core/inference.h"
#include "shm/shared_memory.h"

namespace moat::grpc_server {

struct GrpcServerOptions {
  std::string address = "127.0.0.1";  // an IPv4 or IPv6 address, not a host name
  uint16_t port = 8001;               // 0: the OS picks a free port
  size_t max_message_bytes = 64u << 20;  // larger requests get RESOURCE_EXHAUSTED
  int max_concurrent_calls = 64;         // sync server threads
};

// Serves `service` and `shared_memory` (both must outlive the server).
class GrpcServer {
 public:
  GrpcServer(InferenceService& service, shm::SharedMemoryManager& shared_memory, GrpcServerOptions options);
  ~GrpcServer();  // calls Stop
  GrpcServer(const GrpcServer&) = delete;
  GrpcServer& operator=(const GrpcServer&) = delete;

  // Binds and starts serving. UNAVAILABLE naming the address when it cannot
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
