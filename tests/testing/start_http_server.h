// Test helper: an HttpServer started on a port that the OS picks.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <utility>

#include "core/inference.h"
#include "server/http_server.h"
#include "shm/shared_memory.h"

namespace moat::testing {

// Starts an HttpServer for `service` on options.address, with a port that the
// OS picks in place of options.port. The server serves the regions of
// `shared_memory`, or has shared memory disabled when it is null. Adds a test
// failure and returns nullptr when the server does not start.
inline std::unique_ptr<server::HttpServer> StartHttpServer(
    InferenceService& service, server::HttpServerOptions options = {},
    shm::SharedMemoryManager* shared_memory = nullptr) {
  options.port = 0;
  auto server = shared_memory != nullptr
                    ? std::make_unique<server::HttpServer>(service, *shared_memory, std::move(options))
                    : std::make_unique<server::HttpServer>(service, std::move(options));
  if (Status started = server->Start(); !started.ok()) {
    ADD_FAILURE() << "HttpServer::Start: " << started.ToString();
    return nullptr;
  }
  return server;
}

}  // namespace moat::testing
