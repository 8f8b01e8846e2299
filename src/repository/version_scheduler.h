// Builds the scheduler of one model version from the operator's settings, and
// the memory estimate the service checks before serving the version.
#pragma once

#include <cstdint>
#include <memory>

#include "config/serving_config.h"
#include "repository/model_statistics.h"
#include "repository/repository.h"
#include "scheduler/scheduler.h"

namespace moat::repository {

// Returns the sum of the file sizes the bundle's manifest lists.
uint64_t BundleFileBytes(const bundle::Manifest& manifest);

// Returns the estimated resident bytes of `settings.instances` instances.
uint64_t EstimateVersionMemory(const bundle::Manifest& manifest, const config::ModelSettings& settings);

// Returns INVALID_ARGUMENT naming the version when `settings` cannot apply to
// it: dynamic_batching without a positive max_batch_size or for a model
// whose inputs do not all have a variable first dimension, or instances
// below 1. Needs only the manifest, so it runs before the session is created.
Status CheckVersionSettings(const bundle::Manifest& manifest, const config::ModelSettings& settings);

// Starts a scheduler with `settings.instances` workers that all run on the
// version's one runtime session (ONNX Runtime sessions accept concurrent Run
// calls). Each execution is recorded in `statistics`. Returns
// INVALID_ARGUMENT naming the model when CheckVersionSettings or the
// scheduler rejects a setting. A null `clock` means the steady clock.
StatusOr<std::shared_ptr<scheduler::Scheduler>> MakeVersionScheduler(
    std::shared_ptr<const ModelVersion> model, const config::ModelSettings& settings,
    std::shared_ptr<VersionStatistics> statistics, std::shared_ptr<scheduler::Clock> clock);

}  // namespace moat::repository
