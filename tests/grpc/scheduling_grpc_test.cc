// The scheduler's limits seen over gRPC: a full queue and request and
// default timeouts. A FakeClock holds requests in the queue
// (testing/held_queue.h), so nothing here sleeps.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <thread>

#include "grpc/grpc_server.h"
#include "grpc_test_util.h"
#include "shm/shared_memory.h"
#include "testing/held_queue.h"
#include "testing/model_service.h"
#include "testing/signed_repository.h"
#include "testing/start_grpc_server.h"
#include "testing/tensor_bytes.h"

namespace moat::grpc_server {
namespace {

using inference::ModelInferRequest;
using moat::testing::HeldQueue;
using moat::testing::OneRowRequest;
using moat::testing::RawBytes;
using moat::testing::SignedRepository;
using ::testing::HasSubstr;

std::vector<moat::testing::RepositoryModel> HeldModel() {
  return {{"held", 1, moat::testing::TestModelPath("identity_fp32.onnx")}};
}

// The held model served over gRPC on 127.0.0.1; stops the server first.
class HeldServer {
 public:
  explicit HeldServer(HeldQueue& held) : held_(held), repository_(HeldModel()) {
    service_ = moat::testing::CreateModelService(repository_, held.Options());
    if (!service_) return;
    grpc_ = moat::testing::StartGrpcServer(*service_, shared_memory_);
  }

  // Moves the clock far ahead first, so that a request a failed test left
  // queued completes instead of blocking Stop.
  ~HeldServer() {
    held_.Advance(std::chrono::hours(1));
    if (grpc_) grpc_->Stop();
  }

  // 0 when the server did not start, so that calls fail.
  uint16_t grpc_port() const { return grpc_ ? grpc_->port() : 0; }
  repository::ModelService& service() { return *service_; }

 private:
  HeldQueue& held_;
  SignedRepository repository_;
  shm::SharedMemoryManager shared_memory_{false};
  std::unique_ptr<repository::ModelService> service_;
  std::unique_ptr<GrpcServer> grpc_;
};

ModelInferRequest HeldRequest() {
  return testing::RawRequest("held", "FP32", {1, 4}, RawBytes<float>({1, 2, 3, 4}));
}

// Sends `request` to the held model from a thread of its own, and once the
// request is queued, advances the clock by `advance` and returns the call's status.
::grpc::Status InferWhileHeld(HeldQueue& held, const HeldServer& served, const ModelInferRequest& request,
                              std::chrono::microseconds advance) {
  ::grpc::Status status;
  std::thread client([&] {
    auto stub = testing::MakeStub(served.grpc_port());
    status = testing::Infer(*stub, request);
  });
  held.AwaitWorkerWaits(2);
  held.Advance(advance);
  client.join();
  return status;
}

uint64_t ExecutionCount(repository::ModelService& service) {
  auto statistics = service.GetModelStatistics("held", 1);
  return statistics.ok() && statistics->size() == 1 ? (*statistics)[0].execution_count : UINT64_MAX;
}

TEST(SchedulingGrpc, FullQueueIsUnavailable) {
  HeldQueue held("held", "max_queue_size = 1\n");
  HeldServer served(held);
  held.AwaitWorkerWaits(1);
  moat::testing::BackgroundInfer first(served.service(), OneRowRequest("held"));
  held.AwaitWorkerWaits(2);

  auto stub = testing::MakeStub(served.grpc_port());
  ::grpc::Status rejected = testing::Infer(*stub, HeldRequest());
  EXPECT_EQ(rejected.error_code(), ::grpc::StatusCode::UNAVAILABLE) << rejected.error_message();
  EXPECT_THAT(rejected.error_message(), HasSubstr("the queue is full (max_queue_size 1)"));

  held.Release();
  StatusOr<InferenceResponse> first_result = first.Join();
  EXPECT_TRUE(first_result.ok()) << first_result.status().ToString();
  EXPECT_EQ(ExecutionCount(served.service()), 1u);
}

TEST(SchedulingGrpc, RequestTimeoutIsDeadlineExceeded) {
  HeldQueue held("held", "");
  HeldServer served(held);
  held.AwaitWorkerWaits(1);
  ModelInferRequest request = HeldRequest();
  (*request.mutable_parameters())["timeout"].set_int64_param(500);
  ::grpc::Status status = InferWhileHeld(held, served, request, std::chrono::microseconds(500));

  EXPECT_EQ(status.error_code(), ::grpc::StatusCode::DEADLINE_EXCEEDED) << status.error_message();
  EXPECT_THAT(status.error_message(), HasSubstr("timed out after waiting 500 us in the queue"));
  EXPECT_EQ(ExecutionCount(served.service()), 0u);
}

TEST(SchedulingGrpc, DefaultTimeoutIsDeadlineExceeded) {
  HeldQueue held("held", "default_timeout_us = 300\n");
  HeldServer served(held);
  held.AwaitWorkerWaits(1);
  ::grpc::Status status = InferWhileHeld(held, served, HeldRequest(), std::chrono::microseconds(300));

  EXPECT_EQ(status.error_code(), ::grpc::StatusCode::DEADLINE_EXCEEDED) << status.error_message();
  EXPECT_THAT(status.error_message(), HasSubstr("timed out after waiting 300 us in the queue"));
  EXPECT_EQ(ExecutionCount(served.service()), 0u);
}

}  // namespace
}  // namespace moat::grpc_server
