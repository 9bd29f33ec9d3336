// No include guard: compiled once per instruction set by ops/gemm/cpu_gemm.hpp.
/// \file
/// Packing a block of op(B) for the GEMM micro-kernel: kc x nc values become consecutive panels of
/// `panel_width` columns, each kc rows x panel_width values, zero padded on the right
///
///     packed[(panel * kc + p) * panel_width + jj] = op(B)(p, panel * panel_width + jj)
///
/// so the micro-kernel reads every k step of its panel from one contiguous, aligned run, whatever
/// the stride or transposition of B. The transposing copy is where B^T products pay; AVX-512
/// floats get an in-register 16 x 16 transpose for it.
namespace minidnn::cpu::MINIDNN_ISA_NS {

namespace detail {

#if MINIDNN_ISA_AVX512
/// Transposes 16 rows of 16 floats in registers: rows[r][c] becomes rows[c][r].
inline void transpose_16x16(__m512 rows[16]) {
  __m512 t[16];
  for (int i = 0; i < 8; ++i) {
    t[2 * i] = _mm512_unpacklo_ps(rows[2 * i], rows[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_ps(rows[2 * i], rows[2 * i + 1]);
  }
  // u[4j + q], 128-bit lane L: column 4L + q of rows 4j .. 4j + 3.
  __m512 u[16];
  for (int j = 0; j < 4; ++j) {
    const __m512d t0 = _mm512_castps_pd(t[4 * j]), t1 = _mm512_castps_pd(t[4 * j + 1]);
    const __m512d t2 = _mm512_castps_pd(t[4 * j + 2]), t3 = _mm512_castps_pd(t[4 * j + 3]);
    u[4 * j + 0] = _mm512_castpd_ps(_mm512_unpacklo_pd(t0, t2));
    u[4 * j + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(t0, t2));
    u[4 * j + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(t1, t3));
    u[4 * j + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(t1, t3));
  }
  for (int q = 0; q < 4; ++q) {
    const __m512 v1 = _mm512_shuffle_f32x4(u[q], u[4 + q], 0x44);
    const __m512 v2 = _mm512_shuffle_f32x4(u[q], u[4 + q], 0xEE);
    const __m512 w1 = _mm512_shuffle_f32x4(u[8 + q], u[12 + q], 0x44);
    const __m512 w2 = _mm512_shuffle_f32x4(u[8 + q], u[12 + q], 0xEE);
    rows[q] = _mm512_shuffle_f32x4(v1, w1, 0x88);
    rows[4 + q] = _mm512_shuffle_f32x4(v1, w1, 0xDD);
    rows[8 + q] = _mm512_shuffle_f32x4(v2, w2, 0x88);
    rows[12 + q] = _mm512_shuffle_f32x4(v2, w2, 0xDD);
  }
}

/// Packs one panel of op(B) = B^T for floats: `cols` (<= panel_width, a multiple of 16 wide
/// panel) rows of B, each kc contiguous values, become kc rows of panel_width values.
inline void pack_b_panel_transposed(int kc, int cols, const float* b, std::ptrdiff_t ldb,
                                    int panel_width, float* dst) {
  for (int j0 = 0; j0 < panel_width; j0 += 16) {
    const int jn = std::max(0, std::min(16, cols - j0));
    for (int p0 = 0; p0 < kc; p0 += 16) {
      const int pn = std::min(16, kc - p0);
      const __mmask16 kmask = Simd<float>::first_lanes(pn);
      __m512 block[16];  // block[jj][pp] = B(j0 + jj, p0 + pp)
      for (int jj = 0; jj < 16; ++jj)
        block[jj] = jj < jn ? _mm512_maskz_loadu_ps(kmask, b + (j0 + jj) * ldb + p0)
                            : _mm512_setzero_ps();
      transpose_16x16(block);
      for (int pp = 0; pp < pn; ++pp)
        _mm512_storeu_ps(dst + static_cast<std::ptrdiff_t>(p0 + pp) * panel_width + j0, block[pp]);
    }
  }
}
#endif

/// Packs one panel of op(B) = B^T, any type and instruction set.
template <typename T>
void pack_b_panel_transposed_generic(int kc, int cols, const T* b, std::ptrdiff_t ldb,
                                     int panel_width, T* dst) {
  for (int p = 0; p < kc; ++p)
    for (int jj = cols; jj < panel_width; ++jj) dst[p * panel_width + jj] = T(0);
  for (int jj = 0; jj < cols; ++jj) {
    const T* src = b + jj * ldb;
    for (int p = 0; p < kc; ++p) dst[p * panel_width + jj] = src[p];
  }
}

}  // namespace detail

/// Packs the kc x nc block of op(B) that starts at `b` (already offset to the block's first
/// element) into panels of Simd<T>::vectors * Simd<T>::width columns; see the file comment.
template <typename T>
void pack_b(bool trans_b, int kc, int nc, const T* b, std::ptrdiff_t ldb, T* packed) {
  using S = Simd<T>;
  constexpr int w = S::width;
  constexpr int panel_width = S::vectors * w;
  for (int j0 = 0; j0 < nc; j0 += panel_width) {
    const int cols = std::min(panel_width, nc - j0);
    T* dst = packed + static_cast<std::ptrdiff_t>(j0) * kc;  // panel j0 / panel_width
    if (!trans_b) {
      // op(B)(p, j) = b[p * ldb + j]: copy kc row pieces, masking the ragged right edge.
      const T* src = b + j0;
      if (cols == panel_width) {
        for (int p = 0; p < kc; ++p, src += ldb, dst += panel_width)
#pragma GCC unroll 8
          for (int v = 0; v < S::vectors; ++v) S::store(dst + v * w, S::load(src + v * w));
      } else {
        for (int p = 0; p < kc; ++p, src += ldb, dst += panel_width)
          for (int v = 0; v < S::vectors; ++v) {
            const int lanes = cols - v * w;
            const auto vec = lanes >= w   ? S::load(src + v * w)
                             : lanes > 0 ? S::load(src + v * w, S::first_lanes(lanes))
                                         : S::zero();
            S::store(dst + v * w, vec);
          }
      }
    } else {
      // op(B)(p, j) = b[j * ldb + p]: a transposing copy.
      const T* src = b + static_cast<std::ptrdiff_t>(j0) * ldb;
#if MINIDNN_ISA_AVX512
      if constexpr (std::is_same_v<T, float>) {
        detail::pack_b_panel_transposed(kc, cols, src, ldb, panel_width, dst);
        continue;
      }
#endif
      detail::pack_b_panel_transposed_generic(kc, cols, src, ldb, panel_width, dst);
    }
  }
}

}  // namespace minidnn::cpu::MINIDNN_ISA_NS
