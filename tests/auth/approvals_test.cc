#include "auth/approvals.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "auth_test_util.h"

namespace moat::auth {
namespace {

using std::chrono::seconds;

constexpr int64_t kStart = 1'800'000'000;  // unix seconds
constexpr seconds kHour{3600};

const OperationFields kActivateFraud = {{"model", "fraud"}, {"version", "3"}};
const OperationFields kActivateOther = {{"model", "fraud"}, {"version", "4"}};

std::vector<ApprovalEventKind> KindsOf(const std::vector<ApprovalEvent>& events) {
  std::vector<ApprovalEventKind> kinds;
  for (const ApprovalEvent& event : events) kinds.push_back(event.kind);
  return kinds;
}

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// Asserts that a call failed with `code`, a message containing `part`, and
// no events, because a refusal must change nothing.
template <typename T>
void ExpectRefused(const ApprovalOutcome<T>& outcome, StatusCode code, const std::string& part) {
  const Status& status = outcome.result.status();
  EXPECT_EQ(status.code(), code) << status.message();
  EXPECT_TRUE(Contains(status.message(), part)) << status.message();
  EXPECT_TRUE(outcome.events.empty());
}

class ApprovalStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }

  // Closes and opens the database file again, as a restarted server would.
  void Reopen() {
    store_.reset();
    database_.reset();
    StatusOr<std::unique_ptr<Database>> database = Database::Open(path_);
    ASSERT_TRUE(database.ok()) << database.status().message();
    database_ = std::move(*database);
    StatusOr<std::unique_ptr<ApprovalStore>> store = ApprovalStore::Open(*database_);
    ASSERT_TRUE(store.ok()) << store.status().message();
    store_ = std::move(*store);
  }

  ApprovalRequest CreateRequest(int required, const OperationFields& fields = kActivateFraud,
                                std::string_view requester = "alice") {
    ApprovalOutcome<ApprovalRequest> created =
        store_->Create(requester, "activate_version", fields, required, kHour, kStart);
    EXPECT_TRUE(created.result.ok()) << created.result.status().message();
    EXPECT_EQ(KindsOf(created.events), std::vector{ApprovalEventKind::kRequested});
    return created.result.ok() ? *created.result : ApprovalRequest{};
  }

  void ApproveBy(const ApprovalRequest& request, std::string_view approver, int64_t now = kStart + 10) {
    ApprovalOutcome<ApprovalRequest> approved = store_->Approve(request.id, approver, request.digest, now);
    ASSERT_TRUE(approved.result.ok()) << approved.result.status().message();
    ASSERT_EQ(KindsOf(approved.events), std::vector{ApprovalEventKind::kApproved});
  }

  ApprovalState StateOf(const ApprovalRequest& request, int64_t now = kStart + 20) {
    ApprovalOutcome<ApprovalRequest> got = store_->Get(request.id, now);
    EXPECT_TRUE(got.result.ok()) << got.result.status().message();
    return got.result.ok() ? got.result->state : ApprovalState::kPending;
  }

  // Asserts that the requester cannot run the request's operation at `now`
  // and that trying changes nothing.
  void ExpectNotConsumable(const ApprovalRequest& request, int64_t now = kStart + 30) {
    ApprovalState before = StateOf(request, now);
    ApprovalOutcome<ApprovalRequest> consumed =
        store_->Consume(request.id, request.requester, request.action, request.fields, now);
    EXPECT_FALSE(consumed.result.ok());
    EXPECT_TRUE(consumed.events.empty());
    EXPECT_EQ(StateOf(request, now), before);
  }

  // Opens `count` more connections to the database file, each with its own
  // store, as other processes would have.
  void OpenMoreStores(int count) {
    for (int i = 0; i < count; ++i) {
      StatusOr<std::unique_ptr<Database>> database = Database::Open(path_);
      ASSERT_TRUE(database.ok()) << database.status().message();
      more_databases_.push_back(std::move(*database));
      StatusOr<std::unique_ptr<ApprovalStore>> store = ApprovalStore::Open(*more_databases_.back());
      ASSERT_TRUE(store.ok()) << store.status().message();
      more_stores_.push_back(std::move(*store));
    }
  }

  testing::TempDir folder_;
  std::string path_ = folder_.File("state.db");
  std::unique_ptr<Database> database_;
  std::unique_ptr<ApprovalStore> store_;
  std::vector<std::unique_ptr<Database>> more_databases_;
  std::vector<std::unique_ptr<ApprovalStore>> more_stores_;
};

TEST_F(ApprovalStoreTest, CreateRecordsPendingRequest) {
  ApprovalRequest request = CreateRequest(2);
  EXPECT_EQ(request.id.size(), 32u);
  EXPECT_EQ(request.requester, "alice");
  EXPECT_EQ(request.action, "activate_version");
  EXPECT_EQ(request.fields, kActivateFraud);
  EXPECT_EQ(request.description, "activate_version model=fraud version=3");
  EXPECT_EQ(request.digest, OperationDigest("activate_version", kActivateFraud));
  EXPECT_EQ(request.required, 2);
  EXPECT_TRUE(request.approvals.empty());
  EXPECT_EQ(request.state, ApprovalState::kPending);
  EXPECT_EQ(request.created_at, kStart);
  EXPECT_EQ(request.expires_at, kStart + 3600);
  EXPECT_FALSE(request.finished_at.has_value());
  EXPECT_NE(CreateRequest(2).id, request.id);
}

TEST_F(ApprovalStoreTest, ApprovedRequestConsumedOnce) {
  ApprovalRequest request = CreateRequest(2);
  ApproveBy(request, "bob", kStart + 10);
  EXPECT_EQ(StateOf(request), ApprovalState::kPending);
  ApproveBy(request, "carol", kStart + 11);
  EXPECT_EQ(StateOf(request), ApprovalState::kApproved);

  ApprovalOutcome<ApprovalRequest> consumed =
      store_->Consume(request.id, "alice", "activate_version", kActivateFraud, kStart + 12);
  ASSERT_TRUE(consumed.result.ok()) << consumed.result.status().message();
  EXPECT_EQ(consumed.result->state, ApprovalState::kExecuted);
  EXPECT_EQ(consumed.result->finished_at, kStart + 12);
  ASSERT_EQ(consumed.result->approvals.size(), 2u);
  EXPECT_EQ(consumed.result->approvals[0].approver, "bob");
  EXPECT_EQ(consumed.result->approvals[0].time, kStart + 10);
  EXPECT_EQ(consumed.result->approvals[1].approver, "carol");
  EXPECT_EQ(KindsOf(consumed.events), std::vector{ApprovalEventKind::kExecuted});
  EXPECT_EQ(StateOf(request), ApprovalState::kExecuted);
}

TEST_F(ApprovalStoreTest, EventsCompleteAndInOrder) {
  ApprovalRequest request = CreateRequest(2);
  ApproveBy(request, "bob", kStart + 10);
  ApproveBy(request, "carol", kStart + 11);
  ApprovalOutcome<ApprovalRequest> consumed =
      store_->Consume(request.id, "alice", "activate_version", kActivateFraud, kStart + 12);
  ASSERT_TRUE(consumed.result.ok()) << consumed.result.status().message();

  StatusOr<std::vector<ApprovalEvent>> events = store_->EventsOf(request.id);
  ASSERT_TRUE(events.ok()) << events.status().message();
  ASSERT_EQ(KindsOf(*events), (std::vector{ApprovalEventKind::kRequested, ApprovalEventKind::kApproved,
                                           ApprovalEventKind::kApproved, ApprovalEventKind::kExecuted}));
  std::vector<std::string> actors = {"alice", "bob", "carol", "alice"};
  std::vector<int64_t> times = {kStart, kStart + 10, kStart + 11, kStart + 12};
  std::vector<int> counts = {0, 1, 2, 2};
  for (size_t i = 0; i < events->size(); ++i) {
    const ApprovalEvent& event = (*events)[i];
    EXPECT_EQ(event.request_id, request.id) << i;
    EXPECT_EQ(event.actor, actors[i]) << i;
    EXPECT_EQ(event.time, times[i]) << i;
    EXPECT_EQ(event.approvals, counts[i]) << i;
    EXPECT_EQ(event.required, 2) << i;
    EXPECT_EQ(event.action, "activate_version") << i;
    EXPECT_EQ(event.digest, request.digest) << i;
    if (i > 0) {
      EXPECT_GT(event.sequence, (*events)[i - 1].sequence) << i;
    }
  }
  EXPECT_EQ(consumed.events[0].sequence, events->back().sequence);
}

TEST_F(ApprovalStoreTest, SelfApprovalDenied) {
  ApprovalRequest request = CreateRequest(1);
  ApprovalOutcome<ApprovalRequest> approved =
      store_->Approve(request.id, "alice", request.digest, kStart + 10);
  ExpectRefused(approved, StatusCode::kPermissionDenied, "alice requested");
  EXPECT_EQ(StateOf(request), ApprovalState::kPending);
  ExpectNotConsumable(request);
}

TEST_F(ApprovalStoreTest, SameApproverTwiceCountsOnce) {
  ApprovalRequest request = CreateRequest(2);
  ApproveBy(request, "bob");
  ApprovalOutcome<ApprovalRequest> again = store_->Approve(request.id, "bob", request.digest, kStart + 15);
  ExpectRefused(again, StatusCode::kAlreadyExists, "1 of 2 approvals");

  ApprovalOutcome<ApprovalRequest> got = store_->Get(request.id, kStart + 20);
  ASSERT_TRUE(got.result.ok());
  EXPECT_EQ(got.result->approvals.size(), 1u);
  ExpectNotConsumable(request);
}

TEST_F(ApprovalStoreTest, ApprovalForOtherDigestRejected) {
  ApprovalRequest request_a = CreateRequest(1, kActivateFraud);
  ApprovalRequest request_b = CreateRequest(1, kActivateOther);

  ApprovalOutcome<ApprovalRequest> approved =
      store_->Approve(request_a.id, "bob", request_b.digest, kStart + 10);
  ExpectRefused(approved, StatusCode::kInvalidArgument, "approval is for operation " + request_a.digest);
  EXPECT_TRUE(Contains(approved.result.status().message(), request_b.digest))
      << approved.result.status().message();
  EXPECT_EQ(StateOf(request_a), ApprovalState::kPending);
  ExpectNotConsumable(request_a);
  ExpectNotConsumable(request_b);
}

TEST_F(ApprovalStoreTest, ConsumeWithOtherOperationRejected) {
  ApprovalRequest request_a = CreateRequest(1, kActivateFraud);
  ApprovalRequest request_b = CreateRequest(1, kActivateOther);
  ApproveBy(request_a, "bob");

  ApprovalOutcome<ApprovalRequest> consumed =
      store_->Consume(request_a.id, "alice", "activate_version", kActivateOther, kStart + 20);
  ExpectRefused(consumed, StatusCode::kInvalidArgument, "approval is for operation " + request_a.digest);
  EXPECT_TRUE(Contains(consumed.result.status().message(), "version=4"))
      << consumed.result.status().message();

  ApprovalOutcome<ApprovalRequest> other_action =
      store_->Consume(request_a.id, "alice", "rollback_version", kActivateFraud, kStart + 20);
  ExpectRefused(other_action, StatusCode::kInvalidArgument, "rollback_version model=fraud version=3");

  EXPECT_EQ(StateOf(request_a), ApprovalState::kApproved);
  ExpectNotConsumable(request_b);
}

TEST_F(ApprovalStoreTest, ApprovalAfterExpiryRejected) {
  ApprovalRequest request = CreateRequest(1);
  ApprovalOutcome<ApprovalRequest> approved =
      store_->Approve(request.id, "bob", request.digest, request.expires_at);
  EXPECT_EQ(approved.result.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(Contains(approved.result.status().message(), "expired")) << approved.result.status().message();
  ASSERT_EQ(KindsOf(approved.events), std::vector{ApprovalEventKind::kExpired});
  EXPECT_EQ(approved.events[0].time, request.expires_at);
  EXPECT_EQ(approved.events[0].actor, "");

  // The expiry was stored: reading the request again finds it expired
  // without a second event, even at a time before expires_at.
  ApprovalOutcome<ApprovalRequest> got = store_->Get(request.id, kStart + 1);
  ASSERT_TRUE(got.result.ok());
  EXPECT_EQ(got.result->state, ApprovalState::kExpired);
  EXPECT_EQ(got.result->finished_at, request.expires_at);
  EXPECT_TRUE(got.events.empty());
  EXPECT_TRUE(got.result->approvals.empty());
  ExpectNotConsumable(request, kStart + 1);
}

TEST_F(ApprovalStoreTest, ApprovalJustBeforeExpiryAccepted) {
  ApprovalRequest request = CreateRequest(1);
  ApproveBy(request, "bob", request.expires_at - 1);
  ApprovalOutcome<ApprovalRequest> consumed =
      store_->Consume(request.id, "alice", "activate_version", kActivateFraud, request.expires_at - 1);
  EXPECT_TRUE(consumed.result.ok()) << consumed.result.status().message();
}

TEST_F(ApprovalStoreTest, ConsumeAfterExpiryRejected) {
  ApprovalRequest request = CreateRequest(1);
  ApproveBy(request, "bob");
  ApprovalOutcome<ApprovalRequest> consumed =
      store_->Consume(request.id, "alice", "activate_version", kActivateFraud, request.expires_at);
  EXPECT_EQ(consumed.result.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(Contains(consumed.result.status().message(), "expired at"))
      << consumed.result.status().message();
  EXPECT_EQ(KindsOf(consumed.events), std::vector{ApprovalEventKind::kExpired});
  EXPECT_EQ(StateOf(request), ApprovalState::kExpired);
  ExpectNotConsumable(request, kStart + 40);
}

TEST_F(ApprovalStoreTest, TooFewApprovalsNotConsumable) {
  ApprovalRequest request = CreateRequest(3);
  ApproveBy(request, "bob");
  ApproveBy(request, "carol");
  ApprovalOutcome<ApprovalRequest> consumed =
      store_->Consume(request.id, "alice", "activate_version", kActivateFraud, kStart + 30);
  ExpectRefused(consumed, StatusCode::kFailedPrecondition, "2 of 3 approvals");
  EXPECT_EQ(StateOf(request), ApprovalState::kPending);
  ExpectNotConsumable(request);
}

TEST_F(ApprovalStoreTest, ApprovalBeyondRequiredRejected) {
  ApprovalRequest request = CreateRequest(1);
  ApproveBy(request, "bob");
  ApprovalOutcome<ApprovalRequest> extra = store_->Approve(request.id, "carol", request.digest, kStart + 15);
  ExpectRefused(extra, StatusCode::kFailedPrecondition, "already has all 1 of 1 approvals");
}

TEST_F(ApprovalStoreTest, RejectedRequestNotConsumable) {
  ApprovalRequest request = CreateRequest(2);
  ApproveBy(request, "bob");

  ApprovalOutcome<ApprovalRequest> by_requester =
      store_->Reject(request.id, "alice", "changed my mind", kStart + 15);
  ExpectRefused(by_requester, StatusCode::kPermissionDenied, "cannot reject it");
  EXPECT_EQ(StateOf(request), ApprovalState::kPending);

  ApprovalOutcome<ApprovalRequest> rejected =
      store_->Reject(request.id, "carol", "wrong version", kStart + 16);
  ASSERT_TRUE(rejected.result.ok()) << rejected.result.status().message();
  EXPECT_EQ(rejected.result->state, ApprovalState::kRejected);
  EXPECT_EQ(rejected.result->rejected_by, "carol");
  EXPECT_EQ(rejected.result->reason, "wrong version");
  ASSERT_EQ(KindsOf(rejected.events), std::vector{ApprovalEventKind::kRejected});
  EXPECT_EQ(rejected.events[0].actor, "carol");
  EXPECT_EQ(rejected.events[0].reason, "wrong version");

  ApprovalOutcome<ApprovalRequest> approved =
      store_->Approve(request.id, "dave", request.digest, kStart + 17);
  ExpectRefused(approved, StatusCode::kFailedPrecondition, "rejected by carol");

  ApprovalOutcome<ApprovalRequest> consumed =
      store_->Consume(request.id, "alice", "activate_version", kActivateFraud, kStart + 18);
  ExpectRefused(consumed, StatusCode::kFailedPrecondition, "'wrong version'");
  ExpectNotConsumable(request);
}

TEST_F(ApprovalStoreTest, RejectAfterFullApprovalStopsIt) {
  ApprovalRequest request = CreateRequest(1);
  ApproveBy(request, "bob");
  ApprovalOutcome<ApprovalRequest> rejected = store_->Reject(request.id, "bob", "", kStart + 15);
  ASSERT_TRUE(rejected.result.ok()) << rejected.result.status().message();
  EXPECT_EQ(rejected.result->state, ApprovalState::kRejected);
  ExpectNotConsumable(request);
}

TEST_F(ApprovalStoreTest, CancelledRequestNotConsumable) {
  ApprovalRequest request = CreateRequest(1);
  ApproveBy(request, "bob");

  ApprovalOutcome<ApprovalRequest> by_other = store_->Cancel(request.id, "bob", kStart + 15);
  ExpectRefused(by_other, StatusCode::kPermissionDenied, "only they can cancel it, not bob");
  EXPECT_EQ(StateOf(request), ApprovalState::kApproved);

  ApprovalOutcome<ApprovalRequest> cancelled = store_->Cancel(request.id, "alice", kStart + 16);
  ASSERT_TRUE(cancelled.result.ok()) << cancelled.result.status().message();
  EXPECT_EQ(cancelled.result->state, ApprovalState::kCancelled);
  ASSERT_EQ(KindsOf(cancelled.events), std::vector{ApprovalEventKind::kCancelled});
  EXPECT_EQ(cancelled.events[0].actor, "alice");

  ApprovalOutcome<ApprovalRequest> again = store_->Cancel(request.id, "alice", kStart + 17);
  ExpectRefused(again, StatusCode::kFailedPrecondition, "was cancelled");
  ApprovalOutcome<ApprovalRequest> consumed =
      store_->Consume(request.id, "alice", "activate_version", kActivateFraud, kStart + 18);
  ExpectRefused(consumed, StatusCode::kFailedPrecondition, "cancelled");
  ExpectNotConsumable(request);
}

TEST_F(ApprovalStoreTest, ConsumeTwiceRejected) {
  ApprovalRequest request = CreateRequest(1);
  ApproveBy(request, "bob");
  ApprovalOutcome<ApprovalRequest> first =
      store_->Consume(request.id, "alice", "activate_version", kActivateFraud, kStart + 20);
  ASSERT_TRUE(first.result.ok()) << first.result.status().message();
  ApprovalOutcome<ApprovalRequest> second =
      store_->Consume(request.id, "alice", "activate_version", kActivateFraud, kStart + 21);
  ExpectRefused(second, StatusCode::kFailedPrecondition, "already been executed");
}

TEST_F(ApprovalStoreTest, ConsumeByOtherUserDenied) {
  ApprovalRequest request = CreateRequest(1);
  ApproveBy(request, "bob");
  ApprovalOutcome<ApprovalRequest> by_approver =
      store_->Consume(request.id, "bob", "activate_version", kActivateFraud, kStart + 20);
  ExpectRefused(by_approver, StatusCode::kPermissionDenied, "made by alice");
  ApprovalOutcome<ApprovalRequest> by_stranger =
      store_->Consume(request.id, "mallory", "activate_version", kActivateFraud, kStart + 20);
  ExpectRefused(by_stranger, StatusCode::kPermissionDenied, "not mallory");
  EXPECT_EQ(StateOf(request), ApprovalState::kApproved);
}

TEST_F(ApprovalStoreTest, UnknownIdNotFound) {
  std::string unknown(32, 'a');
  ExpectRefused(store_->Approve(unknown, "bob", std::string(64, '0'), kStart), StatusCode::kNotFound,
                unknown);
  ExpectRefused(store_->Reject(unknown, "bob", "", kStart), StatusCode::kNotFound, unknown);
  ExpectRefused(store_->Cancel(unknown, "bob", kStart), StatusCode::kNotFound, unknown);
  ExpectRefused(store_->Consume(unknown, "bob", "act", {}, kStart), StatusCode::kNotFound, unknown);
  ExpectRefused(store_->Get(unknown, kStart), StatusCode::kNotFound, unknown);
}

TEST_F(ApprovalStoreTest, InvalidArgumentsNamed) {
  struct Case {
    ApprovalOutcome<ApprovalRequest> outcome;
    std::string expected_in_message;
  };
  std::vector<Case> cases;
  cases.push_back({store_->Create("", "act", {}, 1, kHour, kStart), "requester"});
  cases.push_back({store_->Create("al ice", "act", {}, 1, kHour, kStart), "'al ice'"});
  cases.push_back({store_->Create(std::string(65, 'a'), "act", {}, 1, kHour, kStart), "requester"});
  cases.push_back({store_->Create("alice", "bad action", {}, 1, kHour, kStart), "'bad action'"});
  cases.push_back({store_->Create("alice", "act", {}, 0, kHour, kStart), "required approvals 0"});
  cases.push_back({store_->Create("alice", "act", {}, 17, kHour, kStart), "required approvals 17"});
  cases.push_back({store_->Create("alice", "act", {}, 1, seconds(59), kStart), "timeout 59 s"});
  cases.push_back(
      {store_->Create("alice", "act", {}, 1, seconds(7 * 86400 + 1), kStart), "timeout 604801 s"});
  cases.push_back({store_->Create("alice", "act", {}, 1, kHour, -1), "time -1"});

  cases.push_back({store_->Approve("not-an-id", "bob", "", kStart), "'not-an-id'"});
  cases.push_back({store_->Approve(std::string(32, 'a'), "b\nob", "", kStart), "approver"});
  cases.push_back(
      {store_->Reject(std::string(32, 'a'), "bob", std::string(1025, 'r'), kStart), "1025 bytes"});
  cases.push_back({store_->Reject(std::string(32, 'a'), "bob", "\xff", kStart), "UTF-8"});
  cases.push_back({store_->Consume(std::string(32, 'A'), "alice", "act", {}, kStart), "'AAAA"});

  for (size_t i = 0; i < cases.size(); ++i) {
    const Status& status = cases[i].outcome.result.status();
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << i << ": " << status.message();
    EXPECT_TRUE(Contains(status.message(), cases[i].expected_in_message)) << i << ": " << status.message();
    EXPECT_TRUE(cases[i].outcome.events.empty()) << i;
  }
  ApprovalOutcome<std::vector<ApprovalRequest>> listed = store_->List(kStart, true);
  ASSERT_TRUE(listed.result.ok());
  EXPECT_TRUE(listed.result->empty());
}

TEST_F(ApprovalStoreTest, LimitsAccepted) {
  EXPECT_TRUE(store_->Create("alice", "act", {}, 16, seconds(60), kStart).result.ok());
  EXPECT_TRUE(store_->Create(std::string(64, 'a'), "act", {}, 1, seconds(7 * 86400), kStart).result.ok());
  EXPECT_TRUE(store_->Create("ops.admin@site-1_b", "act", {}, 1, kHour, kStart).result.ok());
}

TEST_F(ApprovalStoreTest, StateSurvivesReopen) {
  ApprovalRequest request = CreateRequest(2);
  ApproveBy(request, "bob", kStart + 10);
  Reopen();

  ApprovalOutcome<ApprovalRequest> got = store_->Get(request.id, kStart + 20);
  ASSERT_TRUE(got.result.ok()) << got.result.status().message();
  EXPECT_EQ(got.result->state, ApprovalState::kPending);
  EXPECT_EQ(got.result->fields, kActivateFraud);
  EXPECT_EQ(got.result->description, request.description);
  EXPECT_EQ(got.result->digest, request.digest);
  EXPECT_EQ(got.result->expires_at, request.expires_at);
  ASSERT_EQ(got.result->approvals.size(), 1u);
  EXPECT_EQ(got.result->approvals[0].approver, "bob");

  ApprovalOutcome<ApprovalRequest> again = store_->Approve(request.id, "bob", request.digest, kStart + 21);
  ExpectRefused(again, StatusCode::kAlreadyExists, "bob already approved");
  ApproveBy(request, "carol", kStart + 22);
  Reopen();

  ApprovalOutcome<ApprovalRequest> consumed =
      store_->Consume(request.id, "alice", "activate_version", kActivateFraud, kStart + 30);
  ASSERT_TRUE(consumed.result.ok()) << consumed.result.status().message();
  Reopen();
  EXPECT_EQ(StateOf(request), ApprovalState::kExecuted);
  ExpectNotConsumable(request);
}

TEST_F(ApprovalStoreTest, ListExpiresAndFilters) {
  ApprovalRequest short_lived = CreateRequest(1);
  ApprovalOutcome<ApprovalRequest> long_lived =
      store_->Create("alice", "export_audit", {}, 1, seconds(7200), kStart + 5);
  ASSERT_TRUE(long_lived.result.ok());
  ApprovalRequest executed = CreateRequest(1, kActivateOther);
  ApproveBy(executed, "bob");
  ASSERT_TRUE(
      store_->Consume(executed.id, "alice", "activate_version", kActivateOther, kStart + 20).result.ok());

  ApprovalOutcome<std::vector<ApprovalRequest>> open = store_->List(kStart + 3600, false);
  ASSERT_TRUE(open.result.ok()) << open.result.status().message();
  ASSERT_EQ(open.result->size(), 1u);
  EXPECT_EQ((*open.result)[0].id, long_lived.result->id);
  ASSERT_EQ(KindsOf(open.events), std::vector{ApprovalEventKind::kExpired});
  EXPECT_EQ(open.events[0].request_id, short_lived.id);

  Reopen();
  ApprovalOutcome<std::vector<ApprovalRequest>> all = store_->List(kStart + 3600, true);
  ASSERT_TRUE(all.result.ok());
  EXPECT_TRUE(all.events.empty());
  ASSERT_EQ(all.result->size(), 3u);
  EXPECT_EQ((*all.result)[0].id, short_lived.id);
  EXPECT_EQ((*all.result)[0].state, ApprovalState::kExpired);
  EXPECT_EQ((*all.result)[1].id, executed.id);
  EXPECT_EQ((*all.result)[1].state, ApprovalState::kExecuted);
  EXPECT_EQ((*all.result)[2].id, long_lived.result->id);
  EXPECT_EQ((*all.result)[2].state, ApprovalState::kPending);
}

TEST_F(ApprovalStoreTest, UnacknowledgedEventsUntilAcknowledged) {
  ApprovalRequest request = CreateRequest(1);
  ApproveBy(request, "bob");
  StatusOr<std::vector<ApprovalEvent>> pending = store_->UnacknowledgedEvents(100);
  ASSERT_TRUE(pending.ok()) << pending.status().message();
  ASSERT_EQ(KindsOf(*pending), (std::vector{ApprovalEventKind::kRequested, ApprovalEventKind::kApproved}));

  ASSERT_TRUE(store_->AcknowledgeEvents({(*pending)[0]}).ok());
  Reopen();
  StatusOr<std::vector<ApprovalEvent>> rest = store_->UnacknowledgedEvents(100);
  ASSERT_TRUE(rest.ok());
  ASSERT_EQ(rest->size(), 1u);
  EXPECT_EQ((*rest)[0].sequence, (*pending)[1].sequence);
  EXPECT_EQ((*rest)[0].actor, "bob");

  ASSERT_TRUE(store_->AcknowledgeEvents(*rest).ok());
  ASSERT_TRUE(store_->AcknowledgeEvents(*rest).ok());
  StatusOr<std::vector<ApprovalEvent>> none = store_->UnacknowledgedEvents(100);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());

  ApprovalEvent missing;
  missing.sequence = 999;
  Status status = store_->AcknowledgeEvents({missing});
  EXPECT_EQ(status.code(), StatusCode::kNotFound);
  EXPECT_TRUE(Contains(status.message(), "999")) << status.message();
  EXPECT_EQ(store_->UnacknowledgedEvents(0).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(ApprovalStoreTest, ConcurrentConsumeHasOneWinner) {
  ApprovalRequest request = CreateRequest(2);
  ApproveBy(request, "bob");
  ApproveBy(request, "carol");

  // Each thread has its own connection and store, as separate processes
  // would, so that only the database transaction can decide the race.
  constexpr int kThreads = 8;
  OpenMoreStores(kThreads);
  std::atomic<int> successes{0};
  std::atomic<int> already_executed{0};
  std::atomic<int> executed_events{0};
  std::atomic<bool> start{false};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      while (!start.load()) std::this_thread::yield();
      ApprovalOutcome<ApprovalRequest> consumed = more_stores_[static_cast<size_t>(i)]->Consume(
          request.id, "alice", "activate_version", kActivateFraud, kStart + 30);
      if (consumed.result.ok()) successes++;
      if (consumed.result.status().code() == StatusCode::kFailedPrecondition) already_executed++;
      executed_events += static_cast<int>(consumed.events.size());
    });
  }
  start = true;
  for (std::thread& thread : threads) thread.join();

  EXPECT_EQ(successes.load(), 1);
  EXPECT_EQ(already_executed.load(), kThreads - 1);
  EXPECT_EQ(executed_events.load(), 1);
  EXPECT_EQ(StateOf(request), ApprovalState::kExecuted);
}

TEST_F(ApprovalStoreTest, ConcurrentApprovalsCountExactly) {
  constexpr int kRequired = 5;
  constexpr int kApprovers = 12;
  ApprovalRequest request = CreateRequest(kRequired);

  // Half of the approvers share the fixture's store. The others each have
  // their own connection.
  OpenMoreStores(kApprovers / 2);
  std::atomic<int> successes{0};
  std::atomic<int> refused_as_complete{0};
  std::atomic<bool> start{false};
  std::vector<std::thread> threads;
  for (int i = 0; i < kApprovers; ++i) {
    ApprovalStore* store = i % 2 == 0 ? store_.get() : more_stores_[static_cast<size_t>(i / 2)].get();
    threads.emplace_back([&, i, store] {
      while (!start.load()) std::this_thread::yield();
      ApprovalOutcome<ApprovalRequest> approved =
          store->Approve(request.id, "approver" + std::to_string(i), request.digest, kStart + 10);
      if (approved.result.ok()) successes++;
      if (approved.result.status().code() == StatusCode::kFailedPrecondition) refused_as_complete++;
    });
  }
  start = true;
  for (std::thread& thread : threads) thread.join();

  EXPECT_EQ(successes.load(), kRequired);
  EXPECT_EQ(refused_as_complete.load(), kApprovers - kRequired);
  ApprovalOutcome<ApprovalRequest> got = store_->Get(request.id, kStart + 20);
  ASSERT_TRUE(got.result.ok());
  EXPECT_EQ(got.result->state, ApprovalState::kApproved);
  EXPECT_EQ(got.result->approvals.size(), static_cast<size_t>(kRequired));

  StatusOr<std::vector<ApprovalEvent>> events = store_->EventsOf(request.id);
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), static_cast<size_t>(kRequired + 1));
  for (int i = 1; i <= kRequired; ++i) {
    EXPECT_EQ((*events)[static_cast<size_t>(i)].approvals, i);
  }
}

TEST_F(ApprovalStoreTest, ConcurrentDistinctApprovalsAllCount) {
  constexpr int kApprovers = 16;
  ApprovalRequest request = CreateRequest(kApprovers);
  std::vector<std::thread> threads;
  std::atomic<int> successes{0};
  for (int i = 0; i < kApprovers; ++i) {
    threads.emplace_back([&, i] {
      ApprovalOutcome<ApprovalRequest> approved =
          store_->Approve(request.id, "approver" + std::to_string(i), request.digest, kStart + 10);
      if (approved.result.ok()) successes++;
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(successes.load(), kApprovers);
  ApprovalOutcome<ApprovalRequest> got = store_->Get(request.id, kStart + 20);
  ASSERT_TRUE(got.result.ok());
  EXPECT_EQ(got.result->approvals.size(), static_cast<size_t>(kApprovers));
  EXPECT_EQ(got.result->state, ApprovalState::kApproved);
}

}  // namespace
}  // namespace moat::auth
