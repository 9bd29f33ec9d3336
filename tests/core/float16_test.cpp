// core/float16.hpp against a direct definition of IEEE binary16: each half's value computed as
// sign * fraction * 2^exponent in double, and rounding as "the nearest of all 63,488 finite halves,
// ties to the even one" found by search.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "minidnn/core/float16.hpp"

namespace {

// The value of half bits by definition (NaN for NaNs).
double half_value(std::uint16_t bits) {
  const int sign = (bits & 0x8000) ? -1 : 1;
  const int exponent = (bits >> 10) & 0x1f;
  const int fraction = bits & 0x3ff;
  if (exponent == 31) return fraction ? std::numeric_limits<double>::quiet_NaN() : sign * HUGE_VAL;
  if (exponent == 0) return sign * std::ldexp(fraction, -24);
  return sign * std::ldexp(1024 + fraction, exponent - 25);
}

// The bits IEEE round-to-nearest-even gives `x` (finite), by searching the non-negative halves.
std::uint16_t nearest_half(double x) {
  static const std::vector<double> values = [] {
    std::vector<double> v;
    for (std::uint32_t b = 0; b <= 0x7bff; ++b) v.push_back(half_value(static_cast<std::uint16_t>(b)));
    return v;
  }();
  const std::uint16_t sign = std::signbit(x) ? 0x8000 : 0;
  const double a = std::fabs(x);
  // Past the largest half by half a step (65504 + 16) IEEE rounds to infinity.
  if (a >= 65520.0) return sign | 0x7c00;
  const auto above = std::lower_bound(values.begin(), values.end(), a);
  if (above == values.begin()) return sign;
  if (above == values.end()) return sign | 0x7bff;
  const auto below = above - 1;
  const double up = *above - a, down = a - *below;
  std::uint16_t bits = static_cast<std::uint16_t>((up < down ? above : below) - values.begin());
  if (up == down) bits = static_cast<std::uint16_t>(((above - values.begin()) % 2 == 0 ? above : below) - values.begin());
  return sign | bits;
}

}  // namespace

TEST_CASE("every half converts to the float it stands for", "[float16]") {
  for (std::uint32_t b = 0; b <= 0xffff; ++b) {
    const auto bits = static_cast<std::uint16_t>(b);
    const float f = minidnn::half_bits_to_float(bits);
    const double expected = half_value(bits);
    if (std::isnan(expected)) {
      REQUIRE(std::isnan(f));
      continue;
    }
    INFO("bits " << b);
    REQUIRE(static_cast<double>(f) == expected);
    REQUIRE(std::signbit(f) == bool(bits & 0x8000));
    // And back: every half is a float, so the round trip is exact.
    REQUIRE(minidnn::float_to_half_bits(f) == bits);
  }
}

TEST_CASE("floats round to the nearest half, ties to even", "[float16]") {
  std::mt19937 rng(7);
  std::vector<float> samples = {0.0f, -0.0f, 1.0f, -1.0f, 65504.0f, 65519.996f, 65520.0f, 1e9f, -1e9f,
                                std::ldexp(1.0f, -24), std::ldexp(1.0f, -25), std::ldexp(1.5f, -25), std::ldexp(1.0f, -26),
                                std::ldexp(1.0f, -14), std::ldexp(1023.5f, -24), 1.0f + std::ldexp(1.0f, -11),
                                1.0f + 3 * std::ldexp(1.0f, -11), std::numeric_limits<float>::denorm_min(),
                                std::numeric_limits<float>::max()};
  // Midpoints between neighbouring halves: every tie, across the whole range.
  for (std::uint32_t b = 0; b < 0x7bff; b += 7) {
    const double mid = (half_value(static_cast<std::uint16_t>(b)) + half_value(static_cast<std::uint16_t>(b + 1))) / 2;
    samples.push_back(static_cast<float>(mid));
  }
  // Random floats over every binade a weight can fall in, and beyond the half range.
  std::uniform_real_distribution<float> mantissa(1.0f, 2.0f);
  std::uniform_int_distribution<int> exponent(-30, 20);
  for (int i = 0; i < 200000; ++i) {
    const float v = std::ldexp(mantissa(rng), exponent(rng));
    samples.push_back(i % 2 ? v : -v);
  }
  for (float x : samples) {
    INFO("x = " << x);
    REQUIRE(minidnn::float_to_half_bits(x) == nearest_half(x));
  }
}

TEST_CASE("infinities and NaN survive the conversion", "[float16]") {
  const float inf = std::numeric_limits<float>::infinity();
  CHECK(minidnn::float_to_half_bits(inf) == 0x7c00);
  CHECK(minidnn::float_to_half_bits(-inf) == 0xfc00);
  const std::uint16_t nan = minidnn::float_to_half_bits(std::numeric_limits<float>::quiet_NaN());
  CHECK((nan & 0x7c00) == 0x7c00);
  CHECK((nan & 0x3ff) != 0);
  CHECK(std::isnan(minidnn::half_bits_to_float(nan)));
  // A negative signalling-style NaN keeps its sign and stays a NaN.
  const std::uint32_t raw = 0xff800001u;
  float snan;
  std::memcpy(&snan, &raw, sizeof snan);
  const std::uint16_t h = minidnn::float_to_half_bits(snan);
  CHECK((h & 0x8000) != 0);
  CHECK(std::isnan(minidnn::half_bits_to_float(h)));
}
