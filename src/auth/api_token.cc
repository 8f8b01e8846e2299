#include "auth/api_token.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <array>

namespace moat::auth {
namespace {

constexpr size_t kIdBytes = kApiTokenIdLength / 2;
constexpr size_t kSecretBytes = 32;

bool IsLowerHex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

// Returns the 6-bit value of a base64url character, or -1.
int Base64UrlValue(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

// Encodes base64url without padding (RFC 4648, section 5) by translating
// standard base64 (section 4), which carries the same bits.
std::string Base64UrlEncode(std::span<const uint8_t> bytes) {
  std::string text = Base64Encode(bytes);
  while (!text.empty() && text.back() == '=') text.pop_back();
  for (char& c : text) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  return text;
}

Status Malformed(std::string reason) { return InvalidArgumentError("malformed API token: " + std::move(reason)); }

}  // namespace

StatusOr<ApiTokenParts> ParseApiToken(std::string_view text) {
  if (text.size() != kApiTokenLength) {
    return Malformed("length " + std::to_string(text.size()) + ", expected " + std::to_string(kApiTokenLength));
  }
  if (text.substr(0, kApiTokenPrefix.size()) != kApiTokenPrefix) return Malformed("it does not start with 'moat_'");

  size_t id_start = kApiTokenPrefix.size();
  size_t separator = id_start + kApiTokenIdLength;
  for (size_t i = id_start; i < separator; ++i) {
    if (!IsLowerHex(text[i])) return Malformed("the id has a character other than 0-9 a-f at offset " + std::to_string(i));
  }
  if (text[separator] != '_') return Malformed("expected '_' after the id at offset " + std::to_string(separator));

  // 43 characters carry 258 bits; the last character's low 2 bits are
  // beyond the 256-bit secret and must be zero.
  for (size_t i = separator + 1; i < text.size(); ++i) {
    int value = Base64UrlValue(text[i]);
    if (value < 0) {
      return Malformed("the secret has a character outside base64url at offset " + std::to_string(i));
    }
    if (i + 1 == text.size() && (value & 0x3) != 0) {
      return Malformed("the secret's last character at offset " + std::to_string(i) + " is not canonical");
    }
  }
  return ApiTokenParts{std::string(text.substr(id_start, kApiTokenIdLength)),
                       std::string(text.substr(separator + 1))};
}

std::string FormatApiToken(const ApiTokenParts& parts) {
  return std::string(kApiTokenPrefix) + parts.id + "_" + parts.secret;
}

StatusOr<ApiTokenParts> GenerateApiToken() {
  std::array<uint8_t, kIdBytes> id{};
  std::array<uint8_t, kSecretBytes> secret{};
  if (RAND_bytes(id.data(), static_cast<int>(id.size())) != 1 ||
      RAND_bytes(secret.data(), static_cast<int>(secret.size())) != 1) {
    return InternalError("cannot draw random bytes for an API token: " + OpenSslErrors());
  }
  ApiTokenParts parts{HexEncode(id), Base64UrlEncode(secret)};
  OPENSSL_cleanse(secret.data(), secret.size());
  return parts;
}

Sha256Digest ApiTokenSecretDigest(std::string_view secret) { return Sha256Of(secret); }

}  // namespace moat::auth
