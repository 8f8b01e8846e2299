// UTF-8 checks for text that goes into JSON responses.
#pragma once

#include <string>
#include <string_view>

namespace moat::server {

// Returns true when `text` is well-formed UTF-8 (no overlong forms, no
// surrogates, nothing above U+10FFFF).
bool IsValidUtf8(std::string_view text);

// Returns `text` with every byte that is not part of a well-formed UTF-8
// sequence replaced by '?', so that it can be written into JSON.
std::string SanitizeUtf8(std::string_view text);

}  // namespace moat::server
