// AccessControl: the one place where a request's credentials become a
// caller and an action becomes allowed, denied, or an approval to wait for.
// Front ends (HTTP, gRPC, the management API) call Authenticate once per
// request and Authorize once per action. The result names the deciding
// policy rule, which goes into the request's audit record.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/approvals.h"
#include "auth/identity_store.h"
#include "audit/event.h"
#include "auth/sqlite.h"
#include "core/inference.h"
#include "common/status.h"
#include "policy/address_range.h"
#include "policy/policy.h"
#include "tls/peer_certificate.h"

namespace moat::auth {

// The principal of requests that present no credentials.
inline constexpr char kAnonymous[] = "anonymous";

// The credentials of a request, as its front end read them. Views into the
// request; valid for the call only.
struct Credentials {
  std::string_view authorization;  // "Bearer TOKEN" (HTTP header or gRPC metadata), may be empty
  const tls::PeerCertificate* certificate = nullptr;  // a client certificate the handshake verified
  std::string_view one_time_code;  // the Moat-OTP header / moat-otp metadata, may be empty
  std::string_view approval_id;    // the Moat-Approval header / moat-approval metadata, may be empty
  std::string_view peer;           // "127.0.0.1:5000" or "[::1]:5000"
};

// The authenticated sender of one request.
struct Caller {
  policy::Subject subject;
  std::string principal = kAnonymous;  // the account name; goes into audit records
  std::string token_id;                // the token that authenticated it, if any
  std::optional<policy::IpAddress> address;
  std::string approval_id;  // the approval the request claims to execute, if any
};

// One action on one resource, as the policy and the approval digest see it.
struct Operation {
  policy::Action action = policy::Action::kInfer;
  std::string model;               // empty: the action names no model
  std::optional<int64_t> version;  // empty: not known yet (see Policy's versions)
  std::string target;              // "user:alice", "group:ops", "role:admin"; else empty
  std::vector<std::string> grants; // roles or groups the operation gives: "role:admin"
  // Everything else that makes the operation what it is (a token's expiry,
  // a group's new member...). With the fields above it forms the approval
  // digest, so an approval can never be replayed onto another operation.
  std::map<std::string, std::string> details;
};

// The outcome of Authorize when the action may run now.
struct Grant {
  std::string rule;         // the policy rule that allowed it
  std::string approval_id;  // the approval it consumed, if the policy asked for one
};

// The reason Authorize gave no grant, for the audit record and the reply.
struct Refusal {
  std::string rule;            // the deciding policy rule
  bool needs_second_factor = false;
  // Set when the operation waits for approvals: the pending request (new,
  // or the one the caller named that is not approved yet), its digest and
  // how many approvals it needs. HTTP replies with 428, gRPC with FAILED_PRECONDITION.
  std::string approval_id;
  std::string approval_digest;
  int approvals_required = 0;
};

struct AccessControlOptions {
  std::string data_dir;     // contains state.db (accounts, tokens, codes, approvals)
  std::string policy_file;  // reloaded by ReloadPolicy
  // Which field of a verified client certificate names the account.
  tls::CertificateIdentityField certificate_identity = tls::CertificateIdentityField::kCommonName;
  std::string zoneinfo_dir = "/usr/share/zoneinfo";
};

// Audit record types of access control. A denied KServe request is a
// "rejected" record (outcome PERMISSION_DENIED, with its rule), written by
// the front end; these cover the rest.
namespace access_record {
inline constexpr char kManagement[] = "management";  // an account, group, token or code changed (or was refused)
inline constexpr char kApprovalRequested[] = "approval_requested";
inline constexpr char kApprovalApproved[] = "approval_approved";
inline constexpr char kApprovalRejected[] = "approval_rejected";
inline constexpr char kApprovalCancelled[] = "approval_cancelled";
inline constexpr char kApprovalExpired[] = "approval_expired";
inline constexpr char kApprovalExecuted[] = "approval_executed";
inline constexpr char kPolicyReload[] = "policy_reload";  // outcome ok, or the reason it was refused
}  // namespace access_record

// The fields that bind an approval to `operation`: its details plus model,
// version, target and grants.
OperationFields ApprovalFields(const Operation& operation);

// Thread-safe.
class AccessControl {
 public:
  // Opens the state database under options.data_dir and loads the policy.
  // Errors name the file that cannot be used and why.
  static StatusOr<std::unique_ptr<AccessControl>> Open(const AccessControlOptions& options);
  ~AccessControl();

  // Turns credentials into a caller. No credentials at all give the
  // anonymous caller (the policy decides what it may do). UNAUTHENTICATED,
  // with a message that never repeats a secret, for a token that is
  // malformed, unknown, revoked or expired, an account that is disabled, a
  // certificate whose identity field names no enabled account, or a
  // one-time code that is wrong or used (RESOURCE_EXHAUSTED while the
  // account's failed codes are rate-limited).
  StatusOr<Caller> Authenticate(const Credentials& credentials, int64_t now_unix);

  // Decides `operation` for `caller` now; `refusal`, when given, says why
  // it did not allow it.
  // - Allowed: the Grant (its rule goes into the audit record).
  // - Denied: PERMISSION_DENIED "permission denied", which says nothing
  //   about what exists. When only a second factor is missing, the message
  //   asks for a one-time code instead.
  // - Needs approval: with caller.approval_id naming an approval of this
  //   exact operation by enough approvers, consumes it and allows;
  //   otherwise creates a pending approval (or keeps the named one pending)
  //   and returns FAILED_PRECONDITION whose message names the approval id
  //   and how to approve it.
  StatusOr<Grant> Authorize(const Caller& caller, const Operation& operation, int64_t now_unix,
                            Refusal* refusal = nullptr);

  // Reads the policy file again and swaps it in atomically. On any error
  // the running policy stays and the error (with line numbers) is returned
  // and reported as a policy_reload_failed event.
  Status ReloadPolicy();
  std::shared_ptr<const policy::Policy> policy() const;

  IdentityStore& identities() { return *identities_; }
  ApprovalStore& approvals() { return *approvals_; }

  // Where audit events go (the server's audit log); set once before
  // serving. AccessControl records approvals and their outcomes and policy
  // reloads itself; Record is for callers with their own events.
  void SetAuditSink(std::function<void(const audit::AuditEvent&)> sink);
  void Record(const audit::AuditEvent& event) const;

  // Records every approval event that the store committed and the audit
  // log has not seen yet, then acknowledges them. AccessControl calls it
  // after its own approval changes and when the sink is set, so a crash
  // between a commit and its record loses nothing; callers that change
  // approvals() directly call it after each change.
  void DrainApprovalEvents();

 private:

  AccessControl(const AccessControlOptions& options, std::unique_ptr<Database> database,
                std::unique_ptr<IdentityStore> identities, std::unique_ptr<ApprovalStore> approvals,
                std::shared_ptr<const policy::Policy> policy);

  const AccessControlOptions options_;
  std::unique_ptr<Database> database_;
  std::unique_ptr<IdentityStore> identities_;
  std::unique_ptr<ApprovalStore> approvals_;
  mutable std::mutex policy_mutex_;
  std::shared_ptr<const policy::Policy> policy_;
  std::function<void(const audit::AuditEvent&)> sink_;
  std::mutex drain_mutex_;  // one drain at a time, so no event is recorded twice
  std::atomic<int64_t> last_refresh_{0};  // unix seconds of the last IdentityStore::Refresh
};

// Authenticates `credentials` and authorizes `operation` for one request,
// filling `caller`, `refusal` and the principal, action and rule of
// `context` for its audit record, whatever the outcome. Returns OK or the
// error for the client: UNAUTHENTICATED, PERMISSION_DENIED,
// RESOURCE_EXHAUSTED (one-time codes rate-limited) or FAILED_PRECONDITION
// (the operation waits for approvals: refusal.approval_id names them).
Status AdmitRequest(AccessControl& access, const Credentials& credentials, const Operation& operation,
                    int64_t now_unix, RequestContext& context, Caller& caller, Refusal& refusal);

// The current time in Unix seconds, for Authenticate and Authorize.
int64_t UnixNow();

// Decides an infer request again once the service has resolved "latest"
// to a version (see VersionAuthorizer). Lives on the front end's
// stack for the duration of one request.
class PolicyVersionCheck final : public VersionAuthorizer {
 public:
  PolicyVersionCheck(AccessControl& access, const Caller& caller, const Operation& operation, int64_t now_unix)
      : access_(access), caller_(caller), operation_(operation), now_unix_(now_unix) {}
  Status AuthorizeVersion(int64_t version, std::string& rule) const override;

 private:
  AccessControl& access_;
  const Caller& caller_;
  const Operation& operation_;
  const int64_t now_unix_;
};

}  // namespace moat::auth
