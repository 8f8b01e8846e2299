// Exact nearest-rank percentiles and the latency summary.
#include "loadgen/latency_stats.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

namespace moat::loadgen {
namespace {

TEST(Percentile, NearestRankOfTenSamples) {
  std::vector<int64_t> sorted = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  EXPECT_EQ(NearestRankPercentile(sorted, 50), 5);
  EXPECT_EQ(NearestRankPercentile(sorted, 90), 9);
  EXPECT_EQ(NearestRankPercentile(sorted, 99), 10);
  EXPECT_EQ(NearestRankPercentile(sorted, 100), 10);
  EXPECT_EQ(NearestRankPercentile(sorted, 0.1), 1);
}

TEST(Percentile, SingleSample) {
  std::vector<int64_t> sorted = {42};
  EXPECT_EQ(NearestRankPercentile(sorted, 50), 42);
  EXPECT_EQ(NearestRankPercentile(sorted, 99), 42);
}

TEST(Percentile, ThousandSamples) {
  std::vector<int64_t> sorted(1000);
  for (int i = 0; i < 1000; ++i) sorted[i] = i + 1;
  EXPECT_EQ(NearestRankPercentile(sorted, 50), 500);
  EXPECT_EQ(NearestRankPercentile(sorted, 90), 900);
  EXPECT_EQ(NearestRankPercentile(sorted, 99), 990);
}

TEST(Summary, SortsAndSummarizes) {
  std::vector<int64_t> samples;
  for (int64_t i = 1; i <= 100; ++i) samples.push_back(i * 1000);
  std::shuffle(samples.begin(), samples.end(), std::mt19937(7));
  LatencySummary summary = SummarizeLatencies(samples);
  EXPECT_EQ(summary.count, 100u);
  EXPECT_EQ(summary.min_ns, 1000);
  EXPECT_EQ(summary.max_ns, 100000);
  EXPECT_EQ(summary.mean_ns, 50500);
  EXPECT_EQ(summary.p50_ns, 50000);
  EXPECT_EQ(summary.p90_ns, 90000);
  EXPECT_EQ(summary.p99_ns, 99000);
}

TEST(Summary, EmptyIsAllZero) {
  LatencySummary summary = SummarizeLatencies({});
  EXPECT_EQ(summary.count, 0u);
  EXPECT_EQ(summary.mean_ns, 0);
  EXPECT_EQ(summary.p99_ns, 0);
  EXPECT_EQ(summary.max_ns, 0);
}

}  // namespace
}  // namespace moat::loadgen
