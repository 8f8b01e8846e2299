// Small helpers for text that Moat reads from files and headers.
#pragma once

#include <string_view>

namespace moat {

// Returns `text` without leading and trailing spaces, tabs, CR and LF.
std::string_view TrimWhitespace(std::string_view text);

}  // namespace moat
