// The access commands of the moat binary end to end: `moat init` on a new
// state folder, and token, user and approval commands against the
// fixture's gRPC management service.
#include "auth/identity_store.h"
#include "management/management_fixture.h"
#include "testing/run_command.h"

namespace moat::testing {
namespace {

class ManagementCliTest : public ManagementFixture {
 protected:
  // Runs `moat ARGS` against the fixture's gRPC service as `account`.
  RunResult Moat(const std::string& args, const std::string& account = "alice", bool stdout_only = false) {
    std::string command = std::string(MOAT_BINARY) + " " + args + " --protocol grpc --url 127.0.0.1:" +
                          std::to_string(grpc_port_);
    if (!account.empty()) command = "MOAT_TOKEN=" + tokens_.at(account) + " " + command;
    if (stdout_only) command = "( " + command + " 2>/dev/null )";
    return RunCommand(command);
  }
};

TEST_F(ManagementCliTest, InitCreatesFirstAdministrator) {
  const std::string data_dir = dir_ + "/fresh";
  RunResult init = RunCommand("( " + std::string(MOAT_BINARY) + " init --data-dir " + data_dir +
                              " --admin root --token-days 2 2>/dev/null )");
  ASSERT_EQ(init.exit_code, 0) << init.output;
  const std::string token = init.output.substr(0, init.output.find('\n'));
  EXPECT_EQ(init.output, token + "\n") << "stdout holds the token alone";

  StatusOr<std::unique_ptr<auth::IdentityStore>> store = auth::IdentityStore::Open(data_dir);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  StatusOr<auth::Identity> identity = (*store)->Authenticate(token, Now());
  ASSERT_TRUE(identity.ok()) << identity.status().ToString();
  EXPECT_EQ(identity->account, "root");
  EXPECT_EQ(identity->roles, std::vector<std::string>{"admin"});
  ASSERT_TRUE(identity->expires_at.has_value());
  EXPECT_LE(*identity->expires_at - Now(), 2 * 86400);

  RunResult again = RunCommand(std::string(MOAT_BINARY) + " init --data-dir " + data_dir + " --admin other");
  EXPECT_EQ(again.exit_code, 1) << again.output;
  EXPECT_TRUE(Contains(again.output, "root")) << again.output;
  EXPECT_FALSE((*store)->GetAccount("other").ok());

  RunResult bad = RunCommand(std::string(MOAT_BINARY) + " init --data-dir " + dir_ + "/bad --admin 'a b'");
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_TRUE(Contains(bad.output, "a b")) << bad.output;
}

TEST_F(ManagementCliTest, TokenCreatePrintsTokenAlone) {
  RunResult created = Moat("token create --account bob --days 3 --description cli", "alice", true);
  ASSERT_EQ(created.exit_code, 0) << created.output;
  const std::string token = created.output.substr(0, created.output.find('\n'));
  EXPECT_EQ(created.output, token + "\n");
  StatusOr<auth::Identity> identity = access_->identities().Authenticate(token, Now());
  ASSERT_TRUE(identity.ok()) << identity.status().ToString();
  EXPECT_EQ(identity->account, "bob");

  RunResult with_warning = Moat("token create", "bob");
  ASSERT_EQ(with_warning.exit_code, 1) << "bob has no rule to create tokens: " << with_warning.output;
  EXPECT_TRUE(Contains(with_warning.output, "permission denied")) << with_warning.output;

  RunResult warned = Moat("token create --days 1", "alice");
  ASSERT_EQ(warned.exit_code, 0) << warned.output;
  EXPECT_TRUE(Contains(warned.output, "cannot be shown again")) << warned.output;

  tokens_["bob-cli"] = token;
  RunResult listed = Moat("token list", "bob-cli");
  ASSERT_EQ(listed.exit_code, 0) << listed.output;
  EXPECT_TRUE(Contains(listed.output, identity->token_id)) << listed.output;
  RunResult revoked = Moat("token revoke " + identity->token_id, "bob-cli");
  ASSERT_EQ(revoked.exit_code, 0) << revoked.output;
  EXPECT_TRUE(Contains(revoked.output, "revoked")) << revoked.output;
  EXPECT_FALSE(access_->identities().Authenticate(token, Now()).ok());
}

TEST_F(ManagementCliTest, UserAddListAndWhoAmI) {
  RunResult added = Moat("user add dave --kind service --role reader");
  ASSERT_EQ(added.exit_code, 0) << added.output;
  EXPECT_TRUE(Contains(added.output, "dave\tservice\troles=reader")) << added.output;
  RunResult listed = Moat("user list --json");
  ASSERT_EQ(listed.exit_code, 0) << listed.output;
  EXPECT_TRUE(Contains(listed.output, "\"name\": \"dave\"")) << listed.output;
  RunResult whoami = Moat("whoami", "bob");
  ASSERT_EQ(whoami.exit_code, 0) << whoami.output;
  EXPECT_TRUE(Contains(whoami.output, "account: bob")) << whoami.output;
  RunResult denied = Moat("user disable alice", "mallory");
  EXPECT_EQ(denied.exit_code, 1) << denied.output;
}

TEST_F(ManagementCliTest, ApprovalsEndToEnd) {
  RunResult waiting = Moat("user add svc-report --kind service");
  ASSERT_EQ(waiting.exit_code, 3) << waiting.output;
  const size_t at = waiting.output.find("pending approval: ");
  ASSERT_NE(at, std::string::npos) << waiting.output;
  const std::string id = waiting.output.substr(at + 18, 32);
  EXPECT_TRUE(Contains(waiting.output, "--approval " + id)) << waiting.output;

  RunResult listed = Moat("approvals list", "bob");
  ASSERT_EQ(listed.exit_code, 0) << listed.output;
  EXPECT_TRUE(Contains(listed.output, id)) << listed.output;
  EXPECT_TRUE(Contains(listed.output, "svc-report")) << listed.output;

  RunResult self = Moat("approvals approve " + id, "alice");
  EXPECT_EQ(self.exit_code, 1) << self.output;
  RunResult first = Moat("approvals approve " + id, "bob");
  ASSERT_EQ(first.exit_code, 0) << first.output;
  EXPECT_TRUE(Contains(first.output, "approving: ")) << first.output;
  EXPECT_TRUE(Contains(first.output, "digest ")) << first.output;
  RunResult wrong = Moat("approvals approve " + id + " --digest 00", "carol");
  EXPECT_EQ(wrong.exit_code, 1) << wrong.output;
  RunResult second = Moat("approvals approve " + id, "carol");
  ASSERT_EQ(second.exit_code, 0) << second.output;
  EXPECT_TRUE(Contains(second.output, "approved (2 of 2 approvals")) << second.output;

  RunResult done = Moat("user add svc-report --kind service --approval " + id);
  ASSERT_EQ(done.exit_code, 0) << done.output;
  EXPECT_TRUE(access_->identities().GetAccount("svc-report").ok());
}

}  // namespace
}  // namespace moat::testing
