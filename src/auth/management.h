// The management operations (accounts, groups, API tokens, one-time code
// enrolment, approvals, policy reloads) independent of any transport: each
// method asks AccessControl whether the caller may run the operation, runs
// it, and writes one "management" audit record naming the principal, the
// action, the deciding rule and the outcome. The REST routes
// (server/management_api.h) and the gRPC service (grpc/management_rpcs.h)
// only translate to and from these calls.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/access_control.h"
#include "auth/approvals.h"
#include "auth/identity_store.h"
#include "common/status.h"

namespace moat::auth {

// Tokens live at most this many days (the identity store's limit).
inline constexpr int kMaxTokenDays = 366;

// The rule named in the audit records of operations that an account may
// always run on itself (whoami, listing and revoking its own tokens): no
// policy rule decides those.
inline constexpr char kOwnAccountRule[] = "own-account";

// The context of one management call. `caller` must outlive the call.
struct ManagementCall {
  const Caller& caller;
  int64_t now = 0;          // unix seconds
  std::string request_id;   // for the audit record
  std::string protocol;     // "http" or "grpc"
  std::string peer;         // "127.0.0.1:5000"
};

// What a management method returns. When the policy requires approvals
// first, `result` is FAILED_PRECONDITION and `approval_id` names the
// pending approval. The caller sends the same operation again with that id
// once enough approvers have approved it.
template <typename T>
struct [[nodiscard]] ManagementResult {
  StatusOr<T> result;
  std::string approval_id;
};

// A token as CreateToken made it: `text` is the only copy of the secret.
struct IssuedToken {
  TokenInfo info;
  std::string text;
};

struct TotpEnrolled {
  std::string account;
  TotpEnrolment enrolment;  // the secret, shown once
};

struct PolicySummary {
  std::string digest;  // SHA-256 of the policy file now in force
  int64_t rule_count = 0;
};

// Thread-safe as AccessControl is. `access` must outlive the object.
class Management {
 public:
  explicit Management(AccessControl& access) : access_(access) {}

  // The caller as the server authenticated it. Always allowed.
  ManagementResult<Caller> WhoAmI(const ManagementCall& call);

  // Accounts: action manage_users. Add, SetRoles list the roles they give
  // as grants, so that nobody hands out a role they do not hold.
  ManagementResult<std::vector<AccountInfo>> ListAccounts(const ManagementCall& call);
  ManagementResult<AccountInfo> AddAccount(const ManagementCall& call, const std::string& name,
                                           std::string_view kind, const std::vector<std::string>& roles);
  ManagementResult<AccountInfo> DisableAccount(const ManagementCall& call, const std::string& name);
  ManagementResult<AccountInfo> EnableAccount(const ManagementCall& call, const std::string& name);
  ManagementResult<AccountInfo> SetRoles(const ManagementCall& call, const std::string& name,
                                         const std::vector<std::string>& roles);

  // Groups: action manage_users, target group:NAME, or user:ACCOUNT with
  // the grant group:NAME for adding a member.
  ManagementResult<std::vector<GroupInfo>> ListGroups(const ManagementCall& call);
  ManagementResult<GroupInfo> AddGroup(const ManagementCall& call, const std::string& name);
  // Returns the group as it was before it was removed.
  ManagementResult<GroupInfo> RemoveGroup(const ManagementCall& call, const std::string& name);
  ManagementResult<GroupInfo> AddMember(const ManagementCall& call, const std::string& group,
                                        const std::string& account);
  ManagementResult<GroupInfo> RemoveMember(const ManagementCall& call, const std::string& group,
                                           const std::string& account);

  // Tokens. CreateToken is manage_users on user:ACCOUNT (also for the
  // caller's own account); `account` empty means the caller's own;
  // `days` is 1 to kMaxTokenDays. Listing and revoking the caller's own
  // tokens need no rule; other accounts' tokens need manage_users.
  ManagementResult<IssuedToken> CreateToken(const ManagementCall& call, const std::string& account, int days,
                                            const std::string& description);
  // `account` empty and `all` false: the caller's own tokens; `all`: every
  // account's tokens.
  ManagementResult<std::vector<TokenInfo>> ListTokens(const ManagementCall& call, const std::string& account,
                                                      bool all);
  ManagementResult<TokenInfo> RevokeToken(const ManagementCall& call, const std::string& id);

  // Draws a new TOTP secret for `account` (empty: the caller's own),
  // replacing any earlier one: manage_users on user:ACCOUNT.
  ManagementResult<TotpEnrolled> EnrolTotp(const ManagementCall& call, const std::string& account);

  // Approvals: action approve; Approve and Reject target user:REQUESTER.
  // An approver passes the digest of the operation they were shown, so
  // that they approve exactly what they read.
  ManagementResult<std::vector<ApprovalRequest>> ListApprovals(const ManagementCall& call, bool all);
  ManagementResult<ApprovalRequest> Approve(const ManagementCall& call, const std::string& id,
                                            const std::string& digest);
  ManagementResult<ApprovalRequest> Reject(const ManagementCall& call, const std::string& id,
                                           const std::string& reason);

  // Reads the policy file again: action change_policy.
  ManagementResult<PolicySummary> ReloadPolicy(const ManagementCall& call);

  // Records a call refused before the policy was asked (credentials that
  // did not authenticate, a malformed name) as operation `operation_name`
  // and returns `status`.
  Status Refuse(const ManagementCall& call, std::string_view operation_name, Status status) const;

 private:
  // One operation on its way through the policy and into the audit log.
  struct Pending;

  // Authorizes `operation` and fills `pending` with the decision; returns
  // the error to give the caller when it may not run now.
  Status Decide(const ManagementCall& call, const Operation& operation, Pending& pending);
  // Writes the management record of `pending` with `outcome`.
  void Record(const ManagementCall& call, const Pending& pending, const Status& outcome) const;

  // Decides, runs `body` when allowed, records, and returns the result.
  template <typename T, typename Body>
  ManagementResult<T> Run(const ManagementCall& call, const Operation& operation, Body&& body);
  // The same for an operation on the caller's own account that needs no rule.
  template <typename T, typename Body>
  ManagementResult<T> RunOwn(const ManagementCall& call, std::string_view operation_name,
                             std::map<std::string, std::string> details, Body&& body);

  AccessControl& access_;
};

}  // namespace moat::auth
