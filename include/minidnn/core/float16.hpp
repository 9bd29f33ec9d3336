#pragma once
/// \file
/// IEEE 754 binary16 ("half") conversions, for storing weights at half the size (model files).
/// Portable bit arithmetic: it runs once per weight at save and load, never in a hot loop.
#include <cstdint>
#include <cstring>

namespace minidnn {

/// The largest finite half, 65504.
constexpr float kFloat16Max = 65504.0f;

/// `value` rounded to the nearest half (ties to even), as its bits. Beyond the half range the
/// result is +-infinity; NaN stays a (quiet) NaN; values below the smallest subnormal (2^-24)
/// round to signed zero or to it.
inline std::uint16_t float_to_half_bits(float value) {
  std::uint32_t f;
  std::memcpy(&f, &value, sizeof f);
  const std::uint32_t sign = (f >> 16) & 0x8000u;
  const std::uint32_t magnitude = f & 0x7fffffffu;
  if (magnitude >= 0x7f800000u)  // infinity, or NaN (keep it a NaN with the quiet bit set)
    return static_cast<std::uint16_t>(sign | 0x7c00u | (magnitude > 0x7f800000u ? 0x200u | ((magnitude >> 13) & 0x3ffu) : 0u));
  const int exponent = static_cast<int>(magnitude >> 23) - 127;  // unbiased
  if (exponent > 15) return static_cast<std::uint16_t>(sign | 0x7c00u);
  std::uint32_t mantissa = (magnitude & 0x7fffffu) | (exponent > -127 ? 0x800000u : 0u);  // with the hidden bit
  // A normal half keeps 10 of the 23 fraction bits; a subnormal (exponent < -14) keeps fewer, its
  // value being a multiple of 2^-24.
  const int shift = exponent >= -14 ? 13 : 13 + (-14 - exponent);
  if (shift > 24) return static_cast<std::uint16_t>(sign);  // below half of 2^-24: rounds to zero
  const std::uint32_t kept = mantissa >> shift;
  const std::uint32_t rest = mantissa & ((1u << shift) - 1u);
  const std::uint32_t halfway = 1u << (shift - 1);
  std::uint32_t rounded = kept + ((rest > halfway || (rest == halfway && (kept & 1u))) ? 1u : 0u);
  if (exponent >= -14) {
    // rounded holds the hidden bit at 2^10; a carry out of the fraction moves to the next
    // exponent, and past 15 becomes infinity, both by plain addition of the bit fields.
    const std::uint32_t bits = (static_cast<std::uint32_t>(exponent + 15) << 10) + (rounded - 0x400u);
    return static_cast<std::uint16_t>(sign | (bits >= 0x7c00u ? 0x7c00u : bits));
  }
  return static_cast<std::uint16_t>(sign | rounded);  // subnormal (a carry makes it the smallest normal)
}

/// The float a half's bits stand for (exact: every half is a float).
inline float half_bits_to_float(std::uint16_t half) {
  const std::uint32_t sign = static_cast<std::uint32_t>(half & 0x8000u) << 16;
  const std::uint32_t exponent = (half >> 10) & 0x1fu;
  std::uint32_t mantissa = half & 0x3ffu;
  std::uint32_t f;
  if (exponent == 0x1f) {
    f = sign | 0x7f800000u | (mantissa << 13);
  } else if (exponent != 0) {
    f = sign | ((exponent + 112u) << 23) | (mantissa << 13);
  } else if (mantissa == 0) {
    f = sign;
  } else {  // subnormal: normalise
    int e = -1;
    do {
      mantissa <<= 1;
      ++e;
    } while (!(mantissa & 0x400u));
    f = sign | (static_cast<std::uint32_t>(112 - e) << 23) | ((mantissa & 0x3ffu) << 13);
  }
  float value;
  std::memcpy(&value, &f, sizeof value);
  return value;
}

}  // namespace minidnn
