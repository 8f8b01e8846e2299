// The time source of the scheduler, injected so that tests advance time by hand.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>

namespace moat::scheduler {

class Clock {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  virtual ~Clock() = default;

  virtual TimePoint Now() const = 0;

  // Blocks on `cv`, releasing `lock` while blocked, until `cv` is notified or
  // Now() reaches `deadline` (TimePoint::max() waits for a notification only).
  // May return early without cause, so callers re-check their condition in a
  // loop. REQUIRES: `lock` is held and locks the mutex that guards the
  // condition; notifiers of `cv` change the condition under that mutex.
  virtual void WaitUntil(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                         TimePoint deadline) = 0;
};

// The real clock: std::chrono::steady_clock. Thread-safe.
class SteadyClock final : public Clock {
 public:
  TimePoint Now() const override;
  void WaitUntil(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                 TimePoint deadline) override;
};

// Returns `start + delta`, or TimePoint::max() where the sum would overflow.
Clock::TimePoint SaturatingAdd(Clock::TimePoint start, std::chrono::microseconds delta);

}  // namespace moat::scheduler
