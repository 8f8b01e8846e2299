#include "client/half_float.h"

#include <bit>
#include <cmath>

namespace moat::client {

namespace {

constexpr uint32_t kFloatExponentMask = 0x7f800000;
constexpr uint32_t kFloatAbsMask = 0x7fffffff;
// The smallest float that rounds to FP16 infinity: 65520, halfway between the
// largest finite FP16 value (65504) and 65536, where ties to even go up.
constexpr uint32_t kHalfOverflowBits = 0x477ff000;
// 2^-14, the smallest normal FP16 value.
constexpr uint32_t kHalfMinNormalBits = 0x38800000;

}  // namespace

uint16_t FloatToHalfBits(float value) {
  const uint32_t bits = std::bit_cast<uint32_t>(value);
  const auto sign = static_cast<uint16_t>((bits >> 16) & 0x8000);
  const uint32_t magnitude = bits & kFloatAbsMask;
  if (magnitude > kFloatExponentMask) return static_cast<uint16_t>(sign | 0x7e00);  // quiet NaN
  if (magnitude >= kHalfOverflowBits) return static_cast<uint16_t>(sign | 0x7c00);  // infinity
  if (magnitude < kHalfMinNormalBits) {
    // Subnormal or zero: the significand counts units of 2^-24, and scaling
    // by 2^24 is exact. A result of 0x400 is the smallest normal, also right.
    const float units = std::bit_cast<float>(magnitude) * 16777216.0f;
    return static_cast<uint16_t>(sign | static_cast<uint16_t>(std::nearbyint(units)));
  }
  const uint32_t exponent = (magnitude >> 23) - 127 + 15;
  uint32_t half = (exponent << 10) | ((magnitude >> 13) & 0x3ff);
  const uint32_t remainder = magnitude & 0x1fff;
  // A carry out of the significand correctly increments the exponent.
  if (remainder > 0x1000 || (remainder == 0x1000 && (half & 1) != 0)) ++half;
  return static_cast<uint16_t>(sign | half);
}

float HalfBitsToFloat(uint16_t bits) {
  const uint32_t sign = static_cast<uint32_t>(bits & 0x8000) << 16;
  const uint32_t exponent = (bits >> 10) & 0x1f;
  const uint32_t significand = bits & 0x3ff;
  if (exponent == 0) {
    const float magnitude = std::ldexp(static_cast<float>(significand), -24);
    return sign != 0 ? -magnitude : magnitude;
  }
  if (exponent == 31) return std::bit_cast<float>(sign | kFloatExponentMask | (significand << 13));
  return std::bit_cast<float>(sign | ((exponent - 15 + 127) << 23) | (significand << 13));
}

uint16_t FloatToBf16Bits(float value) {
  const uint32_t bits = std::bit_cast<uint32_t>(value);
  if ((bits & kFloatAbsMask) > kFloatExponentMask) return static_cast<uint16_t>((bits >> 16) | 0x40);
  const uint32_t rounding = 0x7fff + ((bits >> 16) & 1);
  return static_cast<uint16_t>((bits + rounding) >> 16);
}

float Bf16BitsToFloat(uint16_t bits) { return std::bit_cast<float>(static_cast<uint32_t>(bits) << 16); }

}  // namespace moat::client
