#include "hardware/thread_plan.h"

#include <algorithm>

namespace moat::hardware {

ThreadPlan PlanThreads(int64_t usable_cores, const std::vector<ThreadRequest>& requests) {
  ThreadPlan plan;
  plan.usable_cores = std::max<int64_t>(usable_cores, 1);

  int64_t explicit_threads = 0;
  int64_t derived_instances = 0;
  for (const ThreadRequest& request : requests) {
    int64_t instances = std::max<int64_t>(request.instances, 1);
    if (request.intra_op_threads > 0) {
      explicit_threads += instances * request.intra_op_threads;
    } else {
      derived_instances += instances;
    }
  }

  // Floor division keeps the total within the budget; cores that do not
  // divide evenly stay idle rather than favouring one model.
  int64_t left = std::max<int64_t>(plan.usable_cores - explicit_threads, 0);
  int64_t derived_per_instance = derived_instances > 0 ? std::max<int64_t>(left / derived_instances, 1) : 1;

  for (const ThreadRequest& request : requests) {
    ThreadAssignment assignment;
    assignment.model = request.model;
    assignment.version = request.version;
    assignment.instances = std::max<int64_t>(request.instances, 1);
    assignment.explicit_threads = request.intra_op_threads > 0;
    assignment.intra_op_threads =
        assignment.explicit_threads ? request.intra_op_threads : derived_per_instance;
    plan.total_threads += assignment.instances * assignment.intra_op_threads;
    plan.assignments.push_back(std::move(assignment));
  }

  if (explicit_threads > plan.usable_cores) {
    plan.warnings.push_back("explicit intra_op_threads settings use " + std::to_string(explicit_threads) +
                            " threads on " + std::to_string(plan.usable_cores) +
                            " usable cores; lower them or the instance counts");
  }
  if (plan.oversubscribed()) {
    plan.warnings.push_back("the thread plan needs " + std::to_string(plan.total_threads) + " threads on " +
                            std::to_string(plan.usable_cores) +
                            " usable cores, so instances will compete for cores; lower instances or "
                            "intra_op_threads");
  }
  return plan;
}

std::string ThreadAssignment::Describe() const {
  std::string line = model + " version " + std::to_string(version) + ": " + std::to_string(instances) +
                     " instance(s) x " + std::to_string(intra_op_threads) + " intra-op thread(s)";
  if (explicit_threads) line += " (set in the configuration)";
  return line;
}

namespace {

// Returns "1 instance" or "2 instances".
std::string Count(int64_t count, const std::string& noun) {
  return std::to_string(count) + " " + noun + (count == 1 ? "" : "s");
}

}  // namespace

std::string ThreadPlan::Describe() const {
  int64_t instances = 0;
  for (const ThreadAssignment& assignment : assignments) instances += assignment.instances;
  std::string line = "thread plan: " + Count(static_cast<int64_t>(assignments.size()), "model version") + ", " +
                     Count(instances, "instance") + ", " + Count(total_threads, "intra-op thread") + " on " +
                     Count(usable_cores, "usable core");
  if (oversubscribed()) line += " (oversubscribed)";
  return line;
}

}  // namespace moat::hardware
