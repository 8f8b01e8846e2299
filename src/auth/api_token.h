// The text form of Moat's API tokens: "moat_" + 16 lower-case hex digits
// (the token id, 64 random bits) + "_" + 43 base64url characters without
// padding (the secret, 256 random bits). The id names the token in lists,
// logs and errors. Only the SHA-256 of the secret text is ever stored.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "common/crypto.h"
#include "common/status.h"

namespace moat::auth {

inline constexpr std::string_view kApiTokenPrefix = "moat_";
inline constexpr size_t kApiTokenIdLength = 16;
inline constexpr size_t kApiTokenSecretLength = 43;
inline constexpr size_t kApiTokenLength = kApiTokenPrefix.size() + kApiTokenIdLength + 1 + kApiTokenSecretLength;

struct ApiTokenParts {
  std::string id;      // 16 lower-case hex digits
  std::string secret;  // 43 base64url characters
};

// Splits a token's text. INVALID_ARGUMENT unless the text has exactly the
// form above: the prefix, lower-case hex in the id, '_' after it, and the
// base64url alphabet (A-Z a-z 0-9 - _) in the secret. The secret's last
// character must leave its two unused bits zero, so that each 256-bit
// secret has one spelling. Messages give lengths and offsets, never the
// text, which may be a secret.
StatusOr<ApiTokenParts> ParseApiToken(std::string_view text);

// Returns the token text of `parts`, the inverse of ParseApiToken.
std::string FormatApiToken(const ApiTokenParts& parts);

// Draws a new id and secret from OpenSSL's RAND_bytes. INTERNAL when the
// generator fails.
StatusOr<ApiTokenParts> GenerateApiToken();

// Returns the SHA-256 of the secret text, the only form of it that is stored.
Sha256Digest ApiTokenSecretDigest(std::string_view secret);

}  // namespace moat::auth
