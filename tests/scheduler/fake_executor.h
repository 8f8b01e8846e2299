// An executor that echoes input i as output i, records every call, and can be
// held at a gate so that tests decide when executions finish.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "scheduler/scheduler.h"

namespace moat::scheduler {

class FakeExecutor {
 public:
  struct Call {
    size_t instance = 0;
    std::vector<Tensor> inputs;
    std::vector<std::string> output_names;
  };

  // Returns the executor for instance `instance`. REQUIRES: this object
  // outlives the scheduler that calls it.
  Executor ForInstance(size_t instance) {
    return [this, instance](std::span<const Tensor> inputs, std::span<const std::string> output_names) {
      return Run(instance, inputs, output_names);
    };
  }

  // Makes later calls block until Open.
  void Close() {
    std::lock_guard lock(mutex_);
    open_ = false;
  }

  void Open() {
    std::lock_guard lock(mutex_);
    open_ = true;
    cv_.notify_all();
  }

  // Blocks until at least `count` calls have started.
  void AwaitCalls(size_t count) {
    std::unique_lock lock(mutex_);
    cv_.wait(lock, [&] { return calls_.size() >= count; });
  }

  std::vector<Call> calls() {
    std::lock_guard lock(mutex_);
    return calls_;
  }

  // Runs inside each call, after it is recorded; may be empty.
  std::function<void()> during_call;
  // Returned by every call when not OK.
  Status failure;

 private:
  StatusOr<std::vector<Tensor>> Run(size_t instance, std::span<const Tensor> inputs,
                                    std::span<const std::string> output_names) {
    Call call{instance, {inputs.begin(), inputs.end()}, {output_names.begin(), output_names.end()}};
    {
      std::unique_lock lock(mutex_);
      calls_.push_back(call);
      cv_.notify_all();
      cv_.wait(lock, [&] { return open_; });
    }
    if (during_call) during_call();
    if (!failure.ok()) return failure;
    std::vector<Tensor> outputs;
    for (size_t i = 0; i < output_names.size(); ++i) {
      if (i >= inputs.size()) return InternalError("the fake executor echoes inputs, and has too few");
      Tensor output = inputs[i];
      output.name = output_names[i];
      outputs.push_back(std::move(output));
    }
    return outputs;
  }

  std::mutex mutex_;
  std::condition_variable cv_;
  bool open_ = true;
  std::vector<Call> calls_;
};

}  // namespace moat::scheduler
