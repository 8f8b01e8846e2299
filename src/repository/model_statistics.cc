#include "repository/model_statistics.h"

#include <algorithm>

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

void VersionStatistics::RecordSuccess(std::chrono::nanoseconds total, uint64_t rows) {
  std::lock_guard lock(mutex_);
  Add(stats_.success, total);
  stats_.inference_count += rows;
  stats_.last_inference_ms = NowMilliseconds();
}

void VersionStatistics::RecordExecution(const scheduler::ExecutionStats& execution) {
  if (!execution.status.ok()) return;
  std::lock_guard lock(mutex_);
  ++stats_.execution_count;
  for (std::chrono::microseconds queued : execution.queue_times) {
    Add(stats_.queue, queued);
    Add(stats_.compute_infer, execution.compute_time);
    // Input preparation and output extraction happen inside the runtime
    // call, so they are part of compute_infer.
    Add(stats_.compute_input, std::chrono::nanoseconds(0));
    Add(stats_.compute_output, std::chrono::nanoseconds(0));
  }
  uint64_t rows = execution.batch_size > 0 ? static_cast<uint64_t>(execution.batch_size) : 0;
  auto entry = std::lower_bound(stats_.batch_stats.begin(), stats_.batch_stats.end(), rows,
                                [](const BatchStatistic& stat, uint64_t size) { return stat.batch_size < size; });
  if (entry == stats_.batch_stats.end() || entry->batch_size != rows) {
    BatchStatistic fresh;
    fresh.batch_size = rows;
    entry = stats_.batch_stats.insert(entry, fresh);
  }
  Add(entry->compute_input, std::chrono::nanoseconds(0));
  Add(entry->compute_infer, execution.compute_time);
  Add(entry->compute_output, std::chrono::nanoseconds(0));
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
