#pragma once
/// \file
/// Max pooling of one plane with padding (Keras's padding="same"): windows that hang over the
/// border see only the inputs inside it, as if the padding held -infinity.
///
/// A small plane (all of mini-Xception's) is copied into a buffer padded with -infinity and
/// pooled by the vector kernel of ops/pool/max_pool.hpp in one call. On a larger one the windows
/// wholly inside the plane go to that kernel one output row at a time and only the border
/// windows take the clipped scalar loop.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>

#include "minidnn/ops/pool/max_pool.hpp"

namespace minidnn {

namespace detail {

/// One clipped window: output (oy, ox) of the padded pool, and its winner unless null.
template <typename T>
void max_pool_window_padded(const T* x, T* y, std::int32_t* winner, int ih, int iw, int ow, int ph, int pw, int sh,
                            int sw, int pad_top, int pad_left, int oy, int ox) {
  const int y0 = std::max(oy * sh - pad_top, 0), y1 = std::min(oy * sh - pad_top + ph, ih);
  const int x0 = std::max(ox * sw - pad_left, 0), x1 = std::min(ox * sw - pad_left + pw, iw);
  int best_at = y0 * iw + x0;
  T best = x[best_at];
  for (int r = y0; r < y1; ++r)
    for (int c = x0; c < x1; ++c) {
      const T v = x[r * iw + c];
      if (v > best || (v != v && best == best)) best = v, best_at = r * iw + c;
    }
  y[oy * ow + ox] = best;
  if (winner) winner[oy * ow + ox] = best_at;
}

/// Outputs [lo, hi) along one axis whose window [o*stride - pad, o*stride - pad + pool) lies in [0, in).
inline void unclipped_outputs(int out, int stride, int pad, int pool, int in, int& lo, int& hi) {
  lo = std::min((pad + stride - 1) / stride, out);
  hi = in - pool + pad < 0 ? 0 : std::min(out, (in - pool + pad) / stride + 1);
  if (hi < lo) hi = lo;
}

}  // namespace detail

/// y (oh x ow) = the maximum of each (ph x pw) window of plane x (ih x iw) at strides (sh, sw),
/// windows starting at (-pad_top, -pad_left); winner (unless null) = the plane index of each
/// window's first maximum in row-major order. NaN in a window gives NaN. Every window must hold
/// at least one input (true of Keras's same padding, where the padding is less than the pool).
///
/// A plane that fits kPaddedPoolBytes is copied into a stack buffer padded with -infinity and
/// pooled there in one call of the unpadded kernel; its winners are mapped back to the plane, and
/// a window whose winner is a padding cell (every input in it is -infinity, and a padding cell
/// comes first) is done again clipped. Larger planes: the inner windows of each output row on
/// the unpadded kernel, the border windows clipped.
template <typename T>
void max_pool_plane_padded(const T* x, T* y, std::int32_t* winner, int ih, int iw, int oh, int ow, int ph, int pw,
                           int sh, int sw, int pad_top, int pad_left) {
  constexpr std::size_t kPaddedPoolBytes = 32 * 1024;
  const int rows = (oh - 1) * sh + ph, cols = (ow - 1) * sw + pw;
  if (std::size_t(rows) * cols * sizeof(T) <= kPaddedPoolBytes) {
    alignas(64) T padded[kPaddedPoolBytes / sizeof(T)];
    std::fill(padded, padded + std::ptrdiff_t(rows) * cols, -std::numeric_limits<T>::infinity());
    const int c0 = std::max(0, pad_left), c1 = std::min(cols, pad_left + iw);
    for (int r = std::max(0, pad_top); r < std::min(rows, pad_top + ih); ++r) {
      const T* in = x + std::ptrdiff_t(r - pad_top) * iw - pad_left;  // padded column c is in[c]
      std::copy(in + c0, in + c1, padded + std::ptrdiff_t(r) * cols + c0);
    }
    max_pool_plane(padded, y, winner, cols, oh, ow, ph, pw, sh, sw);
    if (!winner) return;
    for (int oy = 0; oy < oh; ++oy)
      for (int ox = 0; ox < ow; ++ox) {
        std::int32_t& w = winner[oy * ow + ox];
        const int r = w / cols - pad_top, c = w % cols - pad_left;
        if (r >= 0 && r < ih && c >= 0 && c < iw)
          w = r * iw + c;
        else
          detail::max_pool_window_padded(x, y, winner, ih, iw, ow, ph, pw, sh, sw, pad_top, pad_left, oy, ox);
      }
    return;
  }
  int oy0, oy1, ox0, ox1;
  detail::unclipped_outputs(oh, sh, pad_top, ph, ih, oy0, oy1);
  detail::unclipped_outputs(ow, sw, pad_left, pw, iw, ox0, ox1);
  auto clipped = [&](int oy, int ox) {
    detail::max_pool_window_padded(x, y, winner, ih, iw, ow, ph, pw, sh, sw, pad_top, pad_left, oy, ox);
  };
  for (int oy = 0; oy < oh; ++oy) {
    if (oy < oy0 || oy >= oy1 || ox0 == ox1) {
      for (int ox = 0; ox < ow; ++ox) clipped(oy, ox);
      continue;
    }
    for (int ox = 0; ox < ox0; ++ox) clipped(oy, ox);
    for (int ox = ox1; ox < ow; ++ox) clipped(oy, ox);
    // The inner windows: an unpadded pool of one output row from the window's first input.
    const int base = (oy * sh - pad_top) * iw + ox0 * sw - pad_left;
    std::int32_t* row_winner = winner ? winner + oy * ow + ox0 : nullptr;
    max_pool_plane(x + base, y + oy * ow + ox0, row_winner, iw, 1, ox1 - ox0, ph, pw, sh, sw);
    if (row_winner)
      for (int k = 0; k < ox1 - ox0; ++k) row_winner[k] += base;
  }
}

}  // namespace minidnn
