// No include guard: compiled once per instruction set by ops/conv/winograd.hpp.
/// \file
/// The Winograd tile transforms (see ops/conv/winograd.hpp for the algorithm), for the
/// instruction set being compiled.

namespace minidnn::cpu::MINIDNN_ISA_NS {
namespace winograd {

using ::minidnn::winograd::Tiling;

/// U (16 values, position xi at u[xi * stride]) = G g G^T for one 3x3 kernel g (row-major).
template <typename T>
void transform_kernel(const T* g, T* u, std::ptrdiff_t stride) {
  T x[4][3];  // G g: rows of g combined
  for (int j = 0; j < 3; ++j) {
    x[0][j] = g[j];
    x[1][j] = T(0.5) * (g[j] + g[3 + j] + g[6 + j]);
    x[2][j] = T(0.5) * (g[j] - g[3 + j] + g[6 + j]);
    x[3][j] = g[6 + j];
  }
  for (int i = 0; i < 4; ++i) {
    u[(4 * i + 0) * stride] = x[i][0];
    u[(4 * i + 1) * stride] = T(0.5) * (x[i][0] + x[i][1] + x[i][2]);
    u[(4 * i + 2) * stride] = T(0.5) * (x[i][0] - x[i][1] + x[i][2]);
    u[(4 * i + 3) * stride] = x[i][2];
  }
}

/// dg (3x3, row-major) = G^T dU G: the kernel gradient from the gradient of its transform.
template <typename T>
void kernel_gradient(const T* du, std::ptrdiff_t stride, T* dg) {
  T x[3][4];  // G^T dU
  for (int k = 0; k < 4; ++k) {
    const T u0 = du[k * stride], u1 = du[(4 + k) * stride], u2 = du[(8 + k) * stride],
            u3 = du[(12 + k) * stride];
    x[0][k] = u0 + T(0.5) * (u1 + u2);
    x[1][k] = T(0.5) * (u1 - u2);
    x[2][k] = T(0.5) * (u1 + u2) + u3;
  }
  for (int i = 0; i < 3; ++i) {
    dg[3 * i + 0] = x[i][0] + T(0.5) * (x[i][1] + x[i][2]);
    dg[3 * i + 1] = T(0.5) * (x[i][1] - x[i][2]);
    dg[3 * i + 2] = T(0.5) * (x[i][1] + x[i][2]) + x[i][3];
  }
}

/// V = B^T d B for every tile of a padded plane: v[xi * stride + tile].
/// Per row of tiles: first B^T d down the columns of the four padded rows it reads (contiguous,
/// vectorized), then d B along each tile's columns, even and odd columns split so that the
/// compiler can vectorize that step across tiles too.
template <typename T>
void transform_input(const Tiling& t, const T* padded, T* v, std::ptrdiff_t stride) {
  constexpr int kChunk = 32;  // tiles per step: the column sums of 2 * kChunk + 2 columns
  const int pw = t.padded_w;
  for (int ty = 0; ty < t.tiles_h; ++ty) {
    const T* r0 = padded + static_cast<std::size_t>(2 * ty) * pw;
    const T* r1 = r0 + pw;
    const T* r2 = r1 + pw;
    const T* r3 = r2 + pw;
    for (int x0 = 0; x0 < t.tiles_w; x0 += kChunk) {
      const int count = std::min(kChunk, t.tiles_w - x0);
      const int c0 = 2 * x0;
      // w[i][even/odd][j]: row i of B^T d at padded column c0 + 2j (+1 for odd).
      T w[4][2][kChunk + 1];
      for (int j = 0; j <= count; ++j)
        for (int odd = 0; odd < 2; ++odd) {
          const int c = c0 + 2 * j + odd;
          w[0][odd][j] = r0[c] - r2[c];
          w[1][odd][j] = r1[c] + r2[c];
          w[2][odd][j] = r2[c] - r1[c];
          w[3][odd][j] = r1[c] - r3[c];
        }
      T* out = v + ty * t.tiles_w + x0;
      for (int i = 0; i < 4; ++i) {
        const T* even = w[i][0];
        const T* odd = w[i][1];
        T* o0 = out + (4 * i + 0) * stride;
        T* o1 = out + (4 * i + 1) * stride;
        T* o2 = out + (4 * i + 2) * stride;
        T* o3 = out + (4 * i + 3) * stride;
        // Tile columns 0..3 are even[j], odd[j], even[j + 1], odd[j + 1].
        for (int j = 0; j < count; ++j) {
          o0[j] = even[j] - even[j + 1];
          o1[j] = odd[j] + even[j + 1];
          o2[j] = even[j + 1] - odd[j];
          o3[j] = odd[j] - odd[j + 1];
        }
      }
    }
  }
}

/// The adjoint of transform_input: adds B dV B^T of every tile onto its patch of `padded`.
template <typename T>
void transform_input_adjoint(const Tiling& t, const T* dv, std::ptrdiff_t stride, T* padded) {
  const int pw = t.padded_w;
  for (int ty = 0; ty < t.tiles_h; ++ty) {
    T* r0 = padded + static_cast<std::size_t>(2 * ty) * pw;
    T* r1 = r0 + pw;
    T* r2 = r1 + pw;
    T* r3 = r2 + pw;
    const T* in = dv + ty * t.tiles_w;
    for (int tx = 0; tx < t.tiles_w; ++tx) {
      T x[4][4];  // B dV: rows combined
      for (int k = 0; k < 4; ++k) {
        const T v0 = in[k * stride + tx], v1 = in[(4 + k) * stride + tx], v2 = in[(8 + k) * stride + tx],
                v3 = in[(12 + k) * stride + tx];
        x[0][k] = v0;
        x[1][k] = v1 - v2 + v3;
        x[2][k] = v1 + v2 - v0;
        x[3][k] = -v3;
      }
      const int j = 2 * tx;
      T* rows[4] = {r0, r1, r2, r3};
      for (int i = 0; i < 4; ++i) {
        T* r = rows[i] + j;
        r[0] += x[i][0];
        r[1] += x[i][1] - x[i][2] + x[i][3];
        r[2] += x[i][1] + x[i][2] - x[i][0];
        r[3] -= x[i][3];
      }
    }
  }
}

/// y (out_h x out_w) = activation(A^T M A + bias) for every tile, from m[xi * stride + tile].
/// A row of tiles is done in chunks: first the outputs of up to kChunk tiles, from contiguous
/// reads of each position (the compiler vectorizes this across tiles), then their interleaved
/// store into the two output rows.
template <typename T>
void transform_output(const ConvGeometry& g, const Tiling& t, const T* m, std::ptrdiff_t stride, T bias,
                      Activation activation, T* y) {
  constexpr int kChunk = 32;
  const bool relu = activation == Activation::relu;
  for (int ty = 0; ty < t.tiles_h; ++ty) {
    const int oy = 2 * ty;
    const bool second_row = oy + 1 < g.out_h;
    T* y0 = y + static_cast<std::size_t>(oy) * g.out_w;
    T* y1 = y0 + g.out_w;
    for (int x0 = 0; x0 < t.tiles_w; x0 += kChunk) {
      const int count = std::min(kChunk, t.tiles_w - x0);
      const T* in = m + ty * t.tiles_w + x0;
      T out[4][kChunk];  // per tile: (0, 0), (0, 1), (1, 0), (1, 1)
      for (int i = 0; i < count; ++i) {
        T z0[4], z1[4];  // A^T M: rows combined
        for (int k = 0; k < 4; ++k) {
          const T m0 = in[k * stride + i], m1 = in[(4 + k) * stride + i], m2 = in[(8 + k) * stride + i],
                  m3 = in[(12 + k) * stride + i];
          z0[k] = m0 + m1 + m2;
          z1[k] = m1 - m2 - m3;
        }
        T v[4] = {z0[0] + z0[1] + z0[2] + bias, z0[1] - z0[2] - z0[3] + bias,
                  z1[0] + z1[1] + z1[2] + bias, z1[1] - z1[2] - z1[3] + bias};
        for (int q = 0; q < 4; ++q) out[q][i] = relu && v[q] < T(0) ? T(0) : v[q];  // NaN passes
      }
      // Tiles whose second column is past the edge (an odd out_w) write one column.
      const int full = std::min(count, g.out_w / 2 - x0);
      T* r0 = y0 + 2 * x0;
      T* r1 = y1 + 2 * x0;
      for (int i = 0; i < full; ++i) {
        r0[2 * i] = out[0][i];
        r0[2 * i + 1] = out[1][i];
      }
      if (second_row)
        for (int i = 0; i < full; ++i) {
          r1[2 * i] = out[2][i];
          r1[2 * i + 1] = out[3][i];
        }
      for (int i = std::max(full, 0); i < count; ++i) {
        r0[2 * i] = out[0][i];
        if (second_row) r1[2 * i] = out[2][i];
      }
    }
  }
}

/// The adjoint of transform_output (before the bias and activation): dM = A dy A^T for every
/// tile, into dm[xi * stride + tile]; gradients of outputs past the edge are zero.
template <typename T>
void transform_output_adjoint(const ConvGeometry& g, const Tiling& t, const T* dy, T* dm,
                              std::ptrdiff_t stride) {
  for (int ty = 0; ty < t.tiles_h; ++ty) {
    T* out = dm + ty * t.tiles_w;
    const int oy = 2 * ty;
    const bool second_row = oy + 1 < g.out_h;
    const T* d0 = dy + static_cast<std::size_t>(oy) * g.out_w;
    const T* d1 = d0 + g.out_w;
    for (int tx = 0; tx < t.tiles_w; ++tx) {
      const int ox = 2 * tx;
      const bool second_col = ox + 1 < g.out_w;
      const T a = d0[ox], b = second_col ? d0[ox + 1] : T(0);
      const T c = second_row ? d1[ox] : T(0), d = second_row && second_col ? d1[ox + 1] : T(0);
      // A dy: rows (a b), (c d) become 4 rows; then the same on columns.
      const T z[4][2] = {{a, b}, {a + c, b + d}, {a - c, b - d}, {-c, -d}};
      for (int i = 0; i < 4; ++i) {
        out[(4 * i + 0) * stride + tx] = z[i][0];
        out[(4 * i + 1) * stride + tx] = z[i][0] + z[i][1];
        out[(4 * i + 2) * stride + tx] = z[i][0] - z[i][1];
        out[(4 * i + 3) * stride + tx] = -z[i][1];
      }
    }
  }
}


// The 1-D transforms run once per lane of every step: they must be inlined into the lane loops
// to vectorize (GCC 12 kept bt an out-of-line call, 10x slower).
#if defined(__GNUC__)
#define MINIDNN_WINOGRAD_INLINE inline __attribute__((always_inline))
#else
#define MINIDNN_WINOGRAD_INLINE inline
#endif

/// Winograd F(4x4, 3x3): 6x6 input patches, 4x4 output tiles, 36 multiplications per tile and
/// input channel instead of 144 (Lavin & Gray, interpolation points 0, +-1, +-2). More arithmetic
/// saved than F(2x2, 3x3) (2.25x), at the price of larger coefficients (up to 8 and 1/24): float
/// rounding grows by about a decimal digit, still far below what training notices.
/// Its 1-D operators; LaneTiles applies them down the columns, then along the rows.
struct F4Operators {
  static constexpr int m = 4, patch = 6;
  template <typename T>
  static MINIDNN_WINOGRAD_INLINE void bt(const T* x, T* y) {  // B^T x: input patch
    y[0] = T(4) * x[0] - T(5) * x[2] + x[4];
    y[1] = -T(4) * (x[1] + x[2]) + x[3] + x[4];
    y[2] = T(4) * (x[1] - x[2]) - x[3] + x[4];
    y[3] = T(2) * (x[3] - x[1]) - x[2] + x[4];
    y[4] = T(2) * (x[1] - x[3]) - x[2] + x[4];
    y[5] = T(4) * x[1] - T(5) * x[3] + x[5];
  }
  template <typename T>
  static MINIDNN_WINOGRAD_INLINE void b(const T* y, T* x) {  // B y: the adjoint of bt
    x[0] = T(4) * y[0];
    x[1] = T(4) * (y[2] - y[1] + y[5]) + T(2) * (y[4] - y[3]);
    x[2] = -T(5) * y[0] - T(4) * (y[1] + y[2]) - y[3] - y[4];
    x[3] = y[1] - y[2] + T(2) * (y[3] - y[4]) - T(5) * y[5];
    x[4] = y[0] + y[1] + y[2] + y[3] + y[4];
    x[5] = y[5];
  }
  template <typename T>
  static MINIDNN_WINOGRAD_INLINE void g(const T* k, T* u) {  // G k: kernel, 3 -> 6
    u[0] = k[0] / T(4);
    u[1] = -(k[0] + k[1] + k[2]) / T(6);
    u[2] = -(k[0] - k[1] + k[2]) / T(6);
    u[3] = k[0] / T(24) + k[1] / T(12) + k[2] / T(6);
    u[4] = k[0] / T(24) - k[1] / T(12) + k[2] / T(6);
    u[5] = k[2];
  }
  template <typename T>
  static MINIDNN_WINOGRAD_INLINE void gt(const T* u, T* k) {  // G^T u: the adjoint of g, 6 -> 3
    k[0] = u[0] / T(4) - (u[1] + u[2]) / T(6) + (u[3] + u[4]) / T(24);
    k[1] = (u[2] - u[1]) / T(6) + (u[3] - u[4]) / T(12);
    k[2] = (u[3] + u[4] - u[1] - u[2]) / T(6) + u[5];
  }
  template <typename T>
  static MINIDNN_WINOGRAD_INLINE void at(const T* m, T* y) {  // A^T m: output, 6 -> 4
    y[0] = m[0] + m[1] + m[2] + m[3] + m[4];
    y[1] = m[1] - m[2] + T(2) * (m[3] - m[4]);
    y[2] = m[1] + m[2] + T(4) * (m[3] + m[4]);
    y[3] = m[1] - m[2] + T(8) * (m[3] - m[4]) + m[5];
  }
  template <typename T>
  static MINIDNN_WINOGRAD_INLINE void a(const T* d, T* m) {  // A d: the adjoint of at, 4 -> 6
    m[0] = d[0];
    m[1] = d[0] + d[1] + d[2] + d[3];
    m[2] = d[0] - d[1] + d[2] - d[3];
    m[3] = d[0] + T(2) * d[1] + T(4) * d[2] + T(8) * d[3];
    m[4] = d[0] - T(2) * d[1] + T(4) * d[2] - T(8) * d[3];
    m[5] = d[3];
  }
};

/// Winograd F(3x3, 3x3): 5x5 input patches, 3x3 output tiles, 25 multiplications per tile and
/// input channel instead of 81 (3.24x; interpolation points 0, 1, -1, 2 and infinity, the matrices
/// by the Toom-Cook construction). It covers outputs whose sides are multiples of 3 exactly, such
/// as the seed model's conv2 (18x18), conv4 (5x5 in 6x6) and conv5 (3x3, one tile), where F(4x4)
/// tiles would compute outputs that are thrown away.
struct F3Operators {
  static constexpr int m = 3, patch = 5;
  template <typename T>
  static MINIDNN_WINOGRAD_INLINE void bt(const T* x, T* y) {  // B^T x: input patch
    y[0] = T(2) * (x[0] - x[2]) - x[1] + x[3];
    y[1] = x[3] - T(2) * x[1] - x[2];
    y[2] = T(2) * x[1] - T(3) * x[2] + x[3];
    y[3] = x[3] - x[1];
    y[4] = T(2) * (x[1] - x[3]) - x[2] + x[4];
  }
  template <typename T>
  static MINIDNN_WINOGRAD_INLINE void b(const T* y, T* x) {  // B y: the adjoint of bt
    x[0] = T(2) * y[0];
    x[1] = T(2) * (y[2] - y[1] + y[4]) - y[0] - y[3];
    x[2] = -T(2) * y[0] - y[1] - T(3) * y[2] - y[4];
    x[3] = y[0] + y[1] + y[2] + y[3] - T(2) * y[4];
    x[4] = y[4];
  }
  template <typename T>
  static MINIDNN_WINOGRAD_INLINE void g(const T* k, T* u) {  // G k: kernel, 3 -> 5
    u[0] = k[0] / T(2);
    u[1] = -(k[0] + k[1] + k[2]) / T(2);
    u[2] = (k[1] - k[0] - k[2]) / T(6);
    u[3] = (k[0] + T(2) * k[1] + T(4) * k[2]) / T(6);
    u[4] = k[2];
  }
  template <typename T>
  static MINIDNN_WINOGRAD_INLINE void gt(const T* u, T* k) {  // G^T u: the adjoint of g, 5 -> 3
    k[0] = (u[0] - u[1]) / T(2) + (u[3] - u[2]) / T(6);
    k[1] = -u[1] / T(2) + (u[2] + T(2) * u[3]) / T(6);
    k[2] = -u[1] / T(2) + (T(4) * u[3] - u[2]) / T(6) + u[4];
  }
  template <typename T>
  static MINIDNN_WINOGRAD_INLINE void at(const T* m, T* y) {  // A^T m: output, 5 -> 3
    y[0] = m[0] + m[1] + m[2] + m[3];
    y[1] = m[1] - m[2] + T(2) * m[3];
    y[2] = m[1] + m[2] + T(4) * m[3] + m[4];
  }
  template <typename T>
  static MINIDNN_WINOGRAD_INLINE void a(const T* d, T* m) {  // A d: the adjoint of at, 3 -> 5
    m[0] = d[0];
    m[1] = d[0] + d[1] + d[2];
    m[2] = d[0] - d[1] + d[2];
    m[3] = d[0] + T(2) * d[1] + T(4) * d[2];
    m[4] = d[2];
  }
};

// The tile transforms below work on kLanes tiles of a plane at once: each value of a patch or
// transform is an array over the tiles, so every arithmetic step is a loop over kLanes
// independent lanes, which the compiler turns into vector instructions.
inline constexpr int kLanes = 16;

// y[i * ys + lane] = op(x[. * xs + lane])[i] for every lane: a 1-D transform of In values into
// Out values, on all lanes.
template <int In, int Out, typename T, typename Op>
MINIDNN_WINOGRAD_INLINE void on_lanes(Op op, const T* __restrict__ x, std::ptrdiff_t xs, T* __restrict__ y, std::ptrdiff_t ys) {
  for (int lane = 0; lane < kLanes; ++lane) {
    T xv[In], yv[Out];
    for (int i = 0; i < In; ++i) xv[i] = x[i * xs + lane];
    op(xv, yv);
    for (int i = 0; i < Out; ++i) y[i * ys + lane] = yv[i];
  }
}

// Copies `count` lanes of src into dst and zeros the rest / copies the first `count` lanes of
// src to dst. Float with vectors (AVX-512: one, AVX2: two) by plain or masked loads and stores:
// GCC built the plain copies from scalar moves and, for a variable count, `rep movs` (its
// start-up cost was a third of the input transform of planes whose last chunk is short, seed
// conv2's 36 tiles).
template <typename T>
MINIDNN_WINOGRAD_INLINE void load_lanes(const T* src, int count, T* dst) {
#if !MINIDNN_ISA_BASELINE
  if constexpr (std::is_same_v<T, float> && kLanes % Simd<float>::width == 0) {
    using S = Simd<float>;
    for (int j = 0; j < kLanes; j += S::width) S::store(dst + j, S::load_first(src + j, count - j));
    return;
  }
#endif
  for (int j = 0; j < kLanes; ++j) dst[j] = j < count ? src[j] : T(0);
}
template <typename T>
MINIDNN_WINOGRAD_INLINE void store_lanes(const T* src, int count, T* dst) {
#if !MINIDNN_ISA_BASELINE
  if constexpr (std::is_same_v<T, float> && kLanes % Simd<float>::width == 0) {
    using S = Simd<float>;
    for (int j = 0; j < count; j += S::width) S::store_first(dst + j, S::load(src + j), count - j);
    return;
  }
#endif
  for (int j = 0; j < kLanes; ++j)
    if (j < count) dst[j] = src[j];
}

// out (R x C) = L in R'^T for a small matrix `in` (InR x InC): `down` applied to each column,
// then `along` to each row.
template <int InR, int InC, int R, int C, typename T, typename Down, typename Along>
void apply_2d(const T (&in)[InR][InC], T (&out)[R][C], Down down, Along along) {
  T mid[R][InC];
  for (int c = 0; c < InC; ++c) {
    T x[InR], y[R];
    for (int r = 0; r < InR; ++r) x[r] = in[r][c];
    down(x, y);
    for (int r = 0; r < R; ++r) mid[r][c] = y[r];
  }
  for (int r = 0; r < R; ++r) along(mid[r], out[r]);
}

/// The tile transforms of F(m x m, 3x3) from its 1-D operators (F4Operators, F3Operators), each
/// the operator down the columns of a tile, then along its rows, on kLanes tiles at once. The
/// tiles of a plane are taken kLanes at a time in row-major order (a seed-model plane has 16 to
/// 36 tiles: a row of tiles alone would leave most lanes empty).
template <typename Ops>
struct LaneTiles {
  static constexpr int m = Ops::m, patch = Ops::patch;
  static constexpr int P = patch, L = kLanes;

  /// U (P*P values at u[xi * stride]) = G k G^T for one 3x3 kernel k.
  template <typename T>
  static void transform_kernel(const T* k, T* u, std::ptrdiff_t stride) {
    T in[3][3], out[P][P];
    for (int i = 0; i < 9; ++i) in[i / 3][i % 3] = k[i];
    const auto op = [](const T* x, T* y) { Ops::g(x, y); };
    apply_2d(in, out, op, op);
    for (int i = 0; i < P * P; ++i) u[i * stride] = out[i / P][i % P];
  }

  /// dk (3x3) = G^T dU G.
  template <typename T>
  static void kernel_gradient(const T* du, std::ptrdiff_t stride, T* dk) {
    T in[P][P], out[3][3];
    for (int i = 0; i < P * P; ++i) in[i / P][i % P] = du[i * stride];
    const auto op = [](const T* x, T* y) { Ops::gt(x, y); };
    apply_2d(in, out, op, op);
    for (int i = 0; i < 9; ++i) dk[i] = out[i / 3][i % 3];
  }

  /// V = B^T d B for every tile of a padded plane: v[xi * stride + tile].
  template <typename T>
  static void transform_input(const Tiling& t, const T* padded, T* v, std::ptrdiff_t stride) {
    const auto op = [](const T* x, T* y) { Ops::bt(x, y); };
    for (int t0 = 0; t0 < t.tiles(); t0 += L) {
      const int count = std::min(L, t.tiles() - t0);
      alignas(64) T d[P][P][L];  // patch row, column, tile
      gather_patches(t, padded, t0, count, d);
      alignas(64) T w[P][P][L];  // B^T d
      for (int c = 0; c < P; ++c) on_lanes<P, P>(op, &d[0][c][0], P * L, &w[0][c][0], P * L);
      alignas(64) T out[P][P][L];  // (B^T d) B
      for (int i = 0; i < P; ++i) on_lanes<P, P>(op, &w[i][0][0], L, &out[i][0][0], L);
      for (int xi = 0; xi < P * P; ++xi) store_lanes(out[xi / P][xi % P], count, v + xi * stride + t0);
    }
  }

  /// The adjoint of transform_input: adds B dV B^T of every tile onto its patch of `padded`.
  template <typename T>
  static void transform_input_adjoint(const Tiling& t, const T* dv, std::ptrdiff_t stride, T* padded) {
    const auto op = [](const T* x, T* y) { Ops::b(x, y); };
    for (int t0 = 0; t0 < t.tiles(); t0 += L) {
      const int count = std::min(L, t.tiles() - t0);
      alignas(64) T in[P][P][L];
      for (int xi = 0; xi < P * P; ++xi) load_lanes(dv + xi * stride + t0, count, in[xi / P][xi % P]);
      alignas(64) T x[P][P][L];  // B dV
      for (int k = 0; k < P; ++k) on_lanes<P, P>(op, &in[0][k][0], P * L, &x[0][k][0], P * L);
      alignas(64) T dd[P][P][L];  // (B dV) B^T
      for (int r = 0; r < P; ++r) on_lanes<P, P>(op, &x[r][0][0], L, &dd[r][0][0], L);
      for (int j = 0; j < count; ++j) {  // in tile order: neighbouring patches overlap
        T* patch = padded + patch_offset(t, t0 + j);
        for (int r = 0; r < P; ++r)
          for (int c = 0; c < P; ++c) patch[r * t.padded_w + c] += dd[r][c][j];
      }
    }
  }

  /// y = activation(A^T M A + bias) for every tile, writing only outputs inside out_h x out_w.
  template <typename T>
  static void transform_output(const ConvGeometry& g, const Tiling& t, const T* mm, std::ptrdiff_t stride, T bias,
                               Activation activation, T* y) {
    const auto op = [](const T* x, T* z) { Ops::at(x, z); };
    const bool relu = activation == Activation::relu;
    for (int t0 = 0; t0 < t.tiles(); t0 += L) {
      const int count = std::min(L, t.tiles() - t0);
      alignas(64) T in[P][P][L];
      for (int xi = 0; xi < P * P; ++xi) load_lanes(mm + xi * stride + t0, count, in[xi / P][xi % P]);
      alignas(64) T z[m][P][L];  // A^T M
      for (int k = 0; k < P; ++k) on_lanes<P, m>(op, &in[0][k][0], P * L, &z[0][k][0], P * L);
      alignas(64) T out[m][m][L];  // (A^T M) A
      for (int a = 0; a < m; ++a) on_lanes<P, m>(op, &z[a][0][0], L, &out[a][0][0], L);
      // One flat loop: nested over 3x3x16, GCC unrolled it whole into scalar code.
      T* flat = &out[0][0][0];
      for (int i = 0; i < m * m * L; ++i) {
        const T value = flat[i] + bias;
        flat[i] = relu && value < T(0) ? T(0) : value;  // NaN passes
      }
      for (int j = 0; j < count; ++j) {
        const int oy = m * ((t0 + j) / t.tiles_w), ox = m * ((t0 + j) % t.tiles_w);
        const int rows = std::min(m, g.out_h - oy), cols = std::min(m, g.out_w - ox);
        T* dst = y + static_cast<std::size_t>(oy) * g.out_w + ox;
        for (int a = 0; a < rows; ++a)
          for (int c = 0; c < cols; ++c) dst[a * g.out_w + c] = out[a][c][j];
      }
    }
  }

  /// dM = A dy A^T for every tile (gradients of outputs past the edge are zero).
  template <typename T>
  static void transform_output_adjoint(const ConvGeometry& g, const Tiling& t, const T* dy, T* dm,
                                       std::ptrdiff_t stride) {
    const auto op = [](const T* x, T* z) { Ops::a(x, z); };
    for (int t0 = 0; t0 < t.tiles(); t0 += L) {
      const int count = std::min(L, t.tiles() - t0);
      alignas(64) T d[m][m][L] = {};
      for (int j = 0; j < count; ++j) {
        const int oy = m * ((t0 + j) / t.tiles_w), ox = m * ((t0 + j) % t.tiles_w);
        const int rows = std::min(m, g.out_h - oy), cols = std::min(m, g.out_w - ox);
        const T* src = dy + static_cast<std::size_t>(oy) * g.out_w + ox;
        for (int r = 0; r < rows; ++r)
          for (int c = 0; c < cols; ++c) d[r][c][j] = src[r * g.out_w + c];
      }
      alignas(64) T z[P][m][L];  // A dy
      for (int c = 0; c < m; ++c) on_lanes<m, P>(op, &d[0][c][0], m * L, &z[0][c][0], m * L);
      alignas(64) T out[P][P][L];  // (A dy) A^T
      for (int i = 0; i < P; ++i) on_lanes<m, P>(op, &z[i][0][0], L, &out[i][0][0], L);
      for (int xi = 0; xi < P * P; ++xi) store_lanes(out[xi / P][xi % P], count, dm + xi * stride + t0);
    }
  }

 private:
  // d[r][c][j] = value (r, c) of the patch of tile t0 + j for j < count, zero in the other lanes.
  template <typename T>
  static void gather_patches(const Tiling& t, const T* padded, int t0, int count, T (&d)[P][P][L]) {
#if MINIDNN_ISA_AVX512
    if constexpr (std::is_same_v<T, float> && L == 16)
      if (t.padded_w <= 32) return gather_patches_avx512(t, padded, t0, count, d);
#endif
#if !MINIDNN_ISA_BASELINE
    if constexpr (std::is_same_v<T, float> && L % Simd<float>::width == 0)
      return gather_patches_simd(t, padded, t0, count, d);
#endif
    for (int r = 0; r < P; ++r)
      for (int c = 0; c < P; ++c) std::fill(d[r][c], d[r][c] + L, T(0));
    for (int j = 0; j < count; ++j) {
      const T* patch = padded + patch_offset(t, t0 + j);
      for (int r = 0; r < P; ++r)
        for (int c = 0; c < P; ++c) d[r][c][j] = patch[r * t.padded_w + c];
    }
  }

#if MINIDNN_ISA_AVX512
  // The same for planes at most 32 floats wide, by permutes instead of a value at a time: the 16
  // tiles lie in a few rows of tiles, and row r of every patch of tile row k is a stretch of
  // padded row m*k + r, which two vectors hold. Value (r, c) of the patches in tile row k is then
  // one permute of those two vectors (lane j takes column m*tx_j + c), kept in k's lanes.
  static void gather_patches_avx512(const Tiling& t, const float* padded, int t0, int count, float (&d)[P][P][L]) {
    const int first_row = t0 / t.tiles_w, rows = (t0 + count - 1) / t.tiles_w - first_row + 1;
    alignas(64) std::int32_t column[L];
    __mmask16 row_lanes[L] = {};  // lanes of each tile row of the chunk
    for (int j = 0; j < count; ++j) {
      column[j] = m * ((t0 + j) % t.tiles_w);
      row_lanes[(t0 + j) / t.tiles_w - first_row] |= __mmask16(1u << j);
    }
    for (int j = count; j < L; ++j) column[j] = 0;
    const __m512i origin = _mm512_load_si512(column);
    const __mmask16 low_columns = Simd<float>::first_lanes(t.padded_w);
    const __mmask16 high_columns = Simd<float>::first_lanes(t.padded_w - 16);
    for (int r = 0; r < P; ++r) {
      __m512 low[L], high[L];
      for (int k = 0; k < rows; ++k) {
        const float* row = padded + static_cast<std::size_t>(m * (first_row + k) + r) * t.padded_w;
        low[k] = _mm512_maskz_loadu_ps(low_columns, row);
        high[k] = _mm512_maskz_loadu_ps(high_columns, row + 16);
      }
      for (int c = 0; c < P; ++c) {
        const __m512i index = _mm512_add_epi32(origin, _mm512_set1_epi32(c));
        __m512 values = _mm512_setzero_ps();
        for (int k = 0; k < rows; ++k)
          values = _mm512_mask_mov_ps(values, row_lanes[k], _mm512_permutex2var_ps(low[k], index, high[k]));
        _mm512_store_ps(d[r][c], values);
      }
    }
  }
#endif

#if !MINIDNN_ISA_BASELINE
  // The same for any plane, by the vector gather (AVX2 has no two-vector permute): lane j of
  // value (r, c) reads padded[patch_offset(t0 + j) + r * padded_w + c].
  static void gather_patches_simd(const Tiling& t, const float* padded, int t0, int count, float (&d)[P][P][L]) {
    using S = Simd<float>;
    constexpr int w = S::width;
    alignas(64) std::int32_t origin[L];
    for (int j = 0; j < L; ++j) origin[j] = j < count ? static_cast<std::int32_t>(patch_offset(t, t0 + j)) : 0;
    for (int j = 0; j < L; j += w) {
      const typename S::Index start = S::load_index(origin + j);
      const typename S::Mask lanes = S::first_lanes(count - j);
      for (int r = 0; r < P; ++r)
        for (int c = 0; c < P; ++c) S::store(d[r][c] + j, S::gather(padded + r * t.padded_w + c, start, lanes));
    }
  }
#endif

  // Where tile `tile`'s patch starts in the padded plane (tile (ty, tx) at row m*ty, column m*tx).
  static std::size_t patch_offset(const Tiling& t, int tile) {
    return static_cast<std::size_t>(m) * (tile / t.tiles_w) * t.padded_w + static_cast<std::size_t>(m) * (tile % t.tiles_w);
  }
};

/// The tile sizes as policies for WinogradConv: output tile side m, patch side m + 2, and
/// their transforms.
struct F2x2 {
  static constexpr int m = 2, patch = 4;
  template <typename T> static void transform_kernel(const T* k, T* u, std::ptrdiff_t s) { winograd::transform_kernel(k, u, s); }
  template <typename T> static void kernel_gradient(const T* du, std::ptrdiff_t s, T* dk) { winograd::kernel_gradient(du, s, dk); }
  template <typename T> static void transform_input(const Tiling& t, const T* p, T* v, std::ptrdiff_t s) { winograd::transform_input(t, p, v, s); }
  template <typename T> static void transform_input_adjoint(const Tiling& t, const T* dv, std::ptrdiff_t s, T* p) { winograd::transform_input_adjoint(t, dv, s, p); }
  template <typename T>
  static void transform_output(const ConvGeometry& g, const Tiling& t, const T* m, std::ptrdiff_t s, T bias, Activation a, T* y) {
    winograd::transform_output(g, t, m, s, bias, a, y);
  }
  template <typename T>
  static void transform_output_adjoint(const ConvGeometry& g, const Tiling& t, const T* dy, T* dm, std::ptrdiff_t s) {
    winograd::transform_output_adjoint(g, t, dy, dm, s);
  }
};
using F3x3 = LaneTiles<F3Operators>;
using F4x4 = LaneTiles<F4Operators>;

}  // namespace winograd
}  // namespace minidnn::cpu::MINIDNN_ISA_NS
