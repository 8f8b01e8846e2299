#include "auth/totp.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <array>

namespace moat::auth {
namespace {

constexpr int kMinDigits = 6;
constexpr int kMaxDigits = 8;

const char* DigestName(TotpAlgorithm algorithm) {
  switch (algorithm) {
    case TotpAlgorithm::kSha256:
      return "SHA256";
    case TotpAlgorithm::kSha512:
      return "SHA512";
    case TotpAlgorithm::kSha1:
      break;
  }
  return "SHA1";
}

}  // namespace

std::string_view TotpAlgorithmName(TotpAlgorithm algorithm) { return DigestName(algorithm); }

Status ValidateTotpParameters(const TotpParameters& parameters) {
  if (parameters.digits < kMinDigits || parameters.digits > kMaxDigits) {
    return InvalidArgumentError("TOTP digits " + std::to_string(parameters.digits) + " is outside 6-8");
  }
  if (parameters.step_seconds <= 0) {
    return InvalidArgumentError("TOTP step " + std::to_string(parameters.step_seconds) +
                                " s is not positive");
  }
  return OkStatus();
}

std::string HotpCode(std::span<const uint8_t> key, uint64_t counter, TotpAlgorithm algorithm, int digits) {
  if (key.empty() || digits < kMinDigits || digits > kMaxDigits) return {};

  std::array<uint8_t, 8> message{};
  for (int i = 7; i >= 0; --i) {
    message[static_cast<size_t>(i)] = static_cast<uint8_t>(counter & 0xff);
    counter >>= 8;
  }
  std::array<uint8_t, EVP_MAX_MD_SIZE> mac{};
  size_t mac_size = 0;
  if (EVP_Q_mac(nullptr, "HMAC", nullptr, DigestName(algorithm), nullptr, key.data(), key.size(),
                message.data(), message.size(), mac.data(), mac.size(), &mac_size) == nullptr ||
      mac_size < 20) {
    return {};
  }

  // Dynamic truncation (RFC 4226, section 5.3): the low 4 bits of the last
  // byte pick where 31 bits are read, big-endian, with the top bit cleared.
  size_t offset = mac[mac_size - 1] & 0x0f;
  uint32_t value = (static_cast<uint32_t>(mac[offset] & 0x7f) << 24) |
                   (static_cast<uint32_t>(mac[offset + 1]) << 16) |
                   (static_cast<uint32_t>(mac[offset + 2]) << 8) | static_cast<uint32_t>(mac[offset + 3]);
  OPENSSL_cleanse(mac.data(), mac.size());

  uint32_t modulus = 1;
  for (int i = 0; i < digits; ++i) modulus *= 10;
  std::string code = std::to_string(value % modulus);
  return std::string(static_cast<size_t>(digits) - code.size(), '0') + code;
}

int64_t TotpStep(int64_t unix_seconds, const TotpParameters& parameters) {
  int64_t elapsed = 0;
  if (parameters.step_seconds <= 0 || __builtin_sub_overflow(unix_seconds, parameters.t0, &elapsed)) return -1;
  int64_t step = elapsed / parameters.step_seconds;
  // C++ division truncates toward zero, but a step is the floor.
  if (elapsed % parameters.step_seconds != 0 && elapsed < 0) --step;
  return step;
}

std::string TotpCodeAtStep(std::span<const uint8_t> key, int64_t step, const TotpParameters& parameters) {
  if (!ValidateTotpParameters(parameters).ok() || step < 0) return {};
  return HotpCode(key, static_cast<uint64_t>(step), parameters.algorithm, parameters.digits);
}

std::string TotpCode(std::span<const uint8_t> key, int64_t unix_seconds, const TotpParameters& parameters) {
  if (!ValidateTotpParameters(parameters).ok()) return {};
  return TotpCodeAtStep(key, TotpStep(unix_seconds, parameters), parameters);
}

}  // namespace moat::auth
