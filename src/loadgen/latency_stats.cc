#include "loadgen/latency_stats.h"

#include <algorithm>
#include <cmath>

namespace moat::loadgen {

int64_t NearestRankPercentile(const std::vector<int64_t>& sorted, double percent) {
  // Rank ceil(p/100 * n), 1-based. The small epsilon keeps 90% of 10 samples
  // at rank 9 despite floating-point error in the product.
  double rank = std::ceil(percent / 100.0 * static_cast<double>(sorted.size()) - 1e-9);
  size_t index = rank < 1.0 ? 0 : static_cast<size_t>(rank) - 1;
  return sorted[std::min(index, sorted.size() - 1)];
}

LatencySummary SummarizeLatencies(std::vector<int64_t> samples) {
  LatencySummary summary;
  if (samples.empty()) return summary;
  std::sort(samples.begin(), samples.end());

  // Sum in long double: int64 could overflow over millions of long samples.
  long double sum = 0;
  for (int64_t sample : samples) sum += static_cast<long double>(sample);

  summary.count = samples.size();
  summary.min_ns = samples.front();
  summary.max_ns = samples.back();
  summary.mean_ns = static_cast<int64_t>(std::llround(sum / static_cast<long double>(samples.size())));
  summary.p50_ns = NearestRankPercentile(samples, 50);
  summary.p90_ns = NearestRankPercentile(samples, 90);
  summary.p99_ns = NearestRankPercentile(samples, 99);
  return summary;
}

}  // namespace moat::loadgen
