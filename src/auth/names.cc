#include "auth/names.h"

#include <algorithm>

namespace moat::auth {
namespace {

constexpr size_t kMaxQuotedBytes = 80;

bool IsNameCharacter(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
         c == '@' || c == '-';
}

}  // namespace

std::string Quoted(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "'";
  for (char c : text.substr(0, kMaxQuotedBytes)) {
    auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && byte < 0x7f && c != '\'' && c != '\\') {
      out.push_back(c);
    } else {
      out += "\\x";
      out.push_back(kHex[byte >> 4]);
      out.push_back(kHex[byte & 0x0f]);
    }
  }
  out.push_back('\'');
  if (text.size() > kMaxQuotedBytes) out += "... (" + std::to_string(text.size()) + " bytes)";
  return out;
}

Status ValidateName(std::string_view category, std::string_view name) {
  if (name.empty() || name.size() > kMaxNameLength) {
    return InvalidArgumentError("invalid " + std::string(category) + " name " + Quoted(name) + ": it has " +
                                std::to_string(name.size()) + " bytes, expected 1-64");
  }
  auto bad = std::find_if_not(name.begin(), name.end(), IsNameCharacter);
  if (bad != name.end()) {
    return InvalidArgumentError("invalid " + std::string(category) + " name " + Quoted(name) + ": the byte at offset " +
                                std::to_string(bad - name.begin()) +
                                " is not one of A-Z a-z 0-9 . _ @ -");
  }
  return OkStatus();
}

StatusOr<std::vector<std::string>> NormalizeRoles(const std::vector<std::string>& roles) {
  for (const std::string& role : roles) MOAT_RETURN_IF_ERROR(ValidateName("role", role));
  std::vector<std::string> sorted = roles;
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  return sorted;
}

}  // namespace moat::auth
