#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "auth/api_token.h"
#include "auth/identity_store.h"
#include "auth_test_util.h"

namespace moat::auth {
namespace {

using testing::kDay;
using testing::kNow;
using testing::OpenStore;
using testing::ReadBytes;
using testing::TempDir;

class IdentityTokenTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = OpenStore(dir_.path());
    ASSERT_NE(store_, nullptr);
    ASSERT_TRUE(store_->AddAccount("alice", AccountKind::kUser, {"operator", "auditor"}, kNow).ok());
    ASSERT_TRUE(store_->AddGroup("radiology", kNow).ok());
    ASSERT_TRUE(store_->AddMember("radiology", "alice").ok());
  }

  CreatedToken Create(const std::string& account = "alice", int64_t expires_at = kNow + 30 * kDay) {
    StatusOr<CreatedToken> token = store_->CreateToken(account, expires_at, "test token", kNow);
    EXPECT_TRUE(token.ok()) << token.status().ToString();
    return token.ok() ? *token : CreatedToken{};
  }

  void ExpectUnauthenticated(std::string_view text, int64_t now, const std::string& fragment) {
    StatusOr<Identity> identity = store_->Authenticate(text, now);
    ASSERT_FALSE(identity.ok()) << fragment;
    EXPECT_EQ(identity.status().code(), StatusCode::kUnauthenticated) << identity.status().ToString();
    EXPECT_NE(identity.status().message().find(fragment), std::string::npos) << identity.status().message();
    // No message ever contains the secret part of what was presented.
    if (text.size() == kApiTokenLength) {
      std::string_view secret = text.substr(kApiTokenLength - kApiTokenSecretLength);
      EXPECT_EQ(identity.status().message().find(secret), std::string::npos) << identity.status().message();
    }
  }

  TempDir dir_;
  std::unique_ptr<IdentityStore> store_;
};

std::string SecretOf(const CreatedToken& token) { return token.text.substr(kApiTokenLength - kApiTokenSecretLength); }

TEST_F(IdentityTokenTest, CreatedTokenAuthenticates) {
  CreatedToken token = Create();
  ASSERT_EQ(token.text.size(), kApiTokenLength);
  EXPECT_EQ(token.text.substr(0, 5), "moat_");
  EXPECT_EQ(token.text.substr(5, 16), token.id);

  StatusOr<Identity> identity = store_->Authenticate(token.text, kNow + 1);
  ASSERT_TRUE(identity.ok()) << identity.status().ToString();
  EXPECT_EQ(identity->account, "alice");
  EXPECT_EQ(identity->kind, AccountKind::kUser);
  EXPECT_EQ(identity->roles, (std::vector<std::string>{"auditor", "operator"}));
  EXPECT_EQ(identity->groups, (std::vector<std::string>{"radiology"}));
  EXPECT_EQ(identity->token_id, token.id);
  EXPECT_EQ(identity->expires_at, kNow + 30 * kDay);
}

TEST_F(IdentityTokenTest, ListShowsTokensWithoutSecret) {
  CreatedToken first = Create();
  ASSERT_TRUE(store_->AddAccount("bob", AccountKind::kService, {}, kNow).ok());
  CreatedToken second = Create("bob");

  StatusOr<std::vector<TokenInfo>> all = store_->ListTokens();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  StatusOr<std::vector<TokenInfo>> alice = store_->ListTokens("alice");
  ASSERT_TRUE(alice.ok());
  ASSERT_EQ(alice->size(), 1u);
  const TokenInfo& info = (*alice)[0];
  EXPECT_EQ(info.id, first.id);
  EXPECT_EQ(info.account, "alice");
  EXPECT_EQ(info.created_at, kNow);
  EXPECT_EQ(info.expires_at, kNow + 30 * kDay);
  EXPECT_FALSE(info.revoked_at.has_value());
  EXPECT_EQ(info.description, "test token");
  EXPECT_EQ(store_->GetAccount("alice")->token_count, 1);

  StatusOr<std::vector<TokenInfo>> unknown = store_->ListTokens("carol");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().code(), StatusCode::kNotFound);
  EXPECT_NE(second.id, first.id);
}

TEST_F(IdentityTokenTest, WrongSecretRefused) {
  CreatedToken token = Create();
  StatusOr<ApiTokenParts> other = GenerateApiToken();
  ASSERT_TRUE(other.ok());
  std::string forged = FormatApiToken({token.id, other->secret});
  ExpectUnauthenticated(forged, kNow, "API token " + token.id + " has a wrong secret");
}

TEST_F(IdentityTokenTest, FlippedCharacterRefused) {
  CreatedToken token = Create();
  // Change each position of the secret but the last (whose change could
  // also make the text non-canonical) to another base64url character.
  for (size_t i = kApiTokenLength - kApiTokenSecretLength; i + 1 < kApiTokenLength; ++i) {
    std::string flipped = token.text;
    flipped[i] = flipped[i] == 'A' ? 'B' : 'A';
    ExpectUnauthenticated(flipped, kNow, "wrong secret");
  }
  // In the id, a flipped digit names a token that does not exist.
  std::string flipped_id = token.text;
  flipped_id[5] = flipped_id[5] == '0' ? '1' : '0';
  ExpectUnauthenticated(flipped_id, kNow, "unknown API token id");
  // An upper-case letter or a dropped character makes it malformed.
  std::string upper = token.text;
  upper[0] = 'M';
  ExpectUnauthenticated(upper, kNow, "malformed API token");
  ExpectUnauthenticated(token.text.substr(1), kNow, "malformed API token");
  ExpectUnauthenticated("Bearer " + token.text, kNow, "malformed API token");
}

TEST_F(IdentityTokenTest, RevokedTokenRefused) {
  CreatedToken token = Create();
  ASSERT_TRUE(store_->RevokeToken(token.id, kNow + 10).ok());
  ExpectUnauthenticated(token.text, kNow + 11, "API token " + token.id + " was revoked");
  EXPECT_EQ(store_->GetAccount("alice")->token_count, 0);

  // Revoking again keeps the first time.
  ASSERT_TRUE(store_->RevokeToken(token.id, kNow + 99).ok());
  StatusOr<std::vector<TokenInfo>> tokens = store_->ListTokens("alice");
  ASSERT_TRUE(tokens.ok());
  EXPECT_EQ((*tokens)[0].revoked_at, kNow + 10);

  Status unknown = store_->RevokeToken("00000000000000ff", kNow);
  EXPECT_EQ(unknown.code(), StatusCode::kNotFound);
  EXPECT_NE(unknown.message().find("00000000000000ff"), std::string::npos) << unknown.message();
  EXPECT_EQ(store_->RevokeToken("not-an-id", kNow).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->RevokeToken(token.text, kNow).code(), StatusCode::kInvalidArgument);
}

TEST_F(IdentityTokenTest, ExpiresAtTheExactSecond) {
  CreatedToken token = Create("alice", kNow + 100);
  EXPECT_TRUE(store_->Authenticate(token.text, kNow + 99).ok());
  ExpectUnauthenticated(token.text, kNow + 100, "expired at " + std::to_string(kNow + 100));
  ExpectUnauthenticated(token.text, kNow + 101, "expired");
}

TEST_F(IdentityTokenTest, DisabledAccountRefusedUntilEnabled) {
  CreatedToken token = Create();
  ASSERT_TRUE(store_->DisableAccount("alice").ok());
  ExpectUnauthenticated(token.text, kNow, "account 'alice' of API token " + token.id + " is disabled");
  ASSERT_TRUE(store_->EnableAccount("alice").ok());
  EXPECT_TRUE(store_->Authenticate(token.text, kNow).ok());

  ASSERT_TRUE(store_->DisableAccount("alice").ok());
  StatusOr<CreatedToken> refused = store_->CreateToken("alice", kNow + kDay, "", kNow);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kFailedPrecondition);
}

TEST_F(IdentityTokenTest, ExpiryMustBeWithin366Days) {
  const int64_t latest = kNow + 366 * kDay;
  EXPECT_TRUE(store_->CreateToken("alice", latest, "", kNow).ok());
  EXPECT_TRUE(store_->CreateToken("alice", kNow + 1, "", kNow).ok());

  for (int64_t expires_at : {latest + 1, kNow, kNow - 1, int64_t{0}, INT64_MAX}) {
    StatusOr<CreatedToken> token = store_->CreateToken("alice", expires_at, "", kNow);
    ASSERT_FALSE(token.ok()) << expires_at;
    EXPECT_EQ(token.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(token.status().message().find(std::to_string(expires_at)), std::string::npos)
        << token.status().message();
  }
}

TEST_F(IdentityTokenTest, CreateRejectsBadAccountAndDescription) {
  EXPECT_EQ(store_->CreateToken("carol", kNow + kDay, "", kNow).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->CreateToken("bad name", kNow + kDay, "", kNow).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->CreateToken("alice", kNow + kDay, std::string(257, 'd'), kNow).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->CreateToken("alice", kNow + kDay, "line\nbreak", kNow).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->CreateToken("alice", kNow + kDay, "\xff\xfe", kNow).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_TRUE(store_->CreateToken("alice", kNow + kDay, "Grafana scraper, Zürich", kNow).ok());
  EXPECT_TRUE(store_->CreateToken("alice", kNow + kDay, std::string(256, 'd'), kNow).ok());
}

TEST_F(IdentityTokenTest, ReopenKeepsTokensAndNoSecretInFiles) {
  CreatedToken live = Create();
  CreatedToken revoked = Create();
  ASSERT_TRUE(store_->RevokeToken(revoked.id, kNow).ok());
  store_.reset();

  std::unique_ptr<IdentityStore> reopened = OpenStore(dir_.path());
  ASSERT_NE(reopened, nullptr);
  StatusOr<Identity> identity = reopened->Authenticate(live.text, kNow + 1);
  ASSERT_TRUE(identity.ok()) << identity.status().ToString();
  EXPECT_EQ(identity->account, "alice");
  StatusOr<Identity> refused = reopened->Authenticate(revoked.text, kNow + 1);
  EXPECT_EQ(refused.status().code(), StatusCode::kUnauthenticated);

  // Neither the database nor its WAL contains a secret, only its hash.
  for (const char* file : {"state.db", "state.db-wal"}) {
    std::string bytes = ReadBytes(dir_.File(file));
    for (const CreatedToken& token : {live, revoked}) {
      EXPECT_EQ(bytes.find(SecretOf(token)), std::string::npos) << file;
      EXPECT_EQ(bytes.find(token.text), std::string::npos) << file;
    }
  }
  std::string database = ReadBytes(dir_.File("state.db")) + ReadBytes(dir_.File("state.db-wal"));
  EXPECT_NE(database.find(live.id), std::string::npos) << "the id is stored in clear";
}

TEST_F(IdentityTokenTest, SecondStoreSeesTokensAfterRefresh) {
  std::unique_ptr<IdentityStore> server = OpenStore(dir_.path());
  ASSERT_NE(server, nullptr);
  CreatedToken token = Create();
  EXPECT_EQ(server->Authenticate(token.text, kNow).status().code(), StatusCode::kUnauthenticated);
  ASSERT_TRUE(server->Refresh().ok());
  EXPECT_TRUE(server->Authenticate(token.text, kNow).ok());

  ASSERT_TRUE(store_->RevokeToken(token.id, kNow + 1).ok());
  ASSERT_TRUE(server->Refresh().ok());
  EXPECT_EQ(server->Authenticate(token.text, kNow + 2).status().code(), StatusCode::kUnauthenticated);
}

TEST_F(IdentityTokenTest, ConcurrentAuthenticateDuringWrites) {
  constexpr int kReaders = 8;
  constexpr int kWrites = 40;
  CreatedToken stable = Create();
  std::atomic<bool> done{false};
  std::atomic<int> failures{0};
  std::atomic<int64_t> checks{0};

  std::vector<std::thread> readers;
  for (int i = 0; i < kReaders; ++i) {
    readers.emplace_back([&] {
      // Each reader checks at least a few times even if the writer is fast.
      for (int round = 0; !done.load() || round < 10; ++round) {
        StatusOr<Identity> identity = store_->Authenticate(stable.text, kNow + 1);
        if (!identity.ok() || identity->account != "alice") ++failures;
        ++checks;
      }
    });
  }

  std::thread writer([&] {
    for (int i = 0; i < kWrites; ++i) {
      StatusOr<CreatedToken> token = store_->CreateToken("alice", kNow + kDay, "churn", kNow);
      if (!token.ok() || !store_->Authenticate(token->text, kNow + 1).ok()) {
        ++failures;
        continue;
      }
      if (!store_->RevokeToken(token->id, kNow + 1).ok() ||
          store_->Authenticate(token->text, kNow + 2).status().code() != StatusCode::kUnauthenticated) {
        ++failures;
      }
    }
    done = true;
  });

  writer.join();
  for (std::thread& reader : readers) reader.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_GE(checks.load(), kReaders * 10);
  StatusOr<std::vector<TokenInfo>> tokens = store_->ListTokens("alice");
  ASSERT_TRUE(tokens.ok());
  EXPECT_EQ(tokens->size(), static_cast<size_t>(kWrites + 1));
  EXPECT_EQ(store_->GetAccount("alice")->token_count, 1);
}

}  // namespace
}  // namespace moat::auth
