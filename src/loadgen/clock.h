// The time source of the load generator, injectable so that tests can drive
// step boundaries and rate schedules without sleeping.
#pragma once

#include <cstdint>

namespace moat::loadgen {

// Thread-safe: every worker thread of a step calls it.
class Clock {
 public:
  virtual ~Clock() = default;

  // Monotonic time in nanoseconds from an arbitrary origin.
  virtual int64_t NowNs() = 0;

  // Blocks until NowNs() >= `deadline_ns`; returns at once when it already is.
  virtual void SleepUntilNs(int64_t deadline_ns) = 0;
};

// std::chrono::steady_clock and std::this_thread::sleep_until.
class SteadyClock : public Clock {
 public:
  int64_t NowNs() override;
  void SleepUntilNs(int64_t deadline_ns) override;
};

}  // namespace moat::loadgen
