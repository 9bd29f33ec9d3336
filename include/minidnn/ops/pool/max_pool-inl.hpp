// No include guard: compiled once per instruction set by ops/pool/max_pool.hpp.
/// \file
/// Max pooling of one plane, for the instruction set being compiled (see ops/pool/max_pool.hpp).

namespace minidnn::cpu::MINIDNN_ISA_NS {

namespace detail {

#if MINIDNN_ISA_AVX512
/// The float forward with AVX-512: 16 adjacent output columns of one output row per vector (a
/// masked vector for a row's tail). The scalar loop in max_pool_plane is the reference:
/// window offsets (i, j) are visited in row-major order and a lane takes a new value only when it
/// is strictly greater (`_CMP_GT_OQ`, false for NaN, as the scalar `>`), so each lane keeps the
/// first maximum of its window; a window holding a NaN outputs NaN (as PyTorch and NumPy do:
/// a diverged model must not look healthy downstream), tracked off the compare chain. The
/// compare -> masked move chain of one vector has a latency of
/// ~5 cycles per window offset, so kBlocks independent vectors are carried through the window
/// loop together to keep the core busy. (The compiler does not vectorize this loop well on its
/// own: the per-lane conditional update becomes branches and masked stores.)
/// With Winners false (inference: no backward will follow) the winners are not tracked and
/// `winner` is not written: the masked index updates are half the loop's work.
template <bool Winners>
void max_pool_plane_avx512(const float* x, float* y, std::int32_t* winner, int iw, int oh, int ow,
                           int ph, int pw, int sh, int sw) {
  constexpr int kBlocks = 4;
  const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  const __m512i lane_offset = _mm512_mullo_epi32(lane, _mm512_set1_epi32(sw));  // lane * stride
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const auto first = [](int n) { return Simd<float>::first_lanes(n); };
  const int per_row = (ow + 15) / 16;  // vectors per output row
  const int blocks = oh * per_row;
  for (int b0 = 0; b0 < blocks; b0 += kBlocks) {
    int top[kBlocks], out[kBlocks];  // plane index of the first window corner; output index
    __mmask16 lanes[kBlocks], low[kBlocks], high[kBlocks];
    for (int r = 0; r < kBlocks; ++r) {
      const int b = b0 + r;
      const int oy = b / per_row, x0 = (b % per_row) * 16;
      const int count = b < blocks ? std::min(16, ow - x0) : 0;  // 0: a past-the-end filler
      top[r] = b < blocks ? oy * sh * iw + x0 * sw : 0;
      out[r] = b < blocks ? oy * ow + x0 : 0;
      lanes[r] = first(count);
      // Stride 2 loads the 2*count-1 contiguous floats its lanes need (two masked loads, so
      // nothing past them is touched) and keeps the even ones.
      low[r] = first(2 * count - 1);
      high[r] = first(2 * count - 1 - 16);
    }
    auto load = [&](int r, int offset) {
      const float* p = x + offset;
      if (sw == 1) return _mm512_maskz_loadu_ps(lanes[r], p);
      if (sw == 2)
        return _mm512_permutex2var_ps(_mm512_maskz_loadu_ps(low[r], p), even,
                                      _mm512_maskz_loadu_ps(high[r], p + 16));
      return _mm512_mask_i32gather_ps(_mm512_setzero_ps(), lanes[r], lane_offset, p, 4);
    };
    __m512 best[kBlocks];
    __m512i where[kBlocks];
    __mmask16 nan[kBlocks];
    for (int r = 0; r < kBlocks; ++r) {
      best[r] = load(r, top[r]);
      where[r] = _mm512_add_epi32(_mm512_set1_epi32(top[r]), lane_offset);
      nan[r] = _mm512_cmp_ps_mask(best[r], best[r], _CMP_UNORD_Q);
    }
    for (int i = 0; i < ph; ++i) {
      for (int j = (i == 0 ? 1 : 0); j < pw; ++j) {
        const int shift = i * iw + j;
        for (int r = 0; r < kBlocks; ++r) {
          const __m512 v = load(r, top[r] + shift);
          const __mmask16 better = _mm512_cmp_ps_mask(v, best[r], _CMP_GT_OQ);
          best[r] = _mm512_mask_mov_ps(best[r], better, v);
          nan[r] |= _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
          if constexpr (Winners)
            where[r] = _mm512_mask_add_epi32(where[r], better, _mm512_set1_epi32(top[r] + shift), lane_offset);
        }
      }
    }
    for (int r = 0; r < kBlocks; ++r) {
      best[r] = _mm512_mask_mov_ps(best[r], nan[r], _mm512_set1_ps(std::numeric_limits<float>::quiet_NaN()));
      _mm512_mask_storeu_ps(y + out[r], lanes[r], best[r]);
      if constexpr (Winners) _mm512_mask_storeu_epi32(winner + out[r], lanes[r], where[r]);
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
#if MINIDNN_ISA_AVX512
  if constexpr (std::is_same_v<T, float>) {
    if (winner) {
      if (!separable_max_pool_plane_with_winners(x, y, winner, iw, oh, ow, ph, pw, sh, sw))
        detail::max_pool_plane_avx512<true>(x, y, winner, iw, oh, ow, ph, pw, sh, sw);
    } else if (!separable_pool_plane<WindowMax>(x, y, iw, oh, ow, ph, pw, sh, sw))
      detail::max_pool_plane_avx512<false>(x, y, winner, iw, oh, ow, ph, pw, sh, sw);
    return;
  }
#elif !MINIDNN_ISA_BASELINE
  // AVX2: the separable kernels; the planes they refuse (NaN, stride > 2, ...) take the loop.
  if constexpr (std::is_same_v<T, float>) {
    if (winner ? separable_max_pool_plane_with_winners(x, y, winner, iw, oh, ow, ph, pw, sh, sw)
               : separable_pool_plane<WindowMax>(x, y, iw, oh, ow, ph, pw, sh, sw))
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
