#include "scheduler/scheduler.h"

#include <algorithm>
#include <future>
#include <utility>

#include "scheduler/batching.h"

namespace moat::scheduler {
namespace {

std::chrono::microseconds ElapsedMicros(Clock::TimePoint from, Clock::TimePoint to) {
  return std::chrono::duration_cast<std::chrono::microseconds>(to - from);
}

// Returns the first input whose byte size does not fit its shape, as an error.
Status CheckInputSizes(const SchedulerRequest& request) {
  for (const Tensor& input : request.inputs) MOAT_RETURN_IF_ERROR(CheckTensorByteSize(input));
  return OkStatus();
}

bool IsCancelled(const SchedulerRequest& request) {
  return request.cancelled != nullptr && request.cancelled->load(std::memory_order_acquire);
}

Status ValidateOptions(const SchedulerOptions& options) {
  const std::string model = "model '" + options.model_name + "'";
  if (options.instances.empty())
    return InvalidArgumentError(model + ": the scheduler needs at least one instance");
  for (size_t i = 0; i < options.instances.size(); ++i) {
    if (!options.instances[i]) {
      return InvalidArgumentError(model + ": instance " + std::to_string(i) + " has no executor");
    }
  }
  if (options.max_queue_size == 0) {
    return InvalidArgumentError(model + ": max_queue_size must be at least 1");
  }
  if (options.max_queue_delay.count() < 0) {
    return InvalidArgumentError(model + ": max_queue_delay " +
                                std::to_string(options.max_queue_delay.count()) + " us is negative");
  }
  if (options.default_timeout && options.default_timeout->count() <= 0) {
    return InvalidArgumentError(model + ": default_timeout " +
                                std::to_string(options.default_timeout->count()) + " us must be positive");
  }
  if (!options.dynamic_batching) return OkStatus();
  if (options.max_batch_size < 1) {
    return InvalidArgumentError(model + ": max_batch_size " + std::to_string(options.max_batch_size) +
                                " must be at least 1 with dynamic batching");
  }
  for (int64_t size : options.preferred_batch_sizes) {
    if (size < 1 || size > options.max_batch_size) {
      return InvalidArgumentError(model + ": preferred batch size " + std::to_string(size) +
                                  " is outside [1, max_batch_size " + std::to_string(options.max_batch_size) +
                                  "]");
    }
  }
  return OkStatus();
}

}  // namespace

StatusOr<std::unique_ptr<Scheduler>> Scheduler::Create(SchedulerOptions options) {
  MOAT_RETURN_IF_ERROR(ValidateOptions(options));
  std::unique_ptr<Scheduler> scheduler(new Scheduler(std::move(options)));
  scheduler->workers_.reserve(scheduler->options_.instances.size());
  for (size_t i = 0; i < scheduler->options_.instances.size(); ++i) {
    scheduler->workers_.emplace_back([raw = scheduler.get(), i] { raw->WorkerLoop(i); });
  }
  return scheduler;
}

Scheduler::Scheduler(SchedulerOptions options)
    : options_(std::move(options)),
      clock_(options_.clock ? options_.clock : std::make_shared<SteadyClock>()),
      busy_(options_.instances.size(), false) {}

Scheduler::~Scheduler() { Stop(StopMode::kFailQueued); }

std::string Scheduler::ModelLabel() const {
  return "model '" + options_.model_name + "' version " + options_.model_version;
}

void Scheduler::Submit(SchedulerRequest request, Completion done) {
  Pending pending;
  if (Status status = CheckInputSizes(request); !status.ok()) {
    {
      std::lock_guard lock(mutex_);
      ++counters_.rejected_invalid;
    }
    done(status);
    return;
  }
  if (options_.dynamic_batching) {
    StatusOr<int64_t> rows = BatchRows(request.inputs);
    if (!rows.ok()) {
      {
        std::lock_guard lock(mutex_);
        ++counters_.rejected_invalid;
      }
      done(rows.status());
      return;
    }
    pending.rows = *rows;
  }

  const uint32_t level = request.priority == 0 ? options_.default_priority_level : request.priority;
  std::chrono::microseconds timeout = request.timeout;
  if (timeout.count() <= 0 && options_.default_timeout) timeout = *options_.default_timeout;
  pending.enqueued = clock_->Now();
  pending.deadline = timeout.count() > 0 ? SaturatingAdd(pending.enqueued, timeout) : Clock::TimePoint::max();
  pending.request = std::move(request);
  pending.done = std::move(done);

  Status rejection;
  {
    std::lock_guard lock(mutex_);
    if (stopping_) {
      ++counters_.rejected_unloading;
      rejection = UnavailableError(ModelLabel() + " is being unloaded");
    } else if (queued_ >= options_.max_queue_size) {
      ++counters_.rejected_queue_full;
      rejection = UnavailableError(ModelLabel() + ": the queue is full (max_queue_size " +
                                   std::to_string(options_.max_queue_size) + "); retry later");
    } else {
      queue_[level].push_back(std::move(pending));
      ++queued_;
    }
  }
  if (!rejection.ok()) {
    pending.done(rejection);
    return;
  }
  cv_.notify_all();
}

StatusOr<std::vector<Tensor>> Scheduler::SubmitAndWait(SchedulerRequest request) {
  if (std::optional<size_t> instance = ClaimIdleInstance(request)) return RunOnCaller(*instance, std::move(request));
  std::promise<StatusOr<std::vector<Tensor>>> promise;
  std::future<StatusOr<std::vector<Tensor>>> future = promise.get_future();
  Submit(std::move(request),
         [&promise](StatusOr<std::vector<Tensor>> result) { promise.set_value(std::move(result)); });
  return future.get();
}

std::optional<size_t> Scheduler::ClaimIdleInstance(const SchedulerRequest& request) {
  if (options_.dynamic_batching || IsCancelled(request)) return std::nullopt;
  std::lock_guard lock(mutex_);
  if (stopping_ || queued_ > 0) return std::nullopt;
  for (size_t i = 0; i < busy_.size(); ++i) {
    if (!busy_[i]) {
      busy_[i] = true;
      return i;
    }
  }
  return std::nullopt;
}

StatusOr<std::vector<Tensor>> Scheduler::RunOnCaller(size_t instance, SchedulerRequest request) {
  std::optional<StatusOr<std::vector<Tensor>>> result;
  Status invalid = CheckInputSizes(request);
  if (invalid.ok()) {
    std::vector<Pending> batch(1);
    batch[0].enqueued = clock_->Now();
    batch[0].deadline = Clock::TimePoint::max();  // it starts now, so it cannot expire in a queue
    batch[0].request = std::move(request);
    batch[0].done = [&result](StatusOr<std::vector<Tensor>> outputs) { result = std::move(outputs); };
    Execute(instance, std::move(batch));
  }
  bool wake = false;
  {
    std::lock_guard lock(mutex_);
    busy_[instance] = false;
    if (!invalid.ok()) ++counters_.rejected_invalid;
    // Only a request queued meanwhile (for this instance's worker) or a Stop
    // (waiting for this execution) needs a wake-up. Waking idle workers for
    // nothing would cost each request a futex call and a thread switch.
    wake = queued_ > 0 || stopping_;
  }
  if (wake) cv_.notify_all();
  if (!invalid.ok()) return invalid;
  return std::move(*result);
}

void Scheduler::Stop(StopMode mode) {
  std::vector<Finished> finished;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    if (mode == StopMode::kFailQueued) finished = RemoveExpiredLocked(clock_->Now(), /*fail_all=*/true);
  }
  cv_.notify_all();
  for (Finished& f : finished) f.done(std::move(f.status));
  std::lock_guard join_lock(join_mutex_);
  for (std::thread& worker : workers_) {
    if (worker.joinable()) worker.join();
  }
  // Executions on callers' threads finish too before Stop returns.
  std::unique_lock lock(mutex_);
  cv_.wait(lock, [this] { return std::none_of(busy_.begin(), busy_.end(), [](bool busy) { return busy; }); });
}

bool Scheduler::is_stopping() const {
  std::lock_guard lock(mutex_);
  return stopping_;
}

size_t Scheduler::queue_size() const {
  std::lock_guard lock(mutex_);
  return queued_;
}

SchedulerCounters Scheduler::counters() const {
  std::lock_guard lock(mutex_);
  return counters_;
}

void Scheduler::WorkerLoop(size_t instance) {
  std::unique_lock lock(mutex_);
  while (true) {
    const Clock::TimePoint now = clock_->Now();
    std::vector<Finished> finished = RemoveExpiredLocked(now, /*fail_all=*/false);
    if (!finished.empty()) {
      lock.unlock();
      for (Finished& f : finished) f.done(std::move(f.status));
      lock.lock();
      continue;
    }
    if (queued_ == 0) {
      if (stopping_) return;
      clock_->WaitUntil(lock, cv_, Clock::TimePoint::max());
      continue;
    }
    if (busy_[instance]) {
      // A caller's thread runs on this instance; it notifies when it is done.
      clock_->WaitUntil(lock, cv_, Clock::TimePoint::max());
      continue;
    }
    Plan plan = PlanBatchLocked(now);
    if (!plan.ready) {
      clock_->WaitUntil(lock, cv_, std::min(plan.wake_at, NextDeadlineLocked()));
      continue;
    }
    std::vector<Pending> batch = TakeLocked(plan.count);
    busy_[instance] = true;
    // Another idle worker may start on what is left while this one executes.
    if (queued_ > 0) cv_.notify_all();
    lock.unlock();
    Execute(instance, std::move(batch));
    lock.lock();
    busy_[instance] = false;
  }
}

// NOTE: only workers call this, so while every instance is executing, a
// request that times out or is cancelled completes when one of them returns.
// Each call scans the whole queue, which max_queue_size bounds.
std::vector<Scheduler::Finished> Scheduler::RemoveExpiredLocked(Clock::TimePoint now, bool fail_all) {
  std::vector<Finished> finished;
  for (auto level = queue_.begin(); level != queue_.end();) {
    std::deque<Pending>& requests = level->second;
    for (auto it = requests.begin(); it != requests.end();) {
      Status status;
      if (fail_all) {
        ++counters_.failed_unloading;
        status = UnavailableError(ModelLabel() + " is being unloaded");
      } else if (IsCancelled(it->request)) {
        ++counters_.cancelled;
        status = Status(StatusCode::kCancelled, "the request to " + ModelLabel() + " was cancelled");
      } else if (now >= it->deadline) {
        ++counters_.timed_out;
        status = Status(StatusCode::kDeadlineExceeded,
                        "the request to " + ModelLabel() + " timed out after waiting " +
                            std::to_string(ElapsedMicros(it->enqueued, now).count()) + " us in the queue");
      }
      if (status.ok()) {
        ++it;
        continue;
      }
      finished.push_back({std::move(it->done), std::move(status)});
      it = requests.erase(it);
      --queued_;
    }
    level = requests.empty() ? queue_.erase(level) : std::next(level);
  }
  return finished;
}

Clock::TimePoint Scheduler::NextDeadlineLocked() const {
  Clock::TimePoint next = Clock::TimePoint::max();
  for (const auto& [level, requests] : queue_) {
    for (const Pending& pending : requests) next = std::min(next, pending.deadline);
  }
  return next;
}

Scheduler::Plan Scheduler::PlanBatchLocked(Clock::TimePoint now) const {
  if (!options_.dynamic_batching) return Plan{.ready = true, .count = 1};
  return PlanDynamicBatchLocked(now);
}

// Takes requests in queue order while they fit the head's shapes and
// max_batch_size. The first one that does not fit ends the batch, so that no
// request runs ahead of one with a higher priority or an earlier submission.
Scheduler::Plan Scheduler::PlanDynamicBatchLocked(Clock::TimePoint now) const {
  const Pending* head = nullptr;
  std::vector<int64_t> prefix_rows;  // prefix_rows[i]: rows of the first i + 1 requests
  Clock::TimePoint oldest = Clock::TimePoint::max();
  bool blocked = false;
  for (const auto& [level, requests] : queue_) {
    for (const Pending& pending : requests) {
      if (head == nullptr) {
        head = &pending;
      } else if (!CanShareBatch(head->request.inputs, head->request.output_names, pending.request.inputs,
                                pending.request.output_names) ||
                 prefix_rows.back() + pending.rows > options_.max_batch_size) {
        blocked = true;
        break;
      }
      prefix_rows.push_back((prefix_rows.empty() ? 0 : prefix_rows.back()) + pending.rows);
      oldest = std::min(oldest, pending.enqueued);
      if (prefix_rows.back() >= options_.max_batch_size) break;
    }
    if (blocked || prefix_rows.back() >= options_.max_batch_size) break;
  }

  // A full batch, or a head too large for any batch (it runs alone), goes now.
  if (prefix_rows.back() >= options_.max_batch_size) return Plan{.ready = true, .count = prefix_rows.size()};

  const std::vector<int64_t>& preferred = options_.preferred_batch_sizes;
  if (!preferred.empty()) {
    const int64_t largest = *std::max_element(preferred.begin(), preferred.end());
    auto hit = std::find(prefix_rows.begin(), prefix_rows.end(), largest);
    if (hit != prefix_rows.end()) {
      return Plan{.ready = true, .count = static_cast<size_t>(hit - prefix_rows.begin()) + 1};
    }
  }

  const Clock::TimePoint due = SaturatingAdd(oldest, options_.max_queue_delay);
  if (!blocked && !stopping_ && now < due) return Plan{.ready = false, .wake_at = due};

  // Out of time or out of candidates: cut at the largest preferred size that a
  // prefix reaches exactly, else take them all.
  size_t count = prefix_rows.size();
  if (!preferred.empty()) {
    for (size_t i = prefix_rows.size(); i > 0; --i) {
      if (std::find(preferred.begin(), preferred.end(), prefix_rows[i - 1]) != preferred.end()) {
        count = i;
        break;
      }
    }
  }
  return Plan{.ready = true, .count = count};
}

std::vector<Scheduler::Pending> Scheduler::TakeLocked(size_t count) {
  std::vector<Pending> batch;
  batch.reserve(count);
  while (batch.size() < count) {
    auto level = queue_.begin();
    batch.push_back(std::move(level->second.front()));
    level->second.pop_front();
    --queued_;
    if (level->second.empty()) queue_.erase(level);
  }
  return batch;
}

void Scheduler::Execute(size_t instance, std::vector<Pending> batch) {
  const Clock::TimePoint start = clock_->Now();
  StatusOr<std::vector<Tensor>> result = InternalError("no execution ran");
  int64_t batch_size = 0;
  if (batch.size() == 1) {
    batch_size = batch[0].rows;
    result = options_.instances[instance](batch[0].request.inputs, batch[0].request.output_names);
  } else {
    std::vector<std::span<const Tensor>> parts;
    parts.reserve(batch.size());
    for (const Pending& pending : batch) {
      parts.emplace_back(pending.request.inputs);
      batch_size += pending.rows;
    }
    std::vector<Tensor> inputs = ConcatenateInputs(parts);
    result = options_.instances[instance](inputs, batch[0].request.output_names);
  }
  const Clock::TimePoint end = clock_->Now();

  ExecutionStats stats;
  stats.instance = instance;
  stats.batch_size = batch_size;
  stats.request_count = batch.size();
  stats.compute_time = ElapsedMicros(start, end);
  stats.status = result.status();
  for (const Pending& pending : batch) stats.queue_times.push_back(ElapsedMicros(pending.enqueued, start));
  {
    std::lock_guard lock(mutex_);
    ++counters_.executions;
    counters_.executed_requests += batch.size();
  }
  if (options_.on_execution) options_.on_execution(stats);
  for (Pending& pending : batch) {
    if (pending.request.executed_on != nullptr) *pending.request.executed_on = static_cast<int64_t>(instance);
  }
  CompleteBatch(batch, std::move(result));
}

void Scheduler::CompleteBatch(std::vector<Pending>& batch, StatusOr<std::vector<Tensor>> result) {
  if (batch.size() == 1 || !result.ok()) {
    for (Pending& pending : batch) pending.done(result);
    return;
  }
  std::vector<int64_t> rows;
  rows.reserve(batch.size());
  for (const Pending& pending : batch) rows.push_back(pending.rows);

  std::vector<std::vector<Tensor>> per_request(batch.size());
  for (const Tensor& output : *result) {
    StatusOr<std::vector<Tensor>> slices = SplitRows(output, rows);
    if (!slices.ok()) {
      for (Pending& pending : batch) pending.done(slices.status());
      return;
    }
    for (size_t i = 0; i < batch.size(); ++i) per_request[i].push_back(std::move((*slices)[i]));
  }
  for (size_t i = 0; i < batch.size(); ++i) batch[i].done(std::move(per_request[i]));
}

}  // namespace moat::scheduler
