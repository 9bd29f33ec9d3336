// No include guard: compiled once per instruction set by ops/gemm/cpu_gemm.hpp.
/// \file
/// The GEMM micro-kernel: one register tile of C (up to Simd::rows x Simd::vectors vectors),
/// updated as  C = alpha * A_tile * B_panel + beta * C  over a slice of k.
///
/// B comes packed: kc rows of `b_stride` contiguous values (a panel of columns, zero padded).
/// A is read in place from one of two layouts, so neither transposition of A costs a copy:
///   k-major   A(i, k) = a[k * a_stride + i]   (A stored transposed, or a packed A panel)
///   row-major A(i, k) = a[i * a_stride + k]   (A stored as is: one stream per row)
/// Each A value is broadcast to a full vector and multiplied into every B vector of its row.
namespace minidnn::cpu::MINIDNN_ISA_NS {

/// Updates a rows x (vectors * width) tile of C (the last vector masked by `last_mask`).
/// With beta == 0, C is written without being read.
template <typename T, int Rows, int Vectors, ALayout Layout>
void micro_kernel(int kc, const T* a, std::ptrdiff_t a_stride, const T* b, std::ptrdiff_t b_stride,
                  T* c, std::ptrdiff_t ldc, T alpha, T beta, typename Simd<T>::Mask last_mask) {
  using S = Simd<T>;
  using Vec = typename S::Vec;
  constexpr int w = S::width;

  Vec acc[Rows][Vectors];  // the C tile, kept in registers for the whole k loop
#pragma GCC unroll 16
  for (int i = 0; i < Rows; ++i)
#pragma GCC unroll 8
    for (int v = 0; v < Vectors; ++v) acc[i][v] = S::zero();

  if constexpr (Layout == ALayout::k_major) {
    for (int p = 0; p < kc; ++p) {
      Vec bv[Vectors];
#pragma GCC unroll 8
      for (int v = 0; v < Vectors; ++v) bv[v] = S::load(b + v * w);
#pragma GCC unroll 16
      for (int i = 0; i < Rows; ++i) {
        const Vec ai = S::broadcast(a + i);
#pragma GCC unroll 8
        for (int v = 0; v < Vectors; ++v) acc[i][v] = S::fmadd(ai, bv[v], acc[i][v]);
      }
      a += a_stride;
      b += b_stride;
    }
  } else {
    const T* row[Rows];  // one read stream per row of A
#pragma GCC unroll 16
    for (int i = 0; i < Rows; ++i) row[i] = a + i * a_stride;
    for (int p = 0; p < kc; ++p) {
      Vec bv[Vectors];
#pragma GCC unroll 8
      for (int v = 0; v < Vectors; ++v) bv[v] = S::load(b + v * w);
#pragma GCC unroll 16
      for (int i = 0; i < Rows; ++i) {
        const Vec ai = S::broadcast(row[i] + p);
#pragma GCC unroll 8
        for (int v = 0; v < Vectors; ++v) acc[i][v] = S::fmadd(ai, bv[v], acc[i][v]);
      }
      b += b_stride;
    }
  }

  const Vec alpha_v = S::set1(alpha);
  const Vec beta_v = S::set1(beta);
  const bool scale = alpha != T(1);
#pragma GCC unroll 16
  for (int i = 0; i < Rows; ++i) {
    T* crow = c + i * ldc;
#pragma GCC unroll 8
    for (int v = 0; v < Vectors; ++v) {
      Vec r = scale ? S::mul(acc[i][v], alpha_v) : acc[i][v];
      if (v + 1 < Vectors) {
        if (beta != T(0)) r = S::fmadd(beta_v, S::load(crow + v * w), r);
        S::store(crow + v * w, r);
      } else {
        if (beta != T(0)) r = S::fmadd(beta_v, S::load(crow + v * w, last_mask), r);
        S::store(crow + v * w, r, last_mask);
      }
    }
  }
}

/// Pointer to the micro-kernel for a tile of `rows` x `vectors` (both >= 1 and at most the
/// register tile), so edge tiles run a kernel of their exact size instead of a padded one.
template <typename T, ALayout Layout>
class MicroKernelTable {
 public:
  using Kernel = void (*)(int, const T*, std::ptrdiff_t, const T*, std::ptrdiff_t, T*,
                          std::ptrdiff_t, T, T, typename Simd<T>::Mask);
  static constexpr int max_rows = Simd<T>::rows;
  static constexpr int max_vectors = Simd<T>::vectors;

  static Kernel get(int rows, int vectors) { return table().kernels[rows - 1][vectors - 1]; }

 private:
  struct Table {
    Kernel kernels[max_rows][max_vectors];
  };
  template <int R, int V>
  static void fill(Table& t) {
    t.kernels[R - 1][V - 1] = &micro_kernel<T, R, V, Layout>;
    if constexpr (V < max_vectors) fill<R, V + 1>(t);
    else if constexpr (R < max_rows) fill<R + 1, 1>(t);
  }
  static const Table& table() {
    static const Table t = [] {
      Table built{};
      fill<1, 1>(built);
      return built;
    }();
    return t;
  }
};

}  // namespace minidnn::cpu::MINIDNN_ISA_NS
