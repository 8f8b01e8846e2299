// IdentityStore: API tokens and the identity checks of the request path.
#include <openssl/crypto.h>

#include <algorithm>

#include "auth/api_token.h"
#include "auth/identity_snapshot.h"
#include "auth/identity_store.h"
#include "auth/names.h"
#include "common/utf8.h"

namespace moat::auth {
namespace {

constexpr int64_t kMaxTokenLifetimeSeconds = int64_t{366} * 24 * 60 * 60;
constexpr size_t kMaxDescriptionBytes = 256;
// A fresh 64-bit id collides with a stored one with negligible odds, and a
// few draws keep the loop finite even with a broken generator.
constexpr int kMaxIdDraws = 4;

Status ValidateExpiry(int64_t expires_at, int64_t now) {
  if (expires_at <= now) {
    return InvalidArgumentError("token expiry " + std::to_string(expires_at) + " is not after the current time " +
                                std::to_string(now));
  }
  int64_t latest = 0;
  if (!__builtin_add_overflow(now, kMaxTokenLifetimeSeconds, &latest) && expires_at > latest) {
    return InvalidArgumentError("token expiry " + std::to_string(expires_at) + " is more than 366 days after " +
                                std::to_string(now) + "; the latest allowed is " + std::to_string(latest));
  }
  return OkStatus();
}

Status ValidateDescription(std::string_view description) {
  if (description.size() > kMaxDescriptionBytes) {
    return InvalidArgumentError("token description " + Quoted(description) + " is longer than 256 bytes");
  }
  if (!IsValidUtf8(description)) {
    return InvalidArgumentError("token description " + Quoted(description) + " is not valid UTF-8");
  }
  bool has_control = std::any_of(description.begin(), description.end(),
                                 [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
  if (has_control) {
    return InvalidArgumentError("token description " + Quoted(description) + " contains a control character");
  }
  return OkStatus();
}

Status ValidateTokenId(std::string_view id) {
  bool valid = id.size() == kApiTokenIdLength && std::all_of(id.begin(), id.end(), [](char c) {
                 return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
               });
  if (!valid) return InvalidArgumentError("invalid API token id " + Quoted(id) + ": expected 16 digits 0-9 a-f");
  return OkStatus();
}

Status Unauthenticated(std::string message) { return {StatusCode::kUnauthenticated, std::move(message)}; }

Identity IdentityFromAccount(const AccountInfo& account) {
  Identity identity;
  identity.account = account.name;
  identity.kind = account.kind;
  identity.groups = account.groups;
  identity.roles = account.roles;
  return identity;
}

}  // namespace

StatusOr<CreatedToken> IdentityStore::CreateToken(std::string_view account, int64_t expires_at,
                                                  std::string_view description, int64_t now) {
  MOAT_RETURN_IF_ERROR(ValidateName("account", account));
  MOAT_RETURN_IF_ERROR(ValidateExpiry(expires_at, now));
  MOAT_RETURN_IF_ERROR(ValidateDescription(description));

  CreatedToken created;
  Status status = Write([&](Database& database) -> Status {
    MOAT_ASSIGN_OR_RETURN(bool disabled, IsAccountDisabled(database, account));
    if (disabled) return FailedPreconditionError("account " + Quoted(account) + " is disabled");

    std::optional<ApiTokenParts> token;
    for (int draw = 0; draw < kMaxIdDraws && !token; ++draw) {
      MOAT_ASSIGN_OR_RETURN(ApiTokenParts candidate, GenerateApiToken());
      MOAT_ASSIGN_OR_RETURN(bool taken,
                            HasRow(database, "SELECT 1 FROM identity_tokens WHERE id = ?", {candidate.id}));
      if (!taken) token = std::move(candidate);
    }
    if (!token) return InternalError("every drawn API token id was already in use; the random generator is suspect");

    Sha256Digest digest = ApiTokenSecretDigest(token->secret);
    MOAT_ASSIGN_OR_RETURN(Statement insert,
                          database.Prepare("INSERT INTO identity_tokens (id, account, secret_sha256, created_at, "
                                           "expires_at, revoked_at, description) VALUES (?, ?, ?, ?, ?, NULL, ?)"));
    MOAT_RETURN_IF_ERROR(insert.Bind(1, token->id)
                             .Bind(2, account)
                             .BindBlob(3, std::string_view(reinterpret_cast<const char*>(digest.data()), digest.size()))
                             .Bind(4, now)
                             .Bind(5, expires_at)
                             .Bind(6, description)
                             .Run());
    created.id = token->id;
    created.text = FormatApiToken(*token);
    OPENSSL_cleanse(token->secret.data(), token->secret.size());
    return OkStatus();
  });
  MOAT_RETURN_IF_ERROR(status);
  return created;
}

Status IdentityStore::RevokeToken(std::string_view id, int64_t now) {
  MOAT_RETURN_IF_ERROR(ValidateTokenId(id));
  return Write([&](Database& database) -> Status {
    MOAT_ASSIGN_OR_RETURN(bool exists, HasRow(database, "SELECT 1 FROM identity_tokens WHERE id = ?", {id}));
    if (!exists) return NotFoundError("API token " + std::string(id) + " not found");
    MOAT_ASSIGN_OR_RETURN(
        Statement update,
        database.Prepare("UPDATE identity_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL"));
    return update.Bind(1, now).Bind(2, id).Run();
  });
}

StatusOr<std::vector<TokenInfo>> IdentityStore::ListTokens(std::optional<std::string_view> account) const {
  std::shared_ptr<const IdentitySnapshot> current = snapshot();
  if (account) {
    MOAT_RETURN_IF_ERROR(ValidateName("account", *account));
    if (current->accounts.find(*account) == current->accounts.end()) {
      return NotFoundError("account " + Quoted(*account) + " not found");
    }
  }
  std::vector<TokenInfo> tokens;
  for (const auto& [id, token] : current->tokens) {
    if (!account || token.info.account == *account) tokens.push_back(token.info);
  }
  std::sort(tokens.begin(), tokens.end(), [](const TokenInfo& a, const TokenInfo& b) {
    return a.created_at != b.created_at ? a.created_at < b.created_at : a.id < b.id;
  });
  return tokens;
}

StatusOr<Identity> IdentityStore::Authenticate(std::string_view token_text, int64_t now) const {
  StatusOr<ApiTokenParts> parts = ParseApiToken(token_text);
  if (!parts.ok()) return Unauthenticated(parts.status().message());

  std::shared_ptr<const IdentitySnapshot> current = snapshot();
  auto token = current->tokens.find(parts->id);
  if (token == current->tokens.end()) return Unauthenticated("unknown API token id " + parts->id);

  // The secret is checked before anything else about the token, so that
  // an id alone reveals nothing about the token's state.
  const StoredToken& stored = token->second;
  Sha256Digest digest = ApiTokenSecretDigest(parts->secret);
  if (CRYPTO_memcmp(digest.data(), stored.secret_sha256.data(), digest.size()) != 0) {
    return Unauthenticated("API token " + parts->id + " has a wrong secret");
  }
  if (stored.info.revoked_at) {
    return Unauthenticated("API token " + parts->id + " was revoked at " + std::to_string(*stored.info.revoked_at));
  }
  if (now >= stored.info.expires_at) {
    return Unauthenticated("API token " + parts->id + " expired at " + std::to_string(stored.info.expires_at));
  }

  auto account = current->accounts.find(stored.info.account);
  if (account == current->accounts.end()) {
    return Unauthenticated("the account of API token " + parts->id + " does not exist");
  }
  if (account->second.disabled) {
    return Unauthenticated("account " + Quoted(account->first) + " of API token " + parts->id + " is disabled");
  }
  Identity identity = IdentityFromAccount(account->second);
  identity.token_id = parts->id;
  identity.expires_at = stored.info.expires_at;
  return identity;
}

StatusOr<Identity> IdentityStore::IdentityOf(std::string_view account) const {
  std::shared_ptr<const IdentitySnapshot> current = snapshot();
  auto found = current->accounts.find(account);
  if (found == current->accounts.end()) return Unauthenticated("account " + Quoted(account) + " does not exist");
  if (found->second.disabled) return Unauthenticated("account " + Quoted(account) + " is disabled");
  return IdentityFromAccount(found->second);
}

}  // namespace moat::auth
