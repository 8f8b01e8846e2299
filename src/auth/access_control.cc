#include "auth/access_control.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cerrno>
#include <cstring>
#include <utility>

#include "audit/record.h"

namespace moat::auth {
namespace {

// The state database's file name inside the data directory.
constexpr char kStateFile[] = "state.db";

// How often Authenticate lets the identity store look for changes that
// another process (`moat init` beside a running server) made to the file.
constexpr int64_t kRefreshIntervalSeconds = 1;

// How many unacknowledged approval events one drain writes at most; the
// rest wait for the next call.
constexpr int kEventBatch = 256;

bool StartsWithCaseless(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    char a = text[i];
    char b = prefix[i];
    if (a >= 'A' && a <= 'Z') a = static_cast<char>(a - 'A' + 'a');
    if (b >= 'A' && b <= 'Z') b = static_cast<char>(b - 'A' + 'a');
    if (a != b) return false;
  }
  return true;
}

// Extracts the token of "Bearer TOKEN". The scheme is case-insensitive
// (RFC 9110); the token itself is checked by the identity store.
StatusOr<std::string_view> BearerToken(std::string_view authorization) {
  constexpr std::string_view kScheme = "bearer ";
  if (!StartsWithCaseless(authorization, kScheme)) {
    return Status(StatusCode::kUnauthenticated,
                  "the Authorization header must be 'Bearer TOKEN' with a Moat API token");
  }
  std::string_view token = authorization.substr(kScheme.size());
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
  if (token.empty()) return Status(StatusCode::kUnauthenticated, "the Authorization header has no token");
  return token;
}

Status Unauthenticated(std::string message) { return Status(StatusCode::kUnauthenticated, std::move(message)); }

std::string JsonObject(const std::vector<std::pair<std::string, std::string>>& strings,
                       const std::vector<std::pair<std::string, int64_t>>& numbers = {}) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  writer.StartObject();
  for (const auto& [key, value] : strings) {
    writer.Key(key.c_str());
    std::string valid = audit::ToValidUtf8(value);
    writer.String(valid.c_str(), static_cast<rapidjson::SizeType>(valid.size()));
  }
  for (const auto& [key, value] : numbers) {
    writer.Key(key.c_str());
    writer.Int64(value);
  }
  writer.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

const char* ApprovalRecordType(ApprovalEventKind kind) {
  switch (kind) {
    case ApprovalEventKind::kRequested:
      return access_record::kApprovalRequested;
    case ApprovalEventKind::kApproved:
      return access_record::kApprovalApproved;
    case ApprovalEventKind::kRejected:
      return access_record::kApprovalRejected;
    case ApprovalEventKind::kCancelled:
      return access_record::kApprovalCancelled;
    case ApprovalEventKind::kExpired:
      return access_record::kApprovalExpired;
    case ApprovalEventKind::kExecuted:
      return access_record::kApprovalExecuted;
  }
  return access_record::kApprovalRequested;
}

std::string JoinStrings(const std::vector<std::string>& items) {
  std::string joined;
  for (const std::string& item : items) {
    if (!joined.empty()) joined += ',';
    joined += item;
  }
  return joined;
}

}  // namespace

OperationFields ApprovalFields(const Operation& operation) {
  OperationFields fields = operation.details;
  if (!operation.model.empty()) fields["model"] = operation.model;
  if (operation.version) fields["version"] = std::to_string(*operation.version);
  if (!operation.target.empty()) fields["target"] = operation.target;
  if (!operation.grants.empty()) fields["grants"] = JoinStrings(operation.grants);
  return fields;
}

AccessControl::AccessControl(const AccessControlOptions& options, std::unique_ptr<Database> database,
                             std::unique_ptr<IdentityStore> identities, std::unique_ptr<ApprovalStore> approvals,
                             std::shared_ptr<const policy::Policy> policy)
    : options_(options),
      database_(std::move(database)),
      identities_(std::move(identities)),
      approvals_(std::move(approvals)),
      policy_(std::move(policy)) {}

AccessControl::~AccessControl() = default;

StatusOr<std::unique_ptr<AccessControl>> AccessControl::Open(const AccessControlOptions& options) {
  if (options.data_dir.empty()) return InvalidArgumentError("access control needs a data directory");
  if (options.policy_file.empty()) return InvalidArgumentError("access control needs a policy file");
  MOAT_ASSIGN_OR_RETURN(std::shared_ptr<const policy::Policy> policy, policy::Policy::Load(options.policy_file));
  MOAT_ASSIGN_OR_RETURN(std::unique_ptr<IdentityStore> identities, IdentityStore::Open(options.data_dir));
  // The approval store gets its own connection: Database has no lock of its
  // own, and the identity store keeps one for itself.
  MOAT_ASSIGN_OR_RETURN(std::unique_ptr<Database> database,
                        Database::Open(options.data_dir + "/" + kStateFile));
  MOAT_ASSIGN_OR_RETURN(std::unique_ptr<ApprovalStore> approvals, ApprovalStore::Open(*database));
  spdlog::info("access control: policy {} with {} rules (sha256 {}), state in {}", options.policy_file,
               policy->rule_count(), policy->digest(), options.data_dir);
  return std::unique_ptr<AccessControl>(new AccessControl(options, std::move(database), std::move(identities),
                                                          std::move(approvals), std::move(policy)));
}

std::shared_ptr<const policy::Policy> AccessControl::policy() const {
  std::lock_guard lock(policy_mutex_);
  return policy_;
}

void AccessControl::SetAuditSink(std::function<void(const audit::AuditEvent&)> sink) {
  sink_ = std::move(sink);
  // Events that an earlier run committed but could not record (a crash
  // between the two) are recorded now.
  DrainApprovalEvents();
}

void AccessControl::Record(const audit::AuditEvent& event) const {
  if (sink_) sink_(event);
}

void AccessControl::DrainApprovalEvents() {
  std::lock_guard lock(drain_mutex_);
  while (true) {
    StatusOr<std::vector<ApprovalEvent>> events = approvals_->UnacknowledgedEvents(kEventBatch);
    if (!events.ok()) {
      spdlog::error("access control: cannot read approval events: {}", events.status().message());
      return;
    }
    if (events->empty()) return;
    for (const ApprovalEvent& event : *events) {
      audit::AuditEvent record;
      record.type = ApprovalRecordType(event.kind);
      record.principal = event.actor.empty() ? std::string(kAnonymous) : event.actor;
      record.action = event.action;
      record.details = JsonObject({{"approval", event.request_id},
                                   {"digest", event.digest},
                                   {"event", std::string(ApprovalEventKindName(event.kind))},
                                   {"reason", event.reason}},
                                  {{"approvals", event.approvals},
                                   {"required", event.required},
                                   {"time", event.time},
                                   {"sequence", event.sequence}});
      Record(record);
    }
    Status acknowledged = approvals_->AcknowledgeEvents(*events);
    if (!acknowledged.ok()) {
      spdlog::error("access control: cannot acknowledge approval events: {}", acknowledged.message());
      return;
    }
    if (events->size() < static_cast<size_t>(kEventBatch)) return;
  }
}

StatusOr<Caller> AccessControl::Authenticate(const Credentials& credentials, int64_t now_unix) {
  Caller caller;
  caller.approval_id = std::string(credentials.approval_id);
  if (StatusOr<policy::IpAddress> address = policy::ParsePeerAddress(credentials.peer); address.ok()) {
    caller.address = *address;
  }

  int64_t last = last_refresh_.load(std::memory_order_relaxed);
  if (now_unix - last >= kRefreshIntervalSeconds &&
      last_refresh_.compare_exchange_strong(last, now_unix, std::memory_order_relaxed)) {
    if (Status refreshed = identities_->Refresh(); !refreshed.ok()) {
      spdlog::warn("access control: cannot reload accounts and tokens: {}", refreshed.message());
    }
  }

  std::optional<Identity> identity;
  if (!credentials.authorization.empty()) {
    MOAT_ASSIGN_OR_RETURN(std::string_view token, BearerToken(credentials.authorization));
    MOAT_ASSIGN_OR_RETURN(Identity by_token, identities_->Authenticate(token, now_unix));
    identity = std::move(by_token);
  }
  if (credentials.certificate != nullptr) {
    StatusOr<std::string> name =
        tls::CertificateIdentity(*credentials.certificate, options_.certificate_identity);
    if (!name.ok()) return Unauthenticated("client certificate: " + name.status().message());
    if (identity && identity->account != *name) {
      return Unauthenticated("the token belongs to account '" + identity->account +
                             "' but the client certificate names '" + *name + "'");
    }
    if (!identity) {
      StatusOr<Identity> by_certificate = identities_->IdentityOf(*name);
      if (!by_certificate.ok()) {
        return Unauthenticated("client certificate: " + by_certificate.status().message());
      }
      identity = std::move(*by_certificate);
    }
    caller.subject.client_certificate = true;
  }
  if (identity) {
    caller.principal = identity->account;
    caller.token_id = identity->token_id;
    caller.subject.account = identity->account;
    caller.subject.groups = identity->groups;
    caller.subject.roles = identity->roles;
  }

  if (!credentials.one_time_code.empty()) {
    if (!identity) return Unauthenticated("a one-time code needs an account: send a token or a client certificate");
    Status verified = identities_->VerifyTotp(identity->account, credentials.one_time_code, now_unix);
    if (!verified.ok()) {
      if (verified.code() == StatusCode::kResourceExhausted) return verified;
      return Unauthenticated("one-time code refused: " + verified.message());
    }
    caller.subject.second_factor = true;
  }
  return caller;
}

StatusOr<Grant> AccessControl::Authorize(const Caller& caller, const Operation& operation, int64_t now_unix,
                                         Refusal* refusal) {
  std::shared_ptr<const policy::Policy> current = policy();
  policy::AccessRequest request;
  request.subject = &caller.subject;
  request.action = operation.action;
  request.model = operation.model;
  request.version = operation.version;
  request.target = operation.target;
  request.grants = operation.grants;
  request.unix_seconds = now_unix;
  request.client_address = caller.address;
  policy::Decision decision = current->Decide(request);
  Refusal local;
  Refusal& why = refusal != nullptr ? *refusal : local;
  why.rule = std::string(decision.rule);

  if (!decision.allowed) {
    why.needs_second_factor = decision.needs_second_factor;
    if (decision.needs_second_factor) {
      return PermissionDeniedError(
          "permission denied without a second factor: repeat the request with a current one-time code "
          "(HTTP header Moat-OTP, gRPC metadata moat-otp)");
    }
    return PermissionDeniedError("permission denied");
  }
  if (decision.approvals == 0) return Grant{std::string(decision.rule), ""};

  // The policy requires approvals, so the operation runs only by consuming
  // an approval of exactly this operation.
  if (caller.subject.account.empty()) return PermissionDeniedError("permission denied: approvals need an account");
  std::string action(policy::ActionName(operation.action));
  OperationFields fields = ApprovalFields(operation);
  why.approvals_required = decision.approvals;
  why.approval_digest = OperationDigest(action, fields);
  if (!caller.approval_id.empty()) {
    ApprovalOutcome<ApprovalRequest> consumed =
        approvals_->Consume(caller.approval_id, caller.subject.account, action, fields, now_unix);
    DrainApprovalEvents();
    if (consumed.result.ok()) return Grant{std::string(decision.rule), caller.approval_id};
    const Status& error = consumed.result.status();
    if (error.code() == StatusCode::kFailedPrecondition) {
      // Still waiting for approvers: the reply names the approval again.
      ApprovalOutcome<ApprovalRequest> named = approvals_->Get(caller.approval_id, now_unix);
      DrainApprovalEvents();
      if (named.result.ok() && named.result->state == ApprovalState::kPending) {
        why.approval_id = caller.approval_id;
      }
    }
    return Status(error.code(), "approval " + caller.approval_id + ": " + error.message());
  }
  ApprovalOutcome<ApprovalRequest> created = approvals_->Create(
      caller.subject.account, action, fields, decision.approvals, decision.approval_timeout, now_unix);
  DrainApprovalEvents();
  if (!created.result.ok()) return created.result.status();
  why.approval_id = created.result->id;
  return FailedPreconditionError("approval required: this operation (" + created.result->description + ") needs " +
                                 std::to_string(decision.approvals) + " approval(s) before " +
                                 audit::FormatRecordTime(created.result->expires_at * 1'000'000) +
                                 "; approvers run `moat approvals approve " + created.result->id +
                                 "`, then repeat the request with the header Moat-Approval: " +
                                 created.result->id + " (gRPC metadata moat-approval)");
}

Status AccessControl::ReloadPolicy() {
  StatusOr<std::shared_ptr<const policy::Policy>> loaded = policy::Policy::Load(options_.policy_file);
  audit::AuditEvent record;
  record.type = access_record::kPolicyReload;
  record.action = std::string(policy::ActionName(policy::Action::kChangePolicy));
  if (!loaded.ok()) {
    spdlog::error("policy reload failed, keeping the running policy: {}", loaded.status().message());
    record.outcome = std::string(StatusCodeName(loaded.status().code()));
    record.error = loaded.status().message();
    record.details = JsonObject({{"file", options_.policy_file}, {"running_digest", policy()->digest()}});
    Record(record);
    return loaded.status();
  }
  {
    std::lock_guard lock(policy_mutex_);
    policy_ = *loaded;
  }
  spdlog::info("policy reloaded from {}: {} rules (sha256 {})", options_.policy_file, (*loaded)->rule_count(),
               (*loaded)->digest());
  record.details = JsonObject({{"file", options_.policy_file}, {"digest", (*loaded)->digest()}},
                              {{"rules", static_cast<int64_t>((*loaded)->rule_count())}});
  Record(record);
  return OkStatus();
}

int64_t UnixNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Status AdmitRequest(AccessControl& access, const Credentials& credentials, const Operation& operation,
                    int64_t now_unix, RequestContext& context, Caller& caller, Refusal& refusal) {
  context.action = std::string(policy::ActionName(operation.action));
  StatusOr<Caller> authenticated = access.Authenticate(credentials, now_unix);
  if (!authenticated.ok()) return authenticated.status();
  caller = std::move(*authenticated);
  context.principal = caller.principal;
  StatusOr<Grant> grant = access.Authorize(caller, operation, now_unix, &refusal);
  if (!grant.ok()) {
    context.rule = refusal.rule;
    return grant.status();
  }
  context.rule = std::move(grant->rule);
  return OkStatus();
}

Status PolicyVersionCheck::AuthorizeVersion(int64_t version, std::string& rule) const {
  Operation resolved = operation_;
  resolved.version = version;
  Refusal refusal;
  StatusOr<Grant> grant = access_.Authorize(caller_, resolved, now_unix_, &refusal);
  rule = grant.ok() ? grant->rule : refusal.rule;
  return grant.status();
}

}  // namespace moat::auth
