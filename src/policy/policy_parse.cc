// The line-based parser behind Policy::Parse. It collects every problem
// instead of stopping at the first, so that an operator fixes a policy file
// in one pass, and it compiles each rule into the form Decide reads.
#include <algorithm>
#include <charconv>
#include <ctime>
#include <limits>
#include <map>

#include "common/crypto.h"
#include "common/text.h"
#include "policy/policy.h"
#include "policy/policy_rule.h"

namespace moat::policy {

namespace {

// Maximum bytes of a value shown in a message.
constexpr size_t kMaxQuotedBytes = 80;
constexpr size_t kMaxRuleIdBytes = 64;
constexpr size_t kMaxTargetPatternBytes = 200;
constexpr int kMaxApprovals = 16;
constexpr int64_t kMinApprovalTimeoutSeconds = 60;
constexpr int64_t kMaxApprovalTimeoutSeconds = 7 * 86400;
constexpr int64_t kDefaultApprovalTimeoutSeconds = 3600;

constexpr std::string_view kKeys[] = {
    "effect",   "principals", "actions",     "models",           "versions",
    "targets",  "timezone",   "hours",       "weekdays",         "valid_from",
    "valid_until", "client_addresses", "client_certificate", "second_factor", "approvals",
    "approval_timeout",
};
constexpr std::string_view kRequiredKeys[] = {"effect", "principals", "actions"};

// Weekday abbreviations indexed like LocalTime::weekday (0 = Sunday).
constexpr std::string_view kWeekdayNames[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

std::string Quote(std::string_view text) {
  std::string quoted = "\"";
  quoted += text.substr(0, kMaxQuotedBytes);
  quoted += text.size() > kMaxQuotedBytes ? "...\"" : "\"";
  return quoted;
}

bool IsRuleIdByte(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
         c == '-';
}

bool IsModelPatternByte(char c) { return IsRuleIdByte(c) || c == '*' || c == '?'; }

bool IsTargetPatternByte(char c) { return IsModelPatternByte(c) || c == '@' || c == ':'; }

// Parses a whole decimal integer without sign.
std::optional<int64_t> ParseUnsigned(std::string_view text) {
  if (text.empty() || text.front() < '0' || text.front() > '9') return std::nullopt;
  int64_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// Parses exactly `width` decimal digits.
std::optional<int> ParseDigits(std::string_view text, size_t width) {
  if (text.size() != width) return std::nullopt;
  int value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  return value;
}

// "HH:MM" with HH 00-24 and MM 00-59; "24:00" only when `allow_24` is set.
std::optional<int32_t> ParseClock(std::string_view text, bool allow_24) {
  if (text.size() != 5 || text[2] != ':') return std::nullopt;
  std::optional<int> hour = ParseDigits(text.substr(0, 2), 2);
  std::optional<int> minute = ParseDigits(text.substr(3, 2), 2);
  if (!hour || !minute || *minute > 59 || *hour > 24) return std::nullopt;
  if (*hour == 24 && (*minute != 0 || !allow_24)) return std::nullopt;
  return *hour * 3600 + *minute * 60;
}

bool IsLeapYear(int year) { return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0; }

int DaysInMonth(int year, int month) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && IsLeapYear(year) ? 29 : kDays[month - 1];
}

// Parses an RFC 3339 date-time ("2026-01-01T00:00:00Z",
// "2026-01-01T09:30:00.5+01:00") into unix seconds. A fractional part
// rounds up, so that comparisons against whole request seconds keep
// "from inclusive, until exclusive" exact.
std::optional<int64_t> ParseRfc3339(std::string_view text) {
  if (text.size() < 20 || text[4] != '-' || text[7] != '-' || (text[10] != 'T' && text[10] != 't') ||
      text[13] != ':' || text[16] != ':') {
    return std::nullopt;
  }
  std::optional<int> year = ParseDigits(text.substr(0, 4), 4);
  std::optional<int> month = ParseDigits(text.substr(5, 2), 2);
  std::optional<int> day = ParseDigits(text.substr(8, 2), 2);
  std::optional<int> hour = ParseDigits(text.substr(11, 2), 2);
  std::optional<int> minute = ParseDigits(text.substr(14, 2), 2);
  std::optional<int> second = ParseDigits(text.substr(17, 2), 2);
  if (!year || !month || !day || !hour || !minute || !second) return std::nullopt;
  if (*month < 1 || *month > 12 || *day < 1 || *day > DaysInMonth(*year, *month)) return std::nullopt;
  // Second 60 is a leap second; unix time has none, so it counts as the
  // first second of the next minute.
  if (*hour > 23 || *minute > 59 || *second > 60) return std::nullopt;

  std::string_view rest = text.substr(19);
  bool round_up = false;
  if (!rest.empty() && rest.front() == '.') {
    size_t digits = 1;
    while (digits < rest.size() && rest[digits] >= '0' && rest[digits] <= '9') {
      if (rest[digits] != '0') round_up = true;
      ++digits;
    }
    if (digits == 1) return std::nullopt;
    rest.remove_prefix(digits);
  }
  int32_t offset = 0;
  if (rest == "Z" || rest == "z") {
    offset = 0;
  } else if (rest.size() == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':') {
    std::optional<int> offset_hours = ParseDigits(rest.substr(1, 2), 2);
    std::optional<int> offset_minutes = ParseDigits(rest.substr(4, 2), 2);
    if (!offset_hours || !offset_minutes || *offset_hours > 23 || *offset_minutes > 59) return std::nullopt;
    offset = (*offset_hours * 3600 + *offset_minutes * 60) * (rest[0] == '-' ? -1 : 1);
  } else {
    return std::nullopt;
  }

  std::tm civil{};
  civil.tm_year = *year - 1900;
  civil.tm_mon = *month - 1;
  civil.tm_mday = *day;
  civil.tm_hour = *hour;
  civil.tm_min = *minute;
  civil.tm_sec = *second;
  int64_t seconds = static_cast<int64_t>(timegm(&civil));
  return seconds - offset + (round_up ? 1 : 0);
}

// "30m", "2h", "1d", "90s": the number of seconds, or nullopt.
std::optional<int64_t> ParseDuration(std::string_view text) {
  if (text.size() < 2) return std::nullopt;
  int64_t unit = 0;
  switch (text.back()) {
    case 's': unit = 1; break;
    case 'm': unit = 60; break;
    case 'h': unit = 3600; break;
    case 'd': unit = 86400; break;
    default: return std::nullopt;
  }
  std::optional<int64_t> count = ParseUnsigned(text.substr(0, text.size() - 1));
  if (!count || *count > kMaxApprovalTimeoutSeconds) return std::nullopt;
  return *count * unit;
}

std::optional<int> ParseWeekday(std::string_view name) {
  for (int day = 0; day < 7; ++day) {
    if (kWeekdayNames[day] == name) return day;
  }
  return std::nullopt;
}

template <typename T>
void SortUnique(std::vector<T>& values) {
  std::sort(values.begin(), values.end());
  values.erase(std::unique(values.begin(), values.end()), values.end());
}

// Builder of a Policy, line by line.
class PolicyParser {
 public:
  PolicyParser(std::string_view source_name, const std::string& zoneinfo_dir)
      : source_name_(source_name), zoneinfo_dir_(zoneinfo_dir) {}

  StatusOr<std::shared_ptr<const Policy>> Parse(std::string_view text) {
    if (text.size() > kMaxPolicyBytes) {
      return InvalidArgumentError(source_name_ + ": policy is " + std::to_string(text.size()) +
                                  " bytes, above the limit of " + std::to_string(kMaxPolicyBytes) + " bytes");
    }
    size_t line_number = 0;
    size_t pos = 0;
    while (pos <= text.size() && !Full()) {
      size_t end = text.find('\n', pos);
      if (end == std::string_view::npos) end = text.size();
      ++line_number;
      ParseLine(line_number, text.substr(pos, end - pos));
      pos = end + 1;
    }
    FinishRule();
    if (!problems_.empty()) return InvalidArgumentError(JoinProblems());
    return std::make_shared<const Policy>(std::move(rules_), Sha256Hex(text));
  }

 private:
  // The rule being read and where its keys were, for messages.
  struct OpenRule {
    CompiledRule rule;
    size_t header_line = 0;
    std::map<std::string, size_t, std::less<>> key_lines;
    std::optional<int64_t> approval_timeout;
    uint8_t weekday_bits = 0;  // bit (1 << weekday) per listed day
    bool any_version = false;  // the versions list contains `*`
  };

  bool Full() const { return problems_.size() >= kMaxReportedErrors; }

  void Report(size_t line, std::string reason) {
    if (Full()) return;
    problems_.emplace_back(line, source_name_ + ":" + std::to_string(line) + ": " + std::move(reason));
  }

  void ReportValue(size_t line, std::string_view key, std::string_view value, std::string_view reason) {
    Report(line, "invalid " + std::string(key) + " " + Quote(value) + ": " + std::string(reason));
  }

  void ReportItem(size_t line, std::string_view key, std::string_view item, std::string_view reason) {
    Report(line, "invalid " + std::string(key) + " item " + Quote(item) + ": " + std::string(reason));
  }

  std::string JoinProblems() {
    // Checks at the end of a rule report at the rule's header, so sort to
    // list problems in file order.
    std::stable_sort(problems_.begin(), problems_.end(),
                     [](const auto& left, const auto& right) { return left.first < right.first; });
    std::string message;
    for (const auto& [line, problem] : problems_) {
      if (!message.empty()) message += "\n";
      message += problem;
    }
    if (Full()) message += "\n(stopped after " + std::to_string(kMaxReportedErrors) + " errors)";
    return message;
  }

  void ParseLine(size_t line, std::string_view raw) {
    std::string_view content = raw.substr(0, raw.find('#'));
    // Comments may contain any bytes. Everything else must be printable
    // ASCII, so that a look-alike letter from another script cannot hide in
    // a model pattern or a rule id.
    for (size_t column = 0; column < content.size(); ++column) {
      auto byte = static_cast<unsigned char>(content[column]);
      bool allowed = (byte >= 0x20 && byte < 0x7f) || byte == '\t' || (byte == '\r' && column + 1 == content.size());
      if (!allowed) {
        static constexpr char kHex[] = "0123456789abcdef";
        std::string hex = {'0', 'x', kHex[byte >> 4], kHex[byte & 15]};
        Report(line, (byte >= 0x80 ? "non-ASCII byte " : "control byte ") + hex + " at column " +
                         std::to_string(column + 1) + " (only printable ASCII is allowed outside comments)");
        return;
      }
    }
    content = TrimWhitespace(content);
    if (content.empty()) return;
    if (content.front() == '[') {
      ParseHeader(line, content);
    } else {
      ParseKeyValue(line, content);
    }
  }

  void ParseHeader(size_t line, std::string_view content) {
    FinishRule();
    // Keys after a rejected header are not checked, so that one bad header
    // does not cascade into an error per key.
    skip_keys_ = true;

    if (content.back() != ']') {
      Report(line, "section header does not end with ']': " + Quote(content));
      return;
    }
    std::vector<std::string_view> words = SplitOnBlanks(content.substr(1, content.size() - 2));
    if (words.size() != 2 || words[0] != "rule") {
      Report(line, "unknown section " + Quote(content) + " (expected [rule ID])");
      return;
    }

    std::string_view id = words[1];
    if (id.size() > kMaxRuleIdBytes || !std::all_of(id.begin(), id.end(), IsRuleIdByte)) {
      Report(line, "invalid rule id " + Quote(id) + ": expected 1 to 64 bytes of [A-Za-z0-9._-]");
      return;
    }
    if (id == kDefaultDenyRule || id == kInvalidRequestRule || id == kGrantExceedsOwnRule) {
      Report(line, "rule id " + Quote(id) + " is reserved for the engine's own decisions");
      return;
    }

    auto [first, inserted] = rule_lines_.emplace(std::string(id), line);
    if (!inserted) {
      Report(line, "duplicate rule id " + Quote(id) + ", first defined at line " + std::to_string(first->second));
      return;
    }
    skip_keys_ = false;
    open_ = OpenRule{};
    open_->rule.id = std::string(id);
    open_->header_line = line;
  }

  void ParseKeyValue(size_t line, std::string_view content) {
    size_t equals = content.find('=');
    if (equals == std::string_view::npos) {
      Report(line, "expected 'key = value' or a [rule ID] header: " + Quote(content));
      return;
    }
    std::string_view key = TrimWhitespace(content.substr(0, equals));
    std::string_view value = TrimWhitespace(content.substr(equals + 1));
    if (skip_keys_) return;
    if (!open_.has_value()) {
      Report(line, "key " + Quote(key) + " outside any [rule ID] section");
      return;
    }
    const std::string& id = open_->rule.id;
    if (std::find(std::begin(kKeys), std::end(kKeys), key) == std::end(kKeys)) {
      Report(line, "unknown key " + Quote(key) + " in rule " + Quote(id));
      return;
    }
    auto [first, inserted] = open_->key_lines.emplace(std::string(key), line);
    if (!inserted) {
      Report(line, "duplicate key " + Quote(key) + " in rule " + Quote(id) + ", first set at line " +
                       std::to_string(first->second));
      return;
    }
    if (value.empty()) {
      ReportValue(line, key, value, "value is empty");
      return;
    }
    ParseValue(line, key, value);
  }

  // Splits a comma-separated list into trimmed items; reports an empty item.
  std::optional<std::vector<std::string_view>> SplitList(size_t line, std::string_view key, std::string_view value) {
    std::vector<std::string_view> items;
    size_t pos = 0;
    while (true) {
      size_t comma = value.find(',', pos);
      std::string_view item = TrimWhitespace(value.substr(pos, comma == std::string_view::npos ? comma : comma - pos));
      if (item.empty()) {
        ReportValue(line, key, value, "the list has an empty item");
        return std::nullopt;
      }
      items.push_back(item);
      if (comma == std::string_view::npos) return items;
      pos = comma + 1;
    }
  }

  void ParseValue(size_t line, std::string_view key, std::string_view value) {
    CompiledRule& rule = open_->rule;
    if (key == "effect") {
      if (value == "allow" || value == "deny") {
        rule.allow = value == "allow";
      } else {
        ReportValue(line, key, value, "expected allow or deny");
      }
      return;
    }
    if (key == "timezone") return ParseTimeZone(line, value);
    if (key == "valid_from" || key == "valid_until") {
      std::optional<int64_t> instant = ParseRfc3339(value);
      if (!instant) {
        ReportValue(line, key, value, "expected an RFC 3339 instant such as 2026-01-01T00:00:00Z");
        return;
      }
      (key == "valid_from" ? rule.valid_from : rule.valid_until) = instant;
      return;
    }
    if (key == "client_certificate" || key == "second_factor") {
      if (value != "true" && value != "false") {
        ReportValue(line, key, value, "expected true or false");
        return;
      }
      (key == "client_certificate" ? rule.client_certificate : rule.second_factor) = value == "true";
      return;
    }
    if (key == "approvals") {
      std::optional<int64_t> count = ParseUnsigned(value);
      if (!count || *count < 1 || *count > kMaxApprovals) {
        ReportValue(line, key, value, "expected an integer from 1 to 16");
        return;
      }
      rule.approvals = static_cast<int>(*count);
      return;
    }
    if (key == "approval_timeout") {
      std::optional<int64_t> seconds = ParseDuration(value);
      if (!seconds || *seconds < kMinApprovalTimeoutSeconds || *seconds > kMaxApprovalTimeoutSeconds) {
        ReportValue(line, key, value, "expected a duration from 1m to 7d with unit s, m, h or d, such as 30m");
        return;
      }
      open_->approval_timeout = seconds;
      return;
    }

    std::optional<std::vector<std::string_view>> items = SplitList(line, key, value);
    if (!items) return;
    for (std::string_view item : *items) ParseListItem(line, key, item);
  }

  void ParseTimeZone(size_t line, std::string_view value) {
    auto cached = zones_.find(value);
    if (cached != zones_.end()) {
      open_->rule.zone = cached->second;
      return;
    }
    StatusOr<std::shared_ptr<const TimeZone>> zone = TimeZone::Load(value, zoneinfo_dir_);
    if (!zone.ok()) {
      ReportValue(line, "timezone", value, zone.status().message());
      return;
    }
    zones_.emplace(std::string(value), *zone);
    open_->rule.zone = *zone;
  }

  void ParseListItem(size_t line, std::string_view key, std::string_view item) {
    CompiledRule& rule = open_->rule;
    if (key == "principals") return ParsePrincipal(line, item);
    if (key == "actions") {
      if (item == "*") {
        rule.actions = (1u << kActionCount) - 1;
      } else if (std::optional<Action> action = ParseAction(item)) {
        rule.actions |= 1u << static_cast<int>(*action);
      } else {
        ReportItem(line, key, item,
                   "unknown action (expected infer, read_metadata, read_statistics, load, unload, "
                   "activate_version, rollback, register_shared_memory, read_audit, export_audit, "
                   "manage_users, change_policy, approve or *)");
      }
      return;
    }
    if (key == "models") {
      if (item.size() > 128 || !std::all_of(item.begin(), item.end(), IsModelPatternByte)) {
        ReportItem(line, key, item, "expected a pattern of at most 128 bytes of [A-Za-z0-9._-] and the wildcards * and ?");
        return;
      }
      rule.has_models = true;
      rule.models.emplace_back(std::string(item));
      return;
    }
    if (key == "targets") {
      if (item.size() > kMaxTargetPatternBytes || !std::all_of(item.begin(), item.end(), IsTargetPatternByte)) {
        ReportItem(line, key, item,
                   "expected a pattern over user:NAME, group:NAME or role:NAME made of [A-Za-z0-9._@:-] and the "
                   "wildcards * and ?");
        return;
      }
      rule.has_targets = true;
      rule.targets.emplace_back(std::string(item));
      return;
    }
    if (key == "versions") return ParseVersionItem(line, item);
    if (key == "hours") return ParseHourWindow(line, item);
    if (key == "weekdays") return ParseWeekdayItem(line, item);
    if (key == "client_addresses") {
      StatusOr<AddressRange> range = AddressRange::Parse(item);
      if (!range.ok()) {
        ReportItem(line, key, item, range.status().message());
        return;
      }
      rule.has_client_addresses = true;
      rule.client_addresses.push_back(*range);
    }
  }

  void ParsePrincipal(size_t line, std::string_view item) {
    CompiledRule& rule = open_->rule;
    if (item == "*") {
      rule.any_principal = true;
      return;
    }
    if (item == "authenticated") {
      rule.authenticated = true;
      return;
    }
    if (item == "anonymous") {
      rule.anonymous = true;
      return;
    }
    size_t colon = item.find(':');
    std::string_view kind = item.substr(0, colon);
    std::string_view name = colon == std::string_view::npos ? std::string_view() : item.substr(colon + 1);
    std::vector<std::string>* names = kind == "user"    ? &rule.users
                                      : kind == "group" ? &rule.groups
                                      : kind == "role"  ? &rule.roles
                                                        : nullptr;
    if (names == nullptr || colon == std::string_view::npos) {
      ReportItem(line, "principals", item,
                 "expected user:NAME, group:NAME, role:NAME, authenticated, anonymous or *");
      return;
    }
    if (!IsValidPrincipalName(name)) {
      ReportItem(line, "principals", item, "the name must be 1 to 64 bytes of [A-Za-z0-9._@-]");
      return;
    }
    names->emplace_back(name);
  }

  void ParseVersionItem(size_t line, std::string_view item) {
    constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
    CompiledRule& rule = open_->rule;
    if (item == "*") {
      open_->any_version = true;
      return;
    }
    std::optional<VersionRange> range;
    auto bounded = [](std::string_view prefix, std::string_view text) {
      return text.starts_with(prefix) ? ParseUnsigned(text.substr(prefix.size())) : std::nullopt;
    };
    if (auto n = bounded(">=", item)) {
      range = VersionRange{*n, kMax};
    } else if (auto at_most = bounded("<=", item)) {
      range = VersionRange{1, *at_most};
    } else if (auto above = bounded(">", item)) {
      if (*above < kMax) range = VersionRange{*above + 1, kMax};
    } else if (auto below = bounded("<", item)) {
      range = VersionRange{1, *below - 1};
    } else if (size_t dash = item.find('-'); dash != std::string_view::npos) {
      std::optional<int64_t> low = ParseUnsigned(item.substr(0, dash));
      std::optional<int64_t> high = ParseUnsigned(item.substr(dash + 1));
      if (low && high) range = VersionRange{*low, *high};
    } else if (auto exact = ParseUnsigned(item)) {
      range = VersionRange{*exact, *exact};
    }
    if (!range) {
      ReportItem(line, "versions", item, "expected N, N-M, >=N, <=N, >N, <N or * with decimal integers");
      return;
    }
    if (range->low < 1) range->low = 1;
    if (range->low > range->high) {
      ReportItem(line, "versions", item, "matches no version (versions start at 1)");
      return;
    }
    rule.has_versions = true;
    rule.versions.push_back(*range);
  }

  void ParseHourWindow(size_t line, std::string_view item) {
    size_t dash = item.find('-');
    std::optional<int32_t> start = ParseClock(item.substr(0, dash), false);
    std::optional<int32_t> end =
        dash == std::string_view::npos ? std::nullopt : ParseClock(item.substr(dash + 1), true);
    if (!start || !end) {
      ReportItem(line, "hours", item, "expected HH:MM-HH:MM with times from 00:00 to 23:59 (24:00 as an end)");
      return;
    }
    if (*start == *end) {
      ReportItem(line, "hours", item, "start and end are the same time; use 00:00-24:00 for a whole day");
      return;
    }
    open_->rule.hours.push_back({*start, *end});
  }

  void ParseWeekdayItem(size_t line, std::string_view item) {
    size_t dash = item.find('-');
    std::optional<int> first = ParseWeekday(item.substr(0, dash));
    std::optional<int> last = dash == std::string_view::npos ? first : ParseWeekday(item.substr(dash + 1));
    if (!first || !last) {
      ReportItem(line, "weekdays", item, "expected mon, tue, wed, thu, fri, sat, sun or a range such as mon-fri");
      return;
    }
    // Set the bit of every day from `first` to `last`, wrapping past Saturday.
    uint8_t& days = open_->weekday_bits;
    for (int day = *first;; day = (day + 1) % 7) {
      days |= static_cast<uint8_t>(1u << day);
      if (day == *last) break;
    }
  }

  // Checks the finished rule as a whole and stores it.
  void FinishRule() {
    if (!open_.has_value()) return;
    OpenRule open = std::move(*open_);
    open_.reset();
    CompiledRule& rule = open.rule;
    const auto& keys = open.key_lines;
    bool valid = true;
    for (std::string_view required : kRequiredKeys) {
      if (!keys.contains(required)) {
        Report(open.header_line, "rule " + Quote(rule.id) + " is missing the required key " + Quote(required));
        valid = false;
      }
    }
    if (auto approvals = keys.find("approvals"); approvals != keys.end() && !rule.allow && keys.contains("effect")) {
      Report(approvals->second, "invalid approvals in rule " + Quote(rule.id) + ": only allow rules can require approvals");
      valid = false;
    }
    if (auto timeout = keys.find("approval_timeout"); timeout != keys.end() && !keys.contains("approvals")) {
      Report(timeout->second, "approval_timeout in rule " + Quote(rule.id) + " needs an approvals key in the same rule");
      valid = false;
    }
    if (rule.valid_from && rule.valid_until && *rule.valid_from >= *rule.valid_until) {
      Report(keys.find("valid_until")->second,
             "valid_until in rule " + Quote(rule.id) + " is not later than its valid_from, so the rule never applies");
      valid = false;
    }
    if (!valid) return;

    if (rule.approvals > 0) rule.approval_timeout_seconds = open.approval_timeout.value_or(kDefaultApprovalTimeoutSeconds);
    if (open.any_version) {
      rule.has_versions = false;
      rule.versions.clear();
    }
    if (open.weekday_bits != 0) rule.weekdays = open.weekday_bits;
    bool has_clock = !rule.hours.empty() || open.weekday_bits != 0;
    if (!has_clock) {
      rule.zone = nullptr;
    } else if (rule.zone == nullptr) {
      rule.zone = TimeZone::Utc();
    }
    SortUnique(rule.users);
    SortUnique(rule.groups);
    SortUnique(rule.roles);
    rules_.push_back(std::move(rule));
  }

  std::string source_name_;
  std::string zoneinfo_dir_;
  std::vector<std::pair<size_t, std::string>> problems_;
  std::map<std::string, size_t, std::less<>> rule_lines_;
  std::map<std::string, std::shared_ptr<const TimeZone>, std::less<>> zones_;
  std::optional<OpenRule> open_;
  bool skip_keys_ = false;
  std::vector<CompiledRule> rules_;
};

}  // namespace

StatusOr<std::shared_ptr<const Policy>> Policy::Parse(std::string_view text, std::string_view source_name,
                                                      const std::string& zoneinfo_dir) {
  return PolicyParser(source_name, zoneinfo_dir).Parse(text);
}

}  // namespace moat::policy
