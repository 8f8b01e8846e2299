// Quoting of client-supplied strings (region names, keys) for error messages.
#pragma once

#include <string>
#include <string_view>

namespace moat::shm {

// Returns `value` in single quotes, safe to put into a log line or JSON: bytes
// outside printable ASCII and the backslash become \xNN escapes. A value longer
// than 64 bytes is cut there and followed by its full length.
std::string QuoteForMessage(std::string_view value);

}  // namespace moat::shm
