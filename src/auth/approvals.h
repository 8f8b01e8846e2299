// Approvals by several people. An action that the policy marks as needing
// K approvals becomes a pending request bound to the digest of the exact
// operation. It may run once K distinct approvers other than the requester
// have approved that digest before the request expires. The store keeps the
// requests in the node's state database (tables named approval_*), and
// every state change produces an ApprovalEvent for the audit log.
//
// Who may request or approve an action is the policy's decision, checked by
// the caller before it calls the store.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/approval_operation.h"
#include "auth/sqlite.h"
#include "common/status.h"

namespace moat::auth {

inline constexpr int kMinRequiredApprovals = 1;
inline constexpr int kMaxRequiredApprovals = 16;
inline constexpr std::chrono::seconds kMinApprovalTimeout{60};
inline constexpr std::chrono::seconds kMaxApprovalTimeout{7 * 24 * 3600};

enum class ApprovalState {
  kPending,    // fewer than `required` approvals
  kApproved,   // `required` approvals, not run yet
  kExecuted,   // final: consumed by the requester
  kRejected,   // final: rejected by an approver
  kCancelled,  // final: withdrawn by the requester
  kExpired,    // final: reached expires_at while pending or approved
};

// "pending", "approved", "executed", "rejected", "cancelled", "expired".
std::string_view ApprovalStateName(ApprovalState state);

struct Approval {
  std::string approver;
  int64_t time = 0;  // unix seconds
};

struct ApprovalRequest {
  std::string id;  // 128 random bits as 32 lower-case hex digits
  std::string requester;
  std::string action;
  OperationFields fields;
  std::string description;  // DescribeOperation(action, fields)
  std::string digest;       // OperationDigest(action, fields)
  int required = 0;
  std::vector<Approval> approvals;  // in the order they were given
  ApprovalState state = ApprovalState::kPending;
  int64_t created_at = 0;  // unix seconds
  int64_t expires_at = 0;  // unix seconds. Actions need now < expires_at.
  // Set when the request is rejected: the approver and their reason.
  std::string rejected_by;
  std::string reason;
  // Unix seconds of the change to executed, rejected, cancelled or expired.
  std::optional<int64_t> finished_at;
};

enum class ApprovalEventKind { kRequested, kApproved, kRejected, kCancelled, kExpired, kExecuted };

// "requested", "approved", "rejected", "cancelled", "expired", "executed".
std::string_view ApprovalEventKindName(ApprovalEventKind kind);

// One state change of a request, for one audit record. The store numbers
// events in the order they were committed.
struct ApprovalEvent {
  int64_t sequence = 0;  // increases in commit order and is never reused
  ApprovalEventKind kind = ApprovalEventKind::kRequested;
  std::string request_id;
  // The person who caused the change: the requester for requested,
  // cancelled and executed, the approver for approved and rejected, and
  // empty for expired, which no person causes.
  std::string actor;
  std::string action;
  std::string digest;
  // Unix seconds of the change. For expired this is the request's
  // expires_at, not the time the store noticed, so events of one request
  // are in time order.
  int64_t time = 0;
  int approvals = 0;  // approvals the request had after this event
  int required = 0;
  std::string reason;  // the rejection reason, empty for other kinds
};

// The result of a store call together with the events it committed. A call
// that fails can still have committed events: an Approve on a request past
// its time marks the request expired and returns FAILED_PRECONDITION with
// the expired event. Callers write an audit record for every event,
// whatever the status.
template <typename T>
struct [[nodiscard]] ApprovalOutcome {
  StatusOr<T> result;
  std::vector<ApprovalEvent> events;
};

// Thread-safe: one mutex serialises the calls, and each call runs in one
// BEGIN IMMEDIATE transaction, so that several stores (or a `moat` command)
// on other connections to the same file also see each change whole.
class ApprovalStore {
 public:
  // Creates the approval tables in `database` if they do not exist. The
  // database must outlive the store, and nothing else may use the same
  // Database object while a store call runs: give other users their own
  // connection to the file, because Database itself has no lock.
  static StatusOr<std::unique_ptr<ApprovalStore>> Open(Database& database);

  ApprovalStore(const ApprovalStore&) = delete;
  ApprovalStore& operator=(const ApprovalStore&) = delete;

  // Records a pending request by `requester` for the operation, needing
  // `required` (1 to 16) approvals within `timeout` (60 s to 7 days) of
  // `now` (unix seconds). INVALID_ARGUMENT naming the offending value.
  ApprovalOutcome<ApprovalRequest> Create(std::string_view requester, std::string_view action,
                                          const OperationFields& fields, int required,
                                          std::chrono::seconds timeout, int64_t now);

  // Adds the approval of `approver`, who must pass the digest they were
  // shown. On success returns the request, approved once it has `required`
  // approvals. Errors change nothing, except that a request past its time
  // is marked expired:
  //   NOT_FOUND            unknown id
  //   FAILED_PRECONDITION  expired, rejected, cancelled, executed, or
  //                        already fully approved
  //   PERMISSION_DENIED    the approver is the requester
  //   ALREADY_EXISTS       this approver has approved already
  //   INVALID_ARGUMENT     `digest_seen` is not the request's digest, or a
  //                        malformed id or name
  ApprovalOutcome<ApprovalRequest> Approve(std::string_view id, std::string_view approver,
                                           std::string_view digest_seen, int64_t now);

  // Ends a pending or approved request as rejected. Any approver other
  // than the requester may reject, also one who approved before. `reason`
  // is at most 1024 bytes of UTF-8 and may be empty. Errors as Approve,
  // without ALREADY_EXISTS.
  ApprovalOutcome<ApprovalRequest> Reject(std::string_view id, std::string_view approver,
                                          std::string_view reason, int64_t now);

  // Ends a pending or approved request as cancelled. PERMISSION_DENIED
  // unless `requester` made the request, FAILED_PRECONDITION when it has
  // already ended (expired included).
  ApprovalOutcome<ApprovalRequest> Cancel(std::string_view id, std::string_view requester, int64_t now);

  // Marks an approved request executed, so that the caller may run the
  // operation once. The requester and the operation must be the ones the
  // request was made for. The check and the change share one transaction,
  // so of several concurrent calls exactly one succeeds. Errors name why:
  //   NOT_FOUND            unknown id
  //   FAILED_PRECONDITION  not approved yet ("2 of 3 approvals"), expired,
  //                        rejected, cancelled, already executed
  //   PERMISSION_DENIED    `requester` is not the requester
  //   INVALID_ARGUMENT     the operation differs from the approved one
  ApprovalOutcome<ApprovalRequest> Consume(std::string_view id, std::string_view requester,
                                           std::string_view action, const OperationFields& fields,
                                           int64_t now);

  // Returns one request. A request past its time is marked expired first.
  ApprovalOutcome<ApprovalRequest> Get(std::string_view id, int64_t now);

  // Returns the pending and approved requests, or all requests when
  // `include_finished` is set, oldest first. Every request past its time
  // is marked expired first.
  ApprovalOutcome<std::vector<ApprovalRequest>> List(int64_t now, bool include_finished);

  // Returns the events in sequence order that have not been acknowledged,
  // at most `limit` of them. Events are stored in the same transaction as
  // the change they describe, so that after a crash between a commit and
  // the audit write the caller can find and write the missing records.
  StatusOr<std::vector<ApprovalEvent>> UnacknowledgedEvents(int limit);

  // Marks `events` (by sequence number) as written to the audit log, all
  // or none. NOT_FOUND naming the first sequence number the store lacks.
  // Acknowledging an event twice is harmless.
  Status AcknowledgeEvents(const std::vector<ApprovalEvent>& events);

  // Returns every event of one request in sequence order, acknowledged or
  // not.
  StatusOr<std::vector<ApprovalEvent>> EventsOf(std::string_view id);

 private:
  explicit ApprovalStore(Database& database) : database_(database) {}

  Database& database_;
  std::mutex mutex_;  // serialises all use of database_
};

}  // namespace moat::auth
