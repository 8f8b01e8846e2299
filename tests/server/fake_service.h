// An InferenceService for front-end tests that need no models: model "echo"
// (versions 1 and 2, version 2 not ready) returns its inputs as outputs, and
// every call is recorded.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/inference.h"

namespace moat::server::testing {

struct RejectedRecord {
  RequestContext context;
  std::string model;
  std::string version;
  Status reason;
};

class FakeService final : public InferenceService {
 public:
  bool IsLive() const override { return live; }
  bool IsReady() const override { return ready; }

  ServerMetadata GetServerMetadata() const override { return {"moat", "0.0.0-test", {}}; }

  StatusOr<ModelMetadata> GetModelMetadata(const std::string& model,
                                           std::optional<int64_t> version) const override {
    MOAT_RETURN_IF_ERROR(Check(model, version));
    ModelMetadata metadata;
    metadata.name = model;
    metadata.versions = {1};
    metadata.platform = "fake";
    metadata.inputs = {{"INPUT0", DataType::kFp32, {-1}}};
    metadata.outputs = {{"INPUT0", DataType::kFp32, {-1}}};
    return metadata;
  }

  StatusOr<bool> IsModelReady(const std::string& model, std::optional<int64_t> version) const override {
    MOAT_RETURN_IF_ERROR(Check(model, version));
    return version.value_or(1) == 1;
  }

  StatusOr<InferenceResponse> Infer(const InferenceRequest& request, const RequestContext& context) override {
    {
      std::lock_guard lock(mutex_);
      inferred_.push_back({request, context});
      inferred_changed_.notify_all();
    }
    MOAT_RETURN_IF_ERROR(Check(request.model_name, request.model_version));
    if (block_until_cancelled) return WaitForCancellation(request);
    if (!infer_error.ok()) return infer_error;
    InferenceResponse response;
    response.id = request.id;
    response.model_name = request.model_name;
    response.model_version = request.model_version.value_or(1);
    for (const Tensor& input : request.inputs) {
      if (request.requested_outputs.empty() ||
          std::find(request.requested_outputs.begin(), request.requested_outputs.end(), input.name) !=
              request.requested_outputs.end()) {
        response.outputs.push_back(input);
      }
    }
    return response;
  }

  std::vector<ModelIndexEntry> RepositoryIndex(bool ready_only) const override {
    std::vector<ModelIndexEntry> index = {{"echo", "1", "READY", ""}};
    if (!ready_only) index.push_back({"echo", "2", "UNAVAILABLE", "not ready in the fake"});
    return index;
  }

  StatusOr<std::vector<ModelStatistics>> GetModelStatistics(const std::string& model,
                                                            std::optional<int64_t> version) const override {
    if (!model.empty()) MOAT_RETURN_IF_ERROR(Check(model, version));
    ModelStatistics stats;
    stats.name = "echo";
    stats.version = 1;
    return std::vector<ModelStatistics>{stats};
  }

  Status LoadModel(const std::string& model, const RequestContext& context) override {
    return model_control_error.ok() ? Check(model, std::nullopt) : model_control_error;
  }
  Status UnloadModel(const std::string& model, const RequestContext& context) override {
    return model_control_error.ok() ? Check(model, std::nullopt) : model_control_error;
  }

  std::string MetricsText() const override { return "moat_fake_metric 1\n"; }

  void RecordRejectedRequest(const RequestContext& context, const std::string& model,
                             const std::string& version, const Status& reason) override {
    std::lock_guard lock(mutex_);
    rejected_.push_back({context, model, version, reason});
    rejected_changed_.notify_all();
  }

  Status model_control_error;  // what LoadModel and UnloadModel return when not OK

  std::vector<RejectedRecord> rejected() const {
    std::lock_guard lock(mutex_);
    return rejected_;
  }

  // Waits until at least `count` rejections are recorded, or 10 s pass, and
  // returns them. A server may close a timed-out socket before its handler
  // records the rejection, so a test that saw the close must wait for it.
  std::vector<RejectedRecord> WaitForRejected(size_t count) const {
    std::unique_lock lock(mutex_);
    rejected_changed_.wait_for(lock, std::chrono::seconds(10), [&] { return rejected_.size() >= count; });
    return rejected_;
  }

  // Waits until Infer has been called `count` times, or 10 s pass, and
  // returns how often it was called.
  size_t WaitForInferred(size_t count) const {
    std::unique_lock lock(mutex_);
    inferred_changed_.wait_for(lock, std::chrono::seconds(10), [&] { return inferred_.size() >= count; });
    return inferred_.size();
  }

  // Waits until `count` Infer calls made while block_until_cancelled was set
  // have returned, or 10 s pass. Returns one entry per returned call: true
  // when it saw its cancellation flag set.
  std::vector<bool> WaitForCancellations(size_t count) const {
    std::unique_lock lock(mutex_);
    cancellations_changed_.wait_for(lock, std::chrono::seconds(10),
                                    [&] { return cancellations_.size() >= count; });
    return cancellations_;
  }

  std::vector<std::pair<InferenceRequest, RequestContext>> inferred() const {
    std::lock_guard lock(mutex_);
    return inferred_;
  }

  // Set by tests before the service is used.
  bool live = true;
  bool ready = true;
  Status infer_error;  // returned by Infer for model "echo" when not OK
  // When set, Infer for model "echo" waits until the request's cancellation
  // flag is set (or 10 s pass) and returns CANCELLED instead of running.
  std::atomic<bool> block_until_cancelled = false;

 private:
  static Status Check(const std::string& model, std::optional<int64_t> version) {
    if (model != "echo") return NotFoundError("model '" + model + "' not found");
    if (version && *version != 1 && *version != 2) {
      return NotFoundError("model 'echo' has no version " + std::to_string(*version));
    }
    return OkStatus();
  }

  // Polls because the flag is a plain atomic without a notification; the
  // 10 s limit only keeps a broken front end from hanging the test.
  Status WaitForCancellation(const InferenceRequest& request) {
    bool cancelled = false;
    const auto limit = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (request.cancelled != nullptr && std::chrono::steady_clock::now() < limit) {
      if (request.cancelled->load()) {
        cancelled = true;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    std::lock_guard lock(mutex_);
    cancellations_.push_back(cancelled);
    cancellations_changed_.notify_all();
    return Status(StatusCode::kCancelled, "request cancelled by the client");
  }

  mutable std::mutex mutex_;
  mutable std::condition_variable inferred_changed_;
  mutable std::condition_variable cancellations_changed_;
  std::vector<bool> cancellations_;
  mutable std::condition_variable rejected_changed_;
  std::vector<RejectedRecord> rejected_;
  std::vector<std::pair<InferenceRequest, RequestContext>> inferred_;
};

}  // namespace moat::server::testing
