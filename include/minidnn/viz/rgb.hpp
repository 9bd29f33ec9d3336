#pragma once
/// \file
/// Rgb: an 8-bit colour, shared by the chart code (viz) and the photo annotation code (vision).
#include <cstdint>

namespace minidnn::viz {

struct Rgb {
  std::uint8_t r = 0, g = 0, b = 0;
};

}  // namespace minidnn::viz
