#include "auth/identity_snapshot.h"

#include <algorithm>
#include <cstring>

#include "auth/names.h"

namespace moat::auth {
namespace {

// Accounts are never deleted (see IdentityStore), so tokens, memberships,
// roles and second factors reference them without ON DELETE. Groups can be
// removed, and their memberships go with them. identity_totp keeps the TOTP
// secret itself, because checking a code needs it; state.db is created with
// mode 0600 for that reason and for the token hashes.
constexpr std::string_view kSchema = R"sql(
CREATE TABLE IF NOT EXISTS identity_schema (
  version INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS identity_accounts (
  name TEXT PRIMARY KEY NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('user', 'service')),
  created_at INTEGER NOT NULL,
  disabled INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1))
);
CREATE TABLE IF NOT EXISTS identity_account_roles (
  account TEXT NOT NULL REFERENCES identity_accounts (name),
  role TEXT NOT NULL,
  PRIMARY KEY (account, role)
);
CREATE TABLE IF NOT EXISTS identity_groups (
  name TEXT PRIMARY KEY NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS identity_group_members (
  group_name TEXT NOT NULL REFERENCES identity_groups (name) ON DELETE CASCADE,
  account TEXT NOT NULL REFERENCES identity_accounts (name),
  PRIMARY KEY (group_name, account)
);
CREATE TABLE IF NOT EXISTS identity_tokens (
  id TEXT PRIMARY KEY NOT NULL,
  account TEXT NOT NULL REFERENCES identity_accounts (name),
  secret_sha256 BLOB NOT NULL CHECK (length(secret_sha256) = 32),
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  revoked_at INTEGER,
  description TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS identity_tokens_by_account ON identity_tokens (account);
CREATE TABLE IF NOT EXISTS identity_totp (
  account TEXT PRIMARY KEY NOT NULL REFERENCES identity_accounts (name),
  secret BLOB NOT NULL,
  algorithm TEXT NOT NULL DEFAULT 'SHA1',
  digits INTEGER NOT NULL DEFAULT 6,
  step_seconds INTEGER NOT NULL DEFAULT 30,
  enrolled_at INTEGER NOT NULL,
  last_step INTEGER
);
)sql";

Status LoadAccounts(Database& database, IdentitySnapshot& snapshot) {
  MOAT_ASSIGN_OR_RETURN(Statement accounts,
                        database.Prepare("SELECT name, kind, created_at, disabled FROM identity_accounts"));
  while (true) {
    MOAT_ASSIGN_OR_RETURN(bool row, accounts.Step());
    if (!row) break;
    AccountInfo account;
    account.name = accounts.ColumnText(0);
    MOAT_ASSIGN_OR_RETURN(account.kind, ParseAccountKind(accounts.ColumnText(1)));
    account.created_at = accounts.ColumnInt(2);
    account.disabled = accounts.ColumnInt(3) != 0;
    std::string name = account.name;
    snapshot.accounts.emplace(std::move(name), std::move(account));
  }

  // ORDER BY keeps each account's roles sorted as they are appended.
  MOAT_ASSIGN_OR_RETURN(Statement roles,
                        database.Prepare("SELECT account, role FROM identity_account_roles ORDER BY account, role"));
  while (true) {
    MOAT_ASSIGN_OR_RETURN(bool row, roles.Step());
    if (!row) break;
    auto account = snapshot.accounts.find(roles.ColumnText(0));
    if (account != snapshot.accounts.end()) account->second.roles.push_back(roles.ColumnText(1));
  }
  return OkStatus();
}

Status LoadGroups(Database& database, IdentitySnapshot& snapshot) {
  MOAT_ASSIGN_OR_RETURN(Statement groups, database.Prepare("SELECT name, created_at FROM identity_groups"));
  while (true) {
    MOAT_ASSIGN_OR_RETURN(bool row, groups.Step());
    if (!row) break;
    GroupInfo group;
    group.name = groups.ColumnText(0);
    group.created_at = groups.ColumnInt(1);
    std::string name = group.name;
    snapshot.groups.emplace(std::move(name), std::move(group));
  }

  MOAT_ASSIGN_OR_RETURN(
      Statement members,
      database.Prepare("SELECT group_name, account FROM identity_group_members ORDER BY group_name, account"));
  while (true) {
    MOAT_ASSIGN_OR_RETURN(bool row, members.Step());
    if (!row) break;
    std::string group_name = members.ColumnText(0);
    std::string account_name = members.ColumnText(1);
    auto group = snapshot.groups.find(group_name);
    if (group != snapshot.groups.end()) group->second.members.push_back(account_name);
    auto account = snapshot.accounts.find(account_name);
    if (account != snapshot.accounts.end()) account->second.groups.push_back(group_name);
  }
  return OkStatus();
}

Status LoadTokens(Database& database, IdentitySnapshot& snapshot) {
  MOAT_ASSIGN_OR_RETURN(Statement tokens,
                        database.Prepare("SELECT id, account, secret_sha256, created_at, expires_at, revoked_at, "
                                         "description FROM identity_tokens"));
  while (true) {
    MOAT_ASSIGN_OR_RETURN(bool row, tokens.Step());
    if (!row) break;
    StoredToken token;
    token.info.id = tokens.ColumnText(0);
    token.info.account = tokens.ColumnText(1);
    std::string digest = tokens.ColumnText(2);
    if (digest.size() != token.secret_sha256.size()) {
      return DataLossError("state database: API token " + Quoted(token.info.id) + " has a " +
                           std::to_string(digest.size()) + "-byte secret hash, expected 32");
    }
    std::memcpy(token.secret_sha256.data(), digest.data(), digest.size());
    token.info.created_at = tokens.ColumnInt(3);
    token.info.expires_at = tokens.ColumnInt(4);
    token.info.revoked_at = tokens.ColumnOptionalInt(5);
    token.info.description = tokens.ColumnText(6);

    auto account = snapshot.accounts.find(token.info.account);
    if (account != snapshot.accounts.end() && !token.info.revoked_at) ++account->second.token_count;
    std::string id = token.info.id;
    snapshot.tokens.emplace(std::move(id), std::move(token));
  }
  return OkStatus();
}

}  // namespace

Status CreateIdentitySchema(Database& database) {
  return database.Transaction([&database]() -> Status {
    MOAT_RETURN_IF_ERROR(database.Exec(kSchema));
    MOAT_ASSIGN_OR_RETURN(Statement select, database.Prepare("SELECT max(version) FROM identity_schema"));
    MOAT_ASSIGN_OR_RETURN(bool row, select.Step());
    std::optional<int64_t> version = row ? select.ColumnOptionalInt(0) : std::nullopt;
    if (!version) {
      MOAT_ASSIGN_OR_RETURN(Statement insert, database.Prepare("INSERT INTO identity_schema (version) VALUES (?)"));
      return insert.Bind(1, kIdentitySchemaVersion).Run();
    }
    if (*version > kIdentitySchemaVersion) {
      return FailedPreconditionError("state database '" + database.path() + "' has identity schema version " +
                                     std::to_string(*version) + ", newer than version " +
                                     std::to_string(kIdentitySchemaVersion) + " that this Moat reads; " +
                                     "use the Moat release that wrote it");
    }
    return OkStatus();
  });
}

StatusOr<std::shared_ptr<const IdentitySnapshot>> LoadIdentitySnapshot(Database& database) {
  auto snapshot = std::make_shared<IdentitySnapshot>();
  MOAT_RETURN_IF_ERROR(LoadAccounts(database, *snapshot));
  MOAT_RETURN_IF_ERROR(LoadGroups(database, *snapshot));
  MOAT_RETURN_IF_ERROR(LoadTokens(database, *snapshot));
  return std::shared_ptr<const IdentitySnapshot>(std::move(snapshot));
}

StatusOr<bool> HasRow(Database& database, std::string_view sql, std::initializer_list<std::string_view> keys) {
  MOAT_ASSIGN_OR_RETURN(Statement statement, database.Prepare(sql));
  int index = 1;
  for (std::string_view key : keys) statement.Bind(index++, key);
  return statement.Step();
}

StatusOr<bool> IsAccountDisabled(Database& database, std::string_view account) {
  MOAT_ASSIGN_OR_RETURN(Statement statement, database.Prepare("SELECT disabled FROM identity_accounts WHERE name = ?"));
  MOAT_ASSIGN_OR_RETURN(bool row, statement.Bind(1, account).Step());
  if (!row) return NotFoundError("account " + Quoted(account) + " not found");
  return statement.ColumnInt(0) != 0;
}

StatusOr<int64_t> DataVersion(Database& database) {
  MOAT_ASSIGN_OR_RETURN(Statement statement, database.Prepare("PRAGMA data_version"));
  MOAT_ASSIGN_OR_RETURN(bool row, statement.Step());
  if (!row) return InternalError("state database '" + database.path() + "': PRAGMA data_version returned nothing");
  return statement.ColumnInt(0);
}

}  // namespace moat::auth
