// Feeds arbitrary bytes to ParseApiToken. Whatever it accepts must format
// back to exactly the same bytes, have a 16-digit id and a secret that
// decodes to 32 bytes and encodes back to the same 43 characters: one
// token, one spelling.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "auth/api_token.h"
#include "common/crypto.h"

namespace {

// base64url without padding to standard base64 with padding and back,
// through the project's own codec.
std::string ToBase64(std::string text) {
  for (char& c : text) {
    if (c == '-') c = '+';
    if (c == '_') c = '/';
  }
  return text + "=";
}

std::string FromBase64(std::string text) {
  while (!text.empty() && text.back() == '=') text.pop_back();
  for (char& c : text) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  return text;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  moat::StatusOr<moat::auth::ApiTokenParts> parts = moat::auth::ParseApiToken(bytes);
  if (!parts.ok()) {
    if (parts.status().code() != moat::StatusCode::kInvalidArgument) std::abort();
    return 0;
  }
  if (moat::auth::FormatApiToken(*parts) != bytes) std::abort();
  if (parts->id.size() != moat::auth::kApiTokenIdLength) std::abort();
  if (!moat::HexDecode(parts->id).ok()) std::abort();

  moat::StatusOr<std::string> secret = moat::Base64Decode(ToBase64(parts->secret));
  if (!secret.ok() || secret->size() != 32) std::abort();
  if (FromBase64(moat::Base64Encode(moat::AsBytes(*secret))) != parts->secret) std::abort();
  return 0;
}
