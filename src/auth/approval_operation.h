// The operation that an approval request is bound to: an action name and a
// set of fields, its SHA-256 digest, its description for people, and the
// limits on operations.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>

#include "common/status.h"

namespace moat::auth {

// Fields of an operation, such as {"model": "fraud", "version": "3"}.
using OperationFields = std::map<std::string, std::string>;

inline constexpr size_t kMaxActionBytes = 64;
inline constexpr size_t kMaxOperationFields = 64;
inline constexpr size_t kMaxFieldBytes = 1024;  // for each key and each value

// Returns the lower-case hex SHA-256 of an encoding in which no two
// different operations coincide: a version tag, then the action and each
// key and value in key order, each preceded by its length as 8 bytes big
// endian. Accepts any bytes, because ValidateOperation decides what a store
// takes.
std::string OperationDigest(std::string_view action, const OperationFields& fields);

// Returns the operation as one line for the person asked to approve it,
// such as `activate_version model=fraud version=3`. Values that are empty
// or contain a space, '=', '"', '\' or a byte outside printable ASCII are
// quoted with `\"`, `\\` and `\xNN` escapes, so that a value cannot pass
// itself off as another field.
std::string DescribeOperation(std::string_view action, const OperationFields& fields);

// Checks an operation against the limits: an action of 1 to 64 bytes of
// [A-Za-z0-9._-], at most 64 fields, keys of 1 to 1024 bytes of
// [A-Za-z0-9._-], values of at most 1024 bytes of well-formed UTF-8.
// INVALID_ARGUMENT naming the offending action, key or value.
Status ValidateOperation(std::string_view action, const OperationFields& fields);

}  // namespace moat::auth
