// No include guard: compiled once per instruction set by ops/gemm/cpu_gemm.hpp.
/// \file
/// Packing a block of op(B) for the GEMM micro-kernel: kc x nc values become consecutive panels of
/// `panel_width` columns, each kc rows x panel_width values, zero padded on the right
///
///     packed[(panel * kc + p) * panel_width + jj] = op(B)(p, panel * panel_width + jj)
///
/// so the micro-kernel reads every k step of its panel from one contiguous, aligned run, whatever
/// the stride or transposition of B. The transposing copy is where B^T products pay; floats get
/// an in-register transpose of width x width blocks for it (16 x 16 AVX-512, 8 x 8 AVX2).
namespace minidnn::cpu::MINIDNN_ISA_NS {

namespace detail {

#if !MINIDNN_ISA_BASELINE
/// Packs one panel of op(B) = B^T for floats: `cols` (<= panel_width, a multiple of the vector
/// width) rows of B, each kc contiguous values, become kc rows of panel_width values, a
/// width x width block at a time transposed in registers (Simd<float>::transpose).
inline void pack_b_panel_transposed(int kc, int cols, const float* b, std::ptrdiff_t ldb,
                                    int panel_width, float* dst) {
  using S = Simd<float>;
  constexpr int w = S::width;
  for (int j0 = 0; j0 < panel_width; j0 += w) {
    const int jn = std::max(0, std::min(w, cols - j0));
    for (int p0 = 0; p0 < kc; p0 += w) {
      const int pn = std::min(w, kc - p0);
      const auto kmask = S::first_lanes(pn);
      typename S::Vec block[w];  // block[jj][pp] = B(j0 + jj, p0 + pp)
      for (int jj = 0; jj < w; ++jj) {
        const float* src = b + (j0 + jj) * ldb + p0;
        block[jj] = jj >= jn ? S::zero() : pn == w ? S::load(src) : S::load(src, kmask);
      }
      S::transpose(block);
      for (int pp = 0; pp < pn; ++pp)
        S::store(dst + static_cast<std::ptrdiff_t>(p0 + pp) * panel_width + j0, block[pp]);
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
#if !MINIDNN_ISA_BASELINE
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
