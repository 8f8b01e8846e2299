// Small helpers for text that Moat reads from files and headers.
#pragma once

#include <string_view>
#include <vector>

namespace moat {

// Returns `text` without leading and trailing spaces, tabs, CR and LF.
std::string_view TrimWhitespace(std::string_view text);

// Returns the runs of `text` separated by spaces and tabs, without empty ones.
// The views point into `text`.
std::vector<std::string_view> SplitOnBlanks(std::string_view text);

}  // namespace moat
