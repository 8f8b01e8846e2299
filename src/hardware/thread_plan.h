// The intra-op thread plan: how many threads each model instance gets so that
// all instances together do not oversubscribe the usable cores.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace moat::hardware {

struct ThreadRequest {
  std::string model;
  int64_t version = 0;
  int64_t instances = 1;
  int64_t intra_op_threads = 0;  // 0: derived from the budget
};

struct ThreadAssignment {
  std::string model;
  int64_t version = 0;
  int64_t instances = 1;
  int64_t intra_op_threads = 1;
  bool explicit_threads = false;  // true when the configuration set it

  // Returns one line such as "ocr version 2: 2 instance(s) x 4 intra-op
  // thread(s) (set in the configuration)".
  std::string Describe() const;
};

struct ThreadPlan {
  int64_t usable_cores = 1;
  int64_t total_threads = 0;  // sum of instances x intra-op threads
  std::vector<ThreadAssignment> assignments;
  std::vector<std::string> warnings;  // one sentence each, for the server log

  bool oversubscribed() const { return total_threads > usable_cores; }
  // Returns one line for the server log, such as
  // "thread plan: 2 model versions, 3 instances, 8 intra-op threads on 8 usable cores".
  std::string Describe() const;
};

// Plans threads for `requests` in order. Explicit settings are kept as they
// are. The cores they leave are shared evenly by the instances without a
// setting, each getting at least 1 thread. A warning is added when the total
// exceeds `usable_cores`.
ThreadPlan PlanThreads(int64_t usable_cores, const std::vector<ThreadRequest>& requests);

}  // namespace moat::hardware
