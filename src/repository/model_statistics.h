// Cumulative per-version request statistics for the statistics endpoints.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>

#include "core/inference.h"

namespace moat::repository {

// Thread-safe counters of one model version.
class VersionStatistics {
 public:
  // Records a finished request. `rows` is the batch size it carried (its
  // inputs' first dimension, 1 for a scalar); `compute` is the time spent in
  // the runtime, zero when it never got there.
  void RecordSuccess(std::chrono::nanoseconds total, std::chrono::nanoseconds compute, uint64_t rows);
  void RecordFailure(std::chrono::nanoseconds total);

  // A copy of the counters, with `name` and `version` filled in.
  ModelStatistics Snapshot(const std::string& name, int64_t version) const;

 private:
  mutable std::mutex mutex_;
  ModelStatistics stats_;
};

}  // namespace moat::repository
