// Test doubles for the load generator engine: a clock that moves only when a
// test or transport advances it, and transports whose calls take a scripted time and fail on a
// scripted schedule.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "loadgen/clock.h"
#include "loadgen/transport.h"

namespace moat::testing {

// Time starts at 0 and moves forward only through Advance and SleepUntilNs.
class FakeClock : public loadgen::Clock {
 public:
  int64_t NowNs() override { return now_ns_.load(); }

  void SleepUntilNs(int64_t deadline_ns) override {
    int64_t now = now_ns_.load();
    while (now < deadline_ns && !now_ns_.compare_exchange_weak(now, deadline_ns)) {
    }
  }

  void Advance(int64_t ns) { now_ns_.fetch_add(ns); }

 private:
  std::atomic<int64_t> now_ns_{0};
};

// Each call advances the clock by `latency_ns` and returns what `outcome`
// returns for the call's number, counted from 1 across all transports.
class FakeTransportFactory : public loadgen::TransportFactory {
 public:
  using Outcome = std::function<Status(uint64_t call)>;

  FakeTransportFactory(
      FakeClock& clock, int64_t latency_ns, Outcome outcome = [](uint64_t) { return OkStatus(); })
      : clock_(clock), latency_ns_(latency_ns), outcome_(std::move(outcome)) {}

  StatusOr<std::unique_ptr<loadgen::Transport>> Create(int worker) override {
    created_workers_.push_back(worker);
    return std::unique_ptr<loadgen::Transport>(new FakeTransport(*this));
  }

  const std::vector<int>& created_workers() const { return created_workers_; }
  uint64_t calls() const { return calls_.load(); }

 private:
  class FakeTransport : public loadgen::Transport {
   public:
    explicit FakeTransport(FakeTransportFactory& factory) : factory_(factory) {}
    Status Infer() override {
      uint64_t call = ++factory_.calls_;
      factory_.clock_.Advance(factory_.latency_ns_);
      return factory_.outcome_(call);
    }

   private:
    FakeTransportFactory& factory_;
  };

  FakeClock& clock_;
  int64_t latency_ns_;
  Outcome outcome_;
  std::vector<int> created_workers_;
  std::atomic<uint64_t> calls_{0};
};

// Fails every Create, as a factory does when the server cannot be reached.
class FailingTransportFactory : public loadgen::TransportFactory {
 public:
  StatusOr<std::unique_ptr<loadgen::Transport>> Create(int worker) override {
    return UnavailableError("worker " + std::to_string(worker) + " cannot connect");
  }
};

}  // namespace moat::testing
