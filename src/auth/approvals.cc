#include "auth/approvals.h"

#include <openssl/rand.h>

#include <array>
#include <ctime>
#include <functional>
#include <utility>

#include "auth/names.h"
#include "common/crypto.h"
#include "common/utf8.h"

namespace moat::auth {
namespace {

constexpr size_t kIdBytes = 16;
constexpr size_t kMaxReasonBytes = 1024;
constexpr int kMaxEventBatch = 10000;
// 9999-12-31T23:59:59Z: far enough for any clock, small enough that adding
// a timeout cannot overflow.
constexpr int64_t kMaxUnixSeconds = 253402300799;

constexpr std::string_view kSchema = R"sql(
CREATE TABLE IF NOT EXISTS approval_requests (
  id TEXT PRIMARY KEY,
  requester TEXT NOT NULL,
  action TEXT NOT NULL,
  description TEXT NOT NULL,
  digest TEXT NOT NULL,
  required INTEGER NOT NULL,
  state TEXT NOT NULL
    CHECK (state IN ('pending', 'approved', 'executed', 'rejected', 'cancelled', 'expired')),
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  finished_at INTEGER,
  rejected_by TEXT NOT NULL DEFAULT '',
  reason TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS approval_requests_by_state ON approval_requests (state, expires_at);
CREATE TABLE IF NOT EXISTS approval_fields (
  request_id TEXT NOT NULL REFERENCES approval_requests (id),
  name TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (request_id, name)
);
CREATE TABLE IF NOT EXISTS approval_votes (
  request_id TEXT NOT NULL REFERENCES approval_requests (id),
  approver TEXT NOT NULL,
  approved_at INTEGER NOT NULL,
  PRIMARY KEY (request_id, approver)
);
CREATE TABLE IF NOT EXISTS approval_events (
  sequence INTEGER PRIMARY KEY AUTOINCREMENT,
  kind TEXT NOT NULL,
  request_id TEXT NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  digest TEXT NOT NULL,
  time INTEGER NOT NULL,
  approvals INTEGER NOT NULL,
  required INTEGER NOT NULL,
  reason TEXT NOT NULL,
  acknowledged INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS approval_events_unacknowledged ON approval_events (acknowledged, sequence);
)sql";

constexpr std::array<std::pair<ApprovalState, std::string_view>, 6> kStateNames = {{
    {ApprovalState::kPending, "pending"},
    {ApprovalState::kApproved, "approved"},
    {ApprovalState::kExecuted, "executed"},
    {ApprovalState::kRejected, "rejected"},
    {ApprovalState::kCancelled, "cancelled"},
    {ApprovalState::kExpired, "expired"},
}};

constexpr std::array<std::pair<ApprovalEventKind, std::string_view>, 6> kEventKindNames = {{
    {ApprovalEventKind::kRequested, "requested"},
    {ApprovalEventKind::kApproved, "approved"},
    {ApprovalEventKind::kRejected, "rejected"},
    {ApprovalEventKind::kCancelled, "cancelled"},
    {ApprovalEventKind::kExpired, "expired"},
    {ApprovalEventKind::kExecuted, "executed"},
}};

template <typename Enum, size_t N>
std::optional<Enum> EnumFromName(const std::array<std::pair<Enum, std::string_view>, N>& names,
                                 std::string_view name) {
  for (const auto& [value, value_name] : names) {
    if (value_name == name) return value;
  }
  return std::nullopt;
}

bool IsOpen(ApprovalState state) {
  return state == ApprovalState::kPending || state == ApprovalState::kApproved;
}

std::string FormatTime(int64_t unix_seconds) {
  std::time_t time = static_cast<std::time_t>(unix_seconds);
  std::tm parts{};
  std::array<char, 32> text{};
  if (gmtime_r(&time, &parts) == nullptr ||
      std::strftime(text.data(), text.size(), "%Y-%m-%dT%H:%M:%SZ", &parts) == 0) {
    return std::to_string(unix_seconds) + " (unix seconds)";
  }
  return text.data();
}

Status ValidateId(std::string_view id) {
  bool valid = id.size() == kIdBytes * 2;
  for (char c : id) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) valid = false;
  }
  if (valid) return OkStatus();
  return InvalidArgumentError("approval request id " + Quoted(id) + " is invalid: expected " +
                              std::to_string(kIdBytes * 2) + " lower-case hex digits");
}

Status ValidateNow(int64_t now) {
  if (now >= 0 && now <= kMaxUnixSeconds) return OkStatus();
  return InvalidArgumentError("time " + std::to_string(now) +
                              " is invalid: expected unix seconds from 0 to " +
                              std::to_string(kMaxUnixSeconds));
}

StatusOr<std::string> NewRequestId() {
  std::array<uint8_t, kIdBytes> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
    return InternalError("cannot draw a random approval request id: " + OpenSslErrors());
  }
  return HexEncode(bytes);
}

std::string Subject(const ApprovalRequest& request) { return "approval request " + request.id; }

// The FAILED_PRECONDITION for a request that has ended.
Status EndedError(const ApprovalRequest& request) {
  switch (request.state) {
    case ApprovalState::kExpired:
      return FailedPreconditionError(Subject(request) + " expired at " + FormatTime(request.expires_at) +
                                     "; ask for a new approval");
    case ApprovalState::kRejected:
      return FailedPreconditionError(Subject(request) + " was rejected by " + request.rejected_by +
                                     (request.reason.empty() ? "" : ": " + Quoted(request.reason)));
    case ApprovalState::kCancelled:
      return FailedPreconditionError(Subject(request) + " was cancelled by its requester " +
                                     request.requester);
    case ApprovalState::kExecuted:
      return FailedPreconditionError(Subject(request) + " has already been executed");
    case ApprovalState::kPending:
    case ApprovalState::kApproved:
      break;
  }
  return InternalError(Subject(request) + " has not ended");
}

std::string CountText(const ApprovalRequest& request) {
  return std::to_string(request.approvals.size()) + " of " + std::to_string(request.required) + " approvals";
}

// Runs `body` in one transaction. `body` returns a non-OK Status only when
// the database fails, and that rolls everything back. The outcome of the
// call goes into `verdict`: success, or a refusal that still commits, such
// as one that found the request expired.
template <typename T>
ApprovalOutcome<T> RunTransaction(
    Database& database, const std::function<Status(std::vector<ApprovalEvent>&, StatusOr<T>&)>& body) {
  std::vector<ApprovalEvent> events;
  StatusOr<T> verdict = InternalError("approval store: the transaction set no result");
  Status committed = database.Transaction([&] { return body(events, verdict); });
  if (!committed.ok()) return {std::move(committed), {}};
  return {std::move(verdict), std::move(events)};
}

}  // namespace

std::string_view ApprovalStateName(ApprovalState state) {
  for (const auto& [value, name] : kStateNames) {
    if (value == state) return name;
  }
  return "unknown";
}

std::string_view ApprovalEventKindName(ApprovalEventKind kind) {
  for (const auto& [value, name] : kEventKindNames) {
    if (value == kind) return name;
  }
  return "unknown";
}

namespace {

StatusOr<std::optional<ApprovalRequest>> LoadRequest(Database& database, std::string_view id) {
  MOAT_ASSIGN_OR_RETURN(
      Statement select,
      database.Prepare("SELECT requester, action, description, digest, required, state, created_at, "
                       "expires_at, finished_at, rejected_by, reason FROM approval_requests "
                       "WHERE id = ?"));
  select.Bind(1, id);
  MOAT_ASSIGN_OR_RETURN(bool found, select.Step());
  if (!found) return std::optional<ApprovalRequest>();

  ApprovalRequest request;
  request.id = std::string(id);
  request.requester = select.ColumnText(0);
  request.action = select.ColumnText(1);
  request.description = select.ColumnText(2);
  request.digest = select.ColumnText(3);
  request.required = static_cast<int>(select.ColumnInt(4));
  std::string state_name = select.ColumnText(5);
  std::optional<ApprovalState> state = EnumFromName(kStateNames, state_name);
  if (!state) {
    return DataLossError(Subject(request) + " has the unknown state " + Quoted(state_name));
  }
  request.state = *state;
  request.created_at = select.ColumnInt(6);
  request.expires_at = select.ColumnInt(7);
  request.finished_at = select.ColumnOptionalInt(8);
  request.rejected_by = select.ColumnText(9);
  request.reason = select.ColumnText(10);

  MOAT_ASSIGN_OR_RETURN(Statement fields,
                        database.Prepare("SELECT name, value FROM approval_fields WHERE request_id = ?"));
  fields.Bind(1, id);
  while (true) {
    MOAT_ASSIGN_OR_RETURN(bool row, fields.Step());
    if (!row) break;
    request.fields.emplace(fields.ColumnText(0), fields.ColumnText(1));
  }
  // Approvers approved the digest, so a stored operation that no longer
  // matches it must not be shown or run as if it were approved.
  if (OperationDigest(request.action, request.fields) != request.digest) {
    return DataLossError(Subject(request) + " in the state database does not match its digest " +
                         request.digest);
  }

  MOAT_ASSIGN_OR_RETURN(Statement votes, database.Prepare("SELECT approver, approved_at FROM approval_votes "
                                                          "WHERE request_id = ? ORDER BY rowid"));
  votes.Bind(1, id);
  while (true) {
    MOAT_ASSIGN_OR_RETURN(bool row, votes.Step());
    if (!row) break;
    request.approvals.push_back(Approval{votes.ColumnText(0), votes.ColumnInt(1)});
  }
  return std::optional<ApprovalRequest>(std::move(request));
}

// Stores `event` and appends it, with its sequence number, to `events`.
Status RecordEvent(Database& database, ApprovalEvent event, std::vector<ApprovalEvent>& events) {
  MOAT_ASSIGN_OR_RETURN(
      Statement insert,
      database.Prepare("INSERT INTO approval_events (kind, request_id, actor, action, digest, time, "
                       "approvals, required, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"));
  insert.Bind(1, ApprovalEventKindName(event.kind))
      .Bind(2, event.request_id)
      .Bind(3, event.actor)
      .Bind(4, event.action)
      .Bind(5, event.digest)
      .Bind(6, event.time)
      .Bind(7, int64_t{event.approvals})
      .Bind(8, int64_t{event.required})
      .Bind(9, event.reason);
  MOAT_RETURN_IF_ERROR(insert.Run());
  event.sequence = database.last_insert_rowid();
  events.push_back(std::move(event));
  return OkStatus();
}

// Records the event of `kind` for `request` as it is after the change.
Status RecordEventFor(Database& database, const ApprovalRequest& request, ApprovalEventKind kind,
                      std::string_view actor, int64_t time, std::vector<ApprovalEvent>& events) {
  ApprovalEvent event;
  event.kind = kind;
  event.request_id = request.id;
  event.actor = std::string(actor);
  event.action = request.action;
  event.digest = request.digest;
  event.time = time;
  event.approvals = static_cast<int>(request.approvals.size());
  event.required = request.required;
  if (kind == ApprovalEventKind::kRejected) event.reason = request.reason;
  return RecordEvent(database, std::move(event), events);
}

// Moves an open request to a final state. The state condition makes the
// update a no-op for a request that has ended meanwhile, which the
// transaction rules out, so zero changed rows is an internal error.
Status FinishRequest(Database& database, ApprovalRequest& request, ApprovalState state, int64_t finished_at) {
  MOAT_ASSIGN_OR_RETURN(
      Statement update,
      database.Prepare("UPDATE approval_requests SET state = ?, finished_at = ?, rejected_by = ?, "
                       "reason = ? WHERE id = ? AND state IN ('pending', 'approved')"));
  update.Bind(1, ApprovalStateName(state))
      .Bind(2, finished_at)
      .Bind(3, request.rejected_by)
      .Bind(4, request.reason)
      .Bind(5, request.id);
  MOAT_RETURN_IF_ERROR(update.Run());
  if (database.changes() != 1) {
    return InternalError(Subject(request) + " changed state while its transaction was open");
  }
  request.state = state;
  request.finished_at = finished_at;
  return OkStatus();
}

// Ends an open request in `state` on behalf of `actor`, records the event
// of `kind`, and hands the request over as the call's verdict.
Status EndRequest(Database& database, ApprovalRequest& request, ApprovalState state, ApprovalEventKind kind,
                  std::string_view actor, int64_t now, std::vector<ApprovalEvent>& events,
                  StatusOr<ApprovalRequest>& verdict) {
  MOAT_RETURN_IF_ERROR(FinishRequest(database, request, state, now));
  MOAT_RETURN_IF_ERROR(RecordEventFor(database, request, kind, actor, now, events));
  verdict = std::move(request);
  return OkStatus();
}

// Marks an open request expired, with its event, when `now` is at or past
// expires_at. The event carries expires_at as its time.
Status ExpireIfDue(Database& database, ApprovalRequest& request, int64_t now,
                   std::vector<ApprovalEvent>& events) {
  if (!IsOpen(request.state) || now < request.expires_at) return OkStatus();
  MOAT_RETURN_IF_ERROR(FinishRequest(database, request, ApprovalState::kExpired, request.expires_at));
  return RecordEventFor(database, request, ApprovalEventKind::kExpired, "", request.expires_at, events);
}

// Runs `body` on the request `id` in one transaction, after storing an
// expiry that was due. The outcome is NOT_FOUND for an unknown id and,
// when `open_only` is set, the reason the request ended for one that has,
// without running `body`. `body` sets `verdict` and returns non-OK only
// when the database fails.
using RequestBody =
    std::function<Status(ApprovalRequest&, std::vector<ApprovalEvent>&, StatusOr<ApprovalRequest>&)>;

ApprovalOutcome<ApprovalRequest> RunOnRequest(Database& database, std::string_view id, int64_t now,
                                              bool open_only, const RequestBody& body) {
  return RunTransaction<ApprovalRequest>(
      database, [&](std::vector<ApprovalEvent>& events, StatusOr<ApprovalRequest>& verdict) -> Status {
        MOAT_ASSIGN_OR_RETURN(std::optional<ApprovalRequest> request, LoadRequest(database, id));
        if (!request) {
          verdict = NotFoundError("approval request " + std::string(id) + " not found");
          return OkStatus();
        }
        MOAT_RETURN_IF_ERROR(ExpireIfDue(database, *request, now, events));
        if (open_only && !IsOpen(request->state)) {
          verdict = EndedError(*request);
          return OkStatus();
        }
        return body(*request, events, verdict);
      });
}

// Checks the arguments that every call on one request takes.
Status ValidateCall(std::string_view id, std::string_view role, std::string_view name, int64_t now) {
  MOAT_RETURN_IF_ERROR(ValidateId(id));
  MOAT_RETURN_IF_ERROR(ValidateName(role, name));
  return ValidateNow(now);
}

}  // namespace

StatusOr<std::unique_ptr<ApprovalStore>> ApprovalStore::Open(Database& database) {
  MOAT_RETURN_IF_ERROR(database.Exec(kSchema));
  return std::unique_ptr<ApprovalStore>(new ApprovalStore(database));
}

ApprovalOutcome<ApprovalRequest> ApprovalStore::Create(std::string_view requester, std::string_view action,
                                                       const OperationFields& fields, int required,
                                                       std::chrono::seconds timeout, int64_t now) {
  if (Status status = ValidateName("requester", requester); !status.ok()) return {status, {}};
  if (Status status = ValidateOperation(action, fields); !status.ok()) return {status, {}};
  if (required < kMinRequiredApprovals || required > kMaxRequiredApprovals) {
    return {InvalidArgumentError("required approvals " + std::to_string(required) + " is out of range: use " +
                                 std::to_string(kMinRequiredApprovals) + " to " +
                                 std::to_string(kMaxRequiredApprovals)),
            {}};
  }
  if (timeout < kMinApprovalTimeout || timeout > kMaxApprovalTimeout) {
    return {InvalidArgumentError("approval timeout " + std::to_string(timeout.count()) +
                                 " s is out of range: use " + std::to_string(kMinApprovalTimeout.count()) +
                                 " to " + std::to_string(kMaxApprovalTimeout.count()) + " s"),
            {}};
  }
  if (Status status = ValidateNow(now); !status.ok()) return {status, {}};
  StatusOr<std::string> id = NewRequestId();
  if (!id.ok()) return {id.status(), {}};

  ApprovalRequest request;
  request.id = std::move(*id);
  request.requester = std::string(requester);
  request.action = std::string(action);
  request.fields = fields;
  request.description = DescribeOperation(action, fields);
  request.digest = OperationDigest(action, fields);
  request.required = required;
  request.created_at = now;
  request.expires_at = now + timeout.count();

  std::lock_guard lock(mutex_);
  return RunTransaction<ApprovalRequest>(
      database_, [&](std::vector<ApprovalEvent>& events, StatusOr<ApprovalRequest>& verdict) -> Status {
        MOAT_ASSIGN_OR_RETURN(
            Statement insert,
            database_.Prepare("INSERT INTO approval_requests (id, requester, action, description, "
                              "digest, required, state, created_at, expires_at) "
                              "VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?)"));
        insert.Bind(1, request.id)
            .Bind(2, request.requester)
            .Bind(3, request.action)
            .Bind(4, request.description)
            .Bind(5, request.digest)
            .Bind(6, int64_t{request.required})
            .Bind(7, request.created_at)
            .Bind(8, request.expires_at);
        MOAT_RETURN_IF_ERROR(insert.Run());

        MOAT_ASSIGN_OR_RETURN(Statement insert_field,
                              database_.Prepare("INSERT INTO approval_fields (request_id, name, "
                                                "value) VALUES (?, ?, ?)"));
        for (const auto& [name, value] : request.fields) {
          insert_field.Reset();
          insert_field.Bind(1, request.id).Bind(2, name).Bind(3, value);
          MOAT_RETURN_IF_ERROR(insert_field.Run());
        }
        MOAT_RETURN_IF_ERROR(RecordEventFor(database_, request, ApprovalEventKind::kRequested,
                                            request.requester, now, events));
        verdict = request;
        return OkStatus();
      });
}

ApprovalOutcome<ApprovalRequest> ApprovalStore::Approve(std::string_view id, std::string_view approver,
                                                        std::string_view digest_seen, int64_t now) {
  if (Status status = ValidateCall(id, "approver", approver, now); !status.ok()) return {status, {}};

  std::lock_guard lock(mutex_);
  return RunOnRequest(
      database_, id, now, true,
      [&](ApprovalRequest& request, std::vector<ApprovalEvent>& events,
          StatusOr<ApprovalRequest>& verdict) -> Status {
        if (request.state == ApprovalState::kApproved) {
          verdict = FailedPreconditionError(Subject(request) + " already has all " + CountText(request) +
                                            "; no further approval is needed");
          return OkStatus();
        }
        if (approver == request.requester) {
          verdict = PermissionDeniedError(std::string(approver) + " requested " + Subject(request) +
                                          " and cannot approve it; another approver must");
          return OkStatus();
        }
        for (const Approval& approval : request.approvals) {
          if (approval.approver == approver) {
            verdict =
                AlreadyExistsError(std::string(approver) + " already approved " + Subject(request) + " at " +
                                   FormatTime(approval.time) + "; it has " + CountText(request));
            return OkStatus();
          }
        }
        if (digest_seen != request.digest) {
          verdict = InvalidArgumentError("approval is for operation " + request.digest + " (" +
                                         request.description + "), not " + Quoted(digest_seen));
          return OkStatus();
        }

        MOAT_ASSIGN_OR_RETURN(Statement insert,
                              database_.Prepare("INSERT INTO approval_votes (request_id, approver, "
                                                "approved_at) VALUES (?, ?, ?)"));
        insert.Bind(1, request.id).Bind(2, approver).Bind(3, now);
        MOAT_RETURN_IF_ERROR(insert.Run());
        request.approvals.push_back(Approval{std::string(approver), now});
        if (static_cast<int>(request.approvals.size()) >= request.required) {
          MOAT_ASSIGN_OR_RETURN(Statement update,
                                database_.Prepare("UPDATE approval_requests SET state = 'approved' "
                                                  "WHERE id = ? AND state = 'pending'"));
          update.Bind(1, request.id);
          MOAT_RETURN_IF_ERROR(update.Run());
          request.state = ApprovalState::kApproved;
        }
        MOAT_RETURN_IF_ERROR(
            RecordEventFor(database_, request, ApprovalEventKind::kApproved, approver, now, events));
        verdict = std::move(request);
        return OkStatus();
      });
}

ApprovalOutcome<ApprovalRequest> ApprovalStore::Reject(std::string_view id, std::string_view approver,
                                                       std::string_view reason, int64_t now) {
  if (Status status = ValidateCall(id, "approver", approver, now); !status.ok()) return {status, {}};
  if (reason.size() > kMaxReasonBytes) {
    return {InvalidArgumentError("rejection reason has " + std::to_string(reason.size()) +
                                 " bytes; the maximum is " + std::to_string(kMaxReasonBytes)),
            {}};
  }
  if (!IsValidUtf8(reason)) {
    return {InvalidArgumentError("rejection reason " + Quoted(reason) + " is not valid UTF-8"), {}};
  }

  std::lock_guard lock(mutex_);
  return RunOnRequest(
      database_, id, now, true,
      [&](ApprovalRequest& request, std::vector<ApprovalEvent>& events,
          StatusOr<ApprovalRequest>& verdict) -> Status {
        if (approver == request.requester) {
          verdict = PermissionDeniedError(std::string(approver) + " requested " + Subject(request) +
                                          " and cannot reject it; cancel it instead");
          return OkStatus();
        }
        request.rejected_by = std::string(approver);
        request.reason = std::string(reason);
        return EndRequest(database_, request, ApprovalState::kRejected, ApprovalEventKind::kRejected,
                          approver, now, events, verdict);
      });
}

ApprovalOutcome<ApprovalRequest> ApprovalStore::Cancel(std::string_view id, std::string_view requester,
                                                       int64_t now) {
  if (Status status = ValidateCall(id, "requester", requester, now); !status.ok()) return {status, {}};

  std::lock_guard lock(mutex_);
  return RunOnRequest(
      database_, id, now, true,
      [&](ApprovalRequest& request, std::vector<ApprovalEvent>& events,
          StatusOr<ApprovalRequest>& verdict) -> Status {
        if (requester != request.requester) {
          verdict = PermissionDeniedError(Subject(request) + " was made by " + request.requester +
                                          "; only they can cancel it, not " + std::string(requester));
          return OkStatus();
        }
        return EndRequest(database_, request, ApprovalState::kCancelled, ApprovalEventKind::kCancelled,
                          requester, now, events, verdict);
      });
}

ApprovalOutcome<ApprovalRequest> ApprovalStore::Consume(std::string_view id, std::string_view requester,
                                                        std::string_view action,
                                                        const OperationFields& fields, int64_t now) {
  if (Status status = ValidateCall(id, "requester", requester, now); !status.ok()) return {status, {}};
  if (Status status = ValidateOperation(action, fields); !status.ok()) return {status, {}};
  std::string digest = OperationDigest(action, fields);

  std::lock_guard lock(mutex_);
  return RunOnRequest(
      database_, id, now, true,
      [&](ApprovalRequest& request, std::vector<ApprovalEvent>& events,
          StatusOr<ApprovalRequest>& verdict) -> Status {
        if (requester != request.requester) {
          verdict = PermissionDeniedError(Subject(request) + " was made by " + request.requester +
                                          "; only they can run it, not " + std::string(requester));
          return OkStatus();
        }
        if (digest != request.digest) {
          verdict = InvalidArgumentError("approval is for operation " + request.digest + " (" +
                                         request.description + "), not " + digest + " (" +
                                         DescribeOperation(action, fields) + ")");
          return OkStatus();
        }
        if (request.state != ApprovalState::kApproved) {
          verdict = FailedPreconditionError(Subject(request) + " is not approved yet: it has " +
                                            CountText(request));
          return OkStatus();
        }
        return EndRequest(database_, request, ApprovalState::kExecuted, ApprovalEventKind::kExecuted,
                          requester, now, events, verdict);
      });
}

ApprovalOutcome<ApprovalRequest> ApprovalStore::Get(std::string_view id, int64_t now) {
  if (Status status = ValidateId(id); !status.ok()) return {status, {}};
  if (Status status = ValidateNow(now); !status.ok()) return {status, {}};

  std::lock_guard lock(mutex_);
  return RunOnRequest(
      database_, id, now, false,
      [](ApprovalRequest& request, std::vector<ApprovalEvent>&, StatusOr<ApprovalRequest>& verdict) {
        verdict = std::move(request);
        return OkStatus();
      });
}

ApprovalOutcome<std::vector<ApprovalRequest>> ApprovalStore::List(int64_t now, bool include_finished) {
  if (Status status = ValidateNow(now); !status.ok()) return {status, {}};

  std::lock_guard lock(mutex_);
  using Requests = std::vector<ApprovalRequest>;
  return RunTransaction<Requests>(
      database_, [&](std::vector<ApprovalEvent>& events, StatusOr<Requests>& verdict) -> Status {
        MOAT_ASSIGN_OR_RETURN(
            Statement select,
            database_.Prepare(include_finished
                                  ? "SELECT id FROM approval_requests ORDER BY created_at, rowid"
                                  : "SELECT id FROM approval_requests WHERE state IN ('pending', "
                                    "'approved') ORDER BY created_at, rowid"));
        std::vector<std::string> ids;
        while (true) {
          MOAT_ASSIGN_OR_RETURN(bool row, select.Step());
          if (!row) break;
          ids.push_back(select.ColumnText(0));
        }

        Requests requests;
        for (const std::string& id : ids) {
          MOAT_ASSIGN_OR_RETURN(std::optional<ApprovalRequest> request, LoadRequest(database_, id));
          if (!request)
            return InternalError("approval request " + id + " vanished while its transaction was open");
          MOAT_RETURN_IF_ERROR(ExpireIfDue(database_, *request, now, events));
          if (include_finished || IsOpen(request->state)) requests.push_back(std::move(*request));
        }
        verdict = std::move(requests);
        return OkStatus();
      });
}

namespace {

constexpr std::string_view kEventColumns =
    "SELECT sequence, kind, request_id, actor, action, digest, time, approvals, required, reason "
    "FROM approval_events ";

StatusOr<std::vector<ApprovalEvent>> ReadEvents(Statement& select) {
  std::vector<ApprovalEvent> events;
  while (true) {
    MOAT_ASSIGN_OR_RETURN(bool row, select.Step());
    if (!row) break;
    ApprovalEvent event;
    event.sequence = select.ColumnInt(0);
    std::string kind_name = select.ColumnText(1);
    std::optional<ApprovalEventKind> kind = EnumFromName(kEventKindNames, kind_name);
    if (!kind) {
      return DataLossError("approval event " + std::to_string(event.sequence) + " has the unknown kind " +
                           Quoted(kind_name));
    }
    event.kind = *kind;
    event.request_id = select.ColumnText(2);
    event.actor = select.ColumnText(3);
    event.action = select.ColumnText(4);
    event.digest = select.ColumnText(5);
    event.time = select.ColumnInt(6);
    event.approvals = static_cast<int>(select.ColumnInt(7));
    event.required = static_cast<int>(select.ColumnInt(8));
    event.reason = select.ColumnText(9);
    events.push_back(std::move(event));
  }
  return events;
}

}  // namespace

StatusOr<std::vector<ApprovalEvent>> ApprovalStore::UnacknowledgedEvents(int limit) {
  if (limit < 1 || limit > kMaxEventBatch) {
    return InvalidArgumentError("event limit " + std::to_string(limit) + " is out of range: use 1 to " +
                                std::to_string(kMaxEventBatch));
  }
  std::lock_guard lock(mutex_);
  MOAT_ASSIGN_OR_RETURN(
      Statement select,
      database_.Prepare(std::string(kEventColumns) + "WHERE acknowledged = 0 ORDER BY sequence LIMIT ?"));
  select.Bind(1, int64_t{limit});
  return ReadEvents(select);
}

Status ApprovalStore::AcknowledgeEvents(const std::vector<ApprovalEvent>& events) {
  std::lock_guard lock(mutex_);
  return database_.Transaction([&]() -> Status {
    MOAT_ASSIGN_OR_RETURN(
        Statement update,
        database_.Prepare("UPDATE approval_events SET acknowledged = 1 WHERE sequence = ?"));
    for (const ApprovalEvent& event : events) {
      update.Reset();
      update.Bind(1, event.sequence);
      MOAT_RETURN_IF_ERROR(update.Run());
      if (database_.changes() != 1) {
        return NotFoundError("approval event " + std::to_string(event.sequence) + " not found");
      }
    }
    return OkStatus();
  });
}

StatusOr<std::vector<ApprovalEvent>> ApprovalStore::EventsOf(std::string_view id) {
  MOAT_RETURN_IF_ERROR(ValidateId(id));
  std::lock_guard lock(mutex_);
  MOAT_ASSIGN_OR_RETURN(Statement select, database_.Prepare(std::string(kEventColumns) +
                                                            "WHERE request_id = ? ORDER BY sequence"));
  select.Bind(1, id);
  return ReadEvents(select);
}

}  // namespace moat::auth
