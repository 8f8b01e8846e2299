// The resident memory of this process, for comparing what loading a model
// took with its estimate.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "common/status.h"

namespace moat::hardware {

// Parses /proc/self/statm and returns its second field, the resident set
// size in pages. INVALID_ARGUMENT when the field is missing or not a number.
StatusOr<uint64_t> ParseStatmResidentPages(std::string_view text);

// Returns the resident set size of this process in bytes, or nullopt when
// /proc/self/statm cannot be read or parsed.
std::optional<uint64_t> ReadResidentBytes();

}  // namespace moat::hardware
