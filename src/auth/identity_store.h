// Accounts (users and service accounts), groups, roles, API tokens and TOTP
// second factors, kept in DATA_DIR/state.db (SQLite, WAL) beside the other
// stores of the node. Token checks run against an in-memory snapshot, so
// that the request path never waits for SQLite.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/sqlite.h"
#include "common/status.h"

namespace moat::auth {

enum class AccountKind { kUser, kService };

// "user" or "service", as stored and shown.
std::string_view AccountKindName(AccountKind kind);
// INVALID_ARGUMENT naming the text unless it is "user" or "service".
StatusOr<AccountKind> ParseAccountKind(std::string_view text);

struct AccountInfo {
  std::string name;
  AccountKind kind = AccountKind::kUser;
  std::vector<std::string> roles;   // sorted
  std::vector<std::string> groups;  // sorted
  bool disabled = false;
  int64_t created_at = 0;   // Unix seconds
  int64_t token_count = 0;  // tokens not revoked, expired ones included
};

struct GroupInfo {
  std::string name;
  int64_t created_at = 0;            // Unix seconds
  std::vector<std::string> members;  // account names, sorted
};

// A token as lists show it. The secret is never stored, so never shown.
struct TokenInfo {
  std::string id;  // 16 lower-case hex digits
  std::string account;
  int64_t created_at = 0;  // Unix seconds
  int64_t expires_at = 0;  // Unix seconds, the first second at which the token fails
  std::optional<int64_t> revoked_at;
  std::string description;
};

// Returned once by CreateToken: `text` is the only copy of the secret.
struct CreatedToken {
  std::string id;
  std::string text;
};

// The principal behind a request.
struct Identity {
  std::string account;
  AccountKind kind = AccountKind::kUser;
  std::vector<std::string> groups;  // sorted
  std::vector<std::string> roles;   // sorted
  std::string token_id;               // empty for a client certificate
  std::optional<int64_t> expires_at;  // the token's expiry; none for a certificate
};

// Returned once by EnrolTotp. The secret also stays in state.db, which is
// why that file has mode 0600.
struct TotpEnrolment {
  std::string secret_base32;  // 20 bytes, unpadded base32 (32 characters)
  std::string uri;            // otpauth://totp/Moat:ACCOUNT?secret=...&issuer=Moat&...
};

struct IdentitySnapshot;

// Thread-safe. Writes and TOTP checks hold one mutex and run in SQLite
// transactions. Authenticate, IdentityOf and the lists read an immutable
// snapshot that each write of this store replaces after its commit, so
// they never wait for a write. Changes made by another process (a `moat`
// command beside the server) become visible after Refresh().
//
// Names of accounts, groups and roles are 1-64 bytes of A-Z a-z 0-9 . _ @ -;
// other names fail with INVALID_ARGUMENT naming the value. Accounts are
// disabled, never deleted, so a name in the audit log always means the
// same principal. Times are Unix seconds passed in by the caller.
class IdentityStore {
 public:
  // Opens DATA_DIR/state.db, creating the folder (mode 0700, its parent
  // must exist) and the file (mode 0600) when missing, and the identity
  // tables. FAILED_PRECONDITION when the tables were written by a newer
  // schema, UNAVAILABLE when the folder or file cannot be opened.
  static StatusOr<std::unique_ptr<IdentityStore>> Open(const std::string& data_dir);
  ~IdentityStore();
  IdentityStore(const IdentityStore&) = delete;
  IdentityStore& operator=(const IdentityStore&) = delete;

  // Reloads the snapshot when another connection committed since the last
  // load (SQLite's PRAGMA data_version). Otherwise it costs one pragma.
  // Meant to be called at most once per second on a server.
  Status Refresh();

  // --- Accounts. ALREADY_EXISTS and NOT_FOUND name the account.
  Status AddAccount(std::string_view name, AccountKind kind, const std::vector<std::string>& roles, int64_t now);
  // Tokens of a disabled account fail to authenticate until it is enabled
  // again. Disabling twice is not an error.
  Status DisableAccount(std::string_view name);
  Status EnableAccount(std::string_view name);
  // Replaces the account's roles, dropping duplicates.
  Status SetRoles(std::string_view name, const std::vector<std::string>& roles);
  StatusOr<AccountInfo> GetAccount(std::string_view name) const;
  std::vector<AccountInfo> ListAccounts() const;  // sorted by name

  // --- Groups. A group lists accounts, and roles belong to accounts.
  Status AddGroup(std::string_view name, int64_t now);
  Status RemoveGroup(std::string_view name);  // also ends its memberships
  // ALREADY_EXISTS when the account is a member already.
  Status AddMember(std::string_view group, std::string_view account);
  // NOT_FOUND when the account is not a member.
  Status RemoveMember(std::string_view group, std::string_view account);
  std::vector<GroupInfo> ListGroups() const;  // sorted by name

  // --- API tokens.
  // Creates a token for an enabled account. `expires_at` must be after
  // `now` and at most 366 days after it. The description is at most 256
  // bytes of UTF-8 without control characters. INVALID_ARGUMENT naming the
  // value otherwise, FAILED_PRECONDITION for a disabled account.
  StatusOr<CreatedToken> CreateToken(std::string_view account, int64_t expires_at, std::string_view description,
                                     int64_t now);
  // Revoking a revoked token is not an error and keeps the first time.
  // NOT_FOUND for an unknown id.
  Status RevokeToken(std::string_view id, int64_t now);
  // Returns the tokens of one account (NOT_FOUND when it does not exist),
  // or of all accounts without `account`, sorted by creation time and id.
  StatusOr<std::vector<TokenInfo>> ListTokens(std::optional<std::string_view> account = std::nullopt) const;

  // Returns the identity behind a token's text. UNAUTHENTICATED when the
  // text is malformed, the id is unknown, the secret does not match, the
  // token is revoked or expired (now >= expires_at), or its account is
  // disabled. Messages may name the token id, never the secret.
  StatusOr<Identity> Authenticate(std::string_view token_text, int64_t now) const;
  // Returns the identity of an account named by a client certificate.
  // UNAUTHENTICATED when the account does not exist or is disabled.
  StatusOr<Identity> IdentityOf(std::string_view account) const;

  // --- TOTP second factor (RFC 6238: HMAC-SHA-1, 6 digits, 30 s steps).
  // Draws a new 20-byte secret, replacing any earlier enrolment.
  StatusOr<TotpEnrolment> EnrolTotp(std::string_view account, int64_t now);
  // NOT_FOUND when the account does not exist or has no enrolment.
  Status RemoveTotp(std::string_view account);
  StatusOr<bool> HasTotp(std::string_view account) const;
  // Accepts the code of the step before, at or after `now`'s step, once.
  // A code whose step is at or before the last accepted step fails as
  // "already used". The last accepted step is stored, so this holds after a
  // restart and after the clock was set back. Errors:
  // - INVALID_ARGUMENT unless the code is exactly the enrolled number of
  //   ASCII digits;
  // - FAILED_PRECONDITION without an enrolment or for a disabled account;
  // - PERMISSION_DENIED for a wrong or used code;
  // - RESOURCE_EXHAUSTED, without checking the code, after 5 failed
  //   attempts within 300 s, with the time to retry.
  // NOTE: the failed-attempt counts are kept in this object's memory only,
  // so a restart or a second process starts them from zero.
  Status VerifyTotp(std::string_view account, std::string_view code, int64_t now);

 private:
  explicit IdentityStore(std::unique_ptr<Database> database);

  // Runs `body` in a transaction, reloads the snapshot inside it, and
  // publishes the new snapshot after the commit. Takes mutex_.
  Status Write(const std::function<Status(Database&)>& body);
  // Loads the snapshot from the database. Requires mutex_.
  Status Reload();
  std::shared_ptr<const IdentitySnapshot> snapshot() const;
  void Publish(std::shared_ptr<const IdentitySnapshot> next);

  // RESOURCE_EXHAUSTED when `account` has too many recent failed attempts.
  Status CheckTotpRateLimit(const std::string& account, int64_t now);
  void RecordTotpFailure(const std::string& account, int64_t now);

  mutable std::mutex mutex_;
  std::unique_ptr<Database> database_;        // guarded by mutex_
  int64_t data_version_ = 0;                  // guarded by mutex_
  // Times of the latest failed TOTP attempts per account, at most 5 each.
  std::map<std::string, std::deque<int64_t>, std::less<>> totp_failures_;  // guarded by mutex_
  // Held only to copy or replace the pointer, never during SQLite work.
  // std::atomic<std::shared_ptr> would do the same, but ThreadSanitizer
  // reports its libstdc++ 12 implementation as a data race.
  mutable std::mutex snapshot_mutex_;
  std::shared_ptr<const IdentitySnapshot> snapshot_;  // guarded by snapshot_mutex_
};

}  // namespace moat::auth
