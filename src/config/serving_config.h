// The operator's serving configuration: how each model version runs
// (instances, dynamic batching, queue limits, threads). The operator owns this
// file beside the repository; it is not part of any signed bundle.
// docs/configuration.md describes the file format.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace moat::config {

// Settings of one model version. The defaults here apply when no section of
// the file sets a key.
struct ModelSettings {
  int64_t instances = 1;
  int64_t intra_op_threads = 0;  // 0: derived from the thread budget
  bool dynamic_batching = false;
  int64_t max_batch_size = 0;  // 0: the model is not batched
  std::vector<int64_t> preferred_batch_sizes;
  int64_t max_queue_delay_us = 0;
  int64_t max_queue_size = 0;      // 0: no limit
  int64_t default_timeout_us = 0;  // 0: no timeout
  // Whether the audit records of this version's inferences carry the input
  // and output tensors themselves, not only their digests.
  bool audit_tensors = false;

  bool operator==(const ModelSettings&) const = default;

  // Returns the scheduling settings in words for the server log, such as
  // "2 instance(s), no batching, at most 64 queued requests, no default timeout".
  std::string Describe() const;
};

// The keys one section sets; unset keys fall through to the enclosing level.
struct SettingsOverride {
  std::optional<int64_t> instances;
  std::optional<int64_t> intra_op_threads;
  std::optional<bool> dynamic_batching;
  std::optional<int64_t> max_batch_size;
  std::optional<std::vector<int64_t>> preferred_batch_sizes;
  std::optional<int64_t> max_queue_delay_us;
  std::optional<int64_t> max_queue_size;
  std::optional<int64_t> default_timeout_us;
  std::optional<bool> audit_tensors;

  // Copies every key this override sets into `settings`.
  void ApplyTo(ModelSettings& settings) const;
};

// A parsed, validated configuration. Immutable after parsing, so concurrent
// reads are safe.
class ServingConfig {
 public:
  ServingConfig() = default;

  // Returns the settings for one model version: [defaults], then
  // [model NAME], then [model NAME version N], later levels winning per key.
  ModelSettings For(std::string_view model, int64_t version) const;

  // Returns the model names that have a section, sorted, so the server can
  // warn about settings for models the repository does not contain.
  std::vector<std::string> ModelNames() const;

  const SettingsOverride& defaults() const { return defaults_; }
  const std::map<std::string, SettingsOverride, std::less<>>& models() const { return models_; }
  const std::map<std::pair<std::string, int64_t>, SettingsOverride, std::less<>>& versions() const {
    return versions_;
  }

 private:
  friend class ServingConfigBuilder;

  SettingsOverride defaults_;
  std::map<std::string, SettingsOverride, std::less<>> models_;
  std::map<std::pair<std::string, int64_t>, SettingsOverride, std::less<>> versions_;
};

// Files larger than this are rejected before parsing.
inline constexpr size_t kMaxServingConfigBytes = size_t{1} << 20;

// Parses the text of a configuration file. `file_name` only labels errors.
// Empty text yields the defaults. On error returns INVALID_ARGUMENT whose
// message lists every problem found, one per line, as
// "FILE:LINE: reason: offending text".
StatusOr<ServingConfig> ParseServingConfig(std::string_view text, std::string_view file_name);

// Reads and parses the file at `path`. A missing file is NOT_FOUND, so that
// the caller decides whether that is an error.
StatusOr<ServingConfig> LoadServingConfig(const std::string& path);

}  // namespace moat::config
