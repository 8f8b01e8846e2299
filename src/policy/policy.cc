// Decisions: request validation, then the deny rules, then the allow rules
// of the requested action. Everything the rules need was computed by the
// parser, so a decision reads memory and allocates nothing.
#include "policy/policy.h"

#include <algorithm>
#include <array>

#include "common/crypto.h"
#include "common/file.h"
#include "policy/policy_rule.h"

namespace moat::policy {

namespace {

constexpr std::array<std::string_view, kActionCount> kActionNames = {
    "infer",          "read_metadata", "read_statistics",        "load",
    "unload",         "activate_version", "rollback",            "register_shared_memory",
    "read_audit",     "export_audit",  "manage_users",           "change_policy",
    "approve",
};

bool IsModelNameByte(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
         c == '-';
}

bool Contains(const std::vector<std::string>& sorted, std::string_view name) {
  auto it = std::lower_bound(sorted.begin(), sorted.end(), name,
                             [](const std::string& left, std::string_view right) { return left < right; });
  return it != sorted.end() && *it == name;
}

// True when `subject_names` (in any order) and `sorted_rule_names` share a
// name. The engine does not rely on the server sorting the subject's lists.
bool Intersects(const std::vector<std::string>& sorted_rule_names, const std::vector<std::string>& subject_names) {
  if (sorted_rule_names.empty()) return false;
  for (const std::string& name : subject_names) {
    if (Contains(sorted_rule_names, name)) return true;
  }
  return false;
}

// Iterative glob matching: on a mismatch after a '*', retry with the star
// swallowing one more byte. It takes at most pattern size times subject
// size steps and never recurses, so a hostile pattern cannot exhaust the
// stack.
bool GlobMatches(std::string_view pattern, std::string_view subject) {
  size_t p = 0;
  size_t s = 0;
  size_t star = std::string_view::npos;
  size_t star_subject = 0;
  while (s < subject.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == subject[s])) {
      ++p;
      ++s;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      star_subject = s;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      s = ++star_subject;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

bool MatchesAny(const std::vector<GlobPattern>& patterns, std::string_view subject) {
  for (const GlobPattern& pattern : patterns) {
    if (pattern.Matches(subject)) return true;
  }
  return false;
}

bool MatchesPrincipal(const CompiledRule& rule, const Subject& subject) {
  if (rule.any_principal) return true;
  if (subject.account.empty()) {
    if (rule.anonymous) return true;
  } else {
    if (rule.authenticated) return true;
    if (Contains(rule.users, subject.account)) return true;
  }
  return Intersects(rule.groups, subject.groups) || Intersects(rule.roles, subject.roles);
}

bool MatchesVersion(const CompiledRule& rule, const AccessRequest& request) {
  if (!rule.has_versions) return true;
  // Version not known yet: allow rules defer the check to the second
  // decision, and deny rules cannot be sure they apply.
  if (!request.version.has_value()) return rule.allow;
  int64_t version = *request.version;
  for (const VersionRange& range : rule.versions) {
    if (version >= range.low && version <= range.high) return true;
  }
  return false;
}

bool MatchesTime(const CompiledRule& rule, int64_t unix_seconds) {
  if (rule.valid_from.has_value() && unix_seconds < *rule.valid_from) return false;
  if (rule.valid_until.has_value() && unix_seconds >= *rule.valid_until) return false;
  if (rule.zone == nullptr) return true;

  LocalTime local = rule.zone->ToLocal(unix_seconds);
  uint8_t today = static_cast<uint8_t>(1u << local.weekday);
  uint8_t yesterday = static_cast<uint8_t>(1u << ((local.weekday + 6) % 7));
  if (rule.hours.empty()) return (rule.weekdays & today) != 0;
  for (const HourWindow& window : rule.hours) {
    if (window.start < window.end) {
      if ((rule.weekdays & today) && local.second_of_day >= window.start && local.second_of_day < window.end) {
        return true;
      }
    } else {
      // Crosses midnight: the evening part belongs to today, the morning
      // part to the window that started yesterday.
      if ((rule.weekdays & today) && local.second_of_day >= window.start) return true;
      if ((rule.weekdays & yesterday) && local.second_of_day < window.end) return true;
    }
  }
  return false;
}

bool MatchesAddress(const CompiledRule& rule, const std::optional<IpAddress>& address) {
  if (!rule.has_client_addresses) return true;
  if (!address.has_value()) return false;
  for (const AddressRange& range : rule.client_addresses) {
    if (range.Contains(*address)) return true;
  }
  return false;
}

// Every condition of `rule` except the action, which the index already
// checked, and the principal, which the caller checks when the index has
// not.
bool MatchesConditions(const CompiledRule& rule, const AccessRequest& request, bool second_factor) {
  const Subject& subject = *request.subject;
  if (rule.has_models && (request.model.empty() || !MatchesAny(rule.models, request.model))) return false;
  if (!MatchesVersion(rule, request)) return false;
  if (rule.has_targets && (request.target.empty() || !MatchesAny(rule.targets, request.target))) return false;
  if (rule.client_certificate.has_value() && *rule.client_certificate != subject.client_certificate) return false;
  if (rule.second_factor.has_value() && *rule.second_factor != second_factor) return false;
  if (!MatchesAddress(rule, request.client_address)) return false;
  return MatchesTime(rule, request.unix_seconds);
}

// "user:NAME", "group:NAME" or "role:NAME" with a valid NAME.
bool IsValidTarget(std::string_view target) {
  size_t colon = target.find(':');
  if (colon == std::string_view::npos) return false;
  std::string_view kind = target.substr(0, colon);
  if (kind != "user" && kind != "group" && kind != "role") return false;
  return IsValidPrincipalName(target.substr(colon + 1));
}

// Returns the denial for a malformed request, or nullopt.
std::optional<Decision> CheckRequest(const AccessRequest& request) {
  Decision denied;
  denied.rule = kInvalidRequestRule;
  if (request.subject == nullptr) return denied;
  if (!request.model.empty() && !IsValidModelName(request.model)) return denied;
  if (!request.target.empty() && !IsValidTarget(request.target)) return denied;
  for (const std::string& grant : request.grants) {
    bool valid = (grant.starts_with("role:") || grant.starts_with("group:")) && IsValidTarget(grant);
    if (!valid) return denied;
  }

  // A subject may grant only roles that it holds itself, to anyone, and
  // may put itself only into groups that it is in already. Roles carry
  // privilege; who may put other accounts into a group is the rules'
  // decision (`targets`), so an administrator can fill a group without
  // joining it.
  const Subject& subject = *request.subject;
  std::string_view target = request.target;
  bool grants_to_self = !subject.account.empty() && target.starts_with("user:") &&
                        target.substr(5) == std::string_view(subject.account);
  denied.rule = kGrantExceedsOwnRule;
  for (const std::string& grant : request.grants) {
    std::string_view grant_view = grant;
    bool is_role = grant_view.starts_with("role:");
    if (!is_role && !grants_to_self) continue;
    const std::vector<std::string>& owned = is_role ? subject.roles : subject.groups;
    std::string_view name = grant_view.substr(grant_view.find(':') + 1);
    bool own = std::find(owned.begin(), owned.end(), name) != owned.end();
    if (!own) return denied;
  }
  return std::nullopt;
}

// The best matching deny and allow rule of one request, as positions in
// the action's lists (RuleIndex::ActionRules).
struct BestMatch {
  static constexpr uint32_t kNone = UINT32_MAX;
  uint32_t deny = kNone;
  uint32_t allow = kNone;
};

// Finds the best matches of `request` among the rules its subject can
// reach: the open rules of the action and the rules listed under each of
// the subject's names. Each ranked list is scanned only up to the best
// match found so far.
class RuleScan {
 public:
  RuleScan(const std::vector<CompiledRule>& rules, const RuleIndex& index, const AccessRequest& request)
      : rules_(rules),
        index_(index),
        action_(static_cast<size_t>(request.action)),
        lists_(index.by_action[action_]),
        request_(request) {}

  Decision Evaluate(bool second_factor) const {
    BestMatch best;
    const Subject& subject = *request_.subject;
    Scan(index_.open[action_], true, second_factor, best);
    if (!subject.account.empty()) ScanNamed(index_.users, subject.account, second_factor, best);
    for (const std::string& group : subject.groups) ScanNamed(index_.groups, group, second_factor, best);
    for (const std::string& role : subject.roles) ScanNamed(index_.roles, role, second_factor, best);

    Decision decision;
    decision.rule = kDefaultDenyRule;
    if (best.deny != BestMatch::kNone) {
      decision.rule = rules_[lists_.deny[best.deny]].id;
    } else if (best.allow != BestMatch::kNone) {
      const CompiledRule& rule = rules_[lists_.allow[best.allow]];
      decision.allowed = true;
      decision.rule = rule.id;
      decision.approvals = rule.approvals;
      decision.approval_timeout = std::chrono::seconds(rule.approval_timeout_seconds);
    }
    return decision;
  }

 private:
  void ScanNamed(const RulesByName& by_name, std::string_view name, bool second_factor, BestMatch& best) const {
    auto found = by_name.find(name);
    if (found != by_name.end()) Scan(found->second[action_], false, second_factor, best);
  }

  void Scan(const RankedRules& ranked, bool check_principal, bool second_factor, BestMatch& best) const {
    for (uint32_t rank : ranked.deny) {
      if (rank >= best.deny) break;
      if (Accepts(rules_[lists_.deny[rank]], check_principal, second_factor)) {
        best.deny = rank;
        break;
      }
    }
    // Once a deny matched, no allow can change the decision.
    if (best.deny != BestMatch::kNone) return;
    for (uint32_t rank : ranked.allow) {
      if (rank >= best.allow) break;
      if (Accepts(rules_[lists_.allow[rank]], check_principal, second_factor)) {
        best.allow = rank;
        break;
      }
    }
  }

  bool Accepts(const CompiledRule& rule, bool check_principal, bool second_factor) const {
    if (check_principal && !MatchesPrincipal(rule, *request_.subject)) return false;
    return MatchesConditions(rule, request_, second_factor);
  }

  const std::vector<CompiledRule>& rules_;
  const RuleIndex& index_;
  size_t action_;
  const RuleIndex::ActionRules& lists_;
  const AccessRequest& request_;
};

}  // namespace

std::string_view ActionName(Action action) {
  auto index = static_cast<size_t>(action);
  return index < kActionNames.size() ? kActionNames[index] : std::string_view("unknown");
}

std::optional<Action> ParseAction(std::string_view name) {
  for (size_t i = 0; i < kActionNames.size(); ++i) {
    if (kActionNames[i] == name) return static_cast<Action>(i);
  }
  return std::nullopt;
}

GlobPattern::GlobPattern(std::string text) : text_(std::move(text)) {
  size_t first_wildcard = text_.find_first_of("*?");
  if (text_ == "*") {
    shape_ = Shape::kAny;
  } else if (first_wildcard == std::string::npos) {
    shape_ = Shape::kExact;
    literal_ = text_;
  } else if (first_wildcard == text_.size() - 1 && text_.back() == '*') {
    shape_ = Shape::kPrefix;
    literal_ = text_.substr(0, first_wildcard);
  } else {
    shape_ = Shape::kGeneral;
  }
}

bool GlobPattern::Matches(std::string_view subject) const {
  switch (shape_) {
    case Shape::kAny:
      return true;
    case Shape::kExact:
      return subject == literal_;
    case Shape::kPrefix:
      return subject.starts_with(literal_);
    case Shape::kGeneral:
      break;
  }
  return GlobMatches(text_, subject);
}

bool IsValidModelName(std::string_view name) {
  if (name.empty() || name.size() > 128 || name.front() == '.') return false;
  return std::all_of(name.begin(), name.end(), IsModelNameByte);
}

bool IsValidPrincipalName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  return std::all_of(name.begin(), name.end(), [](char c) { return IsModelNameByte(c) || c == '@'; });
}

RuleIndex::RuleIndex(const std::vector<CompiledRule>& rules) {
  for (uint32_t i = 0; i < rules.size(); ++i) {
    for (size_t action = 0; action < kActionCount; ++action) {
      if ((rules[i].actions & (1u << action)) == 0) continue;
      if (rules[i].second_factor.has_value()) second_factor_matters[action] = true;
      (rules[i].allow ? by_action[action].allow : by_action[action].deny).push_back(i);
    }
  }
  auto by_id = [&rules](uint32_t left, uint32_t right) { return rules[left].id < rules[right].id; };
  auto by_strictness = [&rules](uint32_t left, uint32_t right) {
    const CompiledRule& a = rules[left];
    const CompiledRule& b = rules[right];
    if (a.approvals != b.approvals) return a.approvals > b.approvals;
    if (a.approval_timeout_seconds != b.approval_timeout_seconds) {
      return a.approval_timeout_seconds > b.approval_timeout_seconds;
    }
    return a.id < b.id;
  };

  for (size_t action = 0; action < kActionCount; ++action) {
    ActionRules& lists = by_action[action];
    std::sort(lists.deny.begin(), lists.deny.end(), by_id);
    std::sort(lists.allow.begin(), lists.allow.end(), by_strictness);
    // Walking each sorted list in order appends ranks in ascending order.
    for (int allow = 0; allow < 2; ++allow) {
      const std::vector<uint32_t>& list = allow ? lists.allow : lists.deny;
      for (uint32_t rank = 0; rank < list.size(); ++rank) {
        const CompiledRule& rule = rules[list[rank]];
        auto ranked = [&](RankedRules& entry) -> std::vector<uint32_t>& { return allow ? entry.allow : entry.deny; };
        if (rule.any_principal || rule.authenticated || rule.anonymous) {
          ranked(open[action]).push_back(rank);
          continue;
        }
        for (const std::string& user : rule.users) ranked(users[user][action]).push_back(rank);
        for (const std::string& group : rule.groups) ranked(groups[group][action]).push_back(rank);
        for (const std::string& role : rule.roles) ranked(roles[role][action]).push_back(rank);
      }
    }
  }
}

Policy::Policy(std::vector<CompiledRule> rules, std::string digest)
    : rules_(std::move(rules)), index_(std::make_unique<RuleIndex>(rules_)), digest_(std::move(digest)) {}

Policy::~Policy() = default;

std::shared_ptr<const Policy> Policy::Empty() {
  static const std::shared_ptr<const Policy> empty =
      std::make_shared<const Policy>(std::vector<CompiledRule>{}, Sha256Hex(std::string_view()));
  return empty;
}

size_t Policy::rule_count() const { return rules_.size(); }

StatusOr<std::shared_ptr<const Policy>> Policy::Load(const std::string& path) {
  MOAT_ASSIGN_OR_RETURN(std::string text, ReadFile(path, kMaxPolicyBytes));
  return Parse(text, path);
}

Decision Policy::Decide(const AccessRequest& request) const {
  if (std::optional<Decision> invalid = CheckRequest(request)) return *invalid;
  if (static_cast<size_t>(request.action) >= kActionCount) return Decision{.rule = kDefaultDenyRule};

  RuleScan scan(rules_, *index_, request);
  Decision decision = scan.Evaluate(request.subject->second_factor);
  if (!decision.allowed && !request.subject->second_factor &&
      index_->second_factor_matters[static_cast<size_t>(request.action)]) {
    decision.needs_second_factor = scan.Evaluate(true).allowed;
  }
  return decision;
}

}  // namespace moat::policy
