#pragma once
/// \file
/// Depthwise 2-D convolution (cross-correlation): every input channel c is convolved with its own
/// `multiplier` kernels, giving output channels c*M + m (Keras's DepthwiseConv2D and PyTorch's
/// Conv2d(groups = C) order).
///
///   x (N, C, H, W),  kernel (C, M, kh, kw),  bias (C*M) or none,  y (N, C*M, OH, OW)
///   forward:   y[n, cM+m, oy, ox] = bias[cM+m] + sum_{ky,kx} kernel[c,m,ky,kx] * x[n, c, iy, ix]
///              with iy = oy*sh + ky - pad_top, ix = ox*sw + kx - pad_left (outside: zero)
///   backward:  dkernel[c,m,ky,kx] = sum_{n,oy,ox} dy[n, cM+m, oy, ox] * x[n, c, iy, ix]
///              dbias[cM+m] = sum_{n,oy,ox} dy[n, cM+m, oy, ox]
///              dx[n, c, iy, ix] = sum_{m,ky,kx} kernel[c,m,ky,kx] * dy[n, cM+m, oy, ox]
///
/// The reference loops (detail::*_scalar) run along an output row over the columns whose input is
/// inside the image (the bounds are worked out per kernel column, not tested per element).
/// Depthwise convolution does ~kh*kw flops per value it reads: it is bound by memory, not
/// arithmetic, so the float forward at stride 1 (ops/conv/depthwise-inl.hpp, per instruction set)
/// keeps a vector of outputs in a register through all kh*kw taps and stores it once, instead of
/// the reference's kh*kw read-modify-write passes over the output row. Its backward at stride 1
/// keeps the kernel gradient in kh*kw vector accumulators for the whole plane, and computes dx as
/// that same forward loop over dy with the kernel turned by 180 degrees (dx[iy, ix] = sum of
/// kernel[ky, kx] * dy[iy - ky + pad_top, ix - kx + pad_left]): a gather into each dx vector
/// instead of kh*kw scattered passes over the dx row.
/// The functions here work on one plane; the layer (layers/depthwise_conv2d.hpp) runs them over
/// the batch with OpenMP.
#include <algorithm>
#include <cstddef>
#include <type_traits>

#include "minidnn/core/error.hpp"
#include "minidnn/cpu/simd.hpp"

namespace minidnn::ops {

/// Output side and leading padding of a convolution window along one axis, Keras's rules:
/// valid: out = (in - k) / s + 1, no padding; same: out = ceil(in / s), padding
/// max((out - 1) * s + k - in, 0) split with the smaller half first.
struct ConvAxis {
  int out = 0, pad_before = 0;
};
inline ConvAxis conv_axis(int in, int kernel, int stride, bool same) {
  ConvAxis a;
  if (same) {
    a.out = (in + stride - 1) / stride;
    a.pad_before = std::max((a.out - 1) * stride + kernel - in, 0) / 2;
  } else {
    if (kernel > in) fail("convolution: kernel side ", kernel, " is larger than the input side ", in);
    a.out = (in - kernel) / stride + 1;
  }
  return a;
}

struct DepthwiseGeometry {
  int channels, multiplier, in_h, in_w, kernel_h, kernel_w, stride_h, stride_w, pad_top, pad_left, out_h, out_w;
};

namespace detail {
// Output indices [lo, hi) along an axis whose input index o*stride + offset lies in [0, in).
inline void inside_range(int out, int stride, int offset, int in, int& lo, int& hi) {
  lo = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
  hi = in - 1 - offset < 0 ? 0 : std::min(out, (in - 1 - offset) / stride + 1);
  if (lo > hi) lo = hi;
}
}  // namespace detail

namespace detail {
/// The reference forward of one plane (see depthwise_plane_forward).
template <typename T>
void depthwise_plane_forward_scalar(const DepthwiseGeometry& g, const T* x, const T* kernel, T bias, T* y) {
  for (int oy = 0; oy < g.out_h; ++oy) {
    T* yrow = y + std::ptrdiff_t(oy) * g.out_w;
    for (int ox = 0; ox < g.out_w; ++ox) yrow[ox] = bias;
    for (int ky = 0; ky < g.kernel_h; ++ky) {
      const int iy = oy * g.stride_h + ky - g.pad_top;
      if (iy < 0 || iy >= g.in_h) continue;
      const T* xrow = x + std::ptrdiff_t(iy) * g.in_w;
      for (int kx = 0; kx < g.kernel_w; ++kx) {
        const int offset = kx - g.pad_left;
        int lo, hi;
        detail::inside_range(g.out_w, g.stride_w, offset, g.in_w, lo, hi);
        const T w = kernel[ky * g.kernel_w + kx];
        if (g.stride_w == 1) {
          const T* xs = xrow + offset;
          for (int ox = lo; ox < hi; ++ox) yrow[ox] += w * xs[ox];
        } else {
          for (int ox = lo; ox < hi; ++ox) yrow[ox] += w * xrow[ox * g.stride_w + offset];
        }
      }
    }
  }
}

/// The reference backward of one plane (see depthwise_plane_backward).
template <typename T>
void depthwise_plane_backward_scalar(const DepthwiseGeometry& g, const T* x, const T* kernel, const T* dy,
                                     T* dkernel, T* dbias, T* dx) {
  for (int oy = 0; oy < g.out_h; ++oy) {
    const T* dyrow = dy + std::ptrdiff_t(oy) * g.out_w;
    if (dbias) {
      T s = 0;
      for (int ox = 0; ox < g.out_w; ++ox) s += dyrow[ox];
      *dbias += s;
    }
    for (int ky = 0; ky < g.kernel_h; ++ky) {
      const int iy = oy * g.stride_h + ky - g.pad_top;
      if (iy < 0 || iy >= g.in_h) continue;
      const T* xrow = x + std::ptrdiff_t(iy) * g.in_w;
      T* dxrow = dx ? dx + std::ptrdiff_t(iy) * g.in_w : nullptr;
      for (int kx = 0; kx < g.kernel_w; ++kx) {
        const int offset = kx - g.pad_left;
        int lo, hi;
        detail::inside_range(g.out_w, g.stride_w, offset, g.in_w, lo, hi);
        const T w = kernel[ky * g.kernel_w + kx];
        T acc = 0;
        for (int ox = lo; ox < hi; ++ox) acc += dyrow[ox] * xrow[ox * g.stride_w + offset];
        dkernel[ky * g.kernel_w + kx] += acc;
        if (dxrow)
          for (int ox = lo; ox < hi; ++ox) dxrow[ox * g.stride_w + offset] += w * dyrow[ox];
      }
    }
  }
}
}  // namespace detail
}  // namespace minidnn::ops

#define MINIDNN_PER_ISA_FILE "minidnn/ops/conv/depthwise-inl.hpp"
#include "minidnn/cpu/for_each_isa.hpp"

namespace minidnn::ops {

/// One output plane y (OH, OW) of output channel c*M + m, from input plane x (H, W) of channel c
/// and that output channel's kernel (kh, kw).
template <typename T>
void depthwise_plane_forward(const DepthwiseGeometry& g, const T* x, const T* kernel, T bias, T* y) {
  MINIDNN_DISPATCH(depthwise_plane_forward<T>(g, x, kernel, bias, y));
}

/// One output plane's backward: ADDS its contributions to dkernel (kh, kw), to *dbias (unless
/// null) and to dx (H, W) (unless null), from the input plane x, the kernel and dy (OH, OW).
template <typename T>
void depthwise_plane_backward(const DepthwiseGeometry& g, const T* x, const T* kernel, const T* dy, T* dkernel,
                              T* dbias, T* dx) {
  MINIDNN_DISPATCH(depthwise_plane_backward<T>(g, x, kernel, dy, dkernel, dbias, dx));
}

}  // namespace minidnn::ops
