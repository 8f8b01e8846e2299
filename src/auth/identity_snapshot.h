// The identity tables in state.db and the in-memory copy of them that
// IdentityStore reads on the request path. Internal to src/auth.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "auth/identity_store.h"
#include "auth/sqlite.h"
#include "common/crypto.h"

namespace moat::auth {

// The version of the identity tables that this code writes, kept in
// identity_schema rather than PRAGMA user_version, which other stores in
// the same file may use.
inline constexpr int64_t kIdentitySchemaVersion = 1;

struct StoredToken {
  TokenInfo info;
  Sha256Digest secret_sha256{};
};

// Immutable once published.
struct IdentitySnapshot {
  std::map<std::string, AccountInfo, std::less<>> accounts;
  std::map<std::string, GroupInfo, std::less<>> groups;
  std::unordered_map<std::string, StoredToken> tokens;  // by id
};

// Creates the identity tables when missing and records the schema version.
// FAILED_PRECONDITION when the file contains a newer version. Runs in its
// own transaction.
Status CreateIdentitySchema(Database& database);

// Reads all identity tables. Run it inside a transaction so that the
// tables are read at one point in time.
StatusOr<std::shared_ptr<const IdentitySnapshot>> LoadIdentitySnapshot(Database& database);

// Returns the connection's PRAGMA data_version, which changes when another
// connection commits.
StatusOr<int64_t> DataVersion(Database& database);

// Returns whether `sql`, with `keys` bound to its parameters in order,
// returns a row.
StatusOr<bool> HasRow(Database& database, std::string_view sql, std::initializer_list<std::string_view> keys);

// Returns whether the account is disabled, or NOT_FOUND naming it when
// there is no such account.
StatusOr<bool> IsAccountDisabled(Database& database, std::string_view account);

}  // namespace moat::auth
