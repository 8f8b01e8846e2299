// AccessControl on its own: how credentials become a caller, and the audit
// events of policy reloads and approvals.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <vector>

#include "auth/access_control.h"
#include "common/file.h"

namespace moat::auth {
namespace {

using ::testing::HasSubstr;

constexpr char kPolicy[] = R"([rule operators-load]
effect = allow
principals = role:operator
actions = load
approvals = 2

[rule anyone-reads]
effect = allow
principals = *
actions = read_metadata
)";

class AccessControlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "moat-access-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    folder_ = pattern;
    policy_file_ = folder_ + "/policy.conf";
    ASSERT_TRUE(WriteFileAtomic(policy_file_, kPolicy).ok());
    AccessControlOptions options;
    options.data_dir = folder_ + "/data";
    options.policy_file = policy_file_;
    auto opened = AccessControl::Open(options);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    access_ = std::move(opened).value();
    access_->SetAuditSink([this](const audit::AuditEvent& event) { events_.push_back(event); });
    now_ = UnixNow();
    ASSERT_TRUE(access_->identities().AddAccount("alice", AccountKind::kUser, {"operator"}, now_).ok());
    auto token = access_->identities().CreateToken("alice", now_ + 600, "", now_);
    ASSERT_TRUE(token.ok());
    token_ = token->text;
  }

  void TearDown() override {
    access_.reset();
    std::filesystem::remove_all(folder_);
  }

  std::string folder_, policy_file_, token_;
  std::unique_ptr<AccessControl> access_;
  std::vector<audit::AuditEvent> events_;
  int64_t now_ = 0;
};

TEST_F(AccessControlTest, NoCredentialsIsAnonymous) {
  Credentials credentials;
  credentials.peer = "127.0.0.1:4000";
  auto caller = access_->Authenticate(credentials, now_);
  ASSERT_TRUE(caller.ok());
  EXPECT_EQ(caller->principal, "anonymous");
  EXPECT_TRUE(caller->subject.account.empty());
  ASSERT_TRUE(caller->address.has_value());
}

TEST_F(AccessControlTest, BearerSchemeIsCaseInsensitive) {
  for (const std::string& header : {"Bearer " + token_, "bearer " + token_, "BEARER   " + token_ + " "}) {
    Credentials credentials;
    credentials.authorization = header;  // `header` outlives the call
    auto caller = access_->Authenticate(credentials, now_);
    ASSERT_TRUE(caller.ok()) << caller.status().ToString();
    EXPECT_EQ(caller->principal, "alice");
    EXPECT_EQ(caller->subject.roles, std::vector<std::string>{"operator"});
  }
  Credentials basic;
  basic.authorization = "Basic YWxpY2U6c2VjcmV0";
  auto refused = access_->Authenticate(basic, now_);
  EXPECT_EQ(refused.status().code(), StatusCode::kUnauthenticated);
  EXPECT_THAT(refused.status().message(), HasSubstr("Bearer"));
}

TEST_F(AccessControlTest, ClientCertificateNamesTheAccount) {
  tls::PeerCertificate certificate;
  certificate.subject = "CN=alice";
  certificate.common_name = "alice";
  certificate.common_name_count = 1;
  Credentials credentials;
  credentials.certificate = &certificate;
  auto caller = access_->Authenticate(credentials, now_);
  ASSERT_TRUE(caller.ok()) << caller.status().ToString();
  EXPECT_EQ(caller->principal, "alice");
  EXPECT_TRUE(caller->subject.client_certificate);

  // A token of the same account is fine; one of another account is not.
  std::string alice_header = "Bearer " + token_;
  credentials.authorization = alice_header;
  auto both = access_->Authenticate(credentials, now_);
  EXPECT_TRUE(both.ok()) << both.status().ToString();
  ASSERT_TRUE(access_->identities().AddAccount("bob", AccountKind::kService, {}, now_).ok());
  auto bob_token = access_->identities().CreateToken("bob", now_ + 600, "", now_);
  ASSERT_TRUE(bob_token.ok());
  std::string bob_header = "Bearer " + bob_token->text;
  credentials.authorization = bob_header;
  auto mismatch = access_->Authenticate(credentials, now_);
  EXPECT_EQ(mismatch.status().code(), StatusCode::kUnauthenticated);
  EXPECT_THAT(mismatch.status().message(), HasSubstr("'bob'"));

  tls::PeerCertificate stranger = certificate;
  stranger.common_name = "nobody";
  stranger.subject = "CN=nobody";
  Credentials unknown;
  unknown.certificate = &stranger;
  EXPECT_EQ(access_->Authenticate(unknown, now_).status().code(), StatusCode::kUnauthenticated);
}

TEST_F(AccessControlTest, OneTimeCodeNeedsAnAccount) {
  Credentials credentials;
  credentials.one_time_code = "123456";
  auto refused = access_->Authenticate(credentials, now_);
  EXPECT_EQ(refused.status().code(), StatusCode::kUnauthenticated);
  EXPECT_THAT(refused.status().message(), HasSubstr("needs an account"));
}

TEST_F(AccessControlTest, ReloadKeepsPolicyOnBadFile) {
  std::string digest = access_->policy()->digest();
  ASSERT_TRUE(WriteFileAtomic(policy_file_, "[rule x]\neffect = allow\nprincipals = *\nactions = fly\n").ok());
  Status reload = access_->ReloadPolicy();
  EXPECT_EQ(reload.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(reload.message(), HasSubstr(":4:"));
  EXPECT_EQ(access_->policy()->digest(), digest);
  ASSERT_FALSE(events_.empty());
  EXPECT_EQ(events_.back().type, access_record::kPolicyReload);
  EXPECT_EQ(events_.back().outcome, "INVALID_ARGUMENT");

  ASSERT_TRUE(WriteFileAtomic(policy_file_, "[rule only]\neffect = allow\nprincipals = *\nactions = infer\n").ok());
  ASSERT_TRUE(access_->ReloadPolicy().ok());
  EXPECT_NE(access_->policy()->digest(), digest);
  EXPECT_EQ(access_->policy()->rule_count(), 1u);
  EXPECT_EQ(events_.back().type, access_record::kPolicyReload);
  EXPECT_EQ(events_.back().outcome, "ok");
}

TEST_F(AccessControlTest, ApprovalIsRequestedThenConsumedOnce) {
  Credentials credentials;
  std::string header = "Bearer " + token_;
  credentials.authorization = header;
  auto caller = access_->Authenticate(credentials, now_);
  ASSERT_TRUE(caller.ok());
  Operation load;
  load.action = policy::Action::kLoad;
  load.model = "fraud";
  Refusal refusal;
  auto first = access_->Authorize(*caller, load, now_, &refusal);
  ASSERT_EQ(first.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(refusal.rule, "operators-load");
  EXPECT_EQ(refusal.approvals_required, 2);
  ASSERT_FALSE(refusal.approval_id.empty());
  EXPECT_EQ(events_.back().type, access_record::kApprovalRequested);
  EXPECT_THAT(events_.back().details, HasSubstr(refusal.approval_id));

  for (const char* approver : {"carol", "dave"}) {
    auto approved = access_->approvals().Approve(refusal.approval_id, approver, refusal.approval_digest, now_);
    ASSERT_TRUE(approved.result.ok()) << approved.result.status().ToString();
  }
  Caller with_approval = *caller;
  with_approval.approval_id = refusal.approval_id;
  // Another model is another operation: the approval does not cover it.
  Operation other = load;
  other.model = "credit";
  EXPECT_FALSE(access_->Authorize(with_approval, other, now_).ok());
  auto granted = access_->Authorize(with_approval, load, now_);
  EXPECT_TRUE(granted.ok()) << granted.status().ToString();
  ASSERT_TRUE(granted.ok()) << granted.status().ToString();
  EXPECT_EQ(granted->approval_id, refusal.approval_id);
  EXPECT_FALSE(access_->Authorize(with_approval, load, now_).ok());
}

}  // namespace
}  // namespace moat::auth
