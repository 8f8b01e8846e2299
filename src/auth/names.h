// Names of accounts, groups and roles, and quoting of untrusted text in
// error messages.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace moat::auth {

inline constexpr size_t kMaxNameLength = 64;

// Checks that `name` is 1-64 bytes of A-Z a-z 0-9 . _ @ -, bytes that need
// no escaping in URIs, file names or logs. INVALID_ARGUMENT otherwise,
// naming the category ("account", "group", "role") and the value.
Status ValidateName(std::string_view category, std::string_view name);

// Validates each role and returns them sorted without duplicates.
StatusOr<std::vector<std::string>> NormalizeRoles(const std::vector<std::string>& roles);

// Returns `text` in single quotes for an error message. Bytes outside
// printable ASCII, the quote and the backslash become \xNN, and text longer
// than 80 bytes is cut with its length given. A message then stays one
// readable line whatever a client sent.
std::string Quoted(std::string_view text);

}  // namespace moat::auth
