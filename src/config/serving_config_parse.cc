// The line-based parser behind ParseServingConfig. It collects every problem
// instead of stopping at the first, so an operator fixes a file in one pass.
#include <algorithm>
#include <charconv>
#include <deque>
#include <initializer_list>

#include "bundle/paths.h"
#include "common/text.h"
#include "config/serving_config.h"

namespace moat::config {

namespace {

// Stops collecting problems after this many, so that a binary file fed in by
// mistake does not produce megabytes of messages.
constexpr size_t kMaxProblems = 50;
// Maximum bytes of an offending line shown in a message.
constexpr size_t kMaxExcerptBytes = 80;

struct IntegerKey {
  std::string_view name;
  int64_t min;
  int64_t max;
  std::optional<int64_t> SettingsOverride::*field;
};

constexpr int64_t kMaxInstances = 256;
constexpr int64_t kMaxIntraOpThreads = 1024;
constexpr int64_t kMaxBatchSize = 65536;
constexpr int64_t kMaxQueueDelayUs = 10'000'000;  // 10 s
constexpr int64_t kMaxQueueSize = 1'000'000;
constexpr int64_t kMaxTimeoutUs = 3'600'000'000;  // 1 h
constexpr size_t kMaxPreferredBatchSizes = 64;

constexpr IntegerKey kIntegerKeys[] = {
    {"instances", 1, kMaxInstances, &SettingsOverride::instances},
    {"intra_op_threads", 0, kMaxIntraOpThreads, &SettingsOverride::intra_op_threads},
    {"max_batch_size", 0, kMaxBatchSize, &SettingsOverride::max_batch_size},
    {"max_queue_delay_us", 0, kMaxQueueDelayUs, &SettingsOverride::max_queue_delay_us},
    {"max_queue_size", 0, kMaxQueueSize, &SettingsOverride::max_queue_size},
    {"default_timeout_us", 0, kMaxTimeoutUs, &SettingsOverride::default_timeout_us},
};

constexpr std::string_view kDynamicBatchingKey = "dynamic_batching";
constexpr std::string_view kPreferredBatchSizesKey = "preferred_batch_sizes";
constexpr std::string_view kAuditTensorsKey = "audit_tensors";

// Parses a whole decimal integer. Returns the reason on failure.
std::optional<std::string> ParseInteger(std::string_view text, int64_t& value) {
  if (text.empty()) return "value is empty";
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error == std::errc::result_out_of_range) return "integer is out of range";
  if (error != std::errc() || end != text.data() + text.size()) return "value is not a decimal integer";
  return std::nullopt;
}

}  // namespace

// Builder of a ServingConfig, line by line. It is the friend of ServingConfig
// that fills its private maps.
class ServingConfigBuilder {
 public:
  explicit ServingConfigBuilder(std::string_view file_name) : file_name_(file_name) {}

  StatusOr<ServingConfig> Parse(std::string_view text) {
    size_t line_number = 0;
    size_t pos = 0;
    while (pos <= text.size() && problems_.size() < kMaxProblems) {
      size_t end = text.find('\n', pos);
      if (end == std::string_view::npos) end = text.size();
      ++line_number;
      ParseLine(line_number, text.substr(pos, end - pos));
      pos = end + 1;
    }
    if (problems_.size() < kMaxProblems) CheckSections();
    if (!problems_.empty()) {
      // The cross-key checks run last, so sort to list problems in file order.
      std::stable_sort(problems_.begin(), problems_.end(),
                       [](const auto& left, const auto& right) { return left.first < right.first; });
      std::string message;
      for (const auto& [line, problem] : problems_) {
        if (!message.empty()) message += "\n";
        message += problem;
      }
      if (problems_.size() >= kMaxProblems) {
        message += "\n(stopped after " + std::to_string(kMaxProblems) + " errors)";
      }
      return InvalidArgumentError(message);
    }
    return std::move(config_);
  }

 private:
  // One section as written: where it starts and where its keys are, so that
  // cross-key checks point at the line that caused them.
  struct SectionRecord {
    std::string title;  // "[defaults]", "[model X]", "[model X version N]"
    size_t header_line = 0;
    std::string model;  // empty for [defaults]
    std::optional<int64_t> version;
    std::map<std::string, size_t, std::less<>> key_lines;
    SettingsOverride* target = nullptr;
  };

  void Report(size_t line, std::string_view reason, std::string_view excerpt) {
    std::string shown(excerpt.substr(0, kMaxExcerptBytes));
    std::string message = file_name_ + ":" + std::to_string(line) + ": " + std::string(reason);
    if (!excerpt.empty()) {
      message += ": " + bundle::QuoteForMessage(shown);
      if (excerpt.size() > kMaxExcerptBytes) message += "...";
    }
    problems_.emplace_back(line, std::move(message));
  }

  void ParseLine(size_t line, std::string_view raw) {
    std::string_view content = TrimWhitespace(raw.substr(0, raw.find('#')));
    if (content.empty()) return;
    if (content.front() == '[') {
      ParseHeader(line, content);
    } else {
      ParseKeyValue(line, content);
    }
  }

  void ParseHeader(size_t line, std::string_view content) {
    // Keys after a rejected header are not checked against any section, so
    // one bad header does not cascade into an error per key.
    current_ = nullptr;
    skip_keys_ = true;
    if (content.back() != ']') {
      Report(line, "section header does not end with ']'", content);
      return;
    }
    std::vector<std::string_view> words = SplitOnBlanks(content.substr(1, content.size() - 2));

    SectionRecord record;
    record.header_line = line;
    if (words.size() == 1 && words[0] == "defaults") {
      record.title = "[defaults]";
      record.target = &config_.defaults_;
    } else if (words.size() == 2 && words[0] == "model") {
      if (!CheckModelName(line, words[1])) return;
      record.model = std::string(words[1]);
      record.title = "[model " + record.model + "]";
      record.target = &config_.models_[record.model];
    } else if (words.size() == 4 && words[0] == "model" && words[2] == "version") {
      if (!CheckModelName(line, words[1])) return;
      int64_t version = 0;
      if (ParseInteger(words[3], version) || version < 1) {
        Report(line, "model version must be an integer of at least 1", content);
        return;
      }
      record.model = std::string(words[1]);
      record.version = version;
      record.title = "[model " + record.model + " version " + std::to_string(version) + "]";
      record.target = &config_.versions_[{record.model, version}];
    } else {
      Report(line, "unknown section (expected [defaults], [model NAME] or [model NAME version N])", content);
      return;
    }

    auto [earlier, inserted] = section_lines_.emplace(record.title, line);
    if (!inserted) {
      Report(line, "duplicate section, first at line " + std::to_string(earlier->second), content);
      return;
    }
    skip_keys_ = false;
    sections_.push_back(std::move(record));
    current_ = &sections_.back();
  }

  bool CheckModelName(size_t line, std::string_view name) {
    Status valid = bundle::ValidateModelName(name);
    if (!valid.ok()) Report(line, "invalid section header: " + valid.message(), {});
    return valid.ok();
  }

  void ParseKeyValue(size_t line, std::string_view content) {
    size_t equals = content.find('=');
    if (equals == std::string_view::npos) {
      Report(line, "expected 'key = value' or a [section] header", content);
      return;
    }
    std::string_view key = TrimWhitespace(content.substr(0, equals));
    std::string_view value = TrimWhitespace(content.substr(equals + 1));
    if (skip_keys_) return;
    if (current_ == nullptr) {
      Report(line, "key outside any section; put it under [defaults] or [model NAME]", content);
      return;
    }
    if (!IsKnownKey(key)) {
      Report(line, "unknown key in " + current_->title, content);
      return;
    }
    auto [first, inserted] = current_->key_lines.emplace(std::string(key), line);
    if (!inserted) {
      Report(line,
             "duplicate key in " + current_->title + ", first set at line " + std::to_string(first->second),
             content);
      return;
    }
    ParseValue(line, key, value, content);
  }

  static bool IsKnownKey(std::string_view key) {
    if (key == kDynamicBatchingKey || key == kPreferredBatchSizesKey || key == kAuditTensorsKey) return true;
    return std::any_of(std::begin(kIntegerKeys), std::end(kIntegerKeys),
                       [&](const IntegerKey& known) { return known.name == key; });
  }

  void ParseValue(size_t line, std::string_view key, std::string_view value, std::string_view content) {
    SettingsOverride& target = *current_->target;
    if (key == kDynamicBatchingKey || key == kAuditTensorsKey) {
      std::optional<bool>& flag = key == kDynamicBatchingKey ? target.dynamic_batching : target.audit_tensors;
      if (value == "true") {
        flag = true;
      } else if (value == "false") {
        flag = false;
      } else {
        Report(line, std::string(key) + " must be true or false", content);
      }
      return;
    }
    if (key == kPreferredBatchSizesKey) {
      ParsePreferredSizes(line, value, content);
      return;
    }
    for (const IntegerKey& known : kIntegerKeys) {
      if (known.name != key) continue;
      int64_t number = 0;
      if (std::optional<std::string> reason = ParseInteger(value, number)) {
        Report(line, std::string(key) + ": " + *reason, content);
      } else if (number < known.min || number > known.max) {
        Report(line,
               std::string(key) + " must be between " + std::to_string(known.min) + " and " +
                   std::to_string(known.max),
               content);
      } else {
        target.*known.field = number;
      }
      return;
    }
  }

  void ParsePreferredSizes(size_t line, std::string_view value, std::string_view content) {
    std::vector<int64_t> sizes;
    size_t pos = 0;
    while (pos <= value.size()) {
      size_t comma = value.find(',', pos);
      if (comma == std::string_view::npos) comma = value.size();
      std::string_view item = TrimWhitespace(value.substr(pos, comma - pos));
      int64_t size = 0;
      if (std::optional<std::string> reason = ParseInteger(item, size)) {
        Report(line, "preferred_batch_sizes: " + *reason + " in a comma-separated list", content);
        return;
      }
      if (size < 1) {
        Report(line, "preferred_batch_sizes entries must be at least 1", content);
        return;
      }
      if (!sizes.empty() && size <= sizes.back()) {
        Report(line, "preferred_batch_sizes must be strictly increasing", content);
        return;
      }
      if (sizes.size() == kMaxPreferredBatchSizes) {
        Report(line,
               "preferred_batch_sizes has more than " + std::to_string(kMaxPreferredBatchSizes) + " entries",
               content);
        return;
      }
      sizes.push_back(size);
      pos = comma + 1;
    }
    current_->target->preferred_batch_sizes = std::move(sizes);
  }

  // Checks the keys that depend on each other, on the settings each section
  // yields after precedence, so that a version section cannot break a rule
  // its model section keeps.
  void CheckSections() {
    for (const SectionRecord& section : sections_) {
      if (problems_.size() >= kMaxProblems) return;
      ModelSettings settings;
      config_.defaults_.ApplyTo(settings);
      if (!section.model.empty()) {
        if (auto found = config_.models_.find(section.model); found != config_.models_.end()) {
          found->second.ApplyTo(settings);
        }
      }
      section.target->ApplyTo(settings);
      size_t line = LineOf(section, {kPreferredBatchSizesKey, "max_batch_size"});
      if (!settings.preferred_batch_sizes.empty() &&
          settings.preferred_batch_sizes.back() > settings.max_batch_size) {
        Report(line,
               "preferred batch size " + std::to_string(settings.preferred_batch_sizes.back()) +
                   " is above max_batch_size " + std::to_string(settings.max_batch_size) + " in " +
                   section.title,
               {});
      }
      if (settings.dynamic_batching && settings.max_batch_size < 1) {
        Report(LineOf(section, {kDynamicBatchingKey, "max_batch_size"}),
               "dynamic_batching = true needs max_batch_size of at least 1 in " + section.title, {});
      }
    }
  }

  // Returns the line of the first of `keys` the section sets, else its header.
  static size_t LineOf(const SectionRecord& section, std::initializer_list<std::string_view> keys) {
    for (std::string_view key : keys) {
      if (auto found = section.key_lines.find(key); found != section.key_lines.end()) return found->second;
    }
    return section.header_line;
  }

  std::string file_name_;
  ServingConfig config_;
  // A deque, because `current_` must stay valid as sections are appended.
  std::deque<SectionRecord> sections_;
  std::map<std::string, size_t, std::less<>> section_lines_;  // title to header line
  SectionRecord* current_ = nullptr;
  bool skip_keys_ = false;
  std::vector<std::pair<size_t, std::string>> problems_;  // (line, message)
};

StatusOr<ServingConfig> ParseServingConfig(std::string_view text, std::string_view file_name) {
  return ServingConfigBuilder(file_name).Parse(text);
}

}  // namespace moat::config
