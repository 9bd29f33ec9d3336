// No include guard: compiled once per instruction set by ops/pool/max_pool.hpp.
/// \file
/// Max pooling of one plane, for the instruction set being compiled (see ops/pool/max_pool.hpp).

namespace minidnn::cpu::MINIDNN_ISA_NS {

namespace detail {

#if !MINIDNN_ISA_BASELINE
/// The float forward with vectors (Simd<float>, AVX-512 or AVX2): `width` adjacent output columns
/// of one output row per vector (a masked vector for a row's tail), for the planes the separable
/// kernels refuse. The scalar loop in max_pool_plane is the reference:
/// window offsets (i, j) are visited in row-major order and a lane takes a new value only when it
/// is strictly greater (`greater`, false for NaN, as the scalar `>`), so each lane keeps the
/// first maximum of its window; a window holding a NaN outputs NaN (as PyTorch and NumPy do:
/// a diverged model must not look healthy downstream), tracked off the compare chain. The
/// compare -> select chain of one vector has a latency of
/// ~5 cycles per window offset, so kBlocks independent vectors are carried through the window
/// loop together to keep the core busy. (The compiler does not vectorize this loop well on its
/// own: the per-lane conditional update becomes branches and masked stores.)
/// With Winners false (inference: no backward will follow) the winners are not tracked and
/// `winner` is not written: the index updates are half the loop's work.
template <bool Winners>
void max_pool_plane_simd(const float* x, float* y, std::int32_t* winner, int iw, int oh, int ow, int ph, int pw,
                         int sh, int sw) {
  using S = Simd<float>;
  constexpr int w = S::width;
  constexpr int kBlocks = 4;
  S::Index lane_offset = S::index_set1(0);  // lane * stride
  for (int k = 0; k < sw; ++k) lane_offset = S::index_add(lane_offset, S::lane_indices());
  const int per_row = (ow + w - 1) / w;  // vectors per output row
  const int blocks = oh * per_row;
  for (int b0 = 0; b0 < blocks; b0 += kBlocks) {
    int top[kBlocks], out[kBlocks], count[kBlocks];  // plane index of the first window corner; output index
    for (int r = 0; r < kBlocks; ++r) {
      const int b = b0 + r;
      const int oy = b / per_row, x0 = (b % per_row) * w;
      count[r] = b < blocks ? std::min(w, ow - x0) : 0;  // 0: a past-the-end filler
      top[r] = b < blocks ? oy * sh * iw + x0 * sw : 0;
      out[r] = b < blocks ? oy * ow + x0 : 0;
    }
    // Stride 2 loads the 2*count-1 contiguous floats its lanes need (two masked loads, so
    // nothing past them is touched) and keeps the even ones; larger strides gather.
    auto load = [&](int r, int offset) {
      const float* p = x + offset;
      if (sw == 1) return S::load_first(p, count[r]);
      if (sw == 2) {
        S::Vec even, odd;
        S::deinterleave(S::load_first(p, 2 * count[r] - 1), S::load_first(p + w, 2 * count[r] - 1 - w), even, odd);
        return even;
      }
      return S::gather(p, lane_offset, S::first_lanes(count[r]));
    };
    S::Vec best[kBlocks];
    S::Index where[kBlocks];
    S::Mask nan[kBlocks];
    for (int r = 0; r < kBlocks; ++r) {
      best[r] = load(r, top[r]);
      where[r] = S::index_add(S::index_set1(top[r]), lane_offset);
      nan[r] = S::is_nan(best[r]);
    }
    for (int i = 0; i < ph; ++i) {
      for (int j = (i == 0 ? 1 : 0); j < pw; ++j) {
        const int shift = i * iw + j;
        for (int r = 0; r < kBlocks; ++r) {
          const S::Vec v = load(r, top[r] + shift);
          const S::Mask better = S::greater(v, best[r]);
          best[r] = S::select(better, v, best[r]);
          nan[r] = S::mask_or(nan[r], S::is_nan(v));
          if constexpr (Winners)
            where[r] = S::index_select(better, S::index_add(S::index_set1(top[r] + shift), lane_offset), where[r]);
        }
      }
    }
    for (int r = 0; r < kBlocks; ++r) {
      if (count[r] == 0) continue;
      best[r] = S::select(nan[r], S::set1(std::numeric_limits<float>::quiet_NaN()), best[r]);
      S::store_first(y + out[r], best[r], count[r]);
      if constexpr (Winners) S::store_index_first(winner + out[r], where[r], count[r]);
    }
  }
}

#endif

}  // namespace detail

/// y (oh x ow) = the maximum of each (ph x pw) window of plane x (rows iw apart) at strides
/// (sh, sw); winner (unless null) = the plane index of each window's first maximum in row-major
/// order. A window holding a NaN gives NaN.
template <typename T>
void max_pool_plane(const T* x, T* y, std::int32_t* winner, int iw, int oh, int ow, int ph, int pw, int sh,
                    int sw) {
#if !MINIDNN_ISA_BASELINE
  if constexpr (std::is_same_v<T, float>) {
    if (winner) {
      if (!separable_max_pool_plane_with_winners(x, y, winner, iw, oh, ow, ph, pw, sh, sw))
        detail::max_pool_plane_simd<true>(x, y, winner, iw, oh, ow, ph, pw, sh, sw);
    } else if (!separable_pool_plane<WindowMax>(x, y, iw, oh, ow, ph, pw, sh, sw))
      detail::max_pool_plane_simd<false>(x, y, winner, iw, oh, ow, ph, pw, sh, sw);
    return;
  }
#endif
  for (int oy = 0; oy < oh; ++oy) {
    for (int ox = 0; ox < ow; ++ox) {
      int best_index = (oy * sh) * iw + ox * sw;
      T best = x[best_index];
      bool nan = false;
      for (int i = 0; i < ph; ++i) {
        const int row = (oy * sh + i) * iw + ox * sw;
        for (int j = 0; j < pw; ++j) {
          nan |= std::isnan(x[row + j]);
          if (x[row + j] > best) {
            best = x[row + j];
            best_index = row + j;
          }
        }
      }
      y[oy * ow + ox] = nan ? std::numeric_limits<T>::quiet_NaN() : best;
      if (winner) winner[oy * ow + ox] = best_index;
    }
  }
}

}  // namespace minidnn::cpu::MINIDNN_ISA_NS
