// UTF-8 validation for text that goes into JSON (responses, audit records).
#pragma once

#include <string>
#include <string_view>

namespace moat {

// Returns true when `text` is well-formed UTF-8 as RFC 3629 defines it: no
// overlong forms, no surrogates, nothing above U+10FFFF.
bool IsValidUtf8(std::string_view text);

// Returns `text` with each byte that is not part of a well-formed UTF-8
// sequence replaced by `replacement`.
std::string ReplaceInvalidUtf8(std::string_view text, std::string_view replacement);

}  // namespace moat
