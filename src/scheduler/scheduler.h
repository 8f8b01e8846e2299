// The per-model-version scheduler: a bounded priority queue between the front
// ends and the model instances, with optional dynamic batching.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "common/status.h"
#include "core/tensor.h"
#include "scheduler/clock.h"

namespace moat::scheduler {

// Runs one execution on one model instance, with the contract of
// runtime::ModelInstance::Execute: returns `output_names` in that order.
using Executor = std::function<StatusOr<std::vector<Tensor>>(std::span<const Tensor> inputs,
                                                             std::span<const std::string> output_names)>;

// The measurements of one execution, for the model's statistics.
struct ExecutionStats {
  size_t instance = 0;
  // The sum of dimension 0 over the batched requests; 1 per request without
  // dynamic batching.
  int64_t batch_size = 0;
  size_t request_count = 0;
  // One entry per request: from Submit to the start of the execution.
  std::vector<std::chrono::microseconds> queue_times;
  std::chrono::microseconds compute_time{0};
  Status status;
};

struct SchedulerOptions {
  // Names used in error messages.
  std::string model_name;
  std::string model_version;
  // One worker thread per executor, so their count is the number of
  // executions that run at once.
  std::vector<Executor> instances;
  // Queued requests beyond this count are rejected with UNAVAILABLE. Must be
  // at least 1: an unbounded queue is not offered.
  size_t max_queue_size = 1024;
  // Joins requests along dimension 0. Only for models whose first dimension
  // of every input and output is the batch dimension.
  bool dynamic_batching = false;
  int64_t max_batch_size = 0;
  // Batch sizes the model runs best at, each in [1, max_batch_size].
  std::vector<int64_t> preferred_batch_sizes;
  // How long the oldest request of a batch may wait for more requests.
  std::chrono::microseconds max_queue_delay{0};
  // Applies to requests that carry no timeout; nullopt means no deadline.
  std::optional<std::chrono::microseconds> default_timeout;
  // The level of requests with priority 0. Lower levels run first.
  uint32_t default_priority_level = 1;
  // Called on the worker thread after each execution, before its requests
  // complete. Must not call back into the scheduler.
  std::function<void(const ExecutionStats&)> on_execution;
  // Null means SteadyClock.
  std::shared_ptr<Clock> clock;
};

struct SchedulerRequest {
  // Validated by the caller against the model; the scheduler checks only that
  // each byte size fits its shape, and the batch dimension when batching.
  std::vector<Tensor> inputs;
  std::vector<std::string> output_names;
  // 0 takes default_priority_level. Otherwise lower numbers run first
  // (1 is the highest priority), and requests of one level run in
  // submission order.
  uint32_t priority = 0;
  // The protocol's `timeout` in microseconds; 0 takes default_timeout. A
  // request still queued at its deadline completes with DEADLINE_EXCEEDED.
  std::chrono::microseconds timeout{0};
  // Set by the front end when the client goes away. A request found cancelled
  // before it runs completes with CANCELLED. May be null.
  // NOTE: setting the flag wakes no worker. A worker checks it the next time it
  // scans the queue: on a Submit, a deadline, the batch delay or the end of an execution.
  std::shared_ptr<const std::atomic<bool>> cancelled;
  // When not null, receives the index of the instance that ran the request,
  // before its completion runs; untouched when it never ran. The pointee
  // must outlive the completion (SubmitAndWait's caller's stack does).
  int64_t* executed_on = nullptr;
};

// Receives the outputs in the order of `output_names`, or the error.
using Completion = std::function<void(StatusOr<std::vector<Tensor>>)>;

// Totals since creation, for metrics.
struct SchedulerCounters {
  uint64_t rejected_queue_full = 0;
  uint64_t rejected_invalid = 0;
  uint64_t rejected_unloading = 0;
  uint64_t timed_out = 0;
  uint64_t cancelled = 0;
  uint64_t failed_unloading = 0;
  uint64_t executions = 0;
  uint64_t executed_requests = 0;
};

enum class StopMode {
  // Queued requests still run; then the workers exit.
  kDrain,
  // Queued requests complete with UNAVAILABLE; running executions finish.
  kFailQueued,
};

// Thread-safe: Submit may be called from any number of threads at once.
class Scheduler {
 public:
  // Validates `options` (INVALID_ARGUMENT names the bad field) and starts one
  // worker thread per instance.
  static StatusOr<std::unique_ptr<Scheduler>> Create(SchedulerOptions options);

  // Stops with StopMode::kFailQueued unless Stop already ran.
  ~Scheduler();

  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Queues `request`. `done` runs exactly once, on a worker thread, or on the
  // calling thread before Submit returns when the request is rejected at once.
  // Rejections: UNAVAILABLE for a full queue or a stopped scheduler, and
  // INVALID_ARGUMENT for a byte size that does not fit its shape or a bad batch
  // dimension. Never blocks on the queue. The tensors' owners stay alive until
  // `done` returns.
  void Submit(SchedulerRequest request, Completion done);

  // Submits and blocks until the request completes. Without dynamic
  // batching, when the queue is empty and an instance is idle, the request
  // runs on the calling thread instead, which saves two thread switches. It
  // still occupies that instance, so no more than N executions run at once.
  StatusOr<std::vector<Tensor>> SubmitAndWait(SchedulerRequest request);

  // Rejects new requests, handles the queued ones as `mode` specifies (kFailQueued
  // completes them on the calling thread), waits for running executions to
  // finish and joins the workers. Later calls return at
  // once. Must not be called from a Completion or an executor, whose worker
  // thread it would wait for.
  void Stop(StopMode mode);

  // Returns true once Stop has begun; Submit then rejects every request.
  bool is_stopping() const;
  size_t queue_size() const;
  SchedulerCounters counters() const;

 private:
  struct Pending {
    SchedulerRequest request;
    Completion done;
    Clock::TimePoint enqueued;
    Clock::TimePoint deadline;
    int64_t rows = 1;
  };

  // A request taken off the queue that completes with an error.
  struct Finished {
    Completion done;
    Status status;
  };

  // How many requests from the front of the queue form the next execution, or
  // when to look again.
  struct Plan {
    bool ready = false;
    size_t count = 0;
    Clock::TimePoint wake_at = Clock::TimePoint::max();
  };

  explicit Scheduler(SchedulerOptions options);

  void WorkerLoop(size_t instance);
  // Marks an idle instance busy and returns it, when the request may skip the
  // queue: no batching, nothing queued, not stopping.
  std::optional<size_t> ClaimIdleInstance(const SchedulerRequest& request);
  StatusOr<std::vector<Tensor>> RunOnCaller(size_t instance, SchedulerRequest request);
  // Removes cancelled and timed-out requests, or every request when
  // `fail_all`, and returns them with their errors.
  std::vector<Finished> RemoveExpiredLocked(Clock::TimePoint now, bool fail_all);
  Clock::TimePoint NextDeadlineLocked() const;
  Plan PlanBatchLocked(Clock::TimePoint now) const;
  Plan PlanDynamicBatchLocked(Clock::TimePoint now) const;
  std::vector<Pending> TakeLocked(size_t count);
  void Execute(size_t instance, std::vector<Pending> batch);
  void CompleteBatch(std::vector<Pending>& batch, StatusOr<std::vector<Tensor>> result);
  std::string ModelLabel() const;

  const SchedulerOptions options_;
  const std::shared_ptr<Clock> clock_;

  mutable std::mutex mutex_;
  std::condition_variable cv_;
  // Queued requests by priority level, lowest level (runs first) first; FIFO
  // within a level.
  std::map<uint32_t, std::deque<Pending>> queue_;
  size_t queued_ = 0;
  // busy_[i]: instance i is executing, on its worker or on a caller's thread.
  std::vector<bool> busy_;
  bool stopping_ = false;
  SchedulerCounters counters_;

  std::mutex join_mutex_;
  std::vector<std::thread> workers_;
};

}  // namespace moat::scheduler
