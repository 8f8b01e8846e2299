#include "scheduler/clock.h"

namespace moat::scheduler {

Clock::TimePoint SteadyClock::Now() const { return std::chrono::steady_clock::now(); }

void SteadyClock::WaitUntil(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                            TimePoint deadline) {
  // TimePoint::max() means no deadline, so it takes the plain wait instead of
  // handing an extreme time point to wait_until.
  if (deadline == TimePoint::max()) {
    cv.wait(lock);
  } else {
    cv.wait_until(lock, deadline);
  }
}

Clock::TimePoint SaturatingAdd(Clock::TimePoint start, std::chrono::microseconds delta) {
  if (delta.count() <= 0) return start;
  auto room = std::chrono::duration_cast<std::chrono::microseconds>(Clock::TimePoint::max() - start);
  if (delta >= room) return Clock::TimePoint::max();
  return start + delta;
}

}  // namespace moat::scheduler
