// UTF-8 helpers of the HTTP front end.
#pragma once

#include <string>
#include <string_view>

#include "common/utf8.h"

namespace moat::server {

using moat::IsValidUtf8;

// Returns `text` with every byte that is not part of a well-formed UTF-8
// sequence replaced by '?', so that it can be quoted in a JSON error message.
inline std::string SanitizeUtf8(std::string_view text) { return ReplaceInvalidUtf8(text, "?"); }

}  // namespace moat::server
