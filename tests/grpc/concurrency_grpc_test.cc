// The bound on calls that run at once: with max_concurrent_calls 1, a second
// call while the first is inside Infer gets RESOURCE_EXHAUSTED from grpc++.
#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "grpc/grpc_server.h"
#include "grpc_test_util.h"
#include "server/fake_service.h"
#include "testing/tensor_bytes.h"

namespace moat::grpc_server {
namespace {

using moat::testing::RawBytes;
using testing::Infer;
using testing::RawRequest;

// Delegates to FakeService, but Infer waits until the test releases it.
class BlockingService final : public InferenceService {
 public:
  bool IsLive() const override { return fake_.IsLive(); }
  bool IsReady() const override { return fake_.IsReady(); }
  ServerMetadata GetServerMetadata() const override { return fake_.GetServerMetadata(); }
  StatusOr<ModelMetadata> GetModelMetadata(const std::string& model,
                                           std::optional<int64_t> version) const override {
    return fake_.GetModelMetadata(model, version);
  }
  StatusOr<bool> IsModelReady(const std::string& model, std::optional<int64_t> version) const override {
    return fake_.IsModelReady(model, version);
  }
  std::vector<ModelIndexEntry> RepositoryIndex(bool ready_only) const override {
    return fake_.RepositoryIndex(ready_only);
  }
  StatusOr<std::vector<ModelStatistics>> GetModelStatistics(const std::string& model,
                                                            std::optional<int64_t> version) const override {
    return fake_.GetModelStatistics(model, version);
  }
  Status LoadModel(const std::string& model, const RequestContext& context) override {
    return fake_.LoadModel(model, context);
  }
  Status UnloadModel(const std::string& model, const RequestContext& context) override {
    return fake_.UnloadModel(model, context);
  }
  void RecordRejectedRequest(const RequestContext& context, const std::string& model,
                             const std::string& version, const Status& reason) override {
    fake_.RecordRejectedRequest(context, model, version, reason);
  }
  std::string MetricsText() const override { return fake_.MetricsText(); }

  StatusOr<InferenceResponse> Infer(const InferenceRequest& request, const RequestContext& context) override {
    std::unique_lock lock(mutex_);
    ++entered_;
    changed_.notify_all();
    changed_.wait(lock, [&] { return released_; });
    lock.unlock();
    return fake_.Infer(request, context);
  }

  void WaitUntilEntered(int count) {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return entered_ >= count; });
  }

  void Release() {
    std::lock_guard lock(mutex_);
    released_ = true;
    changed_.notify_all();
  }

 private:
  server::testing::FakeService fake_;
  std::mutex mutex_;
  std::condition_variable changed_;
  int entered_ = 0;
  bool released_ = false;
};

TEST(GrpcConcurrency, CallsBeyondTheLimitAreRejected) {
  BlockingService service;
  shm::SharedMemoryManager shared_memory(false);
  GrpcServerOptions options;
  options.port = 0;
  options.max_concurrent_calls = 1;
  GrpcServer server(service, shared_memory, options);
  ASSERT_TRUE(server.Start().ok());
  auto stub = testing::MakeStub(server.port());

  ::grpc::Status first;
  std::thread caller([&] { first = Infer(*stub, RawRequest("echo", "FP32", {1}, RawBytes<float>({1}))); });
  service.WaitUntilEntered(1);

  ::grpc::ClientContext context;
  inference::ServerLiveResponse live;
  ::grpc::Status second = stub->ServerLive(&context, {}, &live);
  EXPECT_EQ(second.error_code(), ::grpc::StatusCode::RESOURCE_EXHAUSTED) << second.error_message();

  service.Release();
  caller.join();
  EXPECT_TRUE(first.ok()) << first.error_message();
  // The first call's thread goes back to the quota only after its response
  // has left, so a call right after it may still be rejected for a moment.
  ::grpc::Status after;
  for (int attempt = 0; attempt < 1000; ++attempt) {
    ::grpc::ClientContext after_context;
    after = stub->ServerLive(&after_context, {}, &live);
    if (after.error_code() != ::grpc::StatusCode::RESOURCE_EXHAUSTED) break;
  }
  EXPECT_TRUE(after.ok()) << after.error_message();
}

}  // namespace
}  // namespace moat::grpc_server
