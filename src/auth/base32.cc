#include "auth/base32.h"

namespace moat::auth {
namespace {

constexpr std::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

// Returns the 5-bit value of a base32 character in either case, or -1.
int DigitValue(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a';
  if (c >= '2' && c <= '7') return c - '2' + 26;
  return -1;
}

// A final group of n characters (n = text length mod 8) carries whole bytes
// only for these n; 1, 3 and 6 leave a partial byte.
bool IsCompleteTail(size_t characters) {
  return characters == 0 || characters == 2 || characters == 4 || characters == 5 || characters == 7;
}

}  // namespace

std::string Base32Encode(std::span<const uint8_t> bytes) {
  std::string out;
  out.reserve((bytes.size() * 8 + 4) / 5);
  uint32_t buffer = 0;
  int bits = 0;
  for (uint8_t byte : bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out.push_back(kAlphabet[(buffer >> bits) & 0x1f]);
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(buffer << (5 - bits)) & 0x1f]);
  return out;
}

StatusOr<std::string> Base32Decode(std::string_view text) {
  size_t data_end = text.find('=');
  if (data_end == std::string_view::npos) {
    data_end = text.size();
  } else {
    for (size_t i = data_end; i < text.size(); ++i) {
      if (text[i] != '=') {
        return InvalidArgumentError("invalid base32 text: character after padding at offset " +
                                    std::to_string(i));
      }
    }
    if (text.size() % 8 != 0 || text.size() - data_end >= 8) {
      return InvalidArgumentError("invalid base32 text: padding at offset " + std::to_string(data_end) +
                                  " does not end an 8-character group");
    }
  }
  if (!IsCompleteTail(data_end % 8)) {
    return InvalidArgumentError("invalid base32 text: " + std::to_string(data_end) +
                                " characters do not encode whole bytes");
  }

  std::string out;
  out.reserve(data_end * 5 / 8);
  uint32_t buffer = 0;
  int bits = 0;
  for (size_t i = 0; i < data_end; ++i) {
    int value = DigitValue(text[i]);
    if (value < 0) {
      return InvalidArgumentError("invalid base32 character at offset " + std::to_string(i));
    }
    buffer = (buffer << 5) | static_cast<uint32_t>(value);
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buffer >> bits) & 0xff));
    }
  }
  if ((buffer & ((1u << bits) - 1)) != 0) {
    return InvalidArgumentError("invalid base32 text: unused bits of the last character at offset " +
                                std::to_string(data_end - 1) + " are not zero");
  }
  return out;
}

}  // namespace moat::auth
