// Test helper: a version whose scheduler keeps requests queued until the test
// lets them run, so that tests reach a busy or full queue without sleeping.
//
// The version batches with preferred_batch_sizes = 4, so a queue of fewer
// than 4 one-row requests waits for max_queue_delay_us. Its clock is a
// FakeClock, which moves only when the test calls Release or Advance.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <utility>

#include "core/inference.h"
#include "repository/model_service.h"
#include "scheduler/fake_clock.h"
#include "testing/model_service.h"

namespace moat::testing {

class HeldQueue {
 public:
  static constexpr std::chrono::microseconds kBatchDelay{1'000'000};

  // `model` names the held version's section; `settings` adds lines to it,
  // such as "max_queue_size = 1\n".
  HeldQueue(const std::string& model, const std::string& settings) {
    config_text_ = "[model " + model + "]\n" +
                   "instances = 1\n"
                   "dynamic_batching = true\n"
                   "max_batch_size = 4\n"
                   "preferred_batch_sizes = 4\n"
                   "max_queue_delay_us = " +
                   std::to_string(kBatchDelay.count()) + "\n" + settings;
  }

  // The service options with this configuration and clock.
  repository::ModelServiceOptions Options() const {
    repository::ModelServiceOptions options;
    options.serving_config = ParseTestServingConfig(config_text_);
    options.clock = clock_;
    return options;
  }

  // Blocks until the version's worker has started `count` waits. The worker
  // waits once when idle and once more after each request it finds queued
  // that cannot run yet. So in a test that serves one held version, the count
  // shows that the scheduler has seen its requests.
  void AwaitWorkerWaits(uint64_t count) { clock_->AwaitWaits(count); }

  // Moves time past the batch delay, so the queued requests run.
  void Release() { clock_->Advance(kBatchDelay); }

  void Advance(std::chrono::microseconds delta) { clock_->Advance(delta); }

  const std::shared_ptr<scheduler::FakeClock>& clock() const { return clock_; }

 private:
  std::string config_text_;
  std::shared_ptr<scheduler::FakeClock> clock_ = std::make_shared<scheduler::FakeClock>();
};

// Runs one inference on a thread of its own, so that the test thread can act
// while the request waits in a held queue. The destructor joins the thread,
// so release the queue before this object goes out of scope.
class BackgroundInfer {
 public:
  BackgroundInfer(InferenceService& service, InferenceRequest request)
      : thread_([this, &service, request = std::move(request)] {
          result_ = service.Infer(request, {"background-request", "test", "127.0.0.1:1"});
          done_ = true;
        }) {}

  ~BackgroundInfer() {
    if (thread_.joinable()) thread_.join();
  }

  BackgroundInfer(const BackgroundInfer&) = delete;
  BackgroundInfer& operator=(const BackgroundInfer&) = delete;

  // Waits for the inference to finish and returns its result.
  StatusOr<InferenceResponse> Join() {
    thread_.join();
    return std::move(result_);
  }

  // Whether the inference has finished.
  bool done() const { return done_.load(); }

 private:
  StatusOr<InferenceResponse> result_ = InternalError("the inference has not finished");
  std::atomic<bool> done_{false};
  std::thread thread_;  // last, so that it starts after the members it writes
};

// Returns a request of one row of four FP32 values for an identity_fp32 model
// served as `model`.
inline InferenceRequest OneRowRequest(const std::string& model) {
  const float values[4] = {1, 2, 3, 4};
  InferenceRequest request;
  request.model_name = model;
  request.inputs = {MakeOwnedTensor("INPUT0", DataType::kFp32, {1, 4},
                                    std::string(reinterpret_cast<const char*>(values), sizeof(values)))};
  return request;
}

}  // namespace moat::testing
