#include "scheduler/scheduler.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <future>
#include <memory>
#include <thread>
#include <vector>

#include "scheduler/fake_clock.h"
#include "scheduler/fake_executor.h"
#include "scheduler/tensors.h"

namespace moat::scheduler {
namespace {

using std::chrono::microseconds;
using Result = StatusOr<std::vector<Tensor>>;

// Collects the outcome of one submitted request.
struct Outcome {
  std::promise<Result> promise;
  std::future<Result> future = promise.get_future();

  Completion Callback() {
    return [this](Result result) { promise.set_value(std::move(result)); };
  }
  bool ready() { return future.wait_for(std::chrono::seconds(0)) == std::future_status::ready; }
};

SchedulerRequest Request(std::vector<Tensor> inputs, std::vector<std::string> outputs = {"Y"}) {
  SchedulerRequest request;
  request.inputs = std::move(inputs);
  request.output_names = std::move(outputs);
  return request;
}

class SchedulerTest : public ::testing::Test {
 protected:
  SchedulerOptions Options(size_t instances = 1) {
    SchedulerOptions options;
    options.model_name = "m";
    options.model_version = "1";
    for (size_t i = 0; i < instances; ++i) options.instances.push_back(executor_.ForInstance(i));
    options.clock = clock_;
    return options;
  }

  std::unique_ptr<Scheduler> Start(SchedulerOptions options) {
    StatusOr<std::unique_ptr<Scheduler>> scheduler = Scheduler::Create(std::move(options));
    EXPECT_TRUE(scheduler.ok()) << scheduler.status().ToString();
    return std::move(scheduler).value();
  }

  // Runs `action`, then waits until one worker has gone back to waiting, so
  // that whatever the action made it decide has happened.
  template <typename F>
  void Settle(F action) {
    uint64_t before = clock_->waits();
    action();
    clock_->AwaitWaits(before + 1);
  }

  // The shape of the first input of each call, in call order.
  std::vector<std::vector<int64_t>> CallShapes() {
    std::vector<std::vector<int64_t>> rows;
    for (const FakeExecutor::Call& call : executor_.calls()) rows.push_back(call.inputs[0].shape);
    return rows;
  }

  std::shared_ptr<FakeClock> clock_ = std::make_shared<FakeClock>();
  FakeExecutor executor_;
};

float FirstFloat(const Tensor& tensor) {
  float value = 0;
  std::memcpy(&value, tensor.data.data(), sizeof(value));
  return value;
}

TEST_F(SchedulerTest, CreateRejectsBadOptions) {
  SchedulerOptions no_instances = Options(0);
  EXPECT_EQ(Scheduler::Create(no_instances).status().code(), StatusCode::kInvalidArgument);

  SchedulerOptions unbounded = Options();
  unbounded.max_queue_size = 0;
  EXPECT_EQ(Scheduler::Create(unbounded).status().code(), StatusCode::kInvalidArgument);

  SchedulerOptions no_batch_size = Options();
  no_batch_size.dynamic_batching = true;
  EXPECT_EQ(Scheduler::Create(no_batch_size).status().code(), StatusCode::kInvalidArgument);

  SchedulerOptions bad_preferred = Options();
  bad_preferred.dynamic_batching = true;
  bad_preferred.max_batch_size = 4;
  bad_preferred.preferred_batch_sizes = {8};
  StatusOr<std::unique_ptr<Scheduler>> created = Scheduler::Create(bad_preferred);
  ASSERT_FALSE(created.ok());
  EXPECT_NE(created.status().message().find("preferred batch size 8"), std::string::npos);
}

TEST_F(SchedulerTest, RunsRequestAndReturnsOutputs) {
  auto scheduler = Start(Options());
  Tensor input = MakeFp32("X", 2, 3, 5);
  Result result = scheduler->SubmitAndWait(Request({input}));
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  ASSERT_EQ(result->size(), 1u);
  EXPECT_EQ((*result)[0].name, "Y");
  EXPECT_EQ(BytesOf((*result)[0]), BytesOf(input));
}

TEST_F(SchedulerTest, RejectsByteSizeMismatch) {
  auto scheduler = Start(Options());
  Tensor input = MakeFp32("X", 1, 4, 0);
  input.data = input.data.first(8);
  Result result = scheduler->SubmitAndWait(Request({input}));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(executor_.calls().empty());
  EXPECT_EQ(scheduler->counters().rejected_invalid, 1u);
}

TEST_F(SchedulerTest, BatchesQueuedRequests) {
  SchedulerOptions options = Options();
  options.dynamic_batching = true;
  options.max_batch_size = 4;
  auto scheduler = Start(std::move(options));

  // A full-size request runs at once and occupies the only instance while the
  // others queue.
  executor_.Close();
  Outcome blocker;
  scheduler->Submit(Request({MakeFp32("X", 4, 2, 0)}), blocker.Callback());
  executor_.AwaitCalls(1);

  std::vector<Tensor> inputs = {MakeFp32("X", 1, 2, 100), MakeFp32("X", 2, 2, 200), MakeFp32("X", 1, 2, 300)};
  std::vector<Outcome> outcomes(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) scheduler->Submit(Request({inputs[i]}), outcomes[i].Callback());
  executor_.Open();

  for (size_t i = 0; i < inputs.size(); ++i) {
    Result result = outcomes[i].future.get();
    ASSERT_TRUE(result.ok()) << result.status().ToString();
    EXPECT_EQ((*result)[0].shape, inputs[i].shape);
    EXPECT_EQ(BytesOf((*result)[0]), BytesOf(inputs[i]));
  }
  std::vector<FakeExecutor::Call> calls = executor_.calls();
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[1].inputs[0].shape, (std::vector<int64_t>{4, 2}));
  EXPECT_EQ(BytesOf(calls[1].inputs[0]), BytesOf(inputs[0]) + BytesOf(inputs[1]) + BytesOf(inputs[2]));
  EXPECT_TRUE(blocker.future.get().ok());
}

TEST_F(SchedulerTest, BatchesBytesTensors) {
  SchedulerOptions options = Options();
  options.dynamic_batching = true;
  options.max_batch_size = 3;
  auto scheduler = Start(std::move(options));

  executor_.Close();
  Outcome blocker;
  scheduler->Submit(Request({MakeBytes("T", {{"a", "b"}, {"c", "d"}, {"e", "f"}})}), blocker.Callback());
  executor_.AwaitCalls(1);

  std::vector<Tensor> inputs = {MakeBytes("T", {{"", "longer element"}}),
                                MakeBytes("T", {{std::string(1000, 'x'), "y"}, {"z", ""}})};
  std::vector<Outcome> outcomes(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) scheduler->Submit(Request({inputs[i]}), outcomes[i].Callback());
  executor_.Open();

  for (size_t i = 0; i < inputs.size(); ++i) {
    Result result = outcomes[i].future.get();
    ASSERT_TRUE(result.ok()) << result.status().ToString();
    EXPECT_EQ((*result)[0].shape, inputs[i].shape);
    EXPECT_EQ(BytesOf((*result)[0]), BytesOf(inputs[i]));
  }
  ASSERT_EQ(executor_.calls().size(), 2u);
  EXPECT_EQ(executor_.calls()[1].inputs[0].shape, (std::vector<int64_t>{3, 2}));
  EXPECT_TRUE(blocker.future.get().ok());
}

TEST_F(SchedulerTest, MixedShapesNeverShareBatch) {
  SchedulerOptions options = Options();
  options.dynamic_batching = true;
  options.max_batch_size = 8;
  auto scheduler = Start(std::move(options));

  executor_.Close();
  Outcome blocker;
  scheduler->Submit(Request({MakeFp32("X", 8, 4, 0)}), blocker.Callback());
  executor_.AwaitCalls(1);

  std::vector<SchedulerRequest> requests;
  requests.push_back(Request({MakeFp32("X", 1, 4, 0)}));
  requests.push_back(Request({MakeFp32("X", 1, 3, 0)}));
  requests.push_back(Request({MakeFp32("X", 1, 4, 0)}, {"Z"}));
  requests.push_back(Request({MakeFp32("W", 1, 4, 0)}, {"Z"}));
  requests.push_back(Request({MakeFp32("X", 1, 4, 0)}));
  requests.push_back(Request({MakeFp32("X", 2, 4, 0)}));
  std::vector<Outcome> outcomes(requests.size());
  for (size_t i = 0; i < requests.size(); ++i) scheduler->Submit(requests[i], outcomes[i].Callback());
  executor_.Open();
  for (Outcome& outcome : outcomes) EXPECT_TRUE(outcome.future.get().ok());

  // The last two match each other and nothing before them.
  std::vector<FakeExecutor::Call> calls = executor_.calls();
  ASSERT_EQ(calls.size(), 6u);
  EXPECT_EQ(calls[1].inputs[0].shape, (std::vector<int64_t>{1, 4}));
  EXPECT_EQ(calls[2].inputs[0].shape, (std::vector<int64_t>{1, 3}));
  EXPECT_EQ(calls[3].output_names, (std::vector<std::string>{"Z"}));
  EXPECT_EQ(calls[3].inputs[0].name, "X");
  EXPECT_EQ(calls[4].inputs[0].name, "W");
  EXPECT_EQ(calls[5].inputs[0].shape, (std::vector<int64_t>{3, 4}));
}

TEST_F(SchedulerTest, SplitsAtMaxBatchSize) {
  SchedulerOptions options = Options();
  options.dynamic_batching = true;
  options.max_batch_size = 4;
  auto scheduler = Start(std::move(options));

  executor_.Close();
  Outcome blocker;
  scheduler->Submit(Request({MakeFp32("X", 4, 1, 0)}), blocker.Callback());
  executor_.AwaitCalls(1);

  std::vector<int64_t> sizes = {2, 2, 2, 5, 1};
  std::vector<Outcome> outcomes(sizes.size());
  for (size_t i = 0; i < sizes.size(); ++i) {
    scheduler->Submit(Request({MakeFp32("X", sizes[i], 1, 0)}), outcomes[i].Callback());
  }
  executor_.Open();
  for (Outcome& outcome : outcomes) EXPECT_TRUE(outcome.future.get().ok());

  // The request of 5 rows exceeds max_batch_size and runs alone.
  std::vector<std::vector<int64_t>> shapes = CallShapes();
  ASSERT_EQ(shapes.size(), 5u);
  EXPECT_EQ(shapes[1][0], 4);
  EXPECT_EQ(shapes[2][0], 2);
  EXPECT_EQ(shapes[3][0], 5);
  EXPECT_EQ(shapes[4][0], 1);
}

TEST_F(SchedulerTest, RunsAtPreferredSize) {
  SchedulerOptions options = Options();
  options.dynamic_batching = true;
  options.max_batch_size = 8;
  options.preferred_batch_sizes = {2};
  options.max_queue_delay = microseconds(1000);
  auto scheduler = Start(std::move(options));

  executor_.Close();
  Outcome blocker;
  scheduler->Submit(Request({MakeFp32("X", 8, 1, 0)}), blocker.Callback());
  executor_.AwaitCalls(1);

  std::vector<Outcome> outcomes(3);
  for (size_t i = 0; i < outcomes.size(); ++i) {
    scheduler->Submit(Request({MakeFp32("X", 1, 1, static_cast<float>(i))}), outcomes[i].Callback());
  }
  // The first two reach the preferred size and run without waiting; the third
  // waits for max_queue_delay.
  Settle([&] { executor_.Open(); });
  EXPECT_TRUE(outcomes[0].future.get().ok());
  EXPECT_TRUE(outcomes[1].future.get().ok());
  EXPECT_EQ(executor_.calls().size(), 2u);
  EXPECT_FALSE(outcomes[2].ready());

  clock_->Advance(microseconds(1000));
  EXPECT_TRUE(outcomes[2].future.get().ok());
  std::vector<std::vector<int64_t>> shapes = CallShapes();
  ASSERT_EQ(shapes.size(), 3u);
  EXPECT_EQ(shapes[1][0], 2);
  EXPECT_EQ(shapes[2][0], 1);
}

TEST_F(SchedulerTest, WaitsMaxQueueDelay) {
  SchedulerOptions options = Options();
  options.dynamic_batching = true;
  options.max_batch_size = 4;
  options.max_queue_delay = microseconds(100);
  auto scheduler = Start(std::move(options));
  clock_->AwaitWaits(1);

  Outcome first;
  Outcome second;
  Settle([&] { scheduler->Submit(Request({MakeFp32("X", 1, 1, 1)}), first.Callback()); });
  Settle([&] { clock_->Advance(microseconds(99)); });
  EXPECT_TRUE(executor_.calls().empty());
  Settle([&] { scheduler->Submit(Request({MakeFp32("X", 1, 1, 2)}), second.Callback()); });
  EXPECT_TRUE(executor_.calls().empty());

  // The delay counts from the oldest request, so one more microsecond is due.
  clock_->Advance(microseconds(1));
  ASSERT_TRUE(first.future.get().ok());
  ASSERT_TRUE(second.future.get().ok());
  std::vector<FakeExecutor::Call> calls = executor_.calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].inputs[0].shape[0], 2);
}

TEST_F(SchedulerTest, RejectsWhenQueueFull) {
  SchedulerOptions options = Options();
  options.max_queue_size = 2;
  auto scheduler = Start(std::move(options));

  executor_.Close();
  Outcome running;
  scheduler->Submit(Request({MakeFp32("X", 1, 1, 0)}), running.Callback());
  executor_.AwaitCalls(1);
  std::vector<Outcome> queued(2);
  for (Outcome& outcome : queued) scheduler->Submit(Request({MakeFp32("X", 1, 1, 0)}), outcome.Callback());

  Outcome rejected;
  scheduler->Submit(Request({MakeFp32("X", 1, 1, 0)}), rejected.Callback());
  ASSERT_TRUE(rejected.ready());
  Result result = rejected.future.get();
  EXPECT_EQ(result.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(result.status().message().find("max_queue_size 2"), std::string::npos)
      << result.status().message();
  EXPECT_NE(result.status().message().find("'m'"), std::string::npos) << result.status().message();
  EXPECT_EQ(scheduler->counters().rejected_queue_full, 1u);

  executor_.Open();
  EXPECT_TRUE(running.future.get().ok());
  for (Outcome& outcome : queued) EXPECT_TRUE(outcome.future.get().ok());
}

TEST_F(SchedulerTest, TimesOutQueuedRequest) {
  auto scheduler = Start(Options());

  executor_.Close();
  Outcome running;
  scheduler->Submit(Request({MakeFp32("X", 1, 1, 0)}), running.Callback());
  executor_.AwaitCalls(1);
  SchedulerRequest request = Request({MakeFp32("X", 1, 1, 0)});
  request.timeout = microseconds(50);
  Outcome late;
  scheduler->Submit(std::move(request), late.Callback());
  clock_->Advance(microseconds(50));
  executor_.Open();

  EXPECT_TRUE(running.future.get().ok());
  EXPECT_EQ(late.future.get().status().code(), StatusCode::kDeadlineExceeded);
  EXPECT_EQ(executor_.calls().size(), 1u);
  EXPECT_EQ(scheduler->counters().timed_out, 1u);
}

TEST_F(SchedulerTest, TimesOutWhileWaitingForBatch) {
  SchedulerOptions options = Options();
  options.dynamic_batching = true;
  options.max_batch_size = 4;
  options.max_queue_delay = microseconds(1000);
  options.default_timeout = microseconds(10);
  auto scheduler = Start(std::move(options));
  clock_->AwaitWaits(1);

  Outcome outcome;
  Settle([&] { scheduler->Submit(Request({MakeFp32("X", 1, 1, 0)}), outcome.Callback()); });
  Settle([&] { clock_->Advance(microseconds(9)); });
  EXPECT_FALSE(outcome.ready());
  clock_->Advance(microseconds(1));
  EXPECT_EQ(outcome.future.get().status().code(), StatusCode::kDeadlineExceeded);
  EXPECT_TRUE(executor_.calls().empty());
}

TEST_F(SchedulerTest, CancelledRequestNeverRuns) {
  auto scheduler = Start(Options());

  executor_.Close();
  Outcome running;
  scheduler->Submit(Request({MakeFp32("X", 1, 1, 0)}), running.Callback());
  executor_.AwaitCalls(1);
  auto cancelled = std::make_shared<std::atomic<bool>>(false);
  SchedulerRequest request = Request({MakeFp32("X", 1, 1, 0)});
  request.cancelled = cancelled;
  Outcome outcome;
  scheduler->Submit(std::move(request), outcome.Callback());
  cancelled->store(true);
  executor_.Open();

  EXPECT_TRUE(running.future.get().ok());
  EXPECT_EQ(outcome.future.get().status().code(), StatusCode::kCancelled);
  EXPECT_EQ(executor_.calls().size(), 1u);
  EXPECT_EQ(scheduler->counters().cancelled, 1u);
}

TEST_F(SchedulerTest, RunsByPriorityThenFifo) {
  SchedulerOptions options = Options();
  options.default_priority_level = 2;
  auto scheduler = Start(std::move(options));

  executor_.Close();
  Outcome running;
  scheduler->Submit(Request({MakeFp32("X", 1, 1, 0)}), running.Callback());
  executor_.AwaitCalls(1);

  // {priority, tag}: priority 0 takes level 2.
  std::vector<std::pair<uint32_t, float>> submitted = {{3, 1}, {0, 2}, {1, 3}, {2, 4}, {1, 5}, {3, 6}};
  std::vector<Outcome> outcomes(submitted.size());
  for (size_t i = 0; i < submitted.size(); ++i) {
    SchedulerRequest request = Request({MakeFp32("X", 1, 1, submitted[i].second)});
    request.priority = submitted[i].first;
    scheduler->Submit(std::move(request), outcomes[i].Callback());
  }
  executor_.Open();
  for (Outcome& outcome : outcomes) EXPECT_TRUE(outcome.future.get().ok());

  std::vector<float> order;
  for (const FakeExecutor::Call& call : executor_.calls()) order.push_back(FirstFloat(call.inputs[0]));
  EXPECT_EQ(order, (std::vector<float>{0, 3, 5, 2, 4, 1, 6}));
}

TEST_F(SchedulerTest, InstancesRunInParallel) {
  auto scheduler = Start(Options(2));
  executor_.Close();
  std::vector<Outcome> outcomes(2);
  for (Outcome& outcome : outcomes) scheduler->Submit(Request({MakeFp32("X", 1, 1, 0)}), outcome.Callback());

  // Both calls start while neither can finish, so they run at once.
  executor_.AwaitCalls(2);
  std::vector<FakeExecutor::Call> calls = executor_.calls();
  EXPECT_NE(calls[0].instance, calls[1].instance);
  executor_.Open();
  for (Outcome& outcome : outcomes) EXPECT_TRUE(outcome.future.get().ok());
}

TEST_F(SchedulerTest, ReportsExecutionStats) {
  SchedulerOptions options = Options();
  options.dynamic_batching = true;
  options.max_batch_size = 3;
  options.max_queue_delay = microseconds(100);
  std::vector<ExecutionStats> reported;
  std::mutex reported_mutex;
  options.on_execution = [&](const ExecutionStats& stats) {
    std::lock_guard lock(reported_mutex);
    reported.push_back(stats);
  };
  executor_.during_call = [&] { clock_->Advance(microseconds(7)); };
  auto scheduler = Start(std::move(options));
  clock_->AwaitWaits(1);

  Outcome first;
  Outcome second;
  Settle([&] { scheduler->Submit(Request({MakeFp32("X", 1, 1, 0)}), first.Callback()); });
  Settle([&] { clock_->Advance(microseconds(40)); });
  scheduler->Submit(Request({MakeFp32("X", 2, 1, 0)}), second.Callback());
  ASSERT_TRUE(first.future.get().ok());
  ASSERT_TRUE(second.future.get().ok());

  std::lock_guard lock(reported_mutex);
  ASSERT_EQ(reported.size(), 1u);
  EXPECT_EQ(reported[0].batch_size, 3);
  EXPECT_EQ(reported[0].request_count, 2u);
  EXPECT_EQ(reported[0].queue_times, (std::vector<microseconds>{microseconds(40), microseconds(0)}));
  EXPECT_EQ(reported[0].compute_time, microseconds(7));
  EXPECT_TRUE(reported[0].status.ok());
}

TEST_F(SchedulerTest, StopDrainRunsQueued) {
  auto scheduler = Start(Options());
  executor_.Close();
  Outcome running;
  scheduler->Submit(Request({MakeFp32("X", 1, 1, 0)}), running.Callback());
  executor_.AwaitCalls(1);
  std::vector<Outcome> queued(2);
  for (Outcome& outcome : queued) scheduler->Submit(Request({MakeFp32("X", 1, 1, 0)}), outcome.Callback());

  std::thread stopper([&] { scheduler->Stop(StopMode::kDrain); });
  while (!scheduler->is_stopping()) std::this_thread::yield();
  Result after = scheduler->SubmitAndWait(Request({MakeFp32("X", 1, 1, 0)}));
  EXPECT_EQ(after.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(after.status().message().find("being unloaded"), std::string::npos);

  executor_.Open();
  stopper.join();
  EXPECT_TRUE(running.future.get().ok());
  for (Outcome& outcome : queued) EXPECT_TRUE(outcome.future.get().ok());
  EXPECT_EQ(executor_.calls().size(), 3u);
}

TEST_F(SchedulerTest, StopFailQueuedFinishesRunning) {
  auto scheduler = Start(Options());
  executor_.Close();
  Outcome running;
  scheduler->Submit(Request({MakeFp32("X", 1, 1, 0)}), running.Callback());
  executor_.AwaitCalls(1);
  std::vector<Outcome> queued(2);
  for (Outcome& outcome : queued) scheduler->Submit(Request({MakeFp32("X", 1, 1, 0)}), outcome.Callback());

  std::thread stopper([&] { scheduler->Stop(StopMode::kFailQueued); });
  // The queued requests fail while the running one is still held.
  for (Outcome& outcome : queued) {
    Result result = outcome.future.get();
    EXPECT_EQ(result.status().code(), StatusCode::kUnavailable);
    EXPECT_NE(result.status().message().find("being unloaded"), std::string::npos);
  }
  EXPECT_FALSE(running.ready());
  executor_.Open();
  stopper.join();
  EXPECT_TRUE(running.future.get().ok());
  EXPECT_EQ(executor_.calls().size(), 1u);
}

TEST_F(SchedulerTest, ExecutorErrorReachesWholeBatch) {
  SchedulerOptions options = Options();
  options.dynamic_batching = true;
  options.max_batch_size = 2;
  executor_.failure = InternalError("out of device memory");
  auto scheduler = Start(std::move(options));

  executor_.Close();
  Outcome blocker;
  scheduler->Submit(Request({MakeFp32("X", 2, 1, 0)}), blocker.Callback());
  executor_.AwaitCalls(1);
  std::vector<Outcome> outcomes(2);
  for (Outcome& outcome : outcomes) scheduler->Submit(Request({MakeFp32("X", 1, 1, 0)}), outcome.Callback());
  executor_.Open();

  EXPECT_EQ(blocker.future.get().status().code(), StatusCode::kInternal);
  for (Outcome& outcome : outcomes) {
    Result result = outcome.future.get();
    EXPECT_EQ(result.status().code(), StatusCode::kInternal);
    EXPECT_EQ(result.status().message(), "out of device memory");
  }
  EXPECT_EQ(executor_.calls().size(), 2u);
}

TEST_F(SchedulerTest, DestructorFailsQueued) {
  auto scheduler = Start(Options());
  executor_.Close();
  Outcome running;
  scheduler->Submit(Request({MakeFp32("X", 1, 1, 0)}), running.Callback());
  executor_.AwaitCalls(1);
  Outcome queued;
  scheduler->Submit(Request({MakeFp32("X", 1, 1, 0)}), queued.Callback());

  std::thread destroyer([&] { scheduler.reset(); });
  EXPECT_EQ(queued.future.get().status().code(), StatusCode::kUnavailable);
  executor_.Open();
  destroyer.join();
  EXPECT_TRUE(running.future.get().ok());
  EXPECT_EQ(executor_.calls().size(), 1u);
}

TEST_F(SchedulerTest, ConcurrentSubmitsGetOwnRows) {
  SchedulerOptions options = Options(2);
  options.dynamic_batching = true;
  options.max_batch_size = 4;
  options.max_queue_size = 1000;
  auto scheduler = Start(std::move(options));

  constexpr int kThreads = 8;
  constexpr int kPerThread = 25;
  std::atomic<int> mismatches = 0;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        Tensor input = MakeFp32("X", 1 + (i % 2), 3, static_cast<float>(1000 * t + 10 * i));
        Result result = scheduler->SubmitAndWait(Request({input}));
        if (!result.ok() || BytesOf((*result)[0]) != BytesOf(input) || (*result)[0].shape != input.shape) {
          ++mismatches;
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(mismatches.load(), 0);
  EXPECT_EQ(scheduler->counters().executed_requests, static_cast<uint64_t>(kThreads * kPerThread));
}

TEST_F(SchedulerTest, IdleInstanceRunsOnCallerThread) {
  auto scheduler = Start(Options());
  std::thread::id ran_on;
  executor_.during_call = [&ran_on] { ran_on = std::this_thread::get_id(); };
  Result result = scheduler->SubmitAndWait(Request({MakeFp32("X", 1, 2, 7)}));
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(ran_on, std::this_thread::get_id());
  EXPECT_EQ(scheduler->counters().executions, 1u);
}

TEST_F(SchedulerTest, CallerThreadsStayWithinInstances) {
  auto scheduler = Start(Options(2));
  std::atomic<int> running = 0;
  std::atomic<int> max_running = 0;
  executor_.during_call = [&] {
    int now = ++running;
    int seen = max_running.load();
    while (now > seen && !max_running.compare_exchange_weak(seen, now)) {
    }
    std::this_thread::yield();
    --running;
  };
  std::vector<std::thread> threads;
  std::atomic<int> failures = 0;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        if (!scheduler->SubmitAndWait(Request({MakeFp32("X", 1, 2, static_cast<float>(t))})).ok()) ++failures;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_LE(max_running.load(), 2);
  EXPECT_EQ(scheduler->counters().executed_requests, 300u);
}

TEST_F(SchedulerTest, CallerQueuesBehindBusyInstance) {
  auto scheduler = Start(Options());
  executor_.Close();
  Outcome blocker;
  scheduler->Submit(Request({MakeFp32("X", 1, 2, 1)}), blocker.Callback());
  executor_.AwaitCalls(1);
  std::thread::id ran_on;
  std::thread caller([&] {
    Result result = scheduler->SubmitAndWait(Request({MakeFp32("X", 1, 2, 2)}));
    EXPECT_TRUE(result.ok()) << result.status().ToString();
    ran_on = std::this_thread::get_id();
  });
  // The second request waits in the queue while the only instance is busy.
  while (scheduler->queue_size() == 0) std::this_thread::yield();
  executor_.Open();
  caller.join();
  EXPECT_TRUE(blocker.future.get().ok());
  ASSERT_EQ(executor_.calls().size(), 2u);
  EXPECT_EQ(scheduler->counters().executed_requests, 2u);
}

TEST_F(SchedulerTest, StopWaitsForExecutionOnCallerThread) {
  auto scheduler = Start(Options());
  executor_.Close();
  std::thread caller([&] { EXPECT_TRUE(scheduler->SubmitAndWait(Request({MakeFp32("X", 1, 2, 3)})).ok()); });
  executor_.AwaitCalls(1);
  std::atomic<bool> stopped = false;
  std::thread stopper([&] {
    scheduler->Stop(StopMode::kDrain);
    stopped = true;
  });
  // Submits after Stop began are rejected, which shows Stop is under way
  // while the caller's execution is still held.
  while (!scheduler->is_stopping()) std::this_thread::yield();
  EXPECT_FALSE(stopped.load());
  executor_.Open();
  stopper.join();
  caller.join();
  EXPECT_TRUE(stopped.load());
}

}  // namespace
}  // namespace moat::scheduler
