#include "config/serving_config.h"

#include <algorithm>

#include "common/file.h"

namespace moat::config {

void SettingsOverride::ApplyTo(ModelSettings& settings) const {
  if (instances) settings.instances = *instances;
  if (intra_op_threads) settings.intra_op_threads = *intra_op_threads;
  if (dynamic_batching) settings.dynamic_batching = *dynamic_batching;
  if (max_batch_size) settings.max_batch_size = *max_batch_size;
  if (preferred_batch_sizes) settings.preferred_batch_sizes = *preferred_batch_sizes;
  if (max_queue_delay_us) settings.max_queue_delay_us = *max_queue_delay_us;
  if (max_queue_size) settings.max_queue_size = *max_queue_size;
  if (default_timeout_us) settings.default_timeout_us = *default_timeout_us;
  if (audit_tensors) settings.audit_tensors = *audit_tensors;
}

std::string ModelSettings::Describe() const {
  std::string text = std::to_string(instances) + " instance(s)";
  if (dynamic_batching) {
    text += ", dynamic batching up to " + std::to_string(max_batch_size) + " rows";
    if (!preferred_batch_sizes.empty()) {
      text += " (preferred";
      for (size_t i = 0; i < preferred_batch_sizes.size(); ++i) {
        text += (i == 0 ? " " : ", ") + std::to_string(preferred_batch_sizes[i]);
      }
      text += ")";
    }
    text += " after at most " + std::to_string(max_queue_delay_us) + " us in the queue";
  } else {
    text += ", no batching";
  }
  text += max_queue_size > 0 ? ", at most " + std::to_string(max_queue_size) + " queued requests"
                             : ", no queue limit";
  text += default_timeout_us > 0 ? ", default timeout " + std::to_string(default_timeout_us) + " us"
                                 : ", no default timeout";
  if (audit_tensors) text += ", tensors recorded in the audit log";
  return text;
}

ModelSettings ServingConfig::For(std::string_view model, int64_t version) const {
  ModelSettings settings;
  defaults_.ApplyTo(settings);
  if (auto found = models_.find(model); found != models_.end()) found->second.ApplyTo(settings);
  if (auto found = versions_.find(std::pair<std::string, int64_t>(std::string(model), version));
      found != versions_.end()) {
    found->second.ApplyTo(settings);
  }
  return settings;
}

std::vector<std::string> ServingConfig::ModelNames() const {
  std::vector<std::string> names;
  for (const auto& [name, unused] : models_) names.push_back(name);
  for (const auto& [key, unused] : versions_) names.push_back(key.first);
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

StatusOr<ServingConfig> LoadServingConfig(const std::string& path) {
  StatusOr<std::string> text = ReadFile(path, kMaxServingConfigBytes);
  if (!text.ok()) return text.status();
  return ParseServingConfig(*text, path);
}

}  // namespace moat::config
