#include "grpc/management_rpcs.h"

#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "grpc/peer_identity.h"
#include "grpc/rpc_helpers.h"

namespace moat::grpc_server {
namespace {

namespace pb = moat::management::v1;

int64_t SystemClockSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

template <typename Repeated>
void CopyStrings(const std::vector<std::string>& from, Repeated* to) {
  for (const std::string& text : from) to->Add(std::string(text));
}

std::vector<std::string> Strings(const google::protobuf::RepeatedPtrField<std::string>& from) {
  return {from.begin(), from.end()};
}

void Fill(const auth::AccountInfo& from, pb::Account& to) {
  to.set_name(from.name);
  to.set_kind(std::string(auth::AccountKindName(from.kind)));
  CopyStrings(from.roles, to.mutable_roles());
  CopyStrings(from.groups, to.mutable_groups());
  to.set_disabled(from.disabled);
  to.set_created_at(from.created_at);
  to.set_token_count(from.token_count);
}

void Fill(const auth::GroupInfo& from, pb::Group& to) {
  to.set_name(from.name);
  CopyStrings(from.members, to.mutable_members());
}

void Fill(const auth::TokenInfo& from, pb::Token& to) {
  to.set_id(from.id);
  to.set_account(from.account);
  to.set_description(from.description);
  to.set_created_at(from.created_at);
  to.set_expires_at(from.expires_at);
  to.set_revoked(from.revoked_at.has_value());
}

void Fill(const auth::ApprovalRequest& from, pb::Approval& to) {
  to.set_id(from.id);
  to.set_requester(from.requester);
  to.set_action(from.action);
  to.set_description(from.description);
  to.set_digest(from.digest);
  to.set_required(from.required);
  for (const auth::Approval& approval : from.approvals) {
    pb::ApprovalGiven* given = to.add_approvals();
    given->set_approver(approval.approver);
    given->set_time(approval.time);
  }
  to.set_state(std::string(auth::ApprovalStateName(from.state)));
  to.set_created_at(from.created_at);
  to.set_expires_at(from.expires_at);
  to.set_rejected_by(from.rejected_by);
  to.set_reason(from.reason);
}

// Converts a management result: OK after `fill` copies the value into the
// response, or the error. An operation that waits for approvals also names
// the approval in the trailing metadata.
template <typename T, typename FillResponse>
::grpc::Status Answer(::grpc::ServerContext& context, auth::ManagementResult<T> outcome, FillResponse fill) {
  if (outcome.result.ok()) {
    fill(*outcome.result);
    return ::grpc::Status::OK;
  }
  const Status& status = outcome.result.status();
  if (outcome.approval_id.empty()) return ToGrpcStatus(status);
  context.AddTrailingMetadata(kApprovalIdKey, outcome.approval_id);
  return ToGrpcStatus(status);
}

}  // namespace

ManagementRpcService::ManagementRpcService(auth::AccessControl& access, auth::Management& management,
                                           std::function<int64_t()> clock)
    : access_(access), management_(management), clock_(clock ? std::move(clock) : SystemClockSeconds) {}

template <typename Run>
::grpc::Status ManagementRpcService::Serve(Context& context, const char* operation_name, Run&& run) {
  const std::string authorization = MetadataValue(context, kAuthorizationKey);
  const std::string one_time_code = MetadataValue(context, kOneTimeCodeKey);
  const std::string approval_id = MetadataValue(context, kApprovalKey);
  const std::string peer = PeerAddress(context.peer());
  const std::optional<tls::PeerCertificate> certificate = PeerCertificateOf(context);
  auth::Credentials credentials;
  credentials.authorization = authorization;
  credentials.certificate = certificate ? &*certificate : nullptr;
  credentials.one_time_code = one_time_code;
  credentials.approval_id = approval_id;
  credentials.peer = peer;

  const int64_t now = clock_();
  StatusOr<auth::Caller> caller = access_.Authenticate(credentials, now);
  if (!caller.ok()) {
    const auth::Caller unknown;
    const auth::ManagementCall call{unknown, now, ids_.Next(), "grpc", peer};
    return ToGrpcStatus(management_.Refuse(call, operation_name, caller.status()));
  }
  const auth::ManagementCall call{*caller, now, ids_.Next(), "grpc", peer};
  return run(call);
}

::grpc::Status ManagementRpcService::WhoAmI(Context* context, In<pb::WhoAmIRequest>, pb::WhoAmIResponse* response) {
  return Serve(*context, "whoami", [&](const auth::ManagementCall& call) {
    return Answer(*context, management_.WhoAmI(call), [&](const auth::Caller& caller) {
      response->set_account(caller.principal);
      CopyStrings(caller.subject.groups, response->mutable_groups());
      CopyStrings(caller.subject.roles, response->mutable_roles());
      response->set_token_id(caller.token_id);
      response->set_client_certificate(caller.subject.client_certificate);
      response->set_second_factor(caller.subject.second_factor);
    });
  });
}

::grpc::Status ManagementRpcService::ListAccounts(Context* context, In<pb::ListAccountsRequest>,
                                                  pb::ListAccountsResponse* response) {
  return Serve(*context, "list_accounts", [&](const auth::ManagementCall& call) {
    return Answer(*context, management_.ListAccounts(call), [&](const std::vector<auth::AccountInfo>& accounts) {
      for (const auth::AccountInfo& account : accounts) Fill(account, *response->add_accounts());
    });
  });
}

::grpc::Status ManagementRpcService::AddAccount(Context* context, In<pb::AddAccountRequest> request,
                                                pb::AccountResponse* response) {
  return Serve(*context, "add_account", [&](const auth::ManagementCall& call) {
    const std::string kind = request->kind().empty() ? "user" : request->kind();
    return Answer(*context, management_.AddAccount(call, request->name(), kind, Strings(request->roles())),
                  [&](const auth::AccountInfo& account) { Fill(account, *response->mutable_account()); });
  });
}

::grpc::Status ManagementRpcService::DisableAccount(Context* context, In<pb::AccountNameRequest> request,
                                                    pb::AccountResponse* response) {
  return Serve(*context, "disable_account", [&](const auth::ManagementCall& call) {
    return Answer(*context, management_.DisableAccount(call, request->name()),
                  [&](const auth::AccountInfo& account) { Fill(account, *response->mutable_account()); });
  });
}

::grpc::Status ManagementRpcService::EnableAccount(Context* context, In<pb::AccountNameRequest> request,
                                                   pb::AccountResponse* response) {
  return Serve(*context, "enable_account", [&](const auth::ManagementCall& call) {
    return Answer(*context, management_.EnableAccount(call, request->name()),
                  [&](const auth::AccountInfo& account) { Fill(account, *response->mutable_account()); });
  });
}

::grpc::Status ManagementRpcService::SetRoles(Context* context, In<pb::SetRolesRequest> request,
                                              pb::AccountResponse* response) {
  return Serve(*context, "set_roles", [&](const auth::ManagementCall& call) {
    return Answer(*context, management_.SetRoles(call, request->name(), Strings(request->roles())),
                  [&](const auth::AccountInfo& account) { Fill(account, *response->mutable_account()); });
  });
}

::grpc::Status ManagementRpcService::ListGroups(Context* context, In<pb::ListGroupsRequest>,
                                                pb::ListGroupsResponse* response) {
  return Serve(*context, "list_groups", [&](const auth::ManagementCall& call) {
    return Answer(*context, management_.ListGroups(call), [&](const std::vector<auth::GroupInfo>& groups) {
      for (const auth::GroupInfo& group : groups) Fill(group, *response->add_groups());
    });
  });
}

::grpc::Status ManagementRpcService::AddGroup(Context* context, In<pb::GroupNameRequest> request,
                                              pb::GroupResponse* response) {
  return Serve(*context, "add_group", [&](const auth::ManagementCall& call) {
    return Answer(*context, management_.AddGroup(call, request->name()),
                  [&](const auth::GroupInfo& group) { Fill(group, *response->mutable_group()); });
  });
}

::grpc::Status ManagementRpcService::RemoveGroup(Context* context, In<pb::GroupNameRequest> request,
                                                 pb::GroupResponse* response) {
  return Serve(*context, "remove_group", [&](const auth::ManagementCall& call) {
    return Answer(*context, management_.RemoveGroup(call, request->name()),
                  [&](const auth::GroupInfo& group) { Fill(group, *response->mutable_group()); });
  });
}

::grpc::Status ManagementRpcService::AddMember(Context* context, In<pb::MemberRequest> request,
                                               pb::GroupResponse* response) {
  return Serve(*context, "add_member", [&](const auth::ManagementCall& call) {
    return Answer(*context, management_.AddMember(call, request->group(), request->account()),
                  [&](const auth::GroupInfo& group) { Fill(group, *response->mutable_group()); });
  });
}

::grpc::Status ManagementRpcService::RemoveMember(Context* context, In<pb::MemberRequest> request,
                                                  pb::GroupResponse* response) {
  return Serve(*context, "remove_member", [&](const auth::ManagementCall& call) {
    return Answer(*context, management_.RemoveMember(call, request->group(), request->account()),
                  [&](const auth::GroupInfo& group) { Fill(group, *response->mutable_group()); });
  });
}

::grpc::Status ManagementRpcService::CreateToken(Context* context, In<pb::CreateTokenRequest> request,
                                                 pb::CreateTokenResponse* response) {
  return Serve(*context, "create_token", [&](const auth::ManagementCall& call) {
    return Answer(*context,
                  management_.CreateToken(call, request->account(), request->days(), request->description()),
                  [&](const auth::IssuedToken& issued) {
                    Fill(issued.info, *response->mutable_token());
                    response->set_secret(issued.text);
                  });
  });
}

::grpc::Status ManagementRpcService::ListTokens(Context* context, In<pb::ListTokensRequest> request,
                                                pb::ListTokensResponse* response) {
  return Serve(*context, "list_tokens", [&](const auth::ManagementCall& call) {
    return Answer(*context, management_.ListTokens(call, request->account(), request->all()),
                  [&](const std::vector<auth::TokenInfo>& tokens) {
                    for (const auth::TokenInfo& token : tokens) Fill(token, *response->add_tokens());
                  });
  });
}

::grpc::Status ManagementRpcService::RevokeToken(Context* context, In<pb::RevokeTokenRequest> request,
                                                 pb::TokenResponse* response) {
  return Serve(*context, "revoke_token", [&](const auth::ManagementCall& call) {
    return Answer(*context, management_.RevokeToken(call, request->id()),
                  [&](const auth::TokenInfo& token) { Fill(token, *response->mutable_token()); });
  });
}

::grpc::Status ManagementRpcService::EnrolTotp(Context* context, In<pb::EnrolTotpRequest> request,
                                               pb::EnrolTotpResponse* response) {
  return Serve(*context, "enrol_totp", [&](const auth::ManagementCall& call) {
    return Answer(*context, management_.EnrolTotp(call, request->account()), [&](const auth::TotpEnrolled& enrolled) {
      response->set_account(enrolled.account);
      response->set_secret(enrolled.enrolment.secret_base32);
      response->set_uri(enrolled.enrolment.uri);
    });
  });
}

::grpc::Status ManagementRpcService::ListApprovals(Context* context, In<pb::ListApprovalsRequest> request,
                                                   pb::ListApprovalsResponse* response) {
  return Serve(*context, "list_approvals", [&](const auth::ManagementCall& call) {
    return Answer(*context, management_.ListApprovals(call, request->all()),
                  [&](const std::vector<auth::ApprovalRequest>& approvals) {
                    for (const auth::ApprovalRequest& approval : approvals) Fill(approval, *response->add_approvals());
                  });
  });
}

::grpc::Status ManagementRpcService::Approve(Context* context, In<pb::ApproveRequest> request,
                                             pb::ApprovalResponse* response) {
  return Serve(*context, "approve", [&](const auth::ManagementCall& call) {
    return Answer(*context, management_.Approve(call, request->id(), request->digest()),
                  [&](const auth::ApprovalRequest& approval) { Fill(approval, *response->mutable_approval()); });
  });
}

::grpc::Status ManagementRpcService::Reject(Context* context, In<pb::RejectRequest> request,
                                            pb::ApprovalResponse* response) {
  return Serve(*context, "reject", [&](const auth::ManagementCall& call) {
    return Answer(*context, management_.Reject(call, request->id(), request->reason()),
                  [&](const auth::ApprovalRequest& approval) { Fill(approval, *response->mutable_approval()); });
  });
}

::grpc::Status ManagementRpcService::ReloadPolicy(Context* context, In<pb::ReloadPolicyRequest>,
                                                  pb::ReloadPolicyResponse* response) {
  return Serve(*context, "reload_policy", [&](const auth::ManagementCall& call) {
    return Answer(*context, management_.ReloadPolicy(call), [&](const auth::PolicySummary& summary) {
      response->set_digest(summary.digest);
      response->set_rule_count(summary.rule_count);
    });
  });
}

}  // namespace moat::grpc_server
