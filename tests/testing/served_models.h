// Test helper: a real ModelService over a signed repository, served over HTTP
// and gRPC on 127.0.0.1 with OS-picked ports, both with the same shared
// memory manager.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "grpc/grpc_server.h"
#include "repository/model_service.h"
#include "server/http_server.h"
#include "shm/shared_memory.h"
#include "testing/model_service.h"
#include "testing/signed_repository.h"
#include "testing/start_grpc_server.h"
#include "testing/start_http_server.h"

namespace moat::testing {

// Owns the repository, the service, the shared memory manager and both
// servers; stops the servers before the rest goes. A step that fails adds a
// test failure, and the steps after it are skipped.
class ServedModels {
 public:
  explicit ServedModels(const std::vector<RepositoryModel>& models, bool shared_memory = true)
      : repository_(models), shared_memory_(shared_memory) {
    service_ = CreateModelService(repository_);
    if (!service_) return;
    EXPECT_EQ(service_->loaded_version_count(), models.size());

    server::HttpServerOptions http_options;
    http_options.worker_threads = 2;
    http_ = StartHttpServer(*service_, http_options, &shared_memory_);
    grpc_ = StartGrpcServer(*service_, shared_memory_);
  }

  ~ServedModels() {
    if (grpc_) grpc_->Stop();
    if (http_) http_->Stop();
  }

  ServedModels(const ServedModels&) = delete;
  ServedModels& operator=(const ServedModels&) = delete;

  // The ports are 0 when a server did not start, so that connections fail.
  uint16_t http_port() const { return http_ ? http_->port() : 0; }
  std::string http_url() const { return "http://127.0.0.1:" + std::to_string(http_port()); }
  uint16_t grpc_port() const { return grpc_ ? grpc_->port() : 0; }
  std::string grpc_target() const { return "127.0.0.1:" + std::to_string(grpc_port()); }
  repository::ModelService& service() { return *service_; }
  shm::SharedMemoryManager& shared_memory() { return shared_memory_; }
  const SignedRepository& repository() const { return repository_; }

 private:
  SignedRepository repository_;
  shm::SharedMemoryManager shared_memory_;
  std::unique_ptr<repository::ModelService> service_;
  std::unique_ptr<server::HttpServer> http_;
  std::unique_ptr<grpc_server::GrpcServer> grpc_;
};

}  // namespace moat::testing
