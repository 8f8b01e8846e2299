// Access control on the KServe REST endpoints: tokens, the policy's
// decisions and their rule ids in the audit log, second factors and
// approvals, against a real server, state database and model.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include "auth/base32.h"
#include "auth/totp.h"
#include "common/crypto.h"
#include "guarded_server.h"

namespace moat {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
namespace http = boost::beast::http;

// The last audit record whose text contains `needle`.
std::string LastRecordWith(const testing::GuardedServer& server, const std::string& needle) {
  std::vector<std::string> records = server.AuditRecords();
  for (auto record = records.rbegin(); record != records.rend(); ++record) {
    if (record->find(needle) != std::string::npos) return *record;
  }
  return "";
}

std::string ErrorOf(const std::string& body) {
  rapidjson::Document document;
  document.Parse(body.data(), body.size());
  if (document.HasParseError() || !document.HasMember("error")) return "";
  return document["error"].GetString();
}

std::string CurrentCode(const std::string& secret_base32) {
  StatusOr<std::string> key = auth::Base32Decode(secret_base32);
  EXPECT_TRUE(key.ok());
  return auth::TotpCode(AsBytes(*key), auth::UnixNow(), auth::TotpParameters{});
}

TEST(AccessHttp, HealthNeedsNoCredentials) {
  testing::GuardedServer server;
  ASSERT_TRUE(server.ok());
  EXPECT_EQ(server.Send(http::verb::get, "/v2/health/live", "", {}).result_int(), 200u);
  EXPECT_EQ(server.Send(http::verb::get, "/v2/health/ready", "", {}).result_int(), 200u);
}

TEST(AccessHttp, AllowedInferenceRecordsPrincipalAndRule) {
  testing::GuardedServer server;
  ASSERT_TRUE(server.ok());
  auto response = server.Infer("alice", "/v2/models/identity/versions/1/infer");
  ASSERT_EQ(response.result_int(), 200u) << response.body();
  std::string record = LastRecordWith(server, R"("type":"inference")");
  EXPECT_THAT(record, HasSubstr(R"("principal":"alice")"));
  EXPECT_THAT(record, HasSubstr(R"("action":"infer")"));
  EXPECT_THAT(record, HasSubstr(R"("rule":"analysts-infer")"));
}

TEST(AccessHttp, AnonymousInferenceIsDeniedAndAudited) {
  testing::GuardedServer server;
  ASSERT_TRUE(server.ok());
  auto response = server.Infer("", "/v2/models/identity/versions/1/infer");
  EXPECT_EQ(response.result_int(), 403u) << response.body();
  std::string record = LastRecordWith(server, R"("outcome":"PERMISSION_DENIED")");
  EXPECT_THAT(record, HasSubstr(R"("principal":"anonymous")"));
  EXPECT_THAT(record, HasSubstr(R"("rule":"default-deny")"));
  EXPECT_THAT(record, HasSubstr(R"("model":"identity")"));
}

TEST(AccessHttp, BadTokensGet401WithChallenge) {
  testing::GuardedServer server;
  ASSERT_TRUE(server.ok());
  std::string token = server.token("alice");
  std::string wrong_secret = token;
  wrong_secret.back() = wrong_secret.back() == 'A' ? 'B' : 'A';
  for (const std::string& authorization :
       {std::string("Bearer moat_nothing"), "Bearer " + wrong_secret, std::string("Basic YWxpY2U6eA=="),
        std::string("Bearer ")}) {
    auto response = server.Send(http::verb::post, "/v2/models/identity/versions/1/infer", testing::kIdentityBody,
                                {{"Authorization", authorization}});
    EXPECT_EQ(response.result_int(), 401u) << authorization;
    EXPECT_EQ(response[http::field::www_authenticate], "Bearer realm=\"moat\"");
    EXPECT_THAT(response.body(), Not(HasSubstr(token.substr(token.size() - 20)))) << "the secret leaked";
  }
  EXPECT_THAT(LastRecordWith(server, R"("outcome":"UNAUTHENTICATED")"), HasSubstr(R"("type":"rejected")"));
}

TEST(AccessHttp, RevokedTokenIsRefused) {
  testing::GuardedServer server;
  ASSERT_TRUE(server.ok());
  auto listed = server.access().identities().ListTokens("alice");
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  ASSERT_TRUE(server.access().identities().RevokeToken(listed->front().id, auth::UnixNow()).ok());
  EXPECT_EQ(server.Infer("alice", "/v2/models/identity/versions/1/infer").result_int(), 401u);
}

TEST(AccessHttp, DenialSaysNothingAboutWhatExists) {
  testing::GuardedServer server;
  ASSERT_TRUE(server.ok());
  auto existing = server.Infer("alice", "/v2/models/other/infer");
  auto missing = server.Infer("alice", "/v2/models/no-such-model/infer");
  auto invalid = server.Infer("alice", "/v2/models/identity%2F..%2Fother/infer");
  EXPECT_EQ(existing.result_int(), 403u);
  EXPECT_EQ(missing.result_int(), 403u);
  EXPECT_EQ(invalid.result_int(), 403u);
  EXPECT_EQ(ErrorOf(existing.body()), "permission denied");
  EXPECT_EQ(ErrorOf(missing.body()), ErrorOf(existing.body()));
  EXPECT_EQ(ErrorOf(invalid.body()), ErrorOf(existing.body()));
  // Metadata of a model the caller may not read is denied the same way.
  auto metadata = server.Send(http::verb::get, "/v2/models/no-such-model", "",
                              {{"Authorization", "Bearer " + server.token("alice")}});
  EXPECT_EQ(metadata.result_int(), 403u);
  EXPECT_EQ(ErrorOf(metadata.body()), "permission denied");
}

TEST(AccessHttp, VersionRuleAppliesToTheResolvedLatestVersion) {
  testing::GuardedServer server;
  ASSERT_TRUE(server.ok());
  // The latest version is 2; the analysts' rule allows version 1 only.
  auto latest = server.Infer("alice", "/v2/models/identity/infer");
  EXPECT_EQ(latest.result_int(), 403u) << latest.body();
  std::string record = LastRecordWith(server, R"("outcome":"PERMISSION_DENIED")");
  EXPECT_THAT(record, HasSubstr(R"("rule":"default-deny")"));
  EXPECT_THAT(record, HasSubstr(R"("version":2)"));
  EXPECT_EQ(server.Infer("alice", "/v2/models/identity/versions/1/infer").result_int(), 200u);
  EXPECT_EQ(server.Infer("alice", "/v2/models/identity/versions/2/infer").result_int(), 403u);
}

TEST(AccessHttp, DenyRuleBeatsGroupAllow) {
  testing::GuardedServer server;
  ASSERT_TRUE(server.ok());
  auto response = server.Infer("mallory", "/v2/models/identity/versions/1/infer");
  EXPECT_EQ(response.result_int(), 403u);
  EXPECT_THAT(LastRecordWith(server, R"("principal":"mallory")"), HasSubstr(R"("rule":"mallory-never")"));
}

TEST(AccessHttp, SecondFactorIsAskedForAndUsedOnce) {
  testing::GuardedServer server;
  ASSERT_TRUE(server.ok());
  auto without = server.Infer("carol", "/v2/models/other/infer");
  EXPECT_EQ(without.result_int(), 403u);
  EXPECT_THAT(ErrorOf(without.body()), HasSubstr("one-time code"));

  std::string code = CurrentCode(server.carol_secret());
  auto with = server.Infer("carol", "/v2/models/other/infer", {{"Moat-OTP", code}});
  EXPECT_EQ(with.result_int(), 200u) << with.body();
  auto replayed = server.Infer("carol", "/v2/models/other/infer", {{"Moat-OTP", code}});
  EXPECT_EQ(replayed.result_int(), 401u);
  EXPECT_THAT(ErrorOf(replayed.body()), HasSubstr("one-time code"));
}

TEST(AccessHttp, ApprovedLoadRunsOnceWithItsApproval) {
  testing::GuardedServer server;
  ASSERT_TRUE(server.ok());
  std::map<std::string, std::string> bob{{"Authorization", "Bearer " + server.token("bob")}};
  auto first = server.Send(http::verb::post, "/v2/repository/models/other/load", "", bob);
  ASSERT_EQ(first.result_int(), 428u) << first.body();
  std::string id(first["Moat-Approval"]);
  ASSERT_FALSE(id.empty());
  EXPECT_THAT(ErrorOf(first.body()), HasSubstr(id));
  EXPECT_THAT(LastRecordWith(server, R"("type":"approval_requested")"), HasSubstr(id));

  auth::ApprovalStore& approvals = server.access().approvals();
  int64_t now = auth::UnixNow();
  auto pending = approvals.Get(id, now);
  ASSERT_TRUE(pending.result.ok());
  std::string digest = pending.result->digest;

  // One approval is not enough, and the requester cannot approve.
  ASSERT_TRUE(approvals.Approve(id, "dave", digest, now).result.ok());
  EXPECT_FALSE(approvals.Approve(id, "bob", digest, now).result.ok());
  std::map<std::string, std::string> retry = bob;
  retry["Moat-Approval"] = id;
  auto early = server.Send(http::verb::post, "/v2/repository/models/other/load", "", retry);
  EXPECT_EQ(early.result_int(), 428u) << early.body();

  ASSERT_TRUE(approvals.Approve(id, "erin", digest, now).result.ok());
  // The approval is for loading "other"; it does not unload it.
  auto other_operation = server.Send(http::verb::post, "/v2/repository/models/other/unload", "", retry);
  EXPECT_NE(other_operation.result_int(), 200u);
  auto approved = server.Send(http::verb::post, "/v2/repository/models/other/load", "", retry);
  EXPECT_EQ(approved.result_int(), 200u) << approved.body();
  EXPECT_THAT(LastRecordWith(server, R"("type":"approval_executed")"), HasSubstr(id));
  EXPECT_THAT(LastRecordWith(server, R"("type":"model_loaded")"), HasSubstr(R"("rule":"operators-control")"));
  auto again = server.Send(http::verb::post, "/v2/repository/models/other/load", "", retry);
  EXPECT_NE(again.result_int(), 200u) << "an approval ran twice";
}

}  // namespace
}  // namespace moat
