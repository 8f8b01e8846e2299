// Test helper: a GrpcServer started on a port that the OS picks.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <utility>

#include "core/inference.h"
#include "grpc/grpc_server.h"
#include "shm/shared_memory.h"

namespace moat::testing {

// Starts a GrpcServer for `service` and `shared_memory` on options.address,
// with a port that the OS picks in place of options.port. Adds a test failure
// and returns nullptr when the server does not start.
inline std::unique_ptr<grpc_server::GrpcServer> StartGrpcServer(InferenceService& service,
                                                                shm::SharedMemoryManager& shared_memory,
                                                                grpc_server::GrpcServerOptions options = {}) {
  options.port = 0;
  auto server = std::make_unique<grpc_server::GrpcServer>(service, shared_memory, std::move(options));
  if (Status started = server->Start(); !started.ok()) {
    ADD_FAILURE() << "GrpcServer::Start: " << started.ToString();
    return nullptr;
  }
  return server;
}

}  // namespace moat::testing
