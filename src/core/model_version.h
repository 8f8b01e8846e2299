// Model version numbers as they appear in folder names and URL paths.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace moat {

// Parses a positive decimal int64 without sign or leading zeros, so one
// version has exactly one spelling. Returns nullopt for anything else.
std::optional<int64_t> ParseVersionNumber(std::string_view text);

}  // namespace moat
