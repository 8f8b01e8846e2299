// The compiled form of one policy rule, shared by the parser
// (policy_parse.cc) and the decision code (policy.cc). Not part of the
// public API.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "policy/address_range.h"
#include "policy/policy.h"
#include "policy/time_zone.h"

namespace moat::policy {

// A glob pattern: `*` matches any run of bytes (also none), `?` exactly one
// byte, every other byte itself. The common shapes get a fast path.
class GlobPattern {
 public:
  explicit GlobPattern(std::string text);

  bool Matches(std::string_view subject) const;
  const std::string& text() const { return text_; }

 private:
  enum class Shape { kAny, kExact, kPrefix, kGeneral };
  std::string text_;
  std::string literal_;  // kExact: the whole text; kPrefix: the text before '*'
  Shape shape_ = Shape::kGeneral;
};

// True for 1-128 bytes of [A-Za-z0-9._-] not starting with '.'.
bool IsValidModelName(std::string_view name);
// True for 1-64 bytes of [A-Za-z0-9._@-] (accounts, groups, roles).
bool IsValidPrincipalName(std::string_view name);

// An inclusive range of model versions.
struct VersionRange {
  int64_t low = 0;
  int64_t high = 0;
};

// A daily window of local time in seconds since midnight. `start > end`
// means the window crosses midnight, and then belongs to the weekday on
// which it starts.
struct HourWindow {
  int32_t start = 0;  // inclusive
  int32_t end = 0;    // exclusive, up to 86400
};

struct CompiledRule {
  std::string id;
  bool allow = false;

  // principals: the flags, plus sorted unique names.
  bool any_principal = false;
  bool authenticated = false;
  bool anonymous = false;
  std::vector<std::string> users;
  std::vector<std::string> groups;
  std::vector<std::string> roles;

  uint32_t actions = 0;  // bit (1 << Action)

  bool has_models = false;
  std::vector<GlobPattern> models;

  bool has_versions = false;  // false also when the list contains `*`
  std::vector<VersionRange> versions;

  bool has_targets = false;
  std::vector<GlobPattern> targets;

  std::shared_ptr<const TimeZone> zone;  // null: no time-of-day condition
  std::vector<HourWindow> hours;         // empty: any time of day
  uint8_t weekdays = 0x7f;               // bit (1 << weekday), 0 = Sunday

  std::optional<int64_t> valid_from;   // unix seconds, inclusive
  std::optional<int64_t> valid_until;  // unix seconds, exclusive

  bool has_client_addresses = false;
  std::vector<AddressRange> client_addresses;

  std::optional<bool> client_certificate;
  std::optional<bool> second_factor;

  int approvals = 0;
  int64_t approval_timeout_seconds = 0;  // zero unless approvals > 0
};

// Hash of std::string that also accepts std::string_view, so that lookups
// with a request's names do not build a std::string.
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view text) const { return std::hash<std::string_view>()(text); }
};

// Positions in an action's deny and allow lists (RuleIndex::by_action),
// ascending, so that the first match in each is the best of that list.
struct RankedRules {
  std::vector<uint32_t> deny;
  std::vector<uint32_t> allow;
};

using RulesByName = std::unordered_map<std::string, std::array<RankedRules, kActionCount>, StringHash, std::equal_to<>>;

// The rules of a policy arranged so that a decision reads only the rules
// that can match the subject.
struct RuleIndex {
  // Per action, indices into the rule vector: deny rules by ascending id,
  // allow rules strictest first (most approvals, then the longest approval
  // timeout, then the smallest id). The first match in each list decides.
  struct ActionRules {
    std::vector<uint32_t> deny;
    std::vector<uint32_t> allow;
  };
  std::array<ActionRules, kActionCount> by_action;
  // Per action, whether any of its rules has a second_factor condition.
  // Without one, a one-time code cannot change the decision.
  std::array<bool, kActionCount> second_factor_matters{};

  // Rules with `*`, `authenticated` or `anonymous` among their principals:
  // their principal condition is checked during the decision.
  std::array<RankedRules, kActionCount> open;
  // Every other rule, under each user, group and role name it lists. A rule
  // found under one of the subject's own names needs no principal check.
  RulesByName users;
  RulesByName groups;
  RulesByName roles;

  explicit RuleIndex(const std::vector<CompiledRule>& rules);
};

}  // namespace moat::policy
