// Differential test of the policy engine. Random policies are kept as plain
// lists of rule settings and serialised to policy text for the engine. A
// deliberately simple reference evaluator below decides the same requests
// with plain loops over the rule list, recursive glob matching, hour windows
// as intervals of the week, and values parsed from their text at decision
// time. Both must agree on every field of the decision. The same policies with
// their rules shuffled must decide identically.
//
// Time zone conversion and address ranges come from TimeZone and
// AddressRange, which have their own tests. This file checks only how the
// engine uses them.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <map>
#include <random>

#include "policy/address_range.h"
#include "policy/policy.h"
#include "policy/time_zone.h"

namespace moat::policy {
namespace {

// A rule as the generator chose it. Each list contains the items as the file spells them.
struct RefRule {
  std::string id;
  bool allow = false;
  std::vector<std::string> principals;
  std::vector<std::string> actions;
  std::optional<std::vector<std::string>> models;
  std::optional<std::vector<std::string>> versions;
  std::optional<std::vector<std::string>> targets;
  std::optional<std::string> timezone;
  std::optional<std::vector<std::string>> hours;
  std::optional<std::vector<std::string>> weekdays;
  std::optional<int64_t> valid_from;
  std::optional<int64_t> valid_until;
  std::optional<std::vector<std::string>> client_addresses;
  std::optional<bool> client_certificate;
  std::optional<bool> second_factor;
  std::optional<int> approvals;
  std::optional<std::string> approval_timeout;
};

// A request with owned storage.
struct RefRequest {
  Subject subject;
  Action action = Action::kInfer;
  std::string model;
  std::optional<int64_t> version;
  std::string target;
  std::vector<std::string> grants;
  int64_t unix_seconds = 0;
  std::optional<std::string> address;

  AccessRequest View() const {
    AccessRequest request;
    request.subject = &subject;
    request.action = action;
    request.model = model;
    request.version = version;
    request.target = target;
    request.grants = grants;
    request.unix_seconds = unix_seconds;
    if (address) request.client_address = *ParseIpAddress(*address);
    return request;
  }
};

// The reference's own result, with the rule as an owned string.
struct RefDecision {
  bool allowed = false;
  std::string rule;
  int approvals = 0;
  int64_t approval_timeout = 0;
  bool needs_second_factor = false;
};

const std::vector<std::string> kActionNames = {
    "infer",      "read_metadata", "read_statistics", "load",          "unload",        "activate_version",
    "rollback",   "register_shared_memory", "read_audit", "export_audit", "manage_users", "change_policy",
    "approve"};
const std::vector<std::string> kPrincipalPool = {"user:alice", "user:bob",    "group:ops", "group:ml",
                                                 "role:admin", "role:viewer", "authenticated", "anonymous", "*"};
const std::vector<std::string> kModelPatternPool = {"*",     "fraud", "fraud*", "*-v?", "f?aud",
                                                    "*a*",   "risk-v1", "?",    "r*k*", "*d"};
const std::vector<std::string> kVersionPool = {"1", "2-4", ">=3", "<=2", ">5", "<2", "*", "6"};
const std::vector<std::string> kTargetPool = {"user:*", "role:admin", "*:ops", "group:?l", "*", "user:bob"};
const std::vector<std::string> kZonePool = {"UTC", "Europe/Berlin", "America/New_York"};
const std::vector<std::string> kHoursPool = {"08:00-18:00", "22:00-06:00", "00:00-24:00",
                                             "12:30-13:00", "18:00-24:00", "23:00-00:30"};
const std::vector<std::string> kWeekdayPool = {"mon-fri", "sat-mon", "sun", "wed", "fri", "thu-tue"};
const std::vector<std::string> kAddressRangePool = {"10.0.0.0/8", "192.168.1.0/24", "::1", "fd00::/8"};
const std::vector<std::string> kTimeoutPool = {"30m", "2h", "1d", "90m", "7200s"};

const std::vector<std::string> kAccountPool = {"", "alice", "bob", "carol"};
const std::vector<std::string> kGroupPool = {"ml", "ops", "sales"};
const std::vector<std::string> kRolePool = {"admin", "viewer"};
const std::vector<std::string> kModelPool = {"fraud", "fraud-v2", "risk-v1", "a", "xay", "frond",
                                             "Fraud", "fraud/", "..", "",  "bad name", "fr%61ud"};
const std::vector<std::string> kRequestTargetPool = {"user:bob", "role:admin", "group:ml", "group:ops",
                                                     "user:alice", "bad", ""};
const std::vector<std::string> kGrantPool = {"role:admin", "role:viewer", "group:ops", "group:ml", "bogus"};
const std::vector<std::string> kAddressPool = {"10.1.2.3", "192.168.1.9", "192.168.2.9", "::1",
                                               "fd00::5", "::ffff:10.9.9.9", "2001:db8::1"};

// Requests and validity bounds fall between 2025-12-01 and 2027-01-01.
constexpr int64_t kEarliest = 1764547200;
constexpr int64_t kLatest = 1798761600;

class Generator {
 public:
  explicit Generator(uint32_t seed) : random_(seed) {}

  bool Chance(int percent) { return Uniform(0, 99) < percent; }

  int64_t Uniform(int64_t low, int64_t high) { return std::uniform_int_distribution<int64_t>(low, high)(random_); }

  const std::string& Pick(const std::vector<std::string>& pool) {
    return pool[static_cast<size_t>(Uniform(0, static_cast<int64_t>(pool.size()) - 1))];
  }

  std::vector<std::string> Some(const std::vector<std::string>& pool, int max_count) {
    std::vector<std::string> items;
    int64_t count = Uniform(1, max_count);
    for (int64_t i = 0; i < count; ++i) items.push_back(Pick(pool));
    return items;
  }

  RefRule Rule(size_t index) {
    RefRule rule;
    // Ids that do not sort in creation order, so the tie-breaks matter.
    static const char kLetters[] = "zqmbka";
    rule.id = std::string(1, kLetters[Uniform(0, 5)]) + "-" + std::to_string(index);
    rule.allow = Chance(70);
    rule.principals = Some(kPrincipalPool, 3);
    rule.actions = Chance(15) ? std::vector<std::string>{"*"} : Some(kActionNames, 3);
    if (Chance(50)) rule.models = Some(kModelPatternPool, 2);
    if (Chance(25)) rule.versions = Some(kVersionPool, 2);
    if (Chance(20)) rule.targets = Some(kTargetPool, 2);
    if (Chance(30)) rule.hours = Some(kHoursPool, 2);
    if (Chance(25)) rule.weekdays = Some(kWeekdayPool, 2);
    if (Chance(30)) rule.timezone = Pick(kZonePool);
    if (Chance(15)) rule.valid_from = Uniform(kEarliest, kLatest);
    if (Chance(15)) {
      int64_t low = rule.valid_from.value_or(kEarliest) + 1;
      rule.valid_until = Uniform(low, std::max(low, kLatest));
    }
    if (Chance(15)) rule.client_addresses = Some(kAddressRangePool, 2);
    if (Chance(15)) rule.client_certificate = Chance(50);
    if (Chance(20)) rule.second_factor = Chance(50);
    if (rule.allow && Chance(25)) {
      rule.approvals = static_cast<int>(Uniform(1, 3));
      if (Chance(60)) rule.approval_timeout = Pick(kTimeoutPool);
    }
    return rule;
  }

  RefRequest Request() {
    RefRequest request;
    request.subject.account = Pick(kAccountPool);
    for (const std::string& group : kGroupPool) {
      if (Chance(30)) request.subject.groups.push_back(group);
    }
    for (const std::string& role : kRolePool) {
      if (Chance(30)) request.subject.roles.push_back(role);
    }
    request.subject.client_certificate = Chance(50);
    request.subject.second_factor = Chance(40);
    request.action = static_cast<Action>(Uniform(0, kActionCount - 1));
    if (Chance(85)) request.model = Pick(kModelPool);
    if (Chance(70)) request.version = Uniform(0, 7);
    if (request.action == Action::kManageUsers || request.action == Action::kApprove || Chance(5)) {
      request.target = Pick(kRequestTargetPool);
    }
    if (Chance(20)) request.grants = Some(kGrantPool, 2);
    request.unix_seconds = Uniform(kEarliest, kLatest);
    if (Chance(80)) request.address = Pick(kAddressPool);
    return request;
  }

  std::mt19937& engine() { return random_; }

 private:
  std::mt19937 random_;
};

// Formats unix seconds as RFC 3339 with the given offset in minutes.
std::string FormatInstant(int64_t unix_seconds, int offset_minutes) {
  time_t local = static_cast<time_t>(unix_seconds + offset_minutes * 60);
  std::tm civil{};
  gmtime_r(&local, &civil);
  char text[40];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &civil);
  std::string result = text;
  if (offset_minutes == 0) return result + "Z";
  int magnitude = std::abs(offset_minutes);
  std::snprintf(text, sizeof text, "%c%02d:%02d", offset_minutes < 0 ? '-' : '+', magnitude / 60, magnitude % 60);
  return result + text;
}

// Writes the rules as a policy file, with varied spacing and comments so
// that the parser reads more than one layout.
std::string Serialise(const std::vector<RefRule>& rules, Generator& generator) {
  std::string text = "# generated policy\n";
  auto list = [&](const std::vector<std::string>& items) {
    std::string joined;
    for (size_t i = 0; i < items.size(); ++i) {
      if (i > 0) joined += generator.Chance(50) ? ", " : " ,";
      joined += items[i];
    }
    return joined;
  };
  auto line = [&](std::string_view key, const std::string& value) {
    text += generator.Chance(20) ? "  " : "";
    text += std::string(key) + (generator.Chance(50) ? " = " : "=") + value;
    text += generator.Chance(10) ? "  # note\n" : "\n";
  };
  static const int kOffsets[] = {0, 60, -300, 330};
  for (const RefRule& rule : rules) {
    if (generator.Chance(30)) text += "\n";
    text += "[rule " + rule.id + "]\n";
    line("effect", rule.allow ? "allow" : "deny");
    line("principals", list(rule.principals));
    line("actions", list(rule.actions));
    if (rule.models) line("models", list(*rule.models));
    if (rule.versions) line("versions", list(*rule.versions));
    if (rule.targets) line("targets", list(*rule.targets));
    if (rule.timezone) line("timezone", *rule.timezone);
    if (rule.hours) line("hours", list(*rule.hours));
    if (rule.weekdays) line("weekdays", list(*rule.weekdays));
    if (rule.valid_from) line("valid_from", FormatInstant(*rule.valid_from, kOffsets[generator.Uniform(0, 3)]));
    if (rule.valid_until) line("valid_until", FormatInstant(*rule.valid_until, kOffsets[generator.Uniform(0, 3)]));
    if (rule.client_addresses) line("client_addresses", list(*rule.client_addresses));
    if (rule.client_certificate) line("client_certificate", *rule.client_certificate ? "true" : "false");
    if (rule.second_factor) line("second_factor", *rule.second_factor ? "true" : "false");
    if (rule.approvals) line("approvals", std::to_string(*rule.approvals));
    if (rule.approval_timeout) line("approval_timeout", *rule.approval_timeout);
  }
  return text;
}

// ---- The reference evaluator -------------------------------------------

// Recursive glob: '*' tries every split, '?' one byte.
bool RefGlob(std::string_view pattern, std::string_view text) {
  if (pattern.empty()) return text.empty();
  if (pattern[0] == '*') {
    for (size_t skip = 0; skip <= text.size(); ++skip) {
      if (RefGlob(pattern.substr(1), text.substr(skip))) return true;
    }
    return false;
  }
  if (text.empty()) return false;
  if (pattern[0] != '?' && pattern[0] != text[0]) return false;
  return RefGlob(pattern.substr(1), text.substr(1));
}

bool RefNameByte(char c, bool allow_at) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-' || (allow_at && c == '@');
}

bool RefValidModel(std::string_view model) {
  if (model.empty() || model.size() > 128 || model[0] == '.') return false;
  for (char c : model) {
    if (!RefNameByte(c, false)) return false;
  }
  return true;
}

bool RefValidKindName(std::string_view value, const std::vector<std::string>& kinds) {
  for (const std::string& kind : kinds) {
    std::string prefix = kind + ":";
    if (value.substr(0, prefix.size()) != prefix) continue;
    std::string_view name = value.substr(prefix.size());
    if (name.empty() || name.size() > 64) return false;
    for (char c : name) {
      if (!RefNameByte(c, true)) return false;
    }
    return true;
  }
  return false;
}

bool RefHas(const std::vector<std::string>& values, const std::string& value) {
  return std::find(values.begin(), values.end(), value) != values.end();
}

bool RefPrincipal(const RefRule& rule, const Subject& subject) {
  for (const std::string& item : rule.principals) {
    if (item == "*") return true;
    if (item == "anonymous" && subject.account.empty()) return true;
    if (item == "authenticated" && !subject.account.empty()) return true;
    if (!subject.account.empty() && item == "user:" + subject.account) return true;
    for (const std::string& group : subject.groups) {
      if (item == "group:" + group) return true;
    }
    for (const std::string& role : subject.roles) {
      if (item == "role:" + role) return true;
    }
  }
  return false;
}

bool RefVersionItem(const std::string& item, int64_t version) {
  if (item == "*") return true;
  if (item.rfind(">=", 0) == 0) return version >= std::stoll(item.substr(2));
  if (item.rfind("<=", 0) == 0) return version >= 1 && version <= std::stoll(item.substr(2));
  if (item[0] == '>') return version > std::stoll(item.substr(1));
  if (item[0] == '<') return version >= 1 && version < std::stoll(item.substr(1));
  size_t dash = item.find('-');
  if (dash != std::string::npos) {
    return version >= std::stoll(item.substr(0, dash)) && version <= std::stoll(item.substr(dash + 1));
  }
  return version == std::stoll(item);
}

bool RefVersions(const RefRule& rule, const RefRequest& request) {
  if (!rule.versions || RefHas(*rule.versions, "*")) return true;
  if (!request.version) return rule.allow;
  for (const std::string& item : *rule.versions) {
    if (RefVersionItem(item, *request.version)) return true;
  }
  return false;
}

int RefWeekdayIndex(const std::string& name) {
  static const std::vector<std::string> kNames = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};
  return static_cast<int>(std::find(kNames.begin(), kNames.end(), name) - kNames.begin());
}

// The set of weekdays a rule lists, as seven flags (Sunday first).
std::vector<bool> RefWeekdays(const RefRule& rule) {
  std::vector<bool> days(7, !rule.weekdays.has_value());
  if (!rule.weekdays) return days;
  for (const std::string& item : *rule.weekdays) {
    size_t dash = item.find('-');
    int first = RefWeekdayIndex(item.substr(0, dash));
    int last = dash == std::string::npos ? first : RefWeekdayIndex(item.substr(dash + 1));
    int day = first;
    days[day] = true;
    while (day != last) {
      day = (day + 1) % 7;
      days[day] = true;
    }
  }
  return days;
}

// Hour windows become intervals of the week in seconds, one per listed day;
// the local second of the week must fall in one of them.
bool RefClock(const RefRule& rule, int64_t unix_seconds,
              const std::map<std::string, std::shared_ptr<const TimeZone>>& zones) {
  if (!rule.hours && !rule.weekdays) return true;
  const TimeZone& zone = *zones.at(rule.timezone.value_or("UTC"));
  LocalTime local = zone.ToLocal(unix_seconds);
  constexpr int64_t kWeek = 7 * 86400;
  int64_t now = local.weekday * 86400 + local.second_of_day;
  std::vector<bool> days = RefWeekdays(rule);
  std::vector<std::string> windows = rule.hours.value_or(std::vector<std::string>{"00:00-24:00"});
  for (int day = 0; day < 7; ++day) {
    if (!days[day]) continue;
    for (const std::string& window : windows) {
      int64_t start = std::stoi(window.substr(0, 2)) * 3600 + std::stoi(window.substr(3, 2)) * 60;
      int64_t end = std::stoi(window.substr(6, 2)) * 3600 + std::stoi(window.substr(9, 2)) * 60;
      if (end <= start) end += 86400;
      int64_t from = day * 86400 + start;
      int64_t until = day * 86400 + end;
      // The interval may run past Saturday night into Sunday.
      if ((now >= from && now < until) || (now + kWeek >= from && now + kWeek < until)) return true;
    }
  }
  return false;
}

bool RefAddress(const RefRule& rule, const RefRequest& request) {
  if (!rule.client_addresses) return true;
  if (!request.address) return false;
  IpAddress address = *ParseIpAddress(*request.address);
  for (const std::string& item : *rule.client_addresses) {
    if (AddressRange::Parse(item)->Contains(address)) return true;
  }
  return false;
}

bool RefMatches(const RefRule& rule, const RefRequest& request, bool second_factor,
                const std::map<std::string, std::shared_ptr<const TimeZone>>& zones) {
  const std::string& action = kActionNames[static_cast<size_t>(request.action)];
  if (!RefHas(rule.actions, "*") && !RefHas(rule.actions, action)) return false;
  if (!RefPrincipal(rule, request.subject)) return false;
  if (rule.models) {
    if (request.model.empty()) return false;
    bool any = false;
    for (const std::string& pattern : *rule.models) any = any || RefGlob(pattern, request.model);
    if (!any) return false;
  }
  if (!RefVersions(rule, request)) return false;
  if (rule.targets) {
    if (request.target.empty()) return false;
    bool any = false;
    for (const std::string& pattern : *rule.targets) any = any || RefGlob(pattern, request.target);
    if (!any) return false;
  }
  if (rule.valid_from && request.unix_seconds < *rule.valid_from) return false;
  if (rule.valid_until && request.unix_seconds >= *rule.valid_until) return false;
  if (rule.client_certificate && *rule.client_certificate != request.subject.client_certificate) return false;
  if (rule.second_factor && *rule.second_factor != second_factor) return false;
  if (!RefAddress(rule, request)) return false;
  return RefClock(rule, request.unix_seconds, zones);
}

int64_t RefTimeout(const RefRule& rule) {
  if (!rule.approvals) return 0;
  if (!rule.approval_timeout) return 3600;
  const std::string& text = *rule.approval_timeout;
  int64_t count = std::stoll(text.substr(0, text.size() - 1));
  switch (text.back()) {
    case 's': return count;
    case 'm': return count * 60;
    case 'h': return count * 3600;
    default: return count * 86400;
  }
}

RefDecision RefEvaluate(const std::vector<RefRule>& rules, const RefRequest& request, bool second_factor,
                        const std::map<std::string, std::shared_ptr<const TimeZone>>& zones) {
  const RefRule* deny = nullptr;
  const RefRule* allow = nullptr;
  for (const RefRule& rule : rules) {
    if (!RefMatches(rule, request, second_factor, zones)) continue;
    if (!rule.allow) {
      if (deny == nullptr || rule.id < deny->id) deny = &rule;
      continue;
    }
    if (allow == nullptr) {
      allow = &rule;
      continue;
    }
    int approvals = rule.approvals.value_or(0);
    int best_approvals = allow->approvals.value_or(0);
    if (approvals != best_approvals) {
      if (approvals > best_approvals) allow = &rule;
    } else if (RefTimeout(rule) != RefTimeout(*allow)) {
      if (RefTimeout(rule) > RefTimeout(*allow)) allow = &rule;
    } else if (rule.id < allow->id) {
      allow = &rule;
    }
  }
  RefDecision decision;
  if (deny != nullptr) {
    decision.rule = deny->id;
  } else if (allow != nullptr) {
    decision.allowed = true;
    decision.rule = allow->id;
    decision.approvals = allow->approvals.value_or(0);
    decision.approval_timeout = RefTimeout(*allow);
  } else {
    decision.rule = "default-deny";
  }
  return decision;
}

RefDecision RefDecide(const std::vector<RefRule>& rules, const RefRequest& request,
                      const std::map<std::string, std::shared_ptr<const TimeZone>>& zones) {
  RefDecision invalid;
  invalid.rule = "invalid-request";
  if (!request.model.empty() && !RefValidModel(request.model)) return invalid;
  if (!request.target.empty() && !RefValidKindName(request.target, {"user", "group", "role"})) return invalid;
  for (const std::string& grant : request.grants) {
    if (!RefValidKindName(grant, {"group", "role"})) return invalid;
  }
  bool to_self = !request.subject.account.empty() && request.target == "user:" + request.subject.account;
  for (const std::string& grant : request.grants) {
    bool is_role = grant.rfind("role:", 0) == 0;
    if (!is_role && !to_self) continue;
    bool owned = is_role ? RefHas(request.subject.roles, grant.substr(5))
                         : RefHas(request.subject.groups, grant.substr(6));
    if (!owned) {
      RefDecision exceeds;
      exceeds.rule = "grant-exceeds-own";
      return exceeds;
    }
  }
  RefDecision decision = RefEvaluate(rules, request, request.subject.second_factor, zones);
  if (!decision.allowed && !request.subject.second_factor) {
    decision.needs_second_factor = RefEvaluate(rules, request, true, zones).allowed;
  }
  return decision;
}

// ---- The test ------------------------------------------------------------

std::string Describe(const RefRequest& request) {
  std::string text = "account=" + request.subject.account + " action=" +
                     kActionNames[static_cast<size_t>(request.action)] + " model=" + request.model +
                     " version=" + (request.version ? std::to_string(*request.version) : "none") +
                     " target=" + request.target + " time=" + std::to_string(request.unix_seconds) +
                     " address=" + request.address.value_or("none") +
                     " cert=" + std::to_string(request.subject.client_certificate) +
                     " code=" + std::to_string(request.subject.second_factor) + " groups=";
  for (const std::string& group : request.subject.groups) text += group + ",";
  text += " roles=";
  for (const std::string& role : request.subject.roles) text += role + ",";
  text += " grants=";
  for (const std::string& grant : request.grants) text += grant + ",";
  return text;
}

TEST(PolicyDifferential, EngineAgreesWithReference) {
  std::map<std::string, std::shared_ptr<const TimeZone>> zones;
  for (const std::string& name : kZonePool) {
    StatusOr<std::shared_ptr<const TimeZone>> zone = TimeZone::Load(name);
    ASSERT_TRUE(zone.ok()) << zone.status().ToString();
    zones[name] = *zone;
  }

  constexpr uint32_t kFirstSeed = 20260401;
  constexpr int kPolicies = 2000;
  constexpr int kRequestsPerPolicy = 40;
  int allowed = 0;
  int needs_code = 0;
  int with_approvals = 0;
  for (int round = 0; round < kPolicies; ++round) {
    uint32_t seed = kFirstSeed + static_cast<uint32_t>(round);
    SCOPED_TRACE("seed " + std::to_string(seed));
    Generator generator(seed);
    std::vector<RefRule> rules;
    int64_t count = generator.Uniform(0, 24);
    for (int64_t i = 0; i < count; ++i) rules.push_back(generator.Rule(static_cast<size_t>(i)));

    std::string text = Serialise(rules, generator);
    StatusOr<std::shared_ptr<const Policy>> policy = Policy::Parse(text, "generated");
    ASSERT_TRUE(policy.ok()) << policy.status().ToString() << "\n" << text;
    ASSERT_EQ((*policy)->rule_count(), rules.size());

    std::vector<RefRule> shuffled = rules;
    std::shuffle(shuffled.begin(), shuffled.end(), generator.engine());
    StatusOr<std::shared_ptr<const Policy>> reordered = Policy::Parse(Serialise(shuffled, generator), "shuffled");
    ASSERT_TRUE(reordered.ok()) << reordered.status().ToString();

    for (int i = 0; i < kRequestsPerPolicy; ++i) {
      RefRequest request = generator.Request();
      RefDecision expected = RefDecide(rules, request, zones);
      Decision actual = (*policy)->Decide(request.View());
      Decision actual_reordered = (*reordered)->Decide(request.View());
      std::string context = Describe(request) + "\n" + text;
      ASSERT_EQ(actual.allowed, expected.allowed) << context;
      ASSERT_EQ(actual.rule, expected.rule) << context;
      ASSERT_EQ(actual.approvals, expected.approvals) << context;
      ASSERT_EQ(actual.approval_timeout.count(), expected.approval_timeout) << context;
      ASSERT_EQ(actual.needs_second_factor, expected.needs_second_factor) << context;
      ASSERT_EQ(actual_reordered.allowed, actual.allowed) << context;
      ASSERT_EQ(actual_reordered.rule, actual.rule) << context;
      ASSERT_EQ(actual_reordered.approvals, actual.approvals) << context;
      ASSERT_EQ(actual_reordered.approval_timeout, actual.approval_timeout) << context;
      ASSERT_EQ(actual_reordered.needs_second_factor, actual.needs_second_factor) << context;
      allowed += actual.allowed;
      needs_code += actual.needs_second_factor;
      with_approvals += actual.approvals > 0;
    }
  }
  // The generator must reach the interesting outcomes, or agreement proves
  // little.
  EXPECT_GT(allowed, kPolicies * kRequestsPerPolicy / 20);
  EXPECT_GT(needs_code, 50);
  EXPECT_GT(with_approvals, 100);
}

}  // namespace
}  // namespace moat::policy
