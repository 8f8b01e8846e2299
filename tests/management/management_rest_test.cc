// The management API's REST routes: every operation, refusals with their
// audit records, grants beyond one's own roles, and the approval flow.
#include <rapidjson/document.h>

#include "management/management_fixture.h"

namespace moat::testing {
namespace {

rapidjson::Document JsonOf(const server::HttpReply& reply) {
  rapidjson::Document document;
  document.Parse(reply.body.data(), reply.body.size());
  EXPECT_FALSE(document.HasParseError()) << reply.body;
  return document;
}

std::string StringAt(const rapidjson::Value& object, const char* key) {
  if (!object.IsObject() || !object.HasMember(key) || !object[key].IsString()) return "";
  return object[key].GetString();
}

class ManagementRestTest : public ManagementFixture {};

TEST_F(ManagementRestTest, WhoAmINeedsNoRule) {
  server::HttpReply reply = Rest("GET", "/moat/v1/whoami", "", "mallory");
  ASSERT_EQ(reply.status, 200u) << reply.body;
  rapidjson::Document body = JsonOf(reply);
  EXPECT_EQ(StringAt(body, "account"), "mallory");
  EXPECT_EQ(reply.request_id, "test-1");

  reply = Rest("GET", "/moat/v1/whoami", "", "");
  ASSERT_EQ(reply.status, 200u) << reply.body;
  EXPECT_EQ(StringAt(JsonOf(reply), "account"), "anonymous");
  EXPECT_TRUE(Contains(AuditText(), R"("principal":"mallory","action":"","rule":"own-account")"));
}

TEST_F(ManagementRestTest, AccountLifecycle) {
  server::HttpReply reply = Rest("POST", "/moat/v1/accounts", R"({"name":"dave","kind":"service","roles":["reader"]})");
  ASSERT_EQ(reply.status, 200u) << reply.body;
  rapidjson::Document body = JsonOf(reply);
  EXPECT_EQ(StringAt(body["account"], "name"), "dave");
  EXPECT_EQ(StringAt(body["account"], "kind"), "service");
  ASSERT_EQ(body["account"]["roles"].Size(), 1u);

  reply = Rest("GET", "/moat/v1/accounts");
  ASSERT_EQ(reply.status, 200u) << reply.body;
  EXPECT_TRUE(Contains(reply.body, R"("name":"dave")"));
  EXPECT_TRUE(Contains(reply.body, R"("name":"mallory")"));

  reply = Rest("POST", "/moat/v1/accounts/dave/disable");
  ASSERT_EQ(reply.status, 200u) << reply.body;
  EXPECT_TRUE(JsonOf(reply)["account"]["disabled"].GetBool());
  reply = Rest("POST", "/moat/v1/accounts/dave/enable");
  ASSERT_EQ(reply.status, 200u) << reply.body;
  EXPECT_FALSE(JsonOf(reply)["account"]["disabled"].GetBool());

  reply = Rest("PUT", "/moat/v1/accounts/dave/roles", R"({"roles":[]})");
  ASSERT_EQ(reply.status, 200u) << reply.body;
  EXPECT_EQ(JsonOf(reply)["account"]["roles"].Size(), 0u);

  // A disabled account's token stops working.
  ASSERT_EQ(Rest("POST", "/moat/v1/accounts/mallory/disable").status, 200u);
  EXPECT_EQ(Rest("GET", "/moat/v1/whoami", "", "mallory").status, 401u);

  const std::string audit = AuditText();
  EXPECT_TRUE(Contains(audit, R"("principal":"alice","action":"manage_users","rule":"admins")"));
  EXPECT_TRUE(Contains(audit, R"("operation":"add_account")"));
  EXPECT_TRUE(Contains(audit, R"("previous_roles":"reader")"));
}

TEST_F(ManagementRestTest, GroupsAndMemberships) {
  server::HttpReply reply = Rest("POST", "/moat/v1/groups", R"({"name":"ops"})");
  ASSERT_EQ(reply.status, 200u) << reply.body;
  EXPECT_EQ(StringAt(JsonOf(reply)["group"], "name"), "ops");

  // An administrator fills a group without joining it, but nobody puts
  // themselves into a group they are not in.
  reply = Rest("PUT", "/moat/v1/groups/ops/members/alice");
  EXPECT_EQ(reply.status, 403u) << reply.body;
  EXPECT_TRUE(Contains(AuditText(), R"("principal":"alice","action":"manage_users","rule":"grant-exceeds-own")"));
  reply = Rest("PUT", "/moat/v1/groups/ops/members/mallory");
  ASSERT_EQ(reply.status, 200u) << reply.body;
  EXPECT_EQ(JsonOf(reply)["group"]["members"].Size(), 1u);
  ASSERT_TRUE(access_->identities().AddMember("ops", "alice").ok());

  reply = Rest("GET", "/moat/v1/groups");
  ASSERT_EQ(reply.status, 200u) << reply.body;
  EXPECT_TRUE(Contains(reply.body, R"({"name":"ops","members":["alice","mallory"]})")) << reply.body;

  reply = Rest("DELETE", "/moat/v1/groups/ops/members/mallory");
  ASSERT_EQ(reply.status, 200u) << reply.body;
  EXPECT_EQ(JsonOf(reply)["group"]["members"].Size(), 1u);
  EXPECT_EQ(Rest("DELETE", "/moat/v1/groups/ops/members/mallory").status, 404u);

  reply = Rest("DELETE", "/moat/v1/groups/ops");
  ASSERT_EQ(reply.status, 200u) << reply.body;
  EXPECT_TRUE(Contains(reply.body, R"("members":["alice"])")) << reply.body;
  EXPECT_TRUE(Contains(Rest("GET", "/moat/v1/groups").body, R"({"groups":[]})"));
  EXPECT_TRUE(Contains(AuditText(), R"("members":"alice","operation":"remove_group")"));
}

TEST_F(ManagementRestTest, TokenCreateListRevoke) {
  server::HttpReply reply = Rest("POST", "/moat/v1/tokens", R"({"account":"bob","days":7,"description":"ci"})");
  ASSERT_EQ(reply.status, 200u) << reply.body;
  rapidjson::Document body = JsonOf(reply);
  const std::string secret = StringAt(body, "secret");
  const std::string id = StringAt(body["token"], "id");
  ASSERT_EQ(secret.rfind("moat_" + id + "_", 0), 0u) << secret;
  EXPECT_EQ(body["token"]["expires_at"].GetInt64() - body["token"]["created_at"].GetInt64(), 7 * 86400);

  // bob lists and revokes his own tokens without any rule.
  tokens_["bob-new"] = secret;
  reply = Rest("GET", "/moat/v1/tokens", "", "bob");
  ASSERT_EQ(reply.status, 200u) << reply.body;
  EXPECT_TRUE(Contains(reply.body, id));
  EXPECT_FALSE(Contains(reply.body, secret));
  reply = Rest("POST", "/moat/v1/tokens/" + id + "/revoke", "", "bob");
  ASSERT_EQ(reply.status, 200u) << reply.body;
  EXPECT_TRUE(JsonOf(reply)["token"]["revoked"].GetBool());
  EXPECT_EQ(Rest("GET", "/moat/v1/whoami", "", "bob-new").status, 401u);

  // Another account's tokens need manage_users.
  EXPECT_EQ(Rest("GET", "/moat/v1/tokens?account=alice", "", "bob").status, 403u);
  reply = Rest("GET", "/moat/v1/tokens?all=true");
  ASSERT_EQ(reply.status, 200u) << reply.body;
  EXPECT_TRUE(Contains(reply.body, R"("account":"mallory")"));

  // The secret never reaches the audit log; the token id does.
  const std::string audit = AuditText();
  EXPECT_FALSE(Contains(audit, secret.substr(5 + 16 + 1)));
  EXPECT_TRUE(Contains(audit, R"("token":")" + id + "\""));
}

TEST_F(ManagementRestTest, TokenDaysOutOfRange) {
  server::HttpReply reply = Rest("POST", "/moat/v1/tokens", R"({"days":367})");
  EXPECT_EQ(reply.status, 400u);
  EXPECT_TRUE(Contains(reply.body, "367 days")) << reply.body;
  reply = Rest("POST", "/moat/v1/tokens", R"({"days":"7"})");
  EXPECT_EQ(reply.status, 400u);
  EXPECT_TRUE(Contains(reply.body, "'days'")) << reply.body;
}

TEST_F(ManagementRestTest, TotpSecretNeverLogged) {
  server::HttpReply reply = Rest("POST", "/moat/v1/accounts/bob/totp");
  ASSERT_EQ(reply.status, 200u) << reply.body;
  rapidjson::Document body = JsonOf(reply);
  const std::string secret = StringAt(body, "secret");
  EXPECT_EQ(secret.size(), 32u);
  EXPECT_TRUE(Contains(StringAt(body, "uri"), "otpauth://totp/"));
  EXPECT_FALSE(Contains(AuditText(), secret));
  EXPECT_TRUE(access_->identities().HasTotp("bob").value());
}

TEST_F(ManagementRestTest, DenialAuditedWithRule) {
  server::HttpReply reply = Rest("GET", "/moat/v1/accounts", "", "mallory");
  EXPECT_EQ(reply.status, 403u);
  EXPECT_TRUE(Contains(reply.body, "permission denied")) << reply.body;
  reply = Rest("POST", "/moat/v1/policy/reload", "", "mallory");
  EXPECT_EQ(reply.status, 403u);
  const std::string audit = AuditText();
  EXPECT_TRUE(Contains(audit, R"("principal":"mallory","action":"manage_users","rule":"default-deny")")) << audit;
  EXPECT_TRUE(Contains(audit, R"("principal":"mallory","action":"change_policy","rule":"default-deny")"));
  EXPECT_TRUE(Contains(audit, R"("outcome":"PERMISSION_DENIED")"));
}

TEST_F(ManagementRestTest, GrantBeyondOwnRolesDenied) {
  server::HttpReply reply = Rest("PUT", "/moat/v1/accounts/uma/roles", R"({"roles":["useradmin","admin"]})", "uma");
  EXPECT_EQ(reply.status, 403u) << reply.body;
  EXPECT_TRUE(Contains(AuditText(), R"("principal":"uma","action":"manage_users","rule":"grant-exceeds-own")"));
  EXPECT_EQ(access_->identities().GetAccount("uma")->roles, std::vector<std::string>{"useradmin"});
  // uma may give the roles she has.
  EXPECT_EQ(Rest("POST", "/moat/v1/accounts", R"({"name":"erin","roles":["useradmin"]})", "uma").status, 200u);
}

TEST_F(ManagementRestTest, PolicyReloadReadsTheFileAgain) {
  server::HttpReply reply = Rest("POST", "/moat/v1/policy/reload");
  ASSERT_EQ(reply.status, 200u) << reply.body;
  EXPECT_EQ(JsonOf(reply)["rule_count"].GetInt64(), 4);

  std::ofstream(policy_file_) << "[rule broken]\neffect = maybe\n";
  reply = Rest("POST", "/moat/v1/policy/reload");
  EXPECT_EQ(reply.status, 400u) << reply.body;
  EXPECT_TRUE(Contains(reply.body, "policy.conf:2")) << reply.body;
  EXPECT_EQ(access_->policy()->rule_count(), 4u);
}

TEST_F(ManagementRestTest, ApprovedOperationRunsOnce) {
  const std::string add_service = R"({"name":"svc-batch","kind":"service"})";
  server::HttpReply reply = Rest("POST", "/moat/v1/accounts", add_service);
  ASSERT_EQ(reply.status, 428u) << reply.body;
  const std::string id = StringAt(JsonOf(reply), "approval_id");
  ASSERT_EQ(id.size(), 32u) << reply.body;
  EXPECT_TRUE(Contains(reply.body, "Moat-Approval: " + id)) << reply.body;
  EXPECT_FALSE(access_->identities().GetAccount("svc-batch").ok());

  reply = Rest("GET", "/moat/v1/approvals", "", "bob");
  ASSERT_EQ(reply.status, 200u) << reply.body;
  rapidjson::Document listed = JsonOf(reply);
  ASSERT_EQ(listed["approvals"].Size(), 1u);
  const std::string digest = StringAt(listed["approvals"][0], "digest");
  EXPECT_EQ(StringAt(listed["approvals"][0], "requester"), "alice");
  EXPECT_TRUE(Contains(StringAt(listed["approvals"][0], "description"), "svc-batch"));
  // Someone the policy does not let decide it sees an empty list, not 403.
  reply = Rest("GET", "/moat/v1/approvals", "", "mallory");
  ASSERT_EQ(reply.status, 200u) << reply.body;
  EXPECT_EQ(JsonOf(reply)["approvals"].Size(), 0u);

  // The requester cannot approve her own request; a wrong digest is refused.
  EXPECT_EQ(Rest("POST", "/moat/v1/approvals/" + id + "/approve", R"({"digest":")" + digest + "\"}").status, 403u);
  EXPECT_EQ(Rest("POST", "/moat/v1/approvals/" + id + "/approve", R"({"digest":"00"})", "bob").status, 400u);
  // An account without approve cannot approve.
  EXPECT_EQ(Rest("POST", "/moat/v1/approvals/" + id + "/approve", R"({"digest":")" + digest + "\"}", "mallory").status,
            403u);

  ASSERT_EQ(Rest("POST", "/moat/v1/approvals/" + id + "/approve", R"({"digest":")" + digest + "\"}", "bob").status,
            200u);
  // One approval of two: the retry still waits.
  EXPECT_EQ(Rest("POST", "/moat/v1/accounts", add_service, "alice", id).status, 428u);
  reply = Rest("POST", "/moat/v1/approvals/" + id + "/approve", R"({"digest":")" + digest + "\"}", "carol");
  ASSERT_EQ(reply.status, 200u) << reply.body;
  EXPECT_EQ(StringAt(JsonOf(reply)["approval"], "state"), "approved");

  // The approval covers exactly the operation it was made for.
  EXPECT_NE(Rest("POST", "/moat/v1/accounts", R"({"name":"svc-other","kind":"service"})", "alice", id).status, 200u);
  reply = Rest("POST", "/moat/v1/accounts", add_service, "alice", id);
  ASSERT_EQ(reply.status, 200u) << reply.body;
  EXPECT_TRUE(access_->identities().GetAccount("svc-batch").ok());
  // It runs once.
  ASSERT_TRUE(access_->identities().DisableAccount("svc-batch").ok());
  EXPECT_NE(Rest("POST", "/moat/v1/accounts", add_service, "alice", id).status, 200u);

  const std::string audit = AuditText();
  EXPECT_TRUE(Contains(audit, R"("type":"approval_requested")"));
  EXPECT_TRUE(Contains(audit, R"("rule":"guarded-service-accounts")"));
  EXPECT_TRUE(Contains(audit, R"("approval":")" + id + "\""));
}

TEST_F(ManagementRestTest, RejectEndsARequest) {
  server::HttpReply reply = Rest("POST", "/moat/v1/accounts", R"({"name":"svc-x"})");
  ASSERT_EQ(reply.status, 428u) << reply.body;
  const std::string id = StringAt(JsonOf(reply), "approval_id");
  reply = Rest("POST", "/moat/v1/approvals/" + id + "/reject", R"({"reason":"not this week"})", "bob");
  ASSERT_EQ(reply.status, 200u) << reply.body;
  EXPECT_EQ(StringAt(JsonOf(reply)["approval"], "state"), "rejected");
  EXPECT_EQ(StringAt(JsonOf(reply)["approval"], "reason"), "not this week");
  reply = Rest("GET", "/moat/v1/approvals?all=true", "", "bob");
  EXPECT_TRUE(Contains(reply.body, id));
  EXPECT_FALSE(Contains(Rest("GET", "/moat/v1/approvals", "", "bob").body, id));
}

TEST_F(ManagementRestTest, BadRequestsGetClearErrors) {
  server::HttpReply reply = Rest("GET", "/moat/v1/nothing");
  EXPECT_EQ(reply.status, 404u);
  EXPECT_TRUE(Contains(reply.body, "/moat/v1/nothing"));

  reply = Rest("DELETE", "/moat/v1/accounts");
  EXPECT_EQ(reply.status, 405u);
  EXPECT_EQ(reply.allow, "GET, POST");

  reply = Rest("POST", "/moat/v1/accounts", "{not json");
  EXPECT_EQ(reply.status, 400u);
  EXPECT_TRUE(Contains(reply.body, "malformed JSON")) << reply.body;

  reply = Rest("POST", "/moat/v1/accounts", R"({"name":"dave","colour":"blue"})");
  EXPECT_EQ(reply.status, 400u);
  EXPECT_TRUE(Contains(reply.body, "'colour'")) << reply.body;

  reply = Rest("POST", "/moat/v1/accounts", R"({"name":"no spaces"})");
  EXPECT_EQ(reply.status, 400u);
  EXPECT_TRUE(Contains(reply.body, "no spaces")) << reply.body;

  reply = Rest("POST", "/moat/v1/accounts/a%2Fb/disable");
  EXPECT_EQ(reply.status, 400u);
  EXPECT_TRUE(Contains(reply.body, "account name")) << reply.body;

  reply = Rest("POST", "/moat/v1/accounts/nobody/disable");
  EXPECT_EQ(reply.status, 404u);
  EXPECT_TRUE(Contains(reply.body, "nobody")) << reply.body;

  reply = Rest("GET", "/moat/v1/approvals?all=maybe");
  EXPECT_EQ(reply.status, 400u);
  EXPECT_TRUE(Contains(reply.body, "maybe")) << reply.body;
}

}  // namespace
}  // namespace moat::testing
