#pragma once
/// \file
/// Max pooling of one plane with padding (Keras's padding="same"): windows that hang over the
/// border see only the inputs inside it, as if the padding held -infinity.
#include <algorithm>
#include <cstdint>

namespace minidnn {

/// y (oh x ow) = the maximum of each (ph x pw) window of plane x (ih x iw) at strides (sh, sw),
/// windows starting at (-pad_top, -pad_left); winner (unless null) = the plane index of each
/// window's first maximum in row-major order. NaN in a window gives NaN. Every window must hold
/// at least one input (true of Keras's same padding, where the padding is less than the pool).
template <typename T>
void max_pool_plane_padded(const T* x, T* y, std::int32_t* winner, int ih, int iw, int oh, int ow, int ph, int pw,
                           int sh, int sw, int pad_top, int pad_left) {
  for (int oy = 0; oy < oh; ++oy) {
    const int y0 = std::max(oy * sh - pad_top, 0), y1 = std::min(oy * sh - pad_top + ph, ih);
    for (int ox = 0; ox < ow; ++ox) {
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
  }
}

}  // namespace minidnn
