// Exact latency percentiles from every recorded sample.
#pragma once

#include <cstdint>
#include <vector>

namespace moat::loadgen {

// Latencies in nanoseconds. All zero when there are no samples.
struct LatencySummary {
  uint64_t count = 0;
  int64_t min_ns = 0;
  int64_t mean_ns = 0;
  int64_t p50_ns = 0;
  int64_t p90_ns = 0;
  int64_t p99_ns = 0;
  int64_t max_ns = 0;
};

// Returns the nearest-rank percentile `percent` (0 < percent <= 100) of
// `sorted`, ascending: the smallest sample such that at least percent% of the
// samples are less than or equal to it. REQUIRES: `sorted` is not empty.
int64_t NearestRankPercentile(const std::vector<int64_t>& sorted, double percent);

// Sorts `samples` and summarises them.
LatencySummary SummarizeLatencies(std::vector<int64_t> samples);

}  // namespace moat::loadgen
