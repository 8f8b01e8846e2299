#include "shm/message_text.h"

#include <cstdint>

namespace moat::shm {

namespace {

constexpr size_t kMaxQuotedBytes = 64;

}  // namespace

std::string QuoteForMessage(std::string_view value) {
  static constexpr char kHexDigits[] = "0123456789abcdef";
  std::string_view shown = value.substr(0, kMaxQuotedBytes);

  std::string out = "'";
  for (char c : shown) {
    auto byte = static_cast<uint8_t>(c);
    if (byte >= 0x20 && byte < 0x7f && c != '\\') {
      out += c;
      continue;
    }
    out += "\\x";
    out += kHexDigits[byte >> 4];
    out += kHexDigits[byte & 0xf];
  }
  if (shown.size() < value.size()) {
    out += "...' (" + std::to_string(value.size()) + " bytes)";
  } else {
    out += "'";
  }
  return out;
}

}  // namespace moat::shm
