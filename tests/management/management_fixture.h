// Test fixture of the management API. It opens a real AccessControl on a
// temporary state folder with a real policy file and audit log, drives the
// REST routes through ManagementApi, and serves the gRPC service on
// 127.0.0.1 with a port that the OS picks.
#pragma once

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "auth/access_control.h"
#include "auth/management.h"
#include "client/management_client.h"
#include "common/status_mapping.h"
#include "grpc/management_rpcs.h"
#include "server/management_api.h"
#include "testing/audit_records.h"

namespace moat::testing {

// The role admin may manage accounts, approve and reload the policy, but
// changing a service account (user:svc-*) takes two approvals. The role
// approver may approve, and useradmin may manage accounts.
inline constexpr char kManagementPolicy[] = R"(
[rule admins]
effect = allow
principals = role:admin
actions = manage_users, change_policy, approve

[rule guarded-service-accounts]
effect = allow
principals = role:admin
actions = manage_users
targets = user:svc-*
approvals = 2

[rule approvers]
effect = allow
principals = role:approver
actions = approve

[rule user-admins]
effect = allow
principals = role:useradmin
actions = manage_users
)";

inline bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

class ManagementFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "moat-management-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    policy_file_ = dir_ + "/policy.conf";
    std::ofstream(policy_file_) << kManagementPolicy;

    auth::AccessControlOptions options;
    options.data_dir = dir_ + "/state";
    options.policy_file = policy_file_;
    StatusOr<std::unique_ptr<auth::AccessControl>> access = auth::AccessControl::Open(options);
    ASSERT_TRUE(access.ok()) << access.status().ToString();
    access_ = std::move(*access);

    StatusOr<std::unique_ptr<audit::AuditLog>> log =
        audit::AuditLog::Open(TestAuditOptions(AuditFolder(), audit::AuditDurability::kSync));
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    log_ = std::move(*log);
    access_->SetAuditSink([this](const audit::AuditEvent& event) {
      StatusOr<audit::AuditReceipt> receipt = log_->Append(event);
      EXPECT_TRUE(receipt.ok()) << receipt.status().ToString();
    });

    AddAccount("alice", {"admin", "reader"});
    AddAccount("bob", {"approver"});
    AddAccount("carol", {"approver"});
    AddAccount("mallory", {});
    AddAccount("uma", {"useradmin"});

    management_ = std::make_unique<auth::Management>(*access_);
    api_ = std::make_unique<server::ManagementApi>(*management_);
    service_ = std::make_unique<grpc_server::ManagementRpcService>(*access_, *management_);
    ::grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", ::grpc::InsecureServerCredentials(), &grpc_port_);
    builder.RegisterService(service_.get());
    grpc_ = builder.BuildAndStart();
    ASSERT_NE(grpc_, nullptr);
    ASSERT_GT(grpc_port_, 0);
  }

  void TearDown() override {
    if (grpc_ != nullptr) grpc_->Shutdown();
    grpc_.reset();
    service_.reset();
    api_.reset();
    management_.reset();
    if (log_ != nullptr) {
      EXPECT_TRUE(log_->Close().ok());
    }
    log_.reset();
    access_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::string AuditFolder() const { return dir_ + "/audit"; }

  static int64_t Now() {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
  }

  // Adds an account directly in the store and keeps a token for it.
  void AddAccount(const std::string& name, const std::vector<std::string>& roles) {
    const int64_t now = Now();
    ASSERT_TRUE(access_->identities().AddAccount(name, auth::AccountKind::kUser, roles, now).ok());
    StatusOr<auth::CreatedToken> token = access_->identities().CreateToken(name, now + 3600, "test", now);
    ASSERT_TRUE(token.ok()) << token.status().ToString();
    tokens_[name] = token->text;
  }

  // Sends one REST request as `account` (no credentials when empty).
  server::HttpReply Rest(const std::string& method, const std::string& target, const std::string& body = "",
                         const std::string& account = "alice", const std::string& approval = "") {
    server::HttpRequest request;
    request.method = method;
    request.target = target;
    request.body = std::make_shared<const std::string>(body);
    request.peer = "127.0.0.1:40000";
    if (!account.empty()) request.authorization = "Bearer " + tokens_.at(account);
    request.approval_id = approval;
    return Serve(request);
  }

  // Handles one REST request the way the HTTP handler does: authenticate,
  // then hand it to the API.
  server::HttpReply Serve(const server::HttpRequest& request) {
    auth::Credentials credentials;
    credentials.authorization = request.authorization;
    credentials.one_time_code = request.one_time_code;
    credentials.approval_id = request.approval_id;
    credentials.peer = request.peer;
    server::HttpReply reply;
    reply.request_id = "test-" + std::to_string(++request_count_);
    StatusOr<auth::Caller> caller = access_->Authenticate(credentials, Now());
    if (!caller.ok()) {
      reply.status = HttpStatusFor(caller.status().code());
      reply.body = R"({"error":"not authenticated"})";
      return reply;
    }
    return api_->Handle(request, *caller, std::move(reply), Now());
  }

  // A gRPC management client acting as `account`.
  std::unique_ptr<client::ManagementClient> Grpc(const std::string& account, const std::string& approval = "") {
    client::ManagementClientOptions options;
    options.protocol = client::ManagementProtocol::kGrpc;
    options.url = "127.0.0.1:" + std::to_string(grpc_port_);
    if (!account.empty()) options.token = tokens_.at(account);
    options.approval_id = approval;
    StatusOr<std::unique_ptr<client::ManagementClient>> client = client::ManagementClient::Create(options);
    EXPECT_TRUE(client.ok()) << client.status().ToString();
    return client.ok() ? std::move(*client) : nullptr;
  }

  // Runs, as the administrator alice, every operation that both transports
  // of ManagementClient send, and checks the answers and that no secret
  // reaches the audit log. Leaves the account dave and the group ops.
  void CheckCommonOperations(client::ManagementClient& alice) {
    namespace pb = moat::management::v1;
    StatusOr<pb::WhoAmIResponse> self = alice.WhoAmI();
    ASSERT_TRUE(self.ok()) << self.status().ToString();
    EXPECT_EQ(self->account(), "alice");
    EXPECT_EQ(self->roles_size(), 2);
    EXPECT_FALSE(self->token_id().empty());

    pb::AddAccountRequest add;
    add.set_name("dave");
    add.set_kind("service");
    add.add_roles("reader");
    StatusOr<pb::AccountResponse> added = alice.AddAccount(add);
    ASSERT_TRUE(added.ok()) << added.status().ToString();
    EXPECT_EQ(added->account().kind(), "service");
    EXPECT_GT(added->account().created_at(), 0);

    StatusOr<pb::ListAccountsResponse> accounts = alice.ListAccounts();
    ASSERT_TRUE(accounts.ok()) << accounts.status().ToString();
    EXPECT_EQ(accounts->accounts_size(), 6);

    StatusOr<pb::AccountResponse> changed = alice.DisableAccount("dave");
    ASSERT_TRUE(changed.ok()) << changed.status().ToString();
    EXPECT_TRUE(changed->account().disabled());
    changed = alice.EnableAccount("dave");
    ASSERT_TRUE(changed.ok()) << changed.status().ToString();
    EXPECT_FALSE(changed->account().disabled());

    ASSERT_TRUE(alice.AddGroup("ops").ok());
    StatusOr<pb::ListGroupsResponse> groups = alice.ListGroups();
    ASSERT_TRUE(groups.ok()) << groups.status().ToString();
    ASSERT_EQ(groups->groups_size(), 1);
    EXPECT_EQ(groups->groups(0).name(), "ops");

    pb::CreateTokenRequest create;
    create.set_account("dave");
    create.set_days(366);
    create.set_description("batch jobs");
    StatusOr<pb::CreateTokenResponse> token = alice.CreateToken(create);
    ASSERT_TRUE(token.ok()) << token.status().ToString();
    EXPECT_EQ(token->token().account(), "dave");
    EXPECT_EQ(token->token().expires_at() - token->token().created_at(), 366 * 86400);
    EXPECT_EQ(token->secret().rfind("moat_" + token->token().id() + "_", 0), 0u);
    pb::ListTokensRequest list;
    list.set_account("dave");
    StatusOr<pb::ListTokensResponse> tokens = alice.ListTokens(list);
    ASSERT_TRUE(tokens.ok()) << tokens.status().ToString();
    ASSERT_EQ(tokens->tokens_size(), 1);
    EXPECT_EQ(tokens->tokens(0).description(), "batch jobs");
    list.set_all(true);
    tokens = alice.ListTokens(list);
    ASSERT_TRUE(tokens.ok()) << tokens.status().ToString();
    EXPECT_EQ(tokens->tokens_size(), 6);
    StatusOr<pb::TokenResponse> revoked = alice.RevokeToken(token->token().id());
    ASSERT_TRUE(revoked.ok()) << revoked.status().ToString();
    EXPECT_TRUE(revoked->token().revoked());

    StatusOr<pb::EnrolTotpResponse> totp = alice.EnrolTotp("");
    ASSERT_TRUE(totp.ok()) << totp.status().ToString();
    EXPECT_EQ(totp->account(), "alice");
    EXPECT_EQ(totp->secret().size(), 32u);

    StatusOr<pb::ListApprovalsResponse> approvals = alice.ListApprovals(true);
    ASSERT_TRUE(approvals.ok()) << approvals.status().ToString();
    EXPECT_EQ(approvals->approvals_size(), 0);

    StatusOr<pb::ReloadPolicyResponse> reloaded = alice.ReloadPolicy();
    ASSERT_TRUE(reloaded.ok()) << reloaded.status().ToString();
    EXPECT_EQ(reloaded->rule_count(), 4);
    EXPECT_EQ(reloaded->digest().size(), 64u);

    const std::string audit = AuditText();
    EXPECT_FALSE(Contains(audit, token->secret()));
    EXPECT_FALSE(Contains(audit, totp->secret()));
  }

  // The decrypted audit records so far, one per line.
  std::string AuditText() {
    EXPECT_TRUE(log_->CheckpointNow().ok());
    return ReadAuditText(AuditFolder());
  }

  std::string dir_;
  std::string policy_file_;
  std::unique_ptr<auth::AccessControl> access_;
  std::unique_ptr<audit::AuditLog> log_;
  std::unique_ptr<auth::Management> management_;
  std::unique_ptr<server::ManagementApi> api_;
  std::unique_ptr<grpc_server::ManagementRpcService> service_;
  std::unique_ptr<::grpc::Server> grpc_;
  int grpc_port_ = 0;
  std::map<std::string, std::string> tokens_;  // account name -> token text
  std::atomic<int> request_count_{0};
};

}  // namespace moat::testing
