// No include guard: compiled once per instruction set by ops/gemm/cpu_gemm.hpp.
/// \file
/// The blocked product on one thread (ops/gemm/cpu_gemm.hpp has the loop order), for the
/// instruction set being compiled.

namespace minidnn::cpu::MINIDNN_ISA_NS {

/// Cache blocking of the CPU GEMM (values measured on the target machine, see docs/gemm.md).
template <typename T>
struct GemmBlocking {
  /// Width of one packed B panel = one register tile of C.
  static constexpr int panel = Simd<T>::vectors * Simd<T>::width;
  /// k slice: one packed B panel (kc x panel) stays in L1 while the register tiles of a row block
  /// stream past it.
  static constexpr int kc = 256;
  /// Rows of A per block: the A block (mc x kc, read in place) stays in L2 across the B panels.
  static constexpr int mc = 192;
  /// Columns per packed B block (kc x nc): bounded so the block fits L2 with the A block.
  static constexpr int nc = 16 * panel;
  /// Below this many multiply-adds a product runs on one thread: starting a parallel region
  /// would cost more than it saves.
  static constexpr double min_parallel_madds = 1 << 21;
  /// Blocks of C per thread in a multi-threaded product (see gemm()).
  static constexpr int blocks_per_thread = 4;
};

/// The calling thread's packing buffer, grown on demand and kept for the next call.
template <typename T>
AlignedVector<T>& packing_buffer() {
  static thread_local AlignedVector<T> buffer;
  return buffer;
}

/// C = beta * C for the k == 0 / alpha == 0 cases; beta == 0 writes zeros without reading C.
template <typename T>
void scale_matrix(int m, int n, T beta, T* c, std::ptrdiff_t ldc) {
  if (beta == T(1)) return;
  for (int i = 0; i < m; ++i) {
    T* row = c + i * ldc;
    if (beta == T(0)) std::fill(row, row + n, T(0));
    else for (int j = 0; j < n; ++j) row[j] *= beta;
  }
}

/// The whole blocked product on the calling thread. Requires m, n, k > 0.
template <typename T>
void gemm_serial(bool trans_a, bool trans_b, int m, int n, int k, T alpha, const T* a,
                 std::ptrdiff_t lda, const T* b, std::ptrdiff_t ldb, T beta, T* c,
                 std::ptrdiff_t ldc) {
  using S = Simd<T>;
  using Blocking = GemmBlocking<T>;
  constexpr int panel = Blocking::panel;
  constexpr int w = S::width;
  constexpr int mr = S::rows;

  const int nc_max = std::min(Blocking::nc, (n + panel - 1) / panel * panel);
  const int kc_max = std::min(Blocking::kc, k);
  AlignedVector<T>& buffer = packing_buffer<T>();
  const std::size_t needed = static_cast<std::size_t>(nc_max) * kc_max;
  if (buffer.size() < needed) buffer.resize(needed);
  T* packed_b = buffer.data();  // nc / panel panels, each kc x panel

  const ALayout layout = trans_a ? ALayout::k_major : ALayout::row_major;
  for (int jc = 0; jc < n; jc += Blocking::nc) {
    const int nc = std::min(Blocking::nc, n - jc);
    for (int pc = 0; pc < k; pc += Blocking::kc) {
      const int kc = std::min(Blocking::kc, k - pc);
      const T beta_here = pc == 0 ? beta : T(1);  // later k slices accumulate onto the first
      pack_b(trans_b, kc, nc, trans_b ? b + jc * ldb + pc : b + pc * ldb + jc, ldb, packed_b);

      for (int ic = 0; ic < m; ic += Blocking::mc) {
        const int mc = std::min(Blocking::mc, m - ic);
        // A block (mc x kc) origin; A(i, p) = a[p * lda + i] (transposed) or a[i * lda + p].
        const T* a_block = trans_a ? a + pc * lda + ic : a + ic * lda + pc;
        for (int jr = 0; jr < nc; jr += panel) {
          const int cols = std::min(panel, nc - jr);
          const int vectors = (cols + w - 1) / w;
          const auto last_mask = S::first_lanes(cols - (vectors - 1) * w);
          const T* b_panel = packed_b + static_cast<std::ptrdiff_t>(jr) * kc;
          T* c_panel = c + ic * ldc + jc + jr;
          for (int ir = 0; ir < mc; ir += mr) {
            const int rows = std::min(mr, mc - ir);
            if (layout == ALayout::k_major) {
              MicroKernelTable<T, ALayout::k_major>::get(rows, vectors)(
                  kc, a_block + ir, lda, b_panel, panel, c_panel + ir * ldc, ldc, alpha, beta_here,
                  last_mask);
            } else {
              MicroKernelTable<T, ALayout::row_major>::get(rows, vectors)(
                  kc, a_block + ir * lda, lda, b_panel, panel, c_panel + ir * ldc, ldc, alpha,
                  beta_here, last_mask);
            }
          }
        }
      }
    }
  }
}

/// The units the threaded product splits C into: B panels of columns, register tiles of rows.
template <typename T>
GemmUnits gemm_units() {
  return GemmUnits{GemmBlocking<T>::panel, Simd<T>::rows, GemmBlocking<T>::min_parallel_madds,
                   GemmBlocking<T>::blocks_per_thread};
}

}  // namespace minidnn::cpu::MINIDNN_ISA_NS
