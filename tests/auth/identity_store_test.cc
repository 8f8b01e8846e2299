#include "auth/identity_store.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "auth/names.h"
#include "auth_test_util.h"

namespace moat::auth {
namespace {

using testing::FileMode;
using testing::kNow;
using testing::OpenStore;
using testing::TempDir;

using Roles = std::vector<std::string>;

class IdentityStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = OpenStore(dir_.File("data"));
    ASSERT_NE(store_, nullptr);
  }

  TempDir dir_;
  std::unique_ptr<IdentityStore> store_;
};

TEST_F(IdentityStoreTest, OpenCreatesPrivateFolderAndFile) {
  EXPECT_EQ(FileMode(dir_.File("data")), 0700);
  EXPECT_EQ(FileMode(dir_.File("data/state.db")), 0600);
}

TEST(IdentityStoreOpen, RejectsMissingParentAndFile) {
  TempDir dir;
  StatusOr<std::unique_ptr<IdentityStore>> missing_parent = IdentityStore::Open(dir.File("a/b"));
  ASSERT_FALSE(missing_parent.ok());
  EXPECT_EQ(missing_parent.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(missing_parent.status().message().find(dir.File("a/b")), std::string::npos);

  { std::ofstream(dir.File("plain")) << "x"; }
  StatusOr<std::unique_ptr<IdentityStore>> file = IdentityStore::Open(dir.File("plain"));
  ASSERT_FALSE(file.ok());
  EXPECT_EQ(file.status().code(), StatusCode::kFailedPrecondition);

  StatusOr<std::unique_ptr<IdentityStore>> empty = IdentityStore::Open("");
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.status().code(), StatusCode::kInvalidArgument);
}

TEST(IdentityStoreOpen, RejectsNewerSchema) {
  TempDir dir;
  { ASSERT_NE(OpenStore(dir.path()), nullptr); }
  {
    StatusOr<std::unique_ptr<Database>> database = Database::Open(dir.File("state.db"));
    ASSERT_TRUE(database.ok());
    ASSERT_TRUE((*database)->Exec("UPDATE identity_schema SET version = 2").ok());
  }
  StatusOr<std::unique_ptr<IdentityStore>> store = IdentityStore::Open(dir.path());
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(store.status().message().find("version 2"), std::string::npos) << store.status().message();
}

TEST_F(IdentityStoreTest, AddAndListAccounts) {
  ASSERT_TRUE(store_->AddAccount("alice", AccountKind::kUser, {"operator", "auditor", "operator"}, kNow).ok());
  ASSERT_TRUE(store_->AddAccount("batch-job@plant.example", AccountKind::kService, {}, kNow + 5).ok());

  std::vector<AccountInfo> accounts = store_->ListAccounts();
  ASSERT_EQ(accounts.size(), 2u);
  EXPECT_EQ(accounts[0].name, "alice");
  EXPECT_EQ(accounts[0].kind, AccountKind::kUser);
  EXPECT_EQ(accounts[0].roles, (Roles{"auditor", "operator"}));
  EXPECT_TRUE(accounts[0].groups.empty());
  EXPECT_FALSE(accounts[0].disabled);
  EXPECT_EQ(accounts[0].created_at, kNow);
  EXPECT_EQ(accounts[0].token_count, 0);
  EXPECT_EQ(accounts[1].name, "batch-job@plant.example");
  EXPECT_EQ(accounts[1].kind, AccountKind::kService);
  EXPECT_TRUE(accounts[1].roles.empty());
  EXPECT_EQ(accounts[1].created_at, kNow + 5);

  StatusOr<AccountInfo> alice = store_->GetAccount("alice");
  ASSERT_TRUE(alice.ok()) << alice.status().ToString();
  EXPECT_EQ(alice->roles, (Roles{"auditor", "operator"}));
}

TEST_F(IdentityStoreTest, DuplicateAccountIsAlreadyExists) {
  ASSERT_TRUE(store_->AddAccount("alice", AccountKind::kUser, {}, kNow).ok());
  Status status = store_->AddAccount("alice", AccountKind::kService, {"admin"}, kNow);
  EXPECT_EQ(status.code(), StatusCode::kAlreadyExists);
  EXPECT_NE(status.message().find("'alice'"), std::string::npos) << status.message();
  // Nothing of the failed call was kept.
  StatusOr<AccountInfo> alice = store_->GetAccount("alice");
  ASSERT_TRUE(alice.ok());
  EXPECT_EQ(alice->kind, AccountKind::kUser);
  EXPECT_TRUE(alice->roles.empty());
}

TEST_F(IdentityStoreTest, InvalidNamesNameTheValue) {
  struct Case {
    std::string name;
    std::string shown;
  };
  const std::vector<Case> cases = {
      {"", "''"},
      {std::string(65, 'a'), "65 bytes"},
      {"bob smith", "'bob smith'"},
      {"bob/../x", "'bob/../x'"},
      {"caf\xc3\xa9", "'caf\\xc3\\xa9'"},
      {std::string("a\0b", 3), "'a\\x00b'"},
      {"o'hara", "'o\\x27hara'"},
  };
  for (const Case& c : cases) {
    Status status = store_->AddAccount(c.name, AccountKind::kUser, {}, kNow);
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << c.shown;
    EXPECT_NE(status.message().find("account name"), std::string::npos) << status.message();
    EXPECT_NE(status.message().find(c.shown), std::string::npos) << status.message();
  }
  EXPECT_TRUE(store_->ListAccounts().empty());

  EXPECT_TRUE(store_->AddAccount(std::string(64, 'a'), AccountKind::kUser, {}, kNow).ok());
  EXPECT_TRUE(store_->AddAccount("A-Z.a_z@0-9", AccountKind::kUser, {}, kNow).ok());
}

TEST_F(IdentityStoreTest, InvalidRoleNamesTheRole) {
  Status status = store_->AddAccount("alice", AccountKind::kUser, {"ok", "not ok"}, kNow);
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("role name 'not ok'"), std::string::npos) << status.message();
  EXPECT_EQ(store_->GetAccount("alice").status().code(), StatusCode::kNotFound);
}

TEST_F(IdentityStoreTest, AccountKindNamesRoundTrip) {
  EXPECT_EQ(AccountKindName(AccountKind::kUser), "user");
  EXPECT_EQ(AccountKindName(AccountKind::kService), "service");
  StatusOr<AccountKind> service = ParseAccountKind("service");
  ASSERT_TRUE(service.ok());
  EXPECT_EQ(*service, AccountKind::kService);
  StatusOr<AccountKind> robot = ParseAccountKind("robot");
  ASSERT_FALSE(robot.ok());
  EXPECT_NE(robot.status().message().find("'robot'"), std::string::npos);
}

TEST_F(IdentityStoreTest, DisableAndEnableAccount) {
  ASSERT_TRUE(store_->AddAccount("alice", AccountKind::kUser, {}, kNow).ok());
  ASSERT_TRUE(store_->DisableAccount("alice").ok());
  EXPECT_TRUE(store_->GetAccount("alice")->disabled);
  EXPECT_TRUE(store_->DisableAccount("alice").ok()) << "disabling twice is not an error";
  ASSERT_TRUE(store_->EnableAccount("alice").ok());
  EXPECT_FALSE(store_->GetAccount("alice")->disabled);

  Status missing = store_->DisableAccount("bob");
  EXPECT_EQ(missing.code(), StatusCode::kNotFound);
  EXPECT_NE(missing.message().find("'bob'"), std::string::npos) << missing.message();
  EXPECT_EQ(store_->EnableAccount("bob").code(), StatusCode::kNotFound);
}

TEST_F(IdentityStoreTest, SetRolesReplacesRoles) {
  ASSERT_TRUE(store_->AddAccount("alice", AccountKind::kUser, {"viewer"}, kNow).ok());
  ASSERT_TRUE(store_->SetRoles("alice", {"operator", "admin"}).ok());
  EXPECT_EQ(store_->GetAccount("alice")->roles, (Roles{"admin", "operator"}));
  ASSERT_TRUE(store_->SetRoles("alice", {}).ok());
  EXPECT_TRUE(store_->GetAccount("alice")->roles.empty());
  EXPECT_EQ(store_->SetRoles("bob", {"admin"}).code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->SetRoles("alice", {"bad role"}).code(), StatusCode::kInvalidArgument);
}

TEST_F(IdentityStoreTest, GroupsAndMemberships) {
  ASSERT_TRUE(store_->AddAccount("alice", AccountKind::kUser, {}, kNow).ok());
  ASSERT_TRUE(store_->AddAccount("bob", AccountKind::kUser, {}, kNow).ok());
  ASSERT_TRUE(store_->AddGroup("radiology", kNow + 1).ok());
  ASSERT_TRUE(store_->AddGroup("oncology", kNow + 2).ok());
  ASSERT_TRUE(store_->AddMember("radiology", "bob").ok());
  ASSERT_TRUE(store_->AddMember("radiology", "alice").ok());
  ASSERT_TRUE(store_->AddMember("oncology", "alice").ok());

  std::vector<GroupInfo> groups = store_->ListGroups();
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups[0].name, "oncology");
  EXPECT_EQ(groups[0].created_at, kNow + 2);
  EXPECT_EQ(groups[0].members, (Roles{"alice"}));
  EXPECT_EQ(groups[1].name, "radiology");
  EXPECT_EQ(groups[1].members, (Roles{"alice", "bob"}));
  EXPECT_EQ(store_->GetAccount("alice")->groups, (Roles{"oncology", "radiology"}));

  ASSERT_TRUE(store_->RemoveMember("radiology", "alice").ok());
  EXPECT_EQ(store_->GetAccount("alice")->groups, (Roles{"oncology"}));

  ASSERT_TRUE(store_->RemoveGroup("oncology").ok());
  EXPECT_TRUE(store_->GetAccount("alice")->groups.empty());
  ASSERT_EQ(store_->ListGroups().size(), 1u);

  // A group of the same name starts empty: the memberships went with it.
  ASSERT_TRUE(store_->AddGroup("oncology", kNow + 3).ok());
  EXPECT_TRUE(store_->ListGroups()[0].members.empty());
}

TEST_F(IdentityStoreTest, GroupErrorsNameTheValues) {
  ASSERT_TRUE(store_->AddAccount("alice", AccountKind::kUser, {}, kNow).ok());
  ASSERT_TRUE(store_->AddGroup("radiology", kNow).ok());

  Status duplicate = store_->AddGroup("radiology", kNow);
  EXPECT_EQ(duplicate.code(), StatusCode::kAlreadyExists);
  EXPECT_NE(duplicate.message().find("'radiology'"), std::string::npos) << duplicate.message();

  Status no_group = store_->AddMember("surgery", "alice");
  EXPECT_EQ(no_group.code(), StatusCode::kNotFound);
  EXPECT_NE(no_group.message().find("group 'surgery'"), std::string::npos) << no_group.message();

  Status no_account = store_->AddMember("radiology", "carol");
  EXPECT_EQ(no_account.code(), StatusCode::kNotFound);
  EXPECT_NE(no_account.message().find("account 'carol'"), std::string::npos) << no_account.message();

  ASSERT_TRUE(store_->AddMember("radiology", "alice").ok());
  Status member_twice = store_->AddMember("radiology", "alice");
  EXPECT_EQ(member_twice.code(), StatusCode::kAlreadyExists);
  EXPECT_NE(member_twice.message().find("'alice'"), std::string::npos) << member_twice.message();

  ASSERT_TRUE(store_->RemoveMember("radiology", "alice").ok());
  Status not_member = store_->RemoveMember("radiology", "alice");
  EXPECT_EQ(not_member.code(), StatusCode::kNotFound);
  EXPECT_NE(not_member.message().find("not a member"), std::string::npos) << not_member.message();

  EXPECT_EQ(store_->RemoveGroup("surgery").code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->AddGroup("bad group", kNow).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->AddMember("radiology", "").code(), StatusCode::kInvalidArgument);
}

TEST_F(IdentityStoreTest, IdentityOfCertificateAccount) {
  ASSERT_TRUE(store_->AddAccount("scanner-7", AccountKind::kService, {"infer", "health"}, kNow).ok());
  ASSERT_TRUE(store_->AddGroup("devices", kNow).ok());
  ASSERT_TRUE(store_->AddMember("devices", "scanner-7").ok());

  StatusOr<Identity> identity = store_->IdentityOf("scanner-7");
  ASSERT_TRUE(identity.ok()) << identity.status().ToString();
  EXPECT_EQ(identity->account, "scanner-7");
  EXPECT_EQ(identity->kind, AccountKind::kService);
  EXPECT_EQ(identity->roles, (Roles{"health", "infer"}));
  EXPECT_EQ(identity->groups, (Roles{"devices"}));
  EXPECT_TRUE(identity->token_id.empty());
  EXPECT_FALSE(identity->expires_at.has_value());

  ASSERT_TRUE(store_->DisableAccount("scanner-7").ok());
  StatusOr<Identity> disabled = store_->IdentityOf("scanner-7");
  ASSERT_FALSE(disabled.ok());
  EXPECT_EQ(disabled.status().code(), StatusCode::kUnauthenticated);
  EXPECT_NE(disabled.status().message().find("disabled"), std::string::npos);

  StatusOr<Identity> unknown = store_->IdentityOf("CN=unknown, O=x");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().code(), StatusCode::kUnauthenticated);
  EXPECT_NE(unknown.status().message().find("'CN=unknown, O=x'"), std::string::npos) << unknown.status().message();
}

TEST_F(IdentityStoreTest, StatePersistsAcrossReopen) {
  ASSERT_TRUE(store_->AddAccount("alice", AccountKind::kUser, {"admin"}, kNow).ok());
  ASSERT_TRUE(store_->AddGroup("ops", kNow).ok());
  ASSERT_TRUE(store_->AddMember("ops", "alice").ok());
  ASSERT_TRUE(store_->AddAccount("bob", AccountKind::kService, {}, kNow).ok());
  ASSERT_TRUE(store_->DisableAccount("bob").ok());
  store_.reset();

  std::unique_ptr<IdentityStore> reopened = OpenStore(dir_.File("data"));
  ASSERT_NE(reopened, nullptr);
  std::vector<AccountInfo> accounts = reopened->ListAccounts();
  ASSERT_EQ(accounts.size(), 2u);
  EXPECT_EQ(accounts[0].roles, (Roles{"admin"}));
  EXPECT_EQ(accounts[0].groups, (Roles{"ops"}));
  EXPECT_TRUE(accounts[1].disabled);
  EXPECT_EQ(accounts[1].kind, AccountKind::kService);
}

TEST_F(IdentityStoreTest, SecondStoreSeesChangesAfterRefresh) {
  std::unique_ptr<IdentityStore> other = OpenStore(dir_.File("data"));
  ASSERT_NE(other, nullptr);
  ASSERT_TRUE(store_->AddAccount("alice", AccountKind::kUser, {}, kNow).ok());
  EXPECT_TRUE(other->ListAccounts().empty()) << "the snapshot changes only on Refresh";

  ASSERT_TRUE(other->Refresh().ok());
  ASSERT_EQ(other->ListAccounts().size(), 1u);

  ASSERT_TRUE(store_->DisableAccount("alice").ok());
  ASSERT_TRUE(other->Refresh().ok());
  EXPECT_TRUE(other->GetAccount("alice")->disabled);
  // Nothing changed since: Refresh keeps the snapshot.
  ASSERT_TRUE(other->Refresh().ok());
  EXPECT_TRUE(other->GetAccount("alice")->disabled);
}

TEST(Names, QuotedEscapesAndCuts) {
  EXPECT_EQ(Quoted("abc"), "'abc'");
  EXPECT_EQ(Quoted("a\nb"), "'a\\x0ab'");
  EXPECT_EQ(Quoted("back\\slash"), "'back\\x5cslash'");
  std::string long_text(100, 'x');
  EXPECT_EQ(Quoted(long_text), "'" + std::string(80, 'x') + "'... (100 bytes)");
}

}  // namespace
}  // namespace moat::auth
