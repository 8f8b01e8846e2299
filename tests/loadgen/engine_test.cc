// The measurement engine with a fake transport and a fake clock: step
// boundaries, error counting and the rate schedule, without sleeping.
#include "loadgen/engine.h"

#include <gtest/gtest.h>

#include "loadgen/fake_transport.h"

namespace moat::loadgen {
namespace {

using testing::FakeClock;
using testing::FakeTransportFactory;

constexpr int64_t kMs = 1'000'000;

StepOptions Options(int64_t warmup_ms, int64_t window_ms) {
  StepOptions options;
  options.warmup_ns = warmup_ms * kMs;
  options.window_ns = window_ms * kMs;
  return options;
}

TEST(ConcurrencyStep, CountsOnlyRequestsCompletedInWindow) {
  FakeClock clock;
  FakeTransportFactory factory(clock, 10 * kMs);
  StatusOr<StepResult> step = RunConcurrencyStep(factory, clock, 1, Options(100, 1000));
  ASSERT_TRUE(step.ok()) << step.status().ToString();

  // Calls complete at 10, 20, ... ms; those at 100 to 1090 ms are inside
  // [100 ms, 1100 ms).
  EXPECT_EQ(step->completed, 100u);
  EXPECT_EQ(step->errors, 0u);
  EXPECT_EQ(step->mode, "concurrency");
  EXPECT_EQ(step->window_ns, 1000 * kMs);
  EXPECT_DOUBLE_EQ(step->throughput, 100.0);
  EXPECT_EQ(step->latency.count, 100u);
  EXPECT_EQ(step->latency.p50_ns, 10 * kMs);
  EXPECT_EQ(step->latency.max_ns, 10 * kMs);
  // The last call starts at 1090 ms; none starts after the window.
  EXPECT_EQ(factory.calls(), 110u);
}

TEST(ConcurrencyStep, CountsErrorsByStatus) {
  FakeClock clock;
  FakeTransportFactory factory(clock, 10 * kMs, [](uint64_t call) {
    if (call % 4 == 0) return UnavailableError("server busy");
    if (call % 10 == 0) return InvalidArgumentError("bad input");
    return OkStatus();
  });
  StatusOr<StepResult> step = RunConcurrencyStep(factory, clock, 1, Options(100, 1000));
  ASSERT_TRUE(step.ok()) << step.status().ToString();

  // Calls 10 to 109 are in the window: 25 multiples of 4, and 5 multiples of
  // 10 that are not multiples of 4 (10, 30, 50, 70, 90).
  EXPECT_EQ(step->errors, 30u);
  EXPECT_EQ(step->errors_by_status.at("UNAVAILABLE"), 25u);
  EXPECT_EQ(step->errors_by_status.at("INVALID_ARGUMENT"), 5u);
  EXPECT_EQ(step->completed, 70u);
  EXPECT_EQ(step->latency.count, 70u);
}

TEST(ConcurrencyStep, CreatesOneTransportPerWorker) {
  FakeClock clock;
  FakeTransportFactory factory(clock, kMs);
  StatusOr<StepResult> step = RunConcurrencyStep(factory, clock, 3, Options(0, 100));
  ASSERT_TRUE(step.ok()) << step.status().ToString();
  EXPECT_EQ(factory.created_workers(), (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(step->concurrency, 3);
  EXPECT_GT(step->completed, 0u);
  EXPECT_LE(step->completed, factory.calls());
}

TEST(ConcurrencyStep, FactoryErrorEndsStep) {
  FakeClock clock;
  testing::FailingTransportFactory factory;
  StatusOr<StepResult> step = RunConcurrencyStep(factory, clock, 2, Options(0, 100));
  ASSERT_FALSE(step.ok());
  EXPECT_EQ(step.status().code(), StatusCode::kUnavailable);
}

TEST(ConcurrencyStep, RejectsZeroWorkers) {
  FakeClock clock;
  FakeTransportFactory factory(clock, kMs);
  EXPECT_EQ(RunConcurrencyStep(factory, clock, 0, Options(0, 100)).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(RateStep, SendsOnScheduleWhenFast) {
  FakeClock clock;
  FakeTransportFactory factory(clock, 50 * kMs);
  StatusOr<StepResult> step = RunRateStep(factory, clock, 10.0, 1, Options(0, 1000));
  ASSERT_TRUE(step.ok()) << step.status().ToString();
  EXPECT_EQ(step->mode, "rate");
  EXPECT_DOUBLE_EQ(step->rate, 10.0);
  EXPECT_EQ(step->completed, 10u);
  EXPECT_EQ(step->late_sends, 0u);
  EXPECT_EQ(step->dropped_sends, 0u);
  EXPECT_EQ(step->latency.min_ns, 50 * kMs);
  EXPECT_EQ(step->latency.max_ns, 50 * kMs);
}

TEST(RateStep, LatencyIncludesQueueingWhenSlow) {
  FakeClock clock;
  FakeTransportFactory factory(clock, 250 * kMs);
  StatusOr<StepResult> step = RunRateStep(factory, clock, 10.0, 1, Options(0, 1000));
  ASSERT_TRUE(step.ok()) << step.status().ToString();

  // Slots are due every 100 ms. Sends start at 0, 250, 500 and 750 ms and
  // complete 250 ms later. The one completing at 1000 ms is outside the
  // window, and the six slots still waiting then are dropped.
  EXPECT_EQ(step->completed, 3u);
  EXPECT_EQ(step->late_sends, 3u);
  EXPECT_EQ(step->dropped_sends, 6u);
  EXPECT_EQ(step->latency.min_ns, 250 * kMs);
  EXPECT_EQ(step->latency.p50_ns, 400 * kMs);
  EXPECT_EQ(step->latency.max_ns, 550 * kMs);
}

TEST(RateStep, WarmupSlotsAreNotCounted) {
  FakeClock clock;
  FakeTransportFactory factory(clock, 10 * kMs);
  StatusOr<StepResult> step = RunRateStep(factory, clock, 100.0, 1, Options(500, 1000));
  ASSERT_TRUE(step.ok()) << step.status().ToString();
  // Slot i is due at 10 i ms and completes at 10 i + 10 ms: slots 49 to 148
  // complete inside [500 ms, 1500 ms), and slots 0 to 149 are sent.
  EXPECT_EQ(step->completed, 100u);
  EXPECT_EQ(step->dropped_sends, 0u);
  EXPECT_EQ(step->late_sends, 0u);
  EXPECT_EQ(factory.calls(), 150u);
}

TEST(RateStep, RejectsNonPositiveRate) {
  FakeClock clock;
  FakeTransportFactory factory(clock, kMs);
  EXPECT_EQ(RunRateStep(factory, clock, 0.0, 1, Options(0, 100)).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(ConcurrencyList, ParsesListsAndRanges) {
  EXPECT_EQ(*ParseConcurrencyList("4"), (std::vector<int>{4}));
  EXPECT_EQ(*ParseConcurrencyList("1,2,4,8"), (std::vector<int>{1, 2, 4, 8}));
  EXPECT_EQ(*ParseConcurrencyList("1:16:x2"), (std::vector<int>{1, 2, 4, 8, 16}));
  EXPECT_EQ(*ParseConcurrencyList("2:8:3"), (std::vector<int>{2, 5, 8}));
}

TEST(ConcurrencyList, RejectsInvalidText) {
  for (const char* text : {"", "0", "a", "1,,2", "1:4", "4:1:1", "1:8:x1", "1:2000:x2", "1:8:x"}) {
    StatusOr<std::vector<int>> parsed = ParseConcurrencyList(text);
    EXPECT_FALSE(parsed.ok()) << text;
    EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument) << text;
  }
}

}  // namespace
}  // namespace moat::loadgen
