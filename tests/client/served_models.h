// Test helper: a real ModelService over a signed repository, served over HTTP
// and gRPC on 127.0.0.1 with OS-picked ports, both with shared memory
// enabled, plus the sample tensors the client tests send.
#pragma once

#include <gtest/gtest.h>

#include <cctype>
#include <memory>
#include <string>
#include <vector>

#include "grpc/grpc_server.h"
#include "repository/model_service.h"
#include "server/http_server.h"
#include "shm/shared_memory.h"
#include "testing/signed_repository.h"
#include "testing/tensor_bytes.h"

namespace moat::client::testing {

inline std::string IdentityModel(DataType type) {
  std::string name = "identity_";
  for (char c : DataTypeName(type))
    name.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  return name;
}

// The identity model of every datatype and add_sub.
inline std::vector<moat::testing::RepositoryModel> TinyModels() {
  std::vector<moat::testing::RepositoryModel> models;
  for (DataType type : kAllDataTypes) {
    models.push_back({IdentityModel(type), 1, moat::testing::TestModelPath(IdentityModel(type) + ".onnx")});
  }
  models.push_back({"add_sub", 1, moat::testing::TestModelPath("add_sub.onnx")});
  return models;
}

// Two rows of three elements of `type` in binary form; BYTES elements include
// an empty one, an embedded NUL and bytes that are not UTF-8.
inline std::string SampleBytes(DataType type) {
  if (type == DataType::kBytes) {
    std::string bytes;
    const std::string elements[] = {"", "a", "bc", std::string("n\0l", 3), "\xff\xfe", "last"};
    for (const std::string& element : elements) {
      bytes += moat::testing::RawBytes<uint32_t>({static_cast<uint32_t>(element.size())}) + element;
    }
    return bytes;
  }
  std::string bytes;
  for (size_t i = 0; i < 6 * DataTypeSize(type); ++i) bytes.push_back(static_cast<char>(0x31 + i % 13));
  if (type == DataType::kBool) {
    for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>(i % 2);
  }
  return bytes;
}

// Owns the repository, the service, the shared memory manager and both
// servers; stops the servers before the rest goes.
class ServedModels {
 public:
  explicit ServedModels(const std::vector<moat::testing::RepositoryModel>& models, bool shared_memory = true)
      : repository_(models), shared_memory_(shared_memory) {
    repository::ModelServiceOptions options;
    options.repository_dir = repository_.repository_dir();
    options.trust_dir = repository_.trust_dir();
    options.audit_log_path = repository_.audit_log_path();
    options.audit_sync = false;
    auto service = repository::ModelService::Create(options);
    EXPECT_TRUE(service.ok()) << service.status().ToString();
    if (!service.ok()) return;
    service_ = std::move(service).value();
    EXPECT_EQ(service_->loaded_version_count(), models.size());

    server::HttpServerOptions http_options;
    http_options.port = 0;
    http_options.worker_threads = 2;
    http_ = std::make_unique<server::HttpServer>(*service_, shared_memory_, http_options);
    Status started = http_->Start();
    EXPECT_TRUE(started.ok()) << started.ToString();

    grpc_server::GrpcServerOptions grpc_options;
    grpc_options.port = 0;
    grpc_ = std::make_unique<grpc_server::GrpcServer>(*service_, shared_memory_, grpc_options);
    started = grpc_->Start();
    EXPECT_TRUE(started.ok()) << started.ToString();
  }

  ~ServedModels() {
    if (grpc_) grpc_->Stop();
    if (http_) http_->Stop();
  }

  ServedModels(const ServedModels&) = delete;
  ServedModels& operator=(const ServedModels&) = delete;

  std::string http_url() const { return "http://127.0.0.1:" + std::to_string(http_->port()); }
  std::string grpc_target() const { return "127.0.0.1:" + std::to_string(grpc_->port()); }
  uint16_t grpc_port() const { return grpc_->port(); }
  repository::ModelService& service() { return *service_; }
  shm::SharedMemoryManager& shared_memory() { return shared_memory_; }
  const moat::testing::SignedRepository& repository() const { return repository_; }

 private:
  moat::testing::SignedRepository repository_;
  shm::SharedMemoryManager shared_memory_;
  std::unique_ptr<repository::ModelService> service_;
  std::unique_ptr<server::HttpServer> http_;
  std::unique_ptr<grpc_server::GrpcServer> grpc_;
};

}  // namespace moat::client::testing
