#pragma once
/// \file
/// Rotation and scaling of an image about its centre, sampled bilinearly; positions outside the
/// image take the nearest edge pixel (as the shifts of ops/augment.hpp), so no black corners
/// appear for the network to learn.
#include <algorithm>
#include <cmath>

namespace minidnn {

/// Rotation (degrees, counter-clockwise as the image is seen, rows going down) and scale
/// (> 1 enlarges the content) about the image centre ((W - 1) / 2, (H - 1) / 2).
struct Warp {
  double degrees = 0.0;
  double scale = 1.0;
  bool identity() const { return degrees == 0.0 && scale == 1.0; }
};

/// The image's value at real position (y, x): bilinear between the four pixels around it,
/// coordinates clamped to the image first.
template <typename T>
T sample_bilinear(const T* plane, int height, int width, double y, double x) {
  y = std::clamp(y, 0.0, double(height - 1));
  x = std::clamp(x, 0.0, double(width - 1));
  const int y0 = static_cast<int>(y), x0 = static_cast<int>(x);
  const int y1 = std::min(y0 + 1, height - 1), x1 = std::min(x0 + 1, width - 1);
  const double fy = y - y0, fx = x - x0;
  const T* r0 = plane + static_cast<std::size_t>(y0) * width;
  const T* r1 = plane + static_cast<std::size_t>(y1) * width;
  const double top = r0[x0] * (1 - fx) + r0[x1] * fx;
  const double bottom = r1[x0] * (1 - fx) + r1[x1] * fx;
  return static_cast<T>(top * (1 - fy) + bottom * fy);
}

/// The source position the warp takes output pixel (y, x) from: the inverse rotation and
/// scaling about the centre (cy, cx).
struct WarpMap {
  double cy, cx, a, b;  // source = centre + [[a, -b], [b, a]] (x - cx, y - cy), x first
  WarpMap(const Warp& warp, int height, int width) : cy((height - 1) / 2.0), cx((width - 1) / 2.0) {
    const double radians = warp.degrees * 3.14159265358979323846 / 180.0;
    a = std::cos(radians) / warp.scale;
    b = std::sin(radians) / warp.scale;
  }
  // The output's offset (dx, dy) from the centre reads the source at offset
  // (dx cos t - dy sin t, dx sin t + dy cos t) / scale: with rows going down, that turns the
  // content counter-clockwise by t.
  double source_x(double y, double x) const { return cx + a * (x - cx) - b * (y - cy); }
  double source_y(double y, double x) const { return cy + b * (x - cx) + a * (y - cy); }
};

/// Writes the warped `plane` ((height, width)) into `out` (same size, not the same memory).
template <typename T>
void warp_plane(const T* plane, int height, int width, const Warp& warp, T* out) {
  const WarpMap map(warp, height, width);
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x)
      out[static_cast<std::size_t>(y) * width + x] =
          sample_bilinear(plane, height, width, map.source_y(y, x), map.source_x(y, x));
}

}  // namespace minidnn
