// The measurement engine: runs one step of load (fixed concurrency or fixed
// request rate) through a TransportFactory and times it with a Clock.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/status.h"
#include "loadgen/clock.h"
#include "loadgen/latency_stats.h"
#include "loadgen/transport.h"

namespace moat::loadgen {

struct StepOptions {
  int64_t warmup_ns = 2'000'000'000;
  int64_t window_ns = 10'000'000'000;
  // Rate mode: a send that starts more than this after its scheduled time
  // counts as late.
  int64_t late_threshold_ns = 1'000'000;
};

// The figures of one step. Only requests that complete inside the
// measurement window count.
struct StepResult {
  std::string mode;     // "concurrency" or "rate"
  int concurrency = 0;  // worker threads, each with its own transport
  double rate = 0;      // requests per second requested; 0 in concurrency mode
  int64_t window_ns = 0;
  uint64_t completed = 0;                            // successful requests
  uint64_t errors = 0;                               // failed requests; their latencies are not sampled
  std::map<std::string, uint64_t> errors_by_status;  // StatusCodeName -> count
  double throughput = 0;                             // successful requests per second
  LatencySummary latency;                            // of the successful requests
  // Rate mode only. Late: sent more than late_threshold_ns after schedule.
  // Dropped: scheduled inside the window but never sent, because every
  // worker was busy until the window ended.
  uint64_t late_sends = 0;
  uint64_t dropped_sends = 0;
};

// Runs `concurrency` workers, each sending back to back on its own transport,
// for options.warmup_ns and then options.window_ns. Latency is measured from
// the start of each call to its completion. Errors: those of the factory; a
// failing request is counted, never returned.
StatusOr<StepResult> RunConcurrencyStep(TransportFactory& factory, Clock& clock, int concurrency,
                                        const StepOptions& options);

// Issues `rate` requests per second on a fixed schedule (open loop) from
// `workers` worker threads, whether or not earlier requests finished. A
// request waits only when every worker is busy. Latency is measured from the
// scheduled send time, so it includes that wait. Errors: INVALID_ARGUMENT for
// a rate or worker count that is not positive; those of the factory.
StatusOr<StepResult> RunRateStep(TransportFactory& factory, Clock& clock, double rate, int workers,
                                 const StepOptions& options);

// Parses a concurrency sweep: "4", "1,2,4,8", "1:16:x2" (start, end,
// multiply) or "2:8:2" (start, end, add). Every value must be 1 to 1024.
// Errors: INVALID_ARGUMENT naming `text`.
StatusOr<std::vector<int>> ParseConcurrencyList(const std::string& text);

}  // namespace moat::loadgen
