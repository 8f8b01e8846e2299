#include "auth/approval_operation.h"

#include <array>
#include <cstdint>

#include "auth/names.h"
#include "common/crypto.h"
#include "common/utf8.h"

namespace moat::auth {
namespace {

// Starts every encoding, so that a digest of another structure in Moat
// cannot equal an operation digest, and a later encoding can change the tag.
constexpr std::string_view kDigestTag = "moat-approval-operation-v1";

void UpdateWithLength(Sha256& hash, std::string_view bytes) {
  std::array<uint8_t, 8> length{};
  uint64_t size = bytes.size();
  for (int i = 7; i >= 0; --i) {
    length[static_cast<size_t>(i)] = static_cast<uint8_t>(size & 0xff);
    size >>= 8;
  }
  hash.Update(std::span<const uint8_t>(length));
  hash.Update(bytes);
}

// Action names and field names: [A-Za-z0-9._-].
bool IsIdentifier(std::string_view text) {
  for (char c : text) {
    bool alphanumeric = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (!alphanumeric && c != '.' && c != '_' && c != '-') return false;
  }
  return true;
}

bool IsPrintableAscii(char c) { return c >= 0x20 && c < 0x7f; }

// Appends `text` with '"', '\' and every byte outside printable ASCII
// escaped, so that the result is one line of ASCII that a '"' cannot end.
void AppendEscaped(std::string& out, std::string_view text) {
  static constexpr char kHexDigits[] = "0123456789abcdef";
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (IsPrintableAscii(c)) {
      out += c;
    } else {
      auto byte = static_cast<uint8_t>(c);
      out += "\\x";
      out += kHexDigits[byte >> 4];
      out += kHexDigits[byte & 0xf];
    }
  }
}

bool NeedsQuotes(std::string_view value) {
  if (value.empty()) return true;
  for (char c : value) {
    if (c == ' ' || c == '=' || c == '"' || c == '\\' || !IsPrintableAscii(c)) return true;
  }
  return false;
}

}  // namespace

std::string OperationDigest(std::string_view action, const OperationFields& fields) {
  Sha256 hash;
  hash.Update(kDigestTag);
  UpdateWithLength(hash, action);
  for (const auto& [key, value] : fields) {
    UpdateWithLength(hash, key);
    UpdateWithLength(hash, value);
  }
  return HexEncode(hash.Finish());
}

std::string DescribeOperation(std::string_view action, const OperationFields& fields) {
  std::string description;
  AppendEscaped(description, action);
  for (const auto& [key, value] : fields) {
    description += ' ';
    AppendEscaped(description, key);
    description += '=';
    if (NeedsQuotes(value)) {
      description += '"';
      AppendEscaped(description, value);
      description += '"';
    } else {
      description += value;
    }
  }
  return description;
}

Status ValidateOperation(std::string_view action, const OperationFields& fields) {
  if (action.empty() || action.size() > kMaxActionBytes || !IsIdentifier(action)) {
    return InvalidArgumentError("action " + Quoted(action) + " is invalid: use 1 to " +
                                std::to_string(kMaxActionBytes) + " characters from A-Z a-z 0-9 . _ -");
  }
  if (fields.size() > kMaxOperationFields) {
    return InvalidArgumentError("operation " + Quoted(action) + " has " + std::to_string(fields.size()) +
                                " fields; the maximum is " + std::to_string(kMaxOperationFields));
  }
  for (const auto& [key, value] : fields) {
    if (key.empty() || key.size() > kMaxFieldBytes || !IsIdentifier(key)) {
      return InvalidArgumentError("field name " + Quoted(key) + " is invalid: use 1 to " +
                                  std::to_string(kMaxFieldBytes) + " characters from A-Z a-z 0-9 . _ -");
    }
    if (value.size() > kMaxFieldBytes) {
      return InvalidArgumentError("value of field " + Quoted(key) + " has " + std::to_string(value.size()) +
                                  " bytes; the maximum is " + std::to_string(kMaxFieldBytes));
    }
    if (!IsValidUtf8(value)) {
      return InvalidArgumentError("value " + Quoted(value) + " of field " + Quoted(key) +
                                  " is not valid UTF-8");
    }
  }
  return OkStatus();
}

}  // namespace moat::auth
