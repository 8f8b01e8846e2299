// The access policy engine: decides whether a subject may perform an action
// on a resource at a given time, and names the rule that decided. The file
// format, the parser's messages and the decision semantics are described in
// docs/policy.md.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "policy/address_range.h"

namespace moat::policy {

// Every action a request can ask for. The policy file spells them with the
// names in the comment below; ActionName and ParseAction convert.
enum class Action {
  kInfer,
  kReadMetadata,
  kReadStatistics,
  kLoad,
  kUnload,
  kActivateVersion,
  kRollback,
  kRegisterSharedMemory,
  kReadAudit,
  kExportAudit,
  kManageUsers,
  kChangePolicy,
  kApprove,
};
// File names: infer, read_metadata, read_statistics, load, unload,
// activate_version, rollback, register_shared_memory, read_audit,
// export_audit, manage_users, change_policy, approve.
inline constexpr int kActionCount = 13;

std::string_view ActionName(Action action);
std::optional<Action> ParseAction(std::string_view name);

// Rule ids that the engine itself uses in decisions; a policy file may not
// define rules with these ids.
inline constexpr std::string_view kDefaultDenyRule = "default-deny";
inline constexpr std::string_view kInvalidRequestRule = "invalid-request";
inline constexpr std::string_view kGrantExceedsOwnRule = "grant-exceeds-own";

// Maximum size of a policy file (Parse and Load both enforce it).
inline constexpr size_t kMaxPolicyBytes = size_t{1} << 20;

// The caller of a request, as the server authenticated it.
struct Subject {
  std::string account;               // empty when anonymous
  std::vector<std::string> groups;   // sorted, unique
  std::vector<std::string> roles;    // sorted, unique
  bool client_certificate = false;   // authenticated by a verified client certificate
  bool second_factor = false;        // a valid one-time code came with the request
};

// One question to the policy. The views must stay valid during Decide only.
struct AccessRequest {
  const Subject* subject = nullptr;  // null: denied as "invalid-request"
  Action action = Action::kInfer;
  std::string_view model;            // empty: the action names no model
  // The model version. Empty while the server has not yet resolved which
  // version "latest" means. Then allow rules ignore their `versions` key
  // and deny rules with a `versions` key do not match, so the server must
  // decide again once it has resolved the version.
  std::optional<int64_t> version;
  std::string_view target;           // manage_users/approve: "user:alice",
                                     // "group:ops", "role:admin"; else empty
  std::span<const std::string> grants;  // roles/groups being given: "role:x", "group:y"
  int64_t unix_seconds = 0;          // the request's time
  std::optional<IpAddress> client_address;
};

// The outcome of Decide.
struct Decision {
  bool allowed = false;
  std::string_view rule;  // the deciding rule id (valid while the Policy lives)
  int approvals = 0;      // >0: allowed only through approval by this many
  std::chrono::seconds approval_timeout{0};  // zero when approvals is 0
  // Denied, but the same request would be allowed if it came with a valid
  // one-time code. The server then requests a code from the client.
  bool needs_second_factor = false;
};

struct CompiledRule;  // the parsed form of one [rule ID] section (policy_rule.h)
struct RuleIndex;     // the rules by action and principal (policy_rule.h)

class Policy {
 public:
  // Parses a policy file. On failure the INVALID_ARGUMENT message lists
  // every error found (up to kMaxReportedErrors), one per line, each as
  // "SOURCE:LINE: reason". Time zones are read from `zoneinfo_dir`.
  static StatusOr<std::shared_ptr<const Policy>> Parse(std::string_view text, std::string_view source_name,
                                                       const std::string& zoneinfo_dir = "/usr/share/zoneinfo");

  // Reads `path` (at most kMaxPolicyBytes, no symbolic links) and parses it
  // with the path as the source name.
  static StatusOr<std::shared_ptr<const Policy>> Load(const std::string& path);

  // The policy with no rules: denies everything with rule "default-deny".
  static std::shared_ptr<const Policy> Empty();

  // Decides one request. Does not allocate.
  Decision Decide(const AccessRequest& request) const;

  size_t rule_count() const;

  // SHA-256 of the file bytes in lower-case hex, for audit records.
  const std::string& digest() const { return digest_; }

  ~Policy();
  Policy(const Policy&) = delete;
  Policy& operator=(const Policy&) = delete;

  // Built by the parser only; public for std::make_shared.
  Policy(std::vector<CompiledRule> rules, std::string digest);

 private:
  std::vector<CompiledRule> rules_;
  std::unique_ptr<const RuleIndex> index_;
  std::string digest_;
};

// Maximum number of errors Parse lists before it stops, so that a binary
// file read by mistake does not produce megabytes of messages.
inline constexpr size_t kMaxReportedErrors = 100;

}  // namespace moat::policy
