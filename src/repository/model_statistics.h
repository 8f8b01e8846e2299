// Cumulative per-version request statistics for the statistics endpoints.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>

#include "core/inference.h"
#include "scheduler/scheduler.h"

namespace moat::repository {

// Thread-safe counters of one model version.
class VersionStatistics {
 public:
  // Records a finished request. `rows` is the batch size it carried (its
  // inputs' first dimension, 1 for a scalar). Queue and compute times come
  // from RecordExecution.
  void RecordSuccess(std::chrono::nanoseconds total, uint64_t rows);
  // Records one scheduler execution: one queue time per request, and the
  // execution's compute time once for each request it served. Failed
  // executions add nothing; their requests are counted by RecordFailure.
  void RecordExecution(const scheduler::ExecutionStats& execution);
  void RecordFailure(std::chrono::nanoseconds total);

  // A copy of the counters, with `name` and `version` filled in.
  ModelStatistics Snapshot(const std::string& name, int64_t version) const;

 private:
  mutable std::mutex mutex_;
  ModelStatistics stats_;
};

}  // namespace moat::repository
