// The management API over gRPC: moat.management.v1.Management on the
// synchronous grpc++ API. Each handler authenticates the call from its
// metadata and TLS client certificate, runs the auth::Management operation
// and converts the result. Errors carry the code from the shared status
// mapping table.
#pragma once

#include <cstdint>
#include <functional>

#include "auth/access_control.h"
#include "auth/management.h"
#include "common/request_id.h"
#include "management.grpc.pb.h"

namespace moat::grpc_server {

// Trailing metadata that names the approval a FAILED_PRECONDITION call
// waits for.
inline constexpr char kApprovalIdKey[] = "moat-approval";

// Thread-safe: grpc++ calls the handlers from many threads at once. Both
// references must outlive the object.
class ManagementRpcService final : public moat::management::v1::Management::Service {
 public:
  // `clock` returns the current unix time in seconds.
  ManagementRpcService(auth::AccessControl& access, auth::Management& management,
                       std::function<int64_t()> clock = nullptr);

  using Context = ::grpc::ServerContext;
  template <typename T>
  using In = const T*;

  ::grpc::Status WhoAmI(Context* context, In<management::v1::WhoAmIRequest> request,
                        management::v1::WhoAmIResponse* response) override;
  ::grpc::Status ListAccounts(Context* context, In<management::v1::ListAccountsRequest> request,
                              management::v1::ListAccountsResponse* response) override;
  ::grpc::Status AddAccount(Context* context, In<management::v1::AddAccountRequest> request,
                            management::v1::AccountResponse* response) override;
  ::grpc::Status DisableAccount(Context* context, In<management::v1::AccountNameRequest> request,
                                management::v1::AccountResponse* response) override;
  ::grpc::Status EnableAccount(Context* context, In<management::v1::AccountNameRequest> request,
                               management::v1::AccountResponse* response) override;
  ::grpc::Status SetRoles(Context* context, In<management::v1::SetRolesRequest> request,
                          management::v1::AccountResponse* response) override;
  ::grpc::Status ListGroups(Context* context, In<management::v1::ListGroupsRequest> request,
                            management::v1::ListGroupsResponse* response) override;
  ::grpc::Status AddGroup(Context* context, In<management::v1::GroupNameRequest> request,
                          management::v1::GroupResponse* response) override;
  ::grpc::Status RemoveGroup(Context* context, In<management::v1::GroupNameRequest> request,
                             management::v1::GroupResponse* response) override;
  ::grpc::Status AddMember(Context* context, In<management::v1::MemberRequest> request,
                           management::v1::GroupResponse* response) override;
  ::grpc::Status RemoveMember(Context* context, In<management::v1::MemberRequest> request,
                              management::v1::GroupResponse* response) override;
  ::grpc::Status CreateToken(Context* context, In<management::v1::CreateTokenRequest> request,
                             management::v1::CreateTokenResponse* response) override;
  ::grpc::Status ListTokens(Context* context, In<management::v1::ListTokensRequest> request,
                            management::v1::ListTokensResponse* response) override;
  ::grpc::Status RevokeToken(Context* context, In<management::v1::RevokeTokenRequest> request,
                             management::v1::TokenResponse* response) override;
  ::grpc::Status EnrolTotp(Context* context, In<management::v1::EnrolTotpRequest> request,
                           management::v1::EnrolTotpResponse* response) override;
  ::grpc::Status ListApprovals(Context* context, In<management::v1::ListApprovalsRequest> request,
                               management::v1::ListApprovalsResponse* response) override;
  ::grpc::Status Approve(Context* context, In<management::v1::ApproveRequest> request,
                         management::v1::ApprovalResponse* response) override;
  ::grpc::Status Reject(Context* context, In<management::v1::RejectRequest> request,
                        management::v1::ApprovalResponse* response) override;
  ::grpc::Status ReloadPolicy(Context* context, In<management::v1::ReloadPolicyRequest> request,
                              management::v1::ReloadPolicyResponse* response) override;

 private:
  // Authenticates the call of `context` and runs `run` with the resulting
  // management call; `operation_name` names the call in the audit record
  // of a refused authentication.
  template <typename Run>
  ::grpc::Status Serve(Context& context, const char* operation_name, Run&& run);

  auth::AccessControl& access_;
  auth::Management& management_;
  std::function<int64_t()> clock_;
  RequestIdGenerator ids_;
};

}  // namespace moat::grpc_server
