#include "repository/version_scheduler.h"

#include <limits>
#include <string>
#include <utility>

#include "hardware/memory_estimate.h"

namespace moat::repository {

namespace {

std::string Label(const bundle::Manifest& manifest) {
  return "model '" + manifest.name + "' version " + std::to_string(manifest.version);
}

}  // namespace

uint64_t BundleFileBytes(const bundle::Manifest& manifest) {
  uint64_t total = 0;
  for (const bundle::FileEntry& file : manifest.files) {
    total = file.size > std::numeric_limits<uint64_t>::max() - total ? std::numeric_limits<uint64_t>::max()
                                                                     : total + file.size;
  }
  return total;
}

uint64_t EstimateVersionMemory(const bundle::Manifest& manifest, const config::ModelSettings& settings) {
  uint64_t one = hardware::EstimateModelMemory(BundleFileBytes(manifest));
  uint64_t instances = settings.instances > 0 ? static_cast<uint64_t>(settings.instances) : 1;
  if (one > std::numeric_limits<uint64_t>::max() / instances) return std::numeric_limits<uint64_t>::max();
  return one * instances;
}

Status CheckVersionSettings(const bundle::Manifest& manifest, const config::ModelSettings& settings) {
  if (settings.instances < 1) {
    return InvalidArgumentError(Label(manifest) + ": instances must be at least 1, the setting is " +
                                std::to_string(settings.instances));
  }
  if (!settings.dynamic_batching) return OkStatus();
  if (settings.max_batch_size <= 0) {
    return InvalidArgumentError(Label(manifest) +
                                ": dynamic_batching needs a max_batch_size above 0, the setting is " +
                                std::to_string(settings.max_batch_size));
  }
  for (const TensorSpec& input : manifest.inputs) {
    if (input.shape.empty() || input.shape.front() != -1) {
      return InvalidArgumentError(
          Label(manifest) + ": dynamic_batching needs a variable first dimension (-1) on " +
          "every input, but input '" + input.name + "' has shape " + ShapeToString(input.shape));
    }
  }
  return OkStatus();
}

StatusOr<std::shared_ptr<scheduler::Scheduler>> MakeVersionScheduler(
    std::shared_ptr<const ModelVersion> model, const config::ModelSettings& settings,
    std::shared_ptr<VersionStatistics> statistics, std::shared_ptr<scheduler::Clock> clock) {
  MOAT_RETURN_IF_ERROR(CheckVersionSettings(model->manifest, settings));
  scheduler::SchedulerOptions options;
  options.model_name = model->name;
  options.model_version = std::to_string(model->version);
  for (int64_t i = 0; i < settings.instances; ++i) {
    // Every worker shares the one session; the executor keeps the version
    // alive for as long as the scheduler can call it.
    options.instances.push_back(
        [model](std::span<const Tensor> inputs, std::span<const std::string> output_names) {
          return model->instance->Execute(inputs, output_names);
        });
  }
  // 0 in the configuration means no limit; the scheduler needs a bound.
  options.max_queue_size = settings.max_queue_size > 0 ? static_cast<size_t>(settings.max_queue_size)
                                                       : std::numeric_limits<size_t>::max();
  options.dynamic_batching = settings.dynamic_batching;
  options.max_batch_size = settings.dynamic_batching ? settings.max_batch_size : 0;
  if (settings.dynamic_batching) options.preferred_batch_sizes = settings.preferred_batch_sizes;
  options.max_queue_delay = std::chrono::microseconds(settings.max_queue_delay_us);
  if (settings.default_timeout_us > 0) {
    options.default_timeout = std::chrono::microseconds(settings.default_timeout_us);
  }
  options.on_execution = [statistics](const scheduler::ExecutionStats& stats) {
    statistics->RecordExecution(stats);
  };
  options.clock = std::move(clock);
  auto created = scheduler::Scheduler::Create(std::move(options));
  if (!created.ok()) {
    return InvalidArgumentError(Label(model->manifest) + ": " + created.status().message());
  }
  return std::shared_ptr<scheduler::Scheduler>(std::move(created).value());
}

}  // namespace moat::repository
