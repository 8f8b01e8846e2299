// IdentityStore: TOTP second factors (enrolment, codes used once, failed
// attempts rate-limited per account).
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>

#include "auth/base32.h"
#include "auth/identity_snapshot.h"
#include "auth/identity_store.h"
#include "auth/names.h"
#include "auth/totp.h"

namespace moat::auth {
namespace {

// 160 bits, the HMAC-SHA-1 output size that RFC 4226 recommends.
constexpr size_t kTotpSecretBytes = 20;
constexpr size_t kMaxFailedAttempts = 5;
constexpr int64_t kFailedAttemptWindowSeconds = 300;

std::string OtpauthUri(std::string_view account, std::string_view secret_base32, const TotpParameters& parameters) {
  // Account names use only characters that URIs carry unescaped.
  return "otpauth://totp/Moat:" + std::string(account) + "?secret=" + std::string(secret_base32) +
         "&issuer=Moat&algorithm=" + std::string(TotpAlgorithmName(parameters.algorithm)) +
         "&digits=" + std::to_string(parameters.digits) + "&period=" + std::to_string(parameters.step_seconds);
}

StatusOr<TotpAlgorithm> ParseAlgorithm(std::string_view name) {
  for (TotpAlgorithm algorithm : {TotpAlgorithm::kSha1, TotpAlgorithm::kSha256, TotpAlgorithm::kSha512}) {
    if (TotpAlgorithmName(algorithm) == name) return algorithm;
  }
  return DataLossError("state database: unknown TOTP algorithm " + Quoted(name));
}

// A stored enrolment, read inside the verifying transaction.
struct Enrolment {
  std::string secret;
  TotpParameters parameters;
  std::optional<int64_t> last_step;
};

StatusOr<std::optional<Enrolment>> ReadEnrolment(Database& database, std::string_view account) {
  MOAT_ASSIGN_OR_RETURN(Statement select,
                        database.Prepare("SELECT secret, algorithm, digits, step_seconds, last_step "
                                         "FROM identity_totp WHERE account = ?"));
  MOAT_ASSIGN_OR_RETURN(bool row, select.Bind(1, account).Step());
  if (!row) return std::optional<Enrolment>();
  Enrolment enrolment;
  enrolment.secret = select.ColumnText(0);
  MOAT_ASSIGN_OR_RETURN(enrolment.parameters.algorithm, ParseAlgorithm(select.ColumnText(1)));
  enrolment.parameters.digits = static_cast<int>(select.ColumnInt(2));
  enrolment.parameters.step_seconds = select.ColumnInt(3);
  enrolment.last_step = select.ColumnOptionalInt(4);
  Status valid = ValidateTotpParameters(enrolment.parameters);
  if (!valid.ok()) return DataLossError("state database: TOTP enrolment of " + Quoted(account) + ": " + valid.message());
  return std::optional<Enrolment>(std::move(enrolment));
}

bool IsDigits(std::string_view code) {
  return std::all_of(code.begin(), code.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Outcomes of comparing a code, decided inside the transaction and turned
// into a Status after it.
enum class CodeOutcome { kAccepted, kWrong, kAlreadyUsed };

// Compares `code` with the codes of the steps around `now` and, when one
// matches for the first time, stores its step as the last accepted one.
StatusOr<CodeOutcome> CheckCode(Database& database, std::string_view account, const Enrolment& enrolment,
                                std::string_view code, int64_t now) {
  int64_t current = TotpStep(now, enrolment.parameters);
  std::optional<int64_t> matched;
  bool matched_used_step = false;
  // All three steps are computed and compared without stopping at a match,
  // so the work done does not depend on which step matched.
  for (int64_t step = current - 1; step <= current + 1; ++step) {
    std::string expected = TotpCodeAtStep(AsBytes(enrolment.secret), step, enrolment.parameters);
    bool equal = expected.size() == code.size() && CRYPTO_memcmp(expected.data(), code.data(), code.size()) == 0;
    if (!equal) continue;
    if (enrolment.last_step && step <= *enrolment.last_step) {
      matched_used_step = true;
    } else {
      matched = step;  // the latest fresh step wins
    }
  }
  if (!matched) return matched_used_step ? CodeOutcome::kAlreadyUsed : CodeOutcome::kWrong;

  MOAT_ASSIGN_OR_RETURN(Statement update, database.Prepare("UPDATE identity_totp SET last_step = ? WHERE account = ?"));
  MOAT_RETURN_IF_ERROR(update.Bind(1, *matched).Bind(2, account).Run());
  return CodeOutcome::kAccepted;
}

}  // namespace

StatusOr<TotpEnrolment> IdentityStore::EnrolTotp(std::string_view account, int64_t now) {
  MOAT_RETURN_IF_ERROR(ValidateName("account", account));
  TotpParameters parameters;
  std::array<uint8_t, kTotpSecretBytes> secret{};
  if (RAND_bytes(secret.data(), static_cast<int>(secret.size())) != 1) {
    return InternalError("cannot draw random bytes for a TOTP secret: " + OpenSslErrors());
  }
  std::string_view secret_bytes(reinterpret_cast<const char*>(secret.data()), secret.size());

  Status written = Write([&](Database& database) -> Status {
    MOAT_RETURN_IF_ERROR(IsAccountDisabled(database, account).status());
    // Replacing the row also clears the last accepted step: codes of the
    // new secret have never been accepted.
    MOAT_ASSIGN_OR_RETURN(Statement insert,
                          database.Prepare("INSERT OR REPLACE INTO identity_totp (account, secret, algorithm, digits, "
                                           "step_seconds, enrolled_at, last_step) VALUES (?, ?, ?, ?, ?, ?, NULL)"));
    return insert.Bind(1, account)
        .BindBlob(2, secret_bytes)
        .Bind(3, TotpAlgorithmName(parameters.algorithm))
        .Bind(4, int64_t{parameters.digits})
        .Bind(5, parameters.step_seconds)
        .Bind(6, now)
        .Run();
  });
  TotpEnrolment enrolment;
  if (written.ok()) {
    enrolment.secret_base32 = Base32Encode(secret);
    enrolment.uri = OtpauthUri(account, enrolment.secret_base32, parameters);
  }
  OPENSSL_cleanse(secret.data(), secret.size());
  if (!written.ok()) return written;
  {
    std::lock_guard lock(mutex_);
    totp_failures_.erase(std::string(account));
  }
  return enrolment;
}

Status IdentityStore::RemoveTotp(std::string_view account) {
  MOAT_RETURN_IF_ERROR(ValidateName("account", account));
  return Write([&](Database& database) -> Status {
    MOAT_RETURN_IF_ERROR(IsAccountDisabled(database, account).status());
    MOAT_ASSIGN_OR_RETURN(Statement remove, database.Prepare("DELETE FROM identity_totp WHERE account = ?"));
    MOAT_RETURN_IF_ERROR(remove.Bind(1, account).Run());
    if (database.changes() == 0) return NotFoundError("account " + Quoted(account) + " has no TOTP enrolment");
    return OkStatus();
  });
}

StatusOr<bool> IdentityStore::HasTotp(std::string_view account) const {
  MOAT_RETURN_IF_ERROR(ValidateName("account", account));
  std::lock_guard lock(mutex_);
  MOAT_RETURN_IF_ERROR(IsAccountDisabled(*database_, account).status());
  return HasRow(*database_, "SELECT 1 FROM identity_totp WHERE account = ?", {account});
}

Status IdentityStore::CheckTotpRateLimit(const std::string& account, int64_t now) {
  auto failures = totp_failures_.find(account);
  if (failures == totp_failures_.end() || failures->second.size() < kMaxFailedAttempts) return OkStatus();
  // The deque keeps the latest five failures, and the oldest of them
  // leaves the window first.
  int64_t retry_at = failures->second.front() + kFailedAttemptWindowSeconds;
  if (now >= retry_at) return OkStatus();
  return ResourceExhaustedError("too many failed TOTP attempts for account " + Quoted(account) + ": " +
                                std::to_string(kMaxFailedAttempts) + " within " +
                                std::to_string(kFailedAttemptWindowSeconds) + " s; retry at Unix time " +
                                std::to_string(retry_at) + " (in " + std::to_string(retry_at - now) + " s)");
}

void IdentityStore::RecordTotpFailure(const std::string& account, int64_t now) {
  std::deque<int64_t>& failures = totp_failures_[account];
  failures.push_back(now);
  while (failures.size() > kMaxFailedAttempts) failures.pop_front();
}

Status IdentityStore::VerifyTotp(std::string_view account, std::string_view code, int64_t now) {
  MOAT_RETURN_IF_ERROR(ValidateName("account", account));
  std::string name(account);
  std::lock_guard lock(mutex_);
  MOAT_RETURN_IF_ERROR(CheckTotpRateLimit(name, now));

  CodeOutcome outcome = CodeOutcome::kWrong;
  Status status = database_->Transaction([&]() -> Status {
    MOAT_ASSIGN_OR_RETURN(bool disabled, IsAccountDisabled(*database_, account));
    if (disabled) return FailedPreconditionError("account " + Quoted(account) + " is disabled");
    MOAT_ASSIGN_OR_RETURN(std::optional<Enrolment> enrolment, ReadEnrolment(*database_, account));
    if (!enrolment) return FailedPreconditionError("account " + Quoted(account) + " has no TOTP enrolment");
    if (code.size() != static_cast<size_t>(enrolment->parameters.digits) || !IsDigits(code)) {
      // The text is not echoed: it may be a mistyped code or a password.
      return InvalidArgumentError("invalid TOTP code for account " + Quoted(account) + ": expected " +
                                  std::to_string(enrolment->parameters.digits) + " digits 0-9, got " +
                                  std::to_string(code.size()) + " bytes");
    }
    MOAT_ASSIGN_OR_RETURN(outcome, CheckCode(*database_, account, *enrolment, code, now));
    return OkStatus();
  });
  MOAT_RETURN_IF_ERROR(status);

  switch (outcome) {
    case CodeOutcome::kAccepted:
      totp_failures_.erase(name);
      return OkStatus();
    case CodeOutcome::kAlreadyUsed:
      RecordTotpFailure(name, now);
      return PermissionDeniedError("TOTP code for account " + Quoted(account) +
                                   " was already used; wait for the next code");
    case CodeOutcome::kWrong:
      break;
  }
  RecordTotpFailure(name, now);
  return PermissionDeniedError("wrong TOTP code for account " + Quoted(account));
}

}  // namespace moat::auth
