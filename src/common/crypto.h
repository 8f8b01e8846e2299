// Thin wrappers over OpenSSL 3 for the digests and encodings used across Moat.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "common/status.h"

namespace moat {

using Sha256Digest = std::array<uint8_t, 32>;

// Incremental SHA-256. Not thread-safe; one instance per stream.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void Update(std::span<const uint8_t> bytes);
  void Update(std::string_view bytes);
  // Returns the digest; the object must not be updated afterwards.
  Sha256Digest Finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

Sha256Digest Sha256Of(std::span<const uint8_t> bytes);
Sha256Digest Sha256Of(std::string_view bytes);
std::string Sha256Hex(std::span<const uint8_t> bytes);
std::string Sha256Hex(std::string_view bytes);

// Drains OpenSSL's thread-local error queue into one line ("no OpenSSL error
// detail" when it is empty), so that a failure does not surface in an
// unrelated later call. For error messages after a failed OpenSSL call.
std::string OpenSslErrors();

// Lower-case hexadecimal.
std::string HexEncode(std::span<const uint8_t> bytes);
StatusOr<std::string> HexDecode(std::string_view hex);

// Standard base64 with padding (RFC 4648, section 4).
std::string Base64Encode(std::span<const uint8_t> bytes);
StatusOr<std::string> Base64Decode(std::string_view text);

inline std::span<const uint8_t> AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

}  // namespace moat
