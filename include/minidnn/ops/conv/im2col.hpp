#pragma once
/// \file
/// im2col and col2im: turning a convolution into one matrix product, and back.
///
/// For one sample of shape (C, H, W), a kernel kh x kw, stride (sh, sw) and padding (ph, pw)
/// giving an output of oh x ow positions, the column matrix is row-major
///
///     col: (C*kh*kw) rows x (oh*ow) columns
///     col[(c*kh + i)*kw + j][y*ow + x] = image[c][y*sh - ph + i][x*sw - pw + j]   (0 outside)
///
/// so that  output (F x oh*ow) = kernel (F x C*kh*kw) * col.  col2im is the adjoint: it adds each
/// column entry back onto the pixel it came from.
#include <algorithm>
#include <cstring>

#include "minidnn/ops/conv/geometry.hpp"

namespace minidnn {

/// Fills `col` ((C*kh*kw) x (oh*ow), row-major) from `image` (C x H x W).
template <typename T>
void im2col(const ConvGeometry& g, const T* image, T* col) {
  const int cols = g.out_h * g.out_w;
  for (int c = 0; c < g.channels; ++c) {
    const T* plane = image + static_cast<long>(c) * g.height * g.width;
    for (int i = 0; i < g.kernel_h; ++i) {
      for (int j = 0; j < g.kernel_w; ++j) {
        T* row = col + static_cast<long>((c * g.kernel_h + i) * g.kernel_w + j) * cols;
        for (int y = 0; y < g.out_h; ++y) {
          T* out = row + y * g.out_w;
          const int iy = y * g.stride_h - g.pad_h + i;
          if (iy < 0 || iy >= g.height) {
            std::fill(out, out + g.out_w, T(0));
            continue;
          }
          const T* in = plane + static_cast<long>(iy) * g.width;
          // Output columns whose input column ix = x*sw - pw + j falls inside [0, W).
          const int x_begin = std::clamp((g.pad_w - j + g.stride_w - 1) / g.stride_w, 0, g.out_w);
          const int x_end = std::clamp((g.width + g.pad_w - j + g.stride_w - 1) / g.stride_w, x_begin, g.out_w);
          std::fill(out, out + x_begin, T(0));
          if (g.stride_w == 1) {
            std::memcpy(out + x_begin, in + (x_begin - g.pad_w + j), sizeof(T) * (x_end - x_begin));
          } else {
            for (int x = x_begin; x < x_end; ++x) out[x] = in[x * g.stride_w - g.pad_w + j];
          }
          std::fill(out + x_end, out + g.out_w, T(0));
        }
      }
    }
  }
}

/// Adds the columns of `col` back onto `image` (C x H x W). `image` is accumulated into, not
/// cleared: zero it first for a plain col2im.
template <typename T>
void col2im_add(const ConvGeometry& g, const T* col, T* image) {
  const int cols = g.out_h * g.out_w;
  for (int c = 0; c < g.channels; ++c) {
    T* plane = image + static_cast<long>(c) * g.height * g.width;
    for (int i = 0; i < g.kernel_h; ++i) {
      for (int j = 0; j < g.kernel_w; ++j) {
        const T* row = col + static_cast<long>((c * g.kernel_h + i) * g.kernel_w + j) * cols;
        const int x_begin = std::clamp((g.pad_w - j + g.stride_w - 1) / g.stride_w, 0, g.out_w);
        const int x_end = std::clamp((g.width + g.pad_w - j + g.stride_w - 1) / g.stride_w, x_begin, g.out_w);
        for (int y = 0; y < g.out_h; ++y) {
          const int iy = y * g.stride_h - g.pad_h + i;
          if (iy < 0 || iy >= g.height) continue;
          const T* in = row + y * g.out_w;
          T* out = plane + static_cast<long>(iy) * g.width;
          const int offset = j - g.pad_w;
          if (g.stride_w == 1) {
            for (int x = x_begin; x < x_end; ++x) out[x + offset] += in[x];
          } else {
            for (int x = x_begin; x < x_end; ++x) out[x * g.stride_w + offset] += in[x];
          }
        }
      }
    }
  }
}

}  // namespace minidnn
