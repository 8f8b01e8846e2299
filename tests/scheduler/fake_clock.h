// A Clock that moves only when a test calls Advance, and counts the waits that
// start so a test can tell when the workers have settled.
#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <vector>

#include "scheduler/clock.h"

namespace moat::scheduler {

class FakeClock final : public Clock {
 public:
  TimePoint Now() const override {
    std::lock_guard lock(mutex_);
    return now_;
  }

  void WaitUntil(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                 TimePoint deadline) override {
    Waiter self{lock.mutex(), &cv};
    {
      std::lock_guard guard(mutex_);
      ++waits_;
      waits_cv_.notify_all();
      // Checked under mutex_ so that an Advance either finds this waiter or
      // happened before this check.
      if (now_ >= deadline) return;
      waiters_.push_back(self);
    }
    cv.wait(lock);
    std::lock_guard guard(mutex_);
    waiters_.erase(std::find(waiters_.begin(), waiters_.end(), self));
  }

  // Moves time forward and wakes every waiter. REQUIRES: the objects that own
  // the waiters' mutexes outlive this call.
  void Advance(std::chrono::microseconds delta) {
    std::vector<Waiter> waiters;
    {
      std::lock_guard guard(mutex_);
      now_ += delta;
      waiters = waiters_;
    }
    // Taking the waiter's mutex first means the waiter is inside cv.wait, so
    // the notification cannot fall between its check and its wait.
    for (const Waiter& waiter : waiters) {
      std::lock_guard guard(*waiter.mutex);
      waiter.cv->notify_all();
    }
  }

  // The number of WaitUntil calls so far.
  uint64_t waits() const {
    std::lock_guard lock(mutex_);
    return waits_;
  }

  // Blocks until at least `count` WaitUntil calls have started.
  void AwaitWaits(uint64_t count) {
    std::unique_lock lock(mutex_);
    waits_cv_.wait(lock, [&] { return waits_ >= count; });
  }

 private:
  struct Waiter {
    std::mutex* mutex;
    std::condition_variable* cv;
    bool operator==(const Waiter&) const = default;
  };

  mutable std::mutex mutex_;
  std::condition_variable waits_cv_;
  TimePoint now_{std::chrono::hours(1)};
  uint64_t waits_ = 0;
  std::vector<Waiter> waiters_;
};

}  // namespace moat::scheduler
