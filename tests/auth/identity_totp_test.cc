#include <gtest/gtest.h>

#include <string>

#include "auth/base32.h"
#include "auth/identity_store.h"
#include "auth/totp.h"
#include "auth_test_util.h"
#include "common/crypto.h"

namespace moat::auth {
namespace {

using testing::kNow;
using testing::OpenStore;
using testing::ReadBytes;
using testing::TempDir;

// kNow is 20 s into its 30-second step, so kNow - 30 and kNow + 30 fall in
// the steps before and after.
constexpr int64_t kStep = 30;

class IdentityTotpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = OpenStore(dir_.path());
    ASSERT_NE(store_, nullptr);
    ASSERT_TRUE(store_->AddAccount("alice", AccountKind::kUser, {}, kNow).ok());
    StatusOr<TotpEnrolment> enrolment = store_->EnrolTotp("alice", kNow);
    ASSERT_TRUE(enrolment.ok()) << enrolment.status().ToString();
    enrolment_ = *enrolment;
    StatusOr<std::string> secret = Base32Decode(enrolment_.secret_base32);
    ASSERT_TRUE(secret.ok()) << secret.status().ToString();
    secret_ = *secret;
  }

  // The code an authenticator app shows at `time`.
  std::string CodeAt(int64_t time) const { return TotpCode(AsBytes(secret_), time, TotpParameters{}); }

  // A 6-digit code that matches none of the steps around `time`.
  std::string WrongCodeAt(int64_t time) const {
    for (int candidate = 0;; ++candidate) {
      std::string code = std::to_string(100000 + candidate);
      if (code != CodeAt(time - kStep) && code != CodeAt(time) && code != CodeAt(time + kStep)) return code;
    }
  }

  TempDir dir_;
  std::unique_ptr<IdentityStore> store_;
  TotpEnrolment enrolment_;
  std::string secret_;
};

TEST_F(IdentityTotpTest, EnrolmentShowsSecretAndUri) {
  EXPECT_EQ(secret_.size(), 20u);
  EXPECT_EQ(enrolment_.secret_base32.size(), 32u);
  EXPECT_EQ(enrolment_.uri, "otpauth://totp/Moat:alice?secret=" + enrolment_.secret_base32 +
                                "&issuer=Moat&algorithm=SHA1&digits=6&period=30");
  StatusOr<bool> has = store_->HasTotp("alice");
  ASSERT_TRUE(has.ok());
  EXPECT_TRUE(*has);
}

TEST_F(IdentityTotpTest, AcceptsCurrentCode) {
  EXPECT_TRUE(store_->VerifyTotp("alice", CodeAt(kNow), kNow).ok());
}

TEST_F(IdentityTotpTest, DriftWindowIsOneStepEachWay) {
  EXPECT_TRUE(store_->VerifyTotp("alice", CodeAt(kNow - kStep), kNow).ok());
  EXPECT_TRUE(store_->VerifyTotp("alice", CodeAt(kNow + kStep), kNow).ok());
}

TEST_F(IdentityTotpTest, StepsTwoAwayRefused) {
  Status early = store_->VerifyTotp("alice", CodeAt(kNow - 2 * kStep), kNow);
  EXPECT_EQ(early.code(), StatusCode::kPermissionDenied) << early.ToString();
  Status late = store_->VerifyTotp("alice", CodeAt(kNow + 2 * kStep), kNow);
  EXPECT_EQ(late.code(), StatusCode::kPermissionDenied) << late.ToString();
  EXPECT_NE(late.message().find("wrong TOTP code"), std::string::npos) << late.message();
}

TEST_F(IdentityTotpTest, ReplayRefused) {
  std::string code = CodeAt(kNow);
  ASSERT_TRUE(store_->VerifyTotp("alice", code, kNow).ok());
  Status replay = store_->VerifyTotp("alice", code, kNow + 1);
  EXPECT_EQ(replay.code(), StatusCode::kPermissionDenied);
  EXPECT_NE(replay.message().find("already used"), std::string::npos) << replay.message();
  // An earlier step than the accepted one is used up too.
  Status earlier = store_->VerifyTotp("alice", CodeAt(kNow - kStep), kNow + 1);
  EXPECT_EQ(earlier.code(), StatusCode::kPermissionDenied);
  EXPECT_NE(earlier.message().find("already used"), std::string::npos) << earlier.message();
  // The next step's code still works.
  EXPECT_TRUE(store_->VerifyTotp("alice", CodeAt(kNow + kStep), kNow + kStep).ok());
}

TEST_F(IdentityTotpTest, ReplayAfterReopenRefused) {
  std::string code = CodeAt(kNow);
  ASSERT_TRUE(store_->VerifyTotp("alice", code, kNow).ok());
  store_.reset();
  std::unique_ptr<IdentityStore> reopened = OpenStore(dir_.path());
  ASSERT_NE(reopened, nullptr);
  Status replay = reopened->VerifyTotp("alice", code, kNow + 2);
  EXPECT_EQ(replay.code(), StatusCode::kPermissionDenied);
  EXPECT_NE(replay.message().find("already used"), std::string::npos) << replay.message();
}

TEST_F(IdentityTotpTest, ReplayInSecondStoreRefused) {
  std::unique_ptr<IdentityStore> other = OpenStore(dir_.path());
  ASSERT_NE(other, nullptr);
  std::string code = CodeAt(kNow);
  ASSERT_TRUE(store_->VerifyTotp("alice", code, kNow).ok());
  EXPECT_EQ(other->VerifyTotp("alice", code, kNow).code(), StatusCode::kPermissionDenied);
}

TEST_F(IdentityTotpTest, ClockSetBackRefused) {
  ASSERT_TRUE(store_->VerifyTotp("alice", CodeAt(kNow), kNow).ok());
  // Ten minutes earlier: that step's code is valid for that clock reading,
  // but its step is before the last accepted one.
  const int64_t earlier = kNow - 600;
  Status status = store_->VerifyTotp("alice", CodeAt(earlier), earlier);
  EXPECT_EQ(status.code(), StatusCode::kPermissionDenied);
  EXPECT_NE(status.message().find("already used"), std::string::npos) << status.message();
}

TEST_F(IdentityTotpTest, RateLimitAfterFiveFailures) {
  const std::string wrong = WrongCodeAt(kNow);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(store_->VerifyTotp("alice", wrong, kNow + i).code(), StatusCode::kPermissionDenied) << i;
  }
  // The right code is not even checked now.
  Status limited = store_->VerifyTotp("alice", CodeAt(kNow + 5), kNow + 5);
  EXPECT_EQ(limited.code(), StatusCode::kResourceExhausted);
  EXPECT_NE(limited.message().find("retry at Unix time " + std::to_string(kNow + 300)), std::string::npos)
      << limited.message();
  EXPECT_EQ(store_->VerifyTotp("alice", CodeAt(kNow + 299), kNow + 299).code(), StatusCode::kResourceExhausted);

  // When the first failure leaves the 300 s window, one more try is allowed,
  // and the right code then clears the count.
  EXPECT_TRUE(store_->VerifyTotp("alice", CodeAt(kNow + 300), kNow + 300).ok());
  EXPECT_EQ(store_->VerifyTotp("alice", WrongCodeAt(kNow + 301), kNow + 301).code(), StatusCode::kPermissionDenied);
  EXPECT_TRUE(store_->VerifyTotp("alice", CodeAt(kNow + 331), kNow + 331).ok());
}

TEST_F(IdentityTotpTest, RateLimitIsPerAccount) {
  ASSERT_TRUE(store_->AddAccount("bob", AccountKind::kUser, {}, kNow).ok());
  StatusOr<TotpEnrolment> bob = store_->EnrolTotp("bob", kNow);
  ASSERT_TRUE(bob.ok());
  StatusOr<std::string> bob_secret = Base32Decode(bob->secret_base32);
  ASSERT_TRUE(bob_secret.ok());
  for (int i = 0; i < 5; ++i) (void)store_->VerifyTotp("alice", WrongCodeAt(kNow), kNow);
  EXPECT_EQ(store_->VerifyTotp("alice", CodeAt(kNow), kNow).code(), StatusCode::kResourceExhausted);
  EXPECT_TRUE(store_->VerifyTotp("bob", TotpCode(AsBytes(*bob_secret), kNow, {}), kNow).ok());
}

TEST_F(IdentityTotpTest, ReplaysCountAsFailures) {
  std::string code = CodeAt(kNow);
  ASSERT_TRUE(store_->VerifyTotp("alice", code, kNow).ok());
  for (int i = 0; i < 5; ++i) (void)store_->VerifyTotp("alice", code, kNow);
  EXPECT_EQ(store_->VerifyTotp("alice", CodeAt(kNow + kStep), kNow).code(), StatusCode::kResourceExhausted);
}

TEST_F(IdentityTotpTest, MalformedCodeIsInvalidArgument) {
  for (const std::string code : {"", "12345", "1234567", "12345a", " 123456", "12 456", "١٢٣٤٥٦"}) {
    Status status = store_->VerifyTotp("alice", code, kNow);
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << code;
    EXPECT_NE(status.message().find("6 digits"), std::string::npos) << status.message();
  }
  // Malformed codes are not guesses and do not count toward the limit.
  EXPECT_TRUE(store_->VerifyTotp("alice", CodeAt(kNow), kNow).ok());
}

TEST_F(IdentityTotpTest, WithoutEnrolmentFailedPrecondition) {
  ASSERT_TRUE(store_->AddAccount("bob", AccountKind::kUser, {}, kNow).ok());
  Status status = store_->VerifyTotp("bob", "123456", kNow);
  EXPECT_EQ(status.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(status.message().find("'bob'"), std::string::npos) << status.message();
  StatusOr<bool> has = store_->HasTotp("bob");
  ASSERT_TRUE(has.ok());
  EXPECT_FALSE(*has);

  EXPECT_EQ(store_->VerifyTotp("carol", "123456", kNow).code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->HasTotp("carol").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->EnrolTotp("carol", kNow).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->VerifyTotp("bad name", "123456", kNow).code(), StatusCode::kInvalidArgument);
}

TEST_F(IdentityTotpTest, DisabledAccountRefused) {
  ASSERT_TRUE(store_->DisableAccount("alice").ok());
  Status status = store_->VerifyTotp("alice", CodeAt(kNow), kNow);
  EXPECT_EQ(status.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(status.message().find("disabled"), std::string::npos) << status.message();
}

TEST_F(IdentityTotpTest, RemoveTotp) {
  ASSERT_TRUE(store_->RemoveTotp("alice").ok());
  EXPECT_FALSE(*store_->HasTotp("alice"));
  EXPECT_EQ(store_->VerifyTotp("alice", CodeAt(kNow), kNow).code(), StatusCode::kFailedPrecondition);
  Status again = store_->RemoveTotp("alice");
  EXPECT_EQ(again.code(), StatusCode::kNotFound);
  EXPECT_NE(again.message().find("no TOTP enrolment"), std::string::npos) << again.message();
}

TEST_F(IdentityTotpTest, ReEnrolReplacesSecret) {
  std::string old_code = CodeAt(kNow);
  StatusOr<TotpEnrolment> renewed = store_->EnrolTotp("alice", kNow);
  ASSERT_TRUE(renewed.ok());
  EXPECT_NE(renewed->secret_base32, enrolment_.secret_base32);
  StatusOr<std::string> new_secret = Base32Decode(renewed->secret_base32);
  ASSERT_TRUE(new_secret.ok());
  std::string new_code = TotpCode(AsBytes(*new_secret), kNow, {});
  if (new_code != old_code) {
    EXPECT_EQ(store_->VerifyTotp("alice", old_code, kNow).code(), StatusCode::kPermissionDenied);
  }
  EXPECT_TRUE(store_->VerifyTotp("alice", new_code, kNow).ok());
}

TEST_F(IdentityTotpTest, SecretStoredInPrivateFile) {
  // The secret is in state.db (that is where codes are checked), so the
  // file must be readable by its owner only.
  std::string bytes = ReadBytes(dir_.File("state.db")) + ReadBytes(dir_.File("state.db-wal"));
  EXPECT_NE(bytes.find(secret_), std::string::npos);
  EXPECT_EQ(testing::FileMode(dir_.File("state.db")), 0600);
  EXPECT_EQ(testing::FileMode(dir_.File("state.db-wal")), 0600);
}

}  // namespace
}  // namespace moat::auth
