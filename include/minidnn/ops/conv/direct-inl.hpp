// No include guard: compiled once per instruction set by ops/conv/direct.hpp.
/// \file
/// The direct convolution forward's register tiles (see ops/conv/direct.hpp).

namespace minidnn::cpu::MINIDNN_ISA_NS {

namespace detail {

// One register tile: filters [f0, f0 + Rows) x output columns [x0, x0 + Vectors * width) of
// output row oy (the last vector masked by `last`).
template <typename T, int Rows, int Vectors>
void direct_conv_tile(const ConvGeometry& g, const T* x, const T* kernel, const T* bias, int f0, int oy, int x0,
                      typename Simd<T>::Mask last, T* y) {
  using S = Simd<T>;
  using Vec = typename S::Vec;
  constexpr int w = S::width;
  const int taps = g.kernel_h * g.kernel_w;
  const int k = g.channels * taps;  // kernel values per filter
  Vec acc[Rows][Vectors];  // kept in registers: every loop over Rows and Vectors is unrolled
#pragma GCC unroll 8
  for (int r = 0; r < Rows; ++r)
#pragma GCC unroll 4
    for (int v = 0; v < Vectors; ++v) acc[r][v] = S::broadcast(bias + f0 + r);
  for (int c = 0; c < g.channels; ++c)
    for (int i = 0; i < g.kernel_h; ++i) {
      const T* row = x + (static_cast<std::ptrdiff_t>(c) * g.height + oy + i) * g.width + x0;
      const T* weights = kernel + static_cast<std::ptrdiff_t>(f0) * k + (c * g.kernel_h + i) * g.kernel_w;
      for (int j = 0; j < g.kernel_w; ++j) {
        Vec in[Vectors];
#pragma GCC unroll 4
        for (int v = 0; v < Vectors; ++v)
          in[v] = v + 1 < Vectors ? S::load(row + j + v * w) : S::load(row + j + v * w, last);
#pragma GCC unroll 8
        for (int r = 0; r < Rows; ++r) {
          const Vec wv = S::broadcast(weights + static_cast<std::ptrdiff_t>(r) * k + j);
#pragma GCC unroll 4
          for (int v = 0; v < Vectors; ++v) acc[r][v] = S::fmadd(wv, in[v], acc[r][v]);
        }
      }
    }
  const std::ptrdiff_t plane = static_cast<std::ptrdiff_t>(g.out_h) * g.out_w;
#pragma GCC unroll 8
  for (int r = 0; r < Rows; ++r) {
    T* out = y + (f0 + r) * plane + static_cast<std::ptrdiff_t>(oy) * g.out_w + x0;
#pragma GCC unroll 4
    for (int v = 0; v < Vectors; ++v) {
      if (v + 1 < Vectors) S::store(out + v * w, acc[r][v]);
      else S::store(out + v * w, acc[r][v], last);
    }
  }
}

template <typename T>
using DirectConvTile = void (*)(const ConvGeometry&, const T*, const T*, const T*, int, int, int,
                                typename Simd<T>::Mask, T*);

// The register tile, filters x vectors of output columns: its accumulators, the input vectors and
// one broadcast fill the vector registers without spilling: 8 x 3 + 3 + 1 of AVX-512's 32, and
// 4 x 3 + 3 + 1 of AVX2's 16 (8 x 3 spilled there: seed conv1 ran at 0.45x the AVX-512 speed).
constexpr int kDirectTileRows = MINIDNN_ISA_AVX2 ? 4 : 8;
constexpr int kDirectTileVectors = 3;

// tiles[rows - 1][vectors - 1]
template <typename T>
struct DirectConvTiles {
  DirectConvTile<T> tiles[kDirectTileRows][kDirectTileVectors];
  template <int R, int V>
  void fill() {
    tiles[R - 1][V - 1] = &direct_conv_tile<T, R, V>;
    if constexpr (V < kDirectTileVectors) fill<R, V + 1>();
    else if constexpr (R < kDirectTileRows) fill<R + 1, 1>();
  }
  DirectConvTiles() { fill<1, 1>(); }
};

}  // namespace detail

/// y (filters, out_h, out_w) = activation(conv(x, kernel) + bias) for one sample x (C, H, W);
/// kernel (filters, C, kh, kw). Requires direct_conv_applies(g).
template <typename T>
void direct_conv_forward(const ConvGeometry& g, int filters, const T* x, const T* kernel, const T* bias,
                         Activation activation, T* y) {
  using S = Simd<T>;
  constexpr int w = S::width;
  constexpr int span = detail::kDirectTileVectors * w;  // output columns per tile
  static const detail::DirectConvTiles<T> table;
  for (int f0 = 0; f0 < filters; f0 += detail::kDirectTileRows) {
    const int rows = std::min(detail::kDirectTileRows, filters - f0);
    for (int oy = 0; oy < g.out_h; ++oy)
      for (int x0 = 0; x0 < g.out_w; x0 += span) {
        const int cols = std::min(span, g.out_w - x0);
        const int vectors = (cols + w - 1) / w;
        table.tiles[rows - 1][vectors - 1](g, x, kernel, bias, f0, oy, x0,
                                           S::first_lanes(cols - (vectors - 1) * w), y);
      }
    // Activate the finished filters while their output is still in cache.
    const std::size_t plane = static_cast<std::size_t>(g.out_h) * g.out_w;
    apply_activation(activation, y + f0 * plane, rows * plane);
  }
}

}  // namespace minidnn::cpu::MINIDNN_ISA_NS
