// One-time codes: HOTP (RFC 4226) and TOTP (RFC 6238), the second factor
// that authenticator apps generate.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "common/status.h"

namespace moat::auth {

enum class TotpAlgorithm { kSha1, kSha256, kSha512 };

// "SHA1", "SHA256" or "SHA512", as otpauth:// URIs spell them.
std::string_view TotpAlgorithmName(TotpAlgorithm algorithm);

struct TotpParameters {
  TotpAlgorithm algorithm = TotpAlgorithm::kSha1;
  int64_t step_seconds = 30;  // X in RFC 6238
  int64_t t0 = 0;             // T0, the Unix time at which step 0 starts
  int digits = 6;             // 6 to 8
};

// INVALID_ARGUMENT naming the field when digits is outside 6-8 or the step
// is not positive.
Status ValidateTotpParameters(const TotpParameters& parameters);

// Returns the HOTP value for `counter`: HMAC of the big-endian counter with
// `key`, dynamic truncation, the low `digits` decimal digits with leading
// zeros. Returns an empty string when `key` is empty, digits is outside
// 6-8 or OpenSSL fails, so a caller comparing codes never matches by mistake.
std::string HotpCode(std::span<const uint8_t> key, uint64_t counter, TotpAlgorithm algorithm, int digits);

// Returns the step number of `unix_seconds`: floor((t - T0) / X). Times
// before T0 give negative steps, for which no code exists, and so do a step
// that is not positive and a difference t - T0 that overflows (-1 then).
int64_t TotpStep(int64_t unix_seconds, const TotpParameters& parameters);

// Returns the TOTP code at `unix_seconds`, the HOTP value of its step.
// Returns an empty string when the parameters are invalid, the time is
// before T0, or HotpCode returns one.
std::string TotpCode(std::span<const uint8_t> key, int64_t unix_seconds, const TotpParameters& parameters);

// Returns the code of step `step` (HotpCode with the step as counter), or
// an empty string for a negative step or invalid parameters.
std::string TotpCodeAtStep(std::span<const uint8_t> key, int64_t step, const TotpParameters& parameters);

}  // namespace moat::auth
