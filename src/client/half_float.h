// Conversions between float and the 16-bit floating-point formats FP16
// (IEEE 754 binary16) and BF16 (bfloat16), as raw bit patterns.
#pragma once

#include <cstdint>

namespace moat::client {

// Rounds to the nearest FP16 value, ties to even; overflow gives infinity and
// NaN stays NaN.
uint16_t FloatToHalfBits(float value);
float HalfBitsToFloat(uint16_t bits);

// Rounds to the nearest BF16 value, ties to even; NaN stays NaN.
uint16_t FloatToBf16Bits(float value);
float Bf16BitsToFloat(uint16_t bits);

}  // namespace moat::client
