#pragma once
/// \file
/// Integral images (summed-area tables) of an 8-bit grey image, as OpenCV's cv::integral lays
/// them out: (height + 1) x (width + 1) with a zero first row and column, so the sum of the
/// pixels in [x, x + w) x [y, y + h) is I(x, y) - I(x + w, y) - I(x, y + h) + I(x + w, y + h).
/// Also the squared integral (for window variance) and the 45-degree tilted integral used by
/// rotated Haar features.
#include <cstdint>
#include <vector>

#include "minidnn/vision/image.hpp"

namespace minidnn::vision {

/// Fills `sum` (and `squared`, when not null) with the integral images of `image`, row stride
/// `stride` >= width + 1 elements. Sums are 32-bit like OpenCV's CV_32S tables; the squared sums
/// wrap modulo 2^32 on large images, which is harmless because differences of them over any
/// window smaller than 2^32 / 255^2 pixels are still exact in unsigned arithmetic.
inline void integral_into(const GreyImage& image, std::int32_t* sum, std::uint32_t* squared, int stride) {
  const int w = image.width, h = image.height;
  std::fill_n(sum, w + 1, 0);
  if (squared) std::fill_n(squared, w + 1, 0u);
  for (int y = 0; y < h; ++y) {
    const std::uint8_t* src = image.row(y);
    const std::int32_t* above = sum + static_cast<std::size_t>(y) * stride;
    std::int32_t* out = sum + static_cast<std::size_t>(y + 1) * stride;
    out[0] = 0;
    std::int32_t run = 0;
    for (int x = 0; x < w; ++x) {
      run += src[x];
      out[x + 1] = above[x + 1] + run;
    }
    if (squared) {
      const std::uint32_t* sq_above = squared + static_cast<std::size_t>(y) * stride;
      std::uint32_t* sq_out = squared + static_cast<std::size_t>(y + 1) * stride;
      sq_out[0] = 0;
      std::uint32_t sq_run = 0;
      for (int x = 0; x < w; ++x) {
        sq_run += std::uint32_t(src[x]) * src[x];
        sq_out[x + 1] = sq_above[x + 1] + sq_run;
      }
    }
  }
}

/// Fills `tilted` ((height + 1) rows of stride `stride` >= width + 1) with OpenCV's tilted
/// integral: T(X, Y) = sum of pixels (x, y) with y < Y and |x - X + 1| <= Y - 1 - y, the
/// triangle above the point opening upwards at 45 degrees. `scratch` is reused between calls.
inline void tilted_integral_into(const GreyImage& image, std::int32_t* tilted, int stride,
                                 std::vector<std::int32_t>& scratch) {
  const int w = image.width, h = image.height;
  // The recurrence T(X,Y) = T(X-1,Y-1) + T(X+1,Y-1) - T(X,Y-2) + I(X-1,Y-1) + I(X-1,Y-2) reaches
  // one column further out per row, so compute it on columns padded by h + 1 on both sides,
  // where the triangles no longer touch the image and T is zero.
  const int pad = h + 1, ext_w = w + 1 + 2 * pad;
  scratch.assign(static_cast<std::size_t>(h + 1) * ext_w, 0);  // [h + 1][ext_w]
  auto t = [&](int x, int y) -> std::int32_t& {
    return scratch[static_cast<std::size_t>(y) * ext_w + (x + pad)];
  };
  auto pixel = [&](int x, int y) -> std::int32_t {
    return (x >= 0 && x < w && y >= 0 && y < h) ? image.row(y)[x] : 0;
  };
  for (int y = 1; y <= h; ++y) {
    for (int x = -pad + 1; x < w + 1 + pad - 1; ++x) {
      std::int32_t value = t(x - 1, y - 1) + t(x + 1, y - 1) + pixel(x - 1, y - 1);
      if (y >= 2) value += pixel(x - 1, y - 2) - t(x, y - 2);
      t(x, y) = value;
    }
  }
  for (int y = 0; y <= h; ++y)
    for (int x = 0; x <= w; ++x) tilted[static_cast<std::size_t>(y) * stride + x] = t(x, y);
}

/// An integral image with its own storage: `sum` and `squared` are (height + 1) x (width + 1).
struct IntegralImage {
  int width = 0;   ///< of the source image
  int height = 0;  ///< of the source image
  std::vector<std::int32_t> sum;       // [height + 1][width + 1]
  std::vector<std::uint32_t> squared;  // [height + 1][width + 1], modulo 2^32

  explicit IntegralImage(const GreyImage& image) : width(image.width), height(image.height) {
    const std::size_t size = static_cast<std::size_t>(width + 1) * (height + 1);
    sum.resize(size);
    squared.resize(size);
    integral_into(image, sum.data(), squared.data(), width + 1);
  }

  /// Sum of the pixels in the rectangle [x, x + w) x [y, y + h).
  std::int64_t box_sum(int x, int y, int w, int h) const {
    const int s = width + 1;
    return std::int64_t(sum[y * s + x]) - sum[y * s + x + w] - sum[(y + h) * s + x] +
           sum[(y + h) * s + x + w];
  }
  /// Sum of the squared pixels in the rectangle (exact while the rectangle has < 66051 pixels).
  std::uint32_t box_squared_sum(int x, int y, int w, int h) const {
    const int s = width + 1;
    return squared[y * s + x] - squared[y * s + x + w] - squared[(y + h) * s + x] +
           squared[(y + h) * s + x + w];
  }
};

/// The tilted integral of `image`, (height + 1) x (width + 1) (see tilted_integral_into).
inline std::vector<std::int32_t> tilted_integral(const GreyImage& image) {
  std::vector<std::int32_t> out(static_cast<std::size_t>(image.width + 1) * (image.height + 1));
  std::vector<std::int32_t> scratch;
  tilted_integral_into(image, out.data(), image.width + 1, scratch);
  return out;
}

}  // namespace minidnn::vision
