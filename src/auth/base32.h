// Base32 (RFC 4648, section 6) for showing TOTP secrets to people and to
// authenticator apps, which expect this alphabet.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "common/status.h"

namespace moat::auth {

// Encodes `bytes` with the upper-case alphabet A-Z2-7 and no '=' padding,
// the form that otpauth:// URIs carry.
std::string Base32Encode(std::span<const uint8_t> bytes);

// Decodes base32 text in either case, with or without '=' padding.
// INVALID_ARGUMENT, naming the offset, for a character outside the
// alphabet, a length that no byte count encodes, padding that does not
// complete the last 8-character group, or unused trailing bits that are not
// zero. Each byte string thus has one accepted form up to case and padding.
StatusOr<std::string> Base32Decode(std::string_view text);

}  // namespace moat::auth
