// The management API over gRPC through ManagementClient: every operation,
// refusals with their audit records, grants beyond one's own roles, and the
// approval flow with the id in the trailing metadata.
#include "management/management_fixture.h"

namespace moat::testing {
namespace {

namespace pb = moat::management::v1;

class ManagementGrpcTest : public ManagementFixture {};

TEST_F(ManagementGrpcTest, EveryOperationRuns) {
  std::unique_ptr<client::ManagementClient> alice = Grpc("alice");
  ASSERT_NE(alice, nullptr);
  CheckCommonOperations(*alice);
  ASSERT_FALSE(HasFatalFailure());

  // The operations that the REST client cannot send yet (PUT and DELETE).
  pb::SetRolesRequest roles;
  roles.set_name("dave");
  StatusOr<pb::AccountResponse> changed = alice->SetRoles(roles);
  ASSERT_TRUE(changed.ok()) << changed.status().ToString();
  EXPECT_EQ(changed->account().roles_size(), 0);

  ASSERT_TRUE(access_->identities().AddMember("ops", "alice").ok());
  StatusOr<pb::GroupResponse> group = alice->AddMember("ops", "dave");
  ASSERT_TRUE(group.ok()) << group.status().ToString();
  EXPECT_EQ(group->group().members_size(), 2);
  group = alice->RemoveMember("ops", "dave");
  ASSERT_TRUE(group.ok()) << group.status().ToString();
  EXPECT_EQ(group->group().members_size(), 1);
  group = alice->RemoveGroup("ops");
  ASSERT_TRUE(group.ok()) << group.status().ToString();
  EXPECT_EQ(group->group().name(), "ops");
  EXPECT_TRUE(Contains(AuditText(), R"("protocol":"grpc")"));
}

TEST_F(ManagementGrpcTest, DenialAuditedWithRule) {
  std::unique_ptr<client::ManagementClient> mallory = Grpc("mallory");
  StatusOr<pb::ListAccountsResponse> accounts = mallory->ListAccounts();
  EXPECT_EQ(accounts.status().code(), StatusCode::kPermissionDenied) << accounts.status().ToString();
  StatusOr<pb::AccountResponse> disabled = mallory->DisableAccount("alice");
  EXPECT_EQ(disabled.status().code(), StatusCode::kPermissionDenied);
  EXPECT_FALSE(access_->identities().GetAccount("alice")->disabled);
  const std::string audit = AuditText();
  EXPECT_TRUE(Contains(audit, R"("principal":"mallory","action":"manage_users","rule":"default-deny")")) << audit;
  EXPECT_TRUE(Contains(audit, R"("target":"user:alice")"));

  // A token that does not authenticate is refused and recorded as well.
  tokens_["nobody"] = "moat_0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
  StatusOr<pb::WhoAmIResponse> unknown = Grpc("nobody")->WhoAmI();
  EXPECT_EQ(unknown.status().code(), StatusCode::kUnauthenticated) << unknown.status().ToString();
  EXPECT_TRUE(Contains(AuditText(), R"("outcome":"UNAUTHENTICATED")"));
}

TEST_F(ManagementGrpcTest, GrantBeyondOwnRolesDenied) {
  pb::SetRolesRequest roles;
  roles.set_name("uma");
  roles.add_roles("useradmin");
  roles.add_roles("admin");
  StatusOr<pb::AccountResponse> changed = Grpc("uma")->SetRoles(roles);
  EXPECT_EQ(changed.status().code(), StatusCode::kPermissionDenied) << changed.status().ToString();
  EXPECT_TRUE(Contains(AuditText(), R"("principal":"uma","action":"manage_users","rule":"grant-exceeds-own")"));
}

TEST_F(ManagementGrpcTest, ApprovalFlow) {
  pb::AddAccountRequest add;
  add.set_name("svc-batch");
  add.set_kind("service");
  std::unique_ptr<client::ManagementClient> alice = Grpc("alice");
  StatusOr<pb::AccountResponse> waiting = alice->AddAccount(add);
  ASSERT_EQ(waiting.status().code(), StatusCode::kFailedPrecondition) << waiting.status().ToString();
  const std::string id = alice->pending_approval();
  ASSERT_EQ(id.size(), 32u);
  EXPECT_TRUE(Contains(waiting.status().message(), id)) << waiting.status().message();

  StatusOr<pb::ListApprovalsResponse> listed = Grpc("bob")->ListApprovals(false);
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  ASSERT_EQ(listed->approvals_size(), 1);
  const std::string digest = listed->approvals(0).digest();

  EXPECT_EQ(alice->Approve(id, digest).status().code(), StatusCode::kPermissionDenied);
  ASSERT_TRUE(Grpc("bob")->Approve(id, digest).ok());
  StatusOr<pb::ApprovalResponse> approved = Grpc("carol")->Approve(id, digest);
  ASSERT_TRUE(approved.ok()) << approved.status().ToString();
  EXPECT_EQ(approved->approval().state(), "approved");
  EXPECT_EQ(approved->approval().approvals_size(), 2);

  StatusOr<pb::AccountResponse> added = Grpc("alice", id)->AddAccount(add);
  ASSERT_TRUE(added.ok()) << added.status().ToString();
  EXPECT_EQ(added->account().name(), "svc-batch");
  StatusOr<pb::AccountResponse> again = Grpc("alice", id)->AddAccount(add);
  EXPECT_FALSE(again.ok());
}

}  // namespace
}  // namespace moat::testing
