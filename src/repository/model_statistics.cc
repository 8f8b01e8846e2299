#include "repository/model_statistics.h"

namespace moat::repository {
namespace {

uint64_t Nanoseconds(std::chrono::nanoseconds duration) {
  return duration.count() < 0 ? 0 : static_cast<uint64_t>(duration.count());
}

uint64_t NowMilliseconds() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

void Add(DurationStatistic& statistic, std::chrono::nanoseconds duration) {
  ++statistic.count;
  statistic.ns += Nanoseconds(duration);
}

}  // namespace

void VersionStatistics::RecordSuccess(std::chrono::nanoseconds total, std::chrono::nanoseconds compute,
                                      uint64_t rows) {
  std::lock_guard lock(mutex_);
  Add(stats_.success, total);
  Add(stats_.compute_infer, compute);
  // Requests run as they arrive, so input preparation and output extraction
  // are part of the runtime call and the queue time is zero.
  Add(stats_.queue, std::chrono::nanoseconds(0));
  Add(stats_.compute_input, std::chrono::nanoseconds(0));
  Add(stats_.compute_output, std::chrono::nanoseconds(0));
  stats_.inference_count += rows;
  ++stats_.execution_count;
  stats_.last_inference_ms = NowMilliseconds();
}

void VersionStatistics::RecordFailure(std::chrono::nanoseconds total) {
  std::lock_guard lock(mutex_);
  Add(stats_.fail, total);
  stats_.last_inference_ms = NowMilliseconds();
}

ModelStatistics VersionStatistics::Snapshot(const std::string& name, int64_t version) const {
  std::lock_guard lock(mutex_);
  ModelStatistics copy = stats_;
  copy.name = name;
  copy.version = version;
  return copy;
}

}  // namespace moat::repository
