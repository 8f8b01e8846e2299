#include "auth/management.h"

#include <algorithm>
#include <utility>

#include "auth/names.h"
#include "bundle/json.h"
#include "common/utf8.h"
#include "policy/policy.h"

namespace moat::auth {
namespace {

constexpr int64_t kSecondsPerDay = 24 * 3600;

std::string UserTarget(std::string_view account) { return "user:" + std::string(account); }
std::string GroupTarget(std::string_view group) { return "group:" + std::string(group); }

std::string JoinNames(const std::vector<std::string>& names) {
  std::string joined;
  for (const std::string& name : names) {
    if (!joined.empty()) joined += ',';
    joined += name;
  }
  return joined;
}

void AppendMember(std::string& json, std::string_view key, std::string_view value) {
  json += json.size() > 1 ? "," : "";
  bundle::AppendJsonString(json, key);
  json += ':';
  bundle::AppendJsonString(json, ReplaceInvalidUtf8(value, "\xEF\xBF\xBD"));
}

Operation ManageUsers(std::string target, std::string operation_name) {
  Operation operation;
  operation.action = policy::Action::kManageUsers;
  operation.target = std::move(target);
  operation.details["operation"] = std::move(operation_name);
  return operation;
}

}  // namespace

struct Management::Pending {
  std::string action;  // the policy action name, empty for own-account operations
  std::string rule;
  std::string approval_id;  // consumed, or (on FAILED_PRECONDITION) requested
  std::string target;
  std::vector<std::string> grants;
  std::map<std::string, std::string> details;  // what the operation is and what it changed
};

Status Management::Decide(const ManagementCall& call, const Operation& operation, Pending& pending) {
  pending.action = std::string(policy::ActionName(operation.action));
  pending.target = operation.target;
  pending.grants = operation.grants;
  for (const auto& [key, value] : operation.details) pending.details[key] = value;

  Refusal refusal;
  StatusOr<Grant> grant = access_.Authorize(call.caller, operation, call.now, &refusal);
  if (grant.ok()) {
    pending.rule = grant->rule;
    pending.approval_id = grant->approval_id;
    return OkStatus();
  }
  pending.rule = refusal.rule;
  pending.approval_id = refusal.approval_id;
  return grant.status();
}

void Management::Record(const ManagementCall& call, const Pending& pending, const Status& outcome) const {
  audit::AuditEvent event;
  event.type = access_record::kManagement;
  event.request_id = call.request_id;
  event.protocol = call.protocol;
  event.peer = call.peer;
  event.principal = call.caller.principal;
  event.action = pending.action;
  event.rule = pending.rule;
  event.outcome = std::string(StatusCodeName(outcome.code()));
  if (outcome.ok()) event.outcome = "ok";
  event.error = outcome.message();

  std::string details = "{";
  for (const auto& [key, value] : pending.details) AppendMember(details, key, value);
  if (!pending.target.empty()) AppendMember(details, "target", pending.target);
  if (!pending.grants.empty()) AppendMember(details, "grants", JoinNames(pending.grants));
  if (!pending.approval_id.empty()) AppendMember(details, "approval", pending.approval_id);
  details += '}';
  event.details = std::move(details);
  access_.Record(event);
}

Status Management::Refuse(const ManagementCall& call, std::string_view operation_name, Status status) const {
  Pending refused;
  refused.details["operation"] = std::string(operation_name);
  Record(call, refused, status);
  return status;
}

template <typename T, typename Body>
ManagementResult<T> Management::Run(const ManagementCall& call, const Operation& operation, Body&& body) {
  Pending pending;
  Status decided = Decide(call, operation, pending);
  if (!decided.ok()) {
    Record(call, pending, decided);
    // A consumed or requested approval id travels back only when it is the
    // one the caller must now wait for.
    std::string approval_id = decided.code() == StatusCode::kFailedPrecondition ? pending.approval_id : "";
    return {decided, std::move(approval_id)};
  }
  StatusOr<T> result = body(pending.details);
  Record(call, pending, result.status());
  return {std::move(result), ""};
}

template <typename T, typename Body>
ManagementResult<T> Management::RunOwn(const ManagementCall& call, std::string_view operation_name,
                                       std::map<std::string, std::string> details, Body&& body) {
  Pending pending;
  pending.rule = kOwnAccountRule;
  pending.details = std::move(details);
  pending.details["operation"] = std::string(operation_name);
  StatusOr<T> result = body(pending.details);
  Record(call, pending, result.status());
  return {std::move(result), ""};
}

// Validates `value` as a `what` name; on error records the refused call
// and returns from the enclosing method.
#define MOAT_CHECK_NAME(what, value, operation_name)                                        \
  do {                                                                                      \
    Status moat_name_status = ValidateName(what, value);                                    \
    if (!moat_name_status.ok()) return {Refuse(call, operation_name, moat_name_status), ""}; \
  } while (false)

ManagementResult<Caller> Management::WhoAmI(const ManagementCall& call) {
  return RunOwn<Caller>(call, "whoami", {}, [&](auto&) -> StatusOr<Caller> { return call.caller; });
}

ManagementResult<std::vector<AccountInfo>> Management::ListAccounts(const ManagementCall& call) {
  return Run<std::vector<AccountInfo>>(call, ManageUsers("", "list_accounts"),
                                       [&](auto&) -> StatusOr<std::vector<AccountInfo>> {
                                         return access_.identities().ListAccounts();
                                       });
}

ManagementResult<AccountInfo> Management::AddAccount(const ManagementCall& call, const std::string& name,
                                                     std::string_view kind, const std::vector<std::string>& roles) {
  MOAT_CHECK_NAME("account", name, "add_account");
  StatusOr<AccountKind> parsed_kind = ParseAccountKind(kind);
  StatusOr<std::vector<std::string>> normalized = NormalizeRoles(roles);
  Status invalid = !parsed_kind.ok() ? parsed_kind.status() : normalized.status();
  if (!invalid.ok()) {
    return {Refuse(call, "add_account", invalid), ""};
  }
  Operation operation = ManageUsers(UserTarget(name), "add_account");
  operation.details["kind"] = std::string(AccountKindName(*parsed_kind));
  operation.details["roles"] = JoinNames(*normalized);
  for (const std::string& role : *normalized) operation.grants.push_back("role:" + role);
  return Run<AccountInfo>(call, operation, [&](auto&) -> StatusOr<AccountInfo> {
    MOAT_RETURN_IF_ERROR(access_.identities().AddAccount(name, *parsed_kind, *normalized, call.now));
    return access_.identities().GetAccount(name);
  });
}

ManagementResult<AccountInfo> Management::DisableAccount(const ManagementCall& call, const std::string& name) {
  MOAT_CHECK_NAME("account", name, "disable_account");
  return Run<AccountInfo>(call, ManageUsers(UserTarget(name), "disable_account"),
                          [&](auto&) -> StatusOr<AccountInfo> {
                            MOAT_RETURN_IF_ERROR(access_.identities().DisableAccount(name));
                            return access_.identities().GetAccount(name);
                          });
}

ManagementResult<AccountInfo> Management::EnableAccount(const ManagementCall& call, const std::string& name) {
  MOAT_CHECK_NAME("account", name, "enable_account");
  return Run<AccountInfo>(call, ManageUsers(UserTarget(name), "enable_account"),
                          [&](auto&) -> StatusOr<AccountInfo> {
                            MOAT_RETURN_IF_ERROR(access_.identities().EnableAccount(name));
                            return access_.identities().GetAccount(name);
                          });
}

ManagementResult<AccountInfo> Management::SetRoles(const ManagementCall& call, const std::string& name,
                                                   const std::vector<std::string>& roles) {
  MOAT_CHECK_NAME("account", name, "set_roles");
  StatusOr<std::vector<std::string>> normalized = NormalizeRoles(roles);
  if (!normalized.ok()) {
    return {Refuse(call, "set_roles", normalized.status()), ""};
  }
  Operation operation = ManageUsers(UserTarget(name), "set_roles");
  operation.details["roles"] = JoinNames(*normalized);
  for (const std::string& role : *normalized) operation.grants.push_back("role:" + role);
  return Run<AccountInfo>(call, operation, [&](auto& details) -> StatusOr<AccountInfo> {
    MOAT_ASSIGN_OR_RETURN(AccountInfo before, access_.identities().GetAccount(name));
    details["previous_roles"] = JoinNames(before.roles);
    MOAT_RETURN_IF_ERROR(access_.identities().SetRoles(name, *normalized));
    return access_.identities().GetAccount(name);
  });
}

namespace {

StatusOr<GroupInfo> FindGroup(const IdentityStore& identities, const std::string& name) {
  for (GroupInfo& group : identities.ListGroups()) {
    if (group.name == name) return std::move(group);
  }
  return NotFoundError("group " + Quoted(name) + " does not exist");
}

}  // namespace

ManagementResult<std::vector<GroupInfo>> Management::ListGroups(const ManagementCall& call) {
  return Run<std::vector<GroupInfo>>(call, ManageUsers("", "list_groups"),
                                     [&](auto&) -> StatusOr<std::vector<GroupInfo>> {
                                       return access_.identities().ListGroups();
                                     });
}

ManagementResult<GroupInfo> Management::AddGroup(const ManagementCall& call, const std::string& name) {
  MOAT_CHECK_NAME("group", name, "add_group");
  return Run<GroupInfo>(call, ManageUsers(GroupTarget(name), "add_group"), [&](auto&) -> StatusOr<GroupInfo> {
    MOAT_RETURN_IF_ERROR(access_.identities().AddGroup(name, call.now));
    return FindGroup(access_.identities(), name);
  });
}

ManagementResult<GroupInfo> Management::RemoveGroup(const ManagementCall& call, const std::string& name) {
  MOAT_CHECK_NAME("group", name, "remove_group");
  return Run<GroupInfo>(call, ManageUsers(GroupTarget(name), "remove_group"),
                        [&](auto& details) -> StatusOr<GroupInfo> {
                          MOAT_ASSIGN_OR_RETURN(GroupInfo before, FindGroup(access_.identities(), name));
                          details["members"] = JoinNames(before.members);
                          MOAT_RETURN_IF_ERROR(access_.identities().RemoveGroup(name));
                          return before;
                        });
}

ManagementResult<GroupInfo> Management::AddMember(const ManagementCall& call, const std::string& group,
                                                  const std::string& account) {
  MOAT_CHECK_NAME("group", group, "add_member");
  MOAT_CHECK_NAME("account", account, "add_member");
  // Membership gives the group's rights, so it is a grant of the group to
  // the account: the engine refuses it to someone outside the group.
  Operation operation = ManageUsers(UserTarget(account), "add_member");
  operation.details["group"] = group;
  operation.grants.push_back(GroupTarget(group));
  return Run<GroupInfo>(call, operation, [&](auto&) -> StatusOr<GroupInfo> {
    MOAT_RETURN_IF_ERROR(access_.identities().AddMember(group, account));
    return FindGroup(access_.identities(), group);
  });
}

ManagementResult<GroupInfo> Management::RemoveMember(const ManagementCall& call, const std::string& group,
                                                     const std::string& account) {
  MOAT_CHECK_NAME("group", group, "remove_member");
  MOAT_CHECK_NAME("account", account, "remove_member");
  Operation operation = ManageUsers(UserTarget(account), "remove_member");
  operation.details["group"] = group;
  return Run<GroupInfo>(call, operation, [&](auto&) -> StatusOr<GroupInfo> {
    MOAT_RETURN_IF_ERROR(access_.identities().RemoveMember(group, account));
    return FindGroup(access_.identities(), group);
  });
}

ManagementResult<IssuedToken> Management::CreateToken(const ManagementCall& call, const std::string& account,
                                                      int days, const std::string& description) {
  const std::string owner = account.empty() ? call.caller.subject.account : account;
  if (owner.empty()) {
    Status refused_status = Status(StatusCode::kUnauthenticated,
                                   "creating a token for yourself needs credentials; name the account otherwise");
    return {Refuse(call, "create_token", refused_status), ""};
  }
  MOAT_CHECK_NAME("account", owner, "create_token");
  if (days < 1 || days > kMaxTokenDays) {
    Status invalid = InvalidArgumentError("token lifetime " + std::to_string(days) + " days is out of range; it must be 1 to " +
                                          std::to_string(kMaxTokenDays) + " days");
    return {Refuse(call, "create_token", invalid), ""};
  }
  Operation operation = ManageUsers(UserTarget(owner), "create_token");
  operation.details["days"] = std::to_string(days);
  operation.details["description"] = description;
  return Run<IssuedToken>(call, operation, [&](auto& details) -> StatusOr<IssuedToken> {
    const int64_t expires_at = call.now + int64_t{days} * kSecondsPerDay;
    MOAT_ASSIGN_OR_RETURN(CreatedToken created,
                          access_.identities().CreateToken(owner, expires_at, description, call.now));
    details["token"] = created.id;  // the id only: the secret never reaches the log
    IssuedToken issued;
    issued.info.id = created.id;
    issued.info.account = owner;
    issued.info.created_at = call.now;
    issued.info.expires_at = expires_at;
    issued.info.description = description;
    issued.text = std::move(created.text);
    return issued;
  });
}

ManagementResult<std::vector<TokenInfo>> Management::ListTokens(const ManagementCall& call,
                                                                const std::string& account, bool all) {
  const std::string& own = call.caller.subject.account;
  if (!all && (account.empty() || account == own)) {
    if (own.empty()) {
      // Anonymous callers own no tokens.
      return RunOwn<std::vector<TokenInfo>>(call, "list_tokens", {},
                                            [](auto&) -> StatusOr<std::vector<TokenInfo>> {
                                              return std::vector<TokenInfo>();
                                            });
    }
    return RunOwn<std::vector<TokenInfo>>(call, "list_tokens", {{"account", own}},
                                          [&](auto&) -> StatusOr<std::vector<TokenInfo>> {
                                            return access_.identities().ListTokens(std::string_view(own));
                                          });
  }
  if (all) {
    return Run<std::vector<TokenInfo>>(call, ManageUsers("", "list_tokens"),
                                       [&](auto&) -> StatusOr<std::vector<TokenInfo>> {
                                         return access_.identities().ListTokens();
                                       });
  }
  MOAT_CHECK_NAME("account", account, "list_tokens");
  return Run<std::vector<TokenInfo>>(call, ManageUsers(UserTarget(account), "list_tokens"),
                                     [&](auto&) -> StatusOr<std::vector<TokenInfo>> {
                                       return access_.identities().ListTokens(std::string_view(account));
                                     });
}

ManagementResult<TokenInfo> Management::RevokeToken(const ManagementCall& call, const std::string& id) {
  // Finding the owner first: revoking one's own token needs no rule, and
  // revoking another account's token is manage_users on that account. An
  // unknown id is NOT_FOUND only for those who may list every token, so
  // that nobody else learns which ids exist.
  StatusOr<std::vector<TokenInfo>> tokens = access_.identities().ListTokens();
  std::optional<TokenInfo> found;
  if (tokens.ok()) {
    for (TokenInfo& token : *tokens) {
      if (token.id == id) found = std::move(token);
    }
  }
  auto revoke = [&](auto&) -> StatusOr<TokenInfo> {
    if (!tokens.ok()) return tokens.status();
    if (!found) return NotFoundError("token " + Quoted(id) + " does not exist");
    MOAT_RETURN_IF_ERROR(access_.identities().RevokeToken(id, call.now));
    MOAT_ASSIGN_OR_RETURN(std::vector<TokenInfo> after, access_.identities().ListTokens(std::string_view(found->account)));
    for (TokenInfo& token : after) {
      if (token.id == id) return std::move(token);
    }
    return InternalError("token " + Quoted(id) + " vanished while it was revoked");
  };
  const std::string& own = call.caller.subject.account;
  if (found && !own.empty() && found->account == own) {
    return RunOwn<TokenInfo>(call, "revoke_token", {{"token", id}}, revoke);
  }
  Operation operation = ManageUsers(found ? UserTarget(found->account) : "", "revoke_token");
  operation.details["token"] = id;
  return Run<TokenInfo>(call, operation, revoke);
}

ManagementResult<TotpEnrolled> Management::EnrolTotp(const ManagementCall& call, const std::string& account) {
  const std::string owner = account.empty() ? call.caller.subject.account : account;
  if (owner.empty()) {
    Status refused_status =
        Status(StatusCode::kUnauthenticated, "enrolling yourself needs credentials; name the account otherwise");
    return {Refuse(call, "enrol_totp", refused_status), ""};
  }
  MOAT_CHECK_NAME("account", owner, "enrol_totp");
  return Run<TotpEnrolled>(call, ManageUsers(UserTarget(owner), "enrol_totp"),
                           [&](auto&) -> StatusOr<TotpEnrolled> {
                             MOAT_ASSIGN_OR_RETURN(TotpEnrolment enrolment,
                                                   access_.identities().EnrolTotp(owner, call.now));
                             return TotpEnrolled{owner, std::move(enrolment)};
                           });
}

ManagementResult<std::vector<ApprovalRequest>> Management::ListApprovals(const ManagementCall& call, bool all) {
  // Each caller sees the requests it made and those the policy lets it
  // decide (action approve on the requester), so a rule with `targets`
  // limits the list the same way it limits approving.
  return RunOwn<std::vector<ApprovalRequest>>(
      call, "list_approvals", {}, [&](auto&) -> StatusOr<std::vector<ApprovalRequest>> {
        ApprovalOutcome<std::vector<ApprovalRequest>> listed = access_.approvals().List(call.now, all);
        access_.DrainApprovalEvents();  // expiries found while listing
        if (!listed.result.ok()) return listed.result.status();
        std::shared_ptr<const policy::Policy> current = access_.policy();
        std::vector<ApprovalRequest> visible;
        for (ApprovalRequest& request : *listed.result) {
          bool own = request.requester == call.caller.subject.account;
          std::string target = UserTarget(request.requester);
          policy::AccessRequest decide;
          decide.subject = &call.caller.subject;
          decide.action = policy::Action::kApprove;
          decide.target = target;
          decide.unix_seconds = call.now;
          decide.client_address = call.caller.address;
          if (own || current->Decide(decide).allowed) visible.push_back(std::move(request));
        }
        return visible;
      });
}

namespace {

// The operation of deciding on approval `id`: action approve on the
// requester, or on no target when the request cannot be read (the store
// then reports why).
Operation ApproveOperation(ApprovalStore& approvals, const std::string& id, int64_t now,
                           std::string operation_name) {
  Operation operation;
  operation.action = policy::Action::kApprove;
  operation.details["operation"] = std::move(operation_name);
  operation.details["approval_request"] = id;  // "approval" names a consumed one
  ApprovalOutcome<ApprovalRequest> request = approvals.Get(id, now);
  if (request.result.ok()) operation.target = UserTarget(request.result->requester);
  return operation;
}

}  // namespace

ManagementResult<ApprovalRequest> Management::Approve(const ManagementCall& call, const std::string& id,
                                                      const std::string& digest) {
  Operation operation = ApproveOperation(access_.approvals(), id, call.now, "approve");
  operation.details["digest"] = digest;
  return Run<ApprovalRequest>(call, operation, [&](auto&) -> StatusOr<ApprovalRequest> {
    ApprovalOutcome<ApprovalRequest> approved =
        access_.approvals().Approve(id, call.caller.principal, digest, call.now);
    access_.DrainApprovalEvents();
    return std::move(approved.result);
  });
}

ManagementResult<ApprovalRequest> Management::Reject(const ManagementCall& call, const std::string& id,
                                                     const std::string& reason) {
  Operation operation = ApproveOperation(access_.approvals(), id, call.now, "reject");
  operation.details["reason"] = reason;
  return Run<ApprovalRequest>(call, operation, [&](auto&) -> StatusOr<ApprovalRequest> {
    ApprovalOutcome<ApprovalRequest> rejected =
        access_.approvals().Reject(id, call.caller.principal, reason, call.now);
    access_.DrainApprovalEvents();
    return std::move(rejected.result);
  });
}

ManagementResult<PolicySummary> Management::ReloadPolicy(const ManagementCall& call) {
  Operation operation;
  operation.action = policy::Action::kChangePolicy;
  operation.details["operation"] = "reload_policy";
  return Run<PolicySummary>(call, operation, [&](auto& details) -> StatusOr<PolicySummary> {
    MOAT_RETURN_IF_ERROR(access_.ReloadPolicy());
    std::shared_ptr<const policy::Policy> now_in_force = access_.policy();
    details["policy_digest"] = now_in_force->digest();
    return PolicySummary{now_in_force->digest(), static_cast<int64_t>(now_in_force->rule_count())};
  });
}

#undef MOAT_CHECK_NAME

}  // namespace moat::auth
