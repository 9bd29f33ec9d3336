#pragma once
/// \file
/// Canvas: an RGB image in memory to draw charts and annotations on, plus the drawing
/// primitives (filled rectangles, anti-aliased thick lines and polylines, discs). The primitives
/// take an RgbView, so they draw just as well on any caller's RGB buffer (a loaded photo).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "minidnn/core/error.hpp"
#include "minidnn/viz/rgb.hpp"

namespace minidnn::viz {

/// Blends `b` over `a` by `t` in [0, 1].
inline Rgb mix(Rgb a, Rgb b, double t) {
  auto lerp = [t](std::uint8_t x, std::uint8_t y) { return static_cast<std::uint8_t>(std::lround(x + (y - x) * t)); };
  return {lerp(a.r, b.r), lerp(a.g, b.g), lerp(a.b, b.b)};
}

/// A window on someone's 8-bit RGB pixels: (height, width, 3) with rows `stride` bytes apart.
struct RgbView {
  std::uint8_t* pixels = nullptr;
  int width = 0, height = 0;
  int stride = 0;  // bytes from one row to the next, >= 3 * width

  RgbView() = default;
  RgbView(std::uint8_t* data, int w, int h, int row_stride = 0)
      : pixels(data), width(w), height(h), stride(row_stride ? row_stride : 3 * w) {}

  std::uint8_t* at(int x, int y) const { return pixels + static_cast<std::ptrdiff_t>(y) * stride + 3 * x; }
  /// Paints `color` over pixel (x, y) with opacity `alpha`; pixels outside are ignored.
  void blend(int x, int y, Rgb color, double alpha) const {
    if (x < 0 || y < 0 || x >= width || y >= height || alpha <= 0) return;
    std::uint8_t* p = at(x, y);
    if (alpha >= 1) {
      p[0] = color.r, p[1] = color.g, p[2] = color.b;
      return;
    }
    const Rgb mixed = mix({p[0], p[1], p[2]}, color, alpha);
    p[0] = mixed.r, p[1] = mixed.g, p[2] = mixed.b;
  }
};

/// An RGB image that owns its pixels.
class Canvas {
 public:
  Canvas(int width, int height, Rgb background = {255, 255, 255}) : width_(width), height_(height) {
    if (width <= 0 || height <= 0 || width > 16384 || height > 16384)
      fail("viz::Canvas: size ", width, "x", height, " is not between 1x1 and 16384x16384");
    pixels_.resize(static_cast<std::size_t>(width) * height * 3);
    for (std::size_t i = 0; i < pixels_.size(); i += 3)
      pixels_[i] = background.r, pixels_[i + 1] = background.g, pixels_[i + 2] = background.b;
  }
  int width() const { return width_; }
  int height() const { return height_; }
  RgbView view() { return RgbView(pixels_.data(), width_, height_); }
  const std::vector<std::uint8_t>& pixels() const { return pixels_; }  // (height, width, 3)
  Rgb pixel(int x, int y) const {
    const std::uint8_t* p = &pixels_[(static_cast<std::size_t>(y) * width_ + x) * 3];
    return {p[0], p[1], p[2]};
  }

 private:
  int width_, height_;
  std::vector<std::uint8_t> pixels_;
};

/// Fills the pixels of [x0, x1) x [y0, y1), clipped to the view.
inline void fill_rect(const RgbView& view, int x0, int y0, int x1, int y1, Rgb color, double alpha = 1.0) {
  x0 = std::max(x0, 0), y0 = std::max(y0, 0), x1 = std::min(x1, view.width), y1 = std::min(y1, view.height);
  for (int y = y0; y < y1; ++y)
    for (int x = x0; x < x1; ++x) view.blend(x, y, color, alpha);
}

/// Outline of [x0, x1) x [y0, y1), `thickness` pixels drawn inwards.
inline void draw_rect(const RgbView& view, int x0, int y0, int x1, int y1, Rgb color, int thickness = 1) {
  fill_rect(view, x0, y0, x1, y0 + thickness, color);
  fill_rect(view, x0, y1 - thickness, x1, y1, color);
  fill_rect(view, x0, y0 + thickness, x0 + thickness, y1 - thickness, color);
  fill_rect(view, x1 - thickness, y0 + thickness, x1, y1 - thickness, color);
}

struct Point {
  double x, y;  // pixel coordinates; pixel (i, j) covers [i, i+1) x [j, j+1)
};

/// An anti-aliased polyline of the given thickness with round joins and caps. Each pixel is
/// painted once with its best coverage, so joins do not show darker overlaps.
inline void draw_polyline(const RgbView& view, const std::vector<Point>& points, Rgb color, double thickness = 1.0) {
  if (points.empty()) return;
  const double half = thickness / 2;
  double min_x = points[0].x, max_x = min_x, min_y = points[0].y, max_y = min_y;
  for (const Point& p : points)
    min_x = std::min(min_x, p.x), max_x = std::max(max_x, p.x), min_y = std::min(min_y, p.y), max_y = std::max(max_y, p.y);
  const int x0 = std::max(0, static_cast<int>(std::floor(min_x - half - 1)));
  const int x1 = std::min(view.width, static_cast<int>(std::ceil(max_x + half + 1)));
  const int y0 = std::max(0, static_cast<int>(std::floor(min_y - half - 1)));
  const int y1 = std::min(view.height, static_cast<int>(std::ceil(max_y + half + 1)));
  for (int y = y0; y < y1; ++y) {
    for (int x = x0; x < x1; ++x) {
      const double px = x + 0.5, py = y + 0.5;
      double best = 1e30;
      for (std::size_t i = 0; i < points.size(); ++i) {
        const Point a = points[i], b = points[i + 1 < points.size() ? i + 1 : i];
        const double bx = b.x - a.x, by = b.y - a.y, ax = px - a.x, ay = py - a.y;
        const double length2 = bx * bx + by * by;
        const double t = length2 > 0 ? std::clamp((ax * bx + ay * by) / length2, 0.0, 1.0) : 0.0;
        const double dx = ax - t * bx, dy = ay - t * by;
        best = std::min(best, dx * dx + dy * dy);
      }
      view.blend(x, y, color, std::clamp(half + 0.5 - std::sqrt(best), 0.0, 1.0));
    }
  }
}

/// One anti-aliased line segment.
inline void draw_line(const RgbView& view, Point a, Point b, Rgb color, double thickness = 1.0) {
  draw_polyline(view, {a, b}, color, thickness);
}

/// An anti-aliased filled disc.
inline void fill_disc(const RgbView& view, Point centre, double radius, Rgb color) {
  draw_polyline(view, {centre}, color, 2 * radius);
}

}  // namespace minidnn::viz
