// No include guard: compiled once per instruction set by ops/conv/depthwise.hpp.
/// \file
/// Depthwise convolution of one plane, for the instruction set being compiled (see
/// ops/conv/depthwise.hpp).

namespace minidnn::cpu::MINIDNN_ISA_NS {

namespace detail {

#if !MINIDNN_ISA_BASELINE
/// The float forward at stride 1 along the row: `width` adjacent outputs of a row per vector
/// (a masked vector for the tail), accumulated in a register over every tap (ky, kx) in the
/// reference's order and stored once. A tap whose input column is outside the row for some lanes
/// (the first and last columns under padding) loads and adds only the lanes inside (a masked
/// load and select: those lanes keep their sum, as the reference skips the tap), so small planes
/// (6x6: one vector per row) pay no per-element border loop. Accumulate: add to y instead of
/// starting from the bias.
template <bool Accumulate>
void depthwise_plane_forward_simd(const ops::DepthwiseGeometry& g, const float* x, const float* kernel, float bias,
                                  float* y) {
  using S = Simd<float>;
  constexpr int width = S::width;
  const S::Vec b = S::set1(bias);
  for (int oy = 0; oy < g.out_h; ++oy) {
    float* yrow = y + std::ptrdiff_t(oy) * g.out_w;
    const int top = oy * g.stride_h - g.pad_top;  // input row of tap ky = 0
    const int ky0 = std::max(0, -top), ky1 = std::min(g.kernel_h, g.in_h - top);
    for (int ox = 0; ox < g.out_w; ox += width) {
      const int n = std::min(width, g.out_w - ox);
      S::Vec acc = Accumulate ? S::load_first(yrow + ox, n) : b;
      for (int ky = ky0; ky < ky1; ++ky) {
        const float* xrow = x + std::ptrdiff_t(top + ky) * g.in_w;
        const float* ks = kernel + ky * g.kernel_w;
        for (int kx = 0; kx < g.kernel_w; ++kx) {
          const int col = ox + kx - g.pad_left;  // input column of lane 0
          // Lanes [lo, hi) read inside [0, in_w).
          const int lo = std::max(0, -col), hi = std::min(n, g.in_w - col);
          if (lo >= hi) continue;
          const S::Vec w = S::set1(ks[kx]);
          if (lo == 0) {
            const S::Vec v = S::load_first(xrow + col, hi);
            acc = hi == width ? S::fmadd(w, v, acc) : S::select(S::first_lanes(hi), S::fmadd(w, v, acc), acc);
          } else {
            const S::Mask inside = S::mask_andnot(S::first_lanes(lo), S::first_lanes(hi));
            // The masked load reads only lanes >= lo, all inside the row.
            const S::Vec v = S::load(xrow + col, inside);
            acc = S::select(inside, S::fmadd(w, v, acc), acc);
          }
        }
      }
      S::store_first(yrow + ox, acc, n);
    }
  }
}

/// The most taps the vector backward keeps in registers / on the stack; larger kernels take the
/// reference loop.
constexpr int kMaxDepthwiseTaps = 49;

/// The float backward at stride 1 in both directions (see ops/conv/depthwise.hpp): ADDS to
/// dkernel, *dbias (unless null) and dx (unless null).
inline void depthwise_plane_backward_simd(const ops::DepthwiseGeometry& g, const float* x, const float* kernel,
                                          const float* dy, float* dkernel, float* dbias, float* dx) {
  using S = Simd<float>;
  constexpr int width = S::width;
  const int taps = g.kernel_h * g.kernel_w;
  S::Vec acc[kMaxDepthwiseTaps];
  for (int t = 0; t < taps; ++t) acc[t] = S::zero();
  S::Vec bias_acc = S::zero();
  for (int oy = 0; oy < g.out_h; ++oy) {
    const float* dyrow = dy + std::ptrdiff_t(oy) * g.out_w;
    if (dbias)
      for (int ox = 0; ox < g.out_w; ox += width) bias_acc = S::add(bias_acc, S::load_first(dyrow + ox, g.out_w - ox));
    const int top = oy - g.pad_top;
    const int ky0 = std::max(0, -top), ky1 = std::min(g.kernel_h, g.in_h - top);
    for (int ky = ky0; ky < ky1; ++ky) {
      const float* xrow = x + std::ptrdiff_t(top + ky) * g.in_w;
      for (int kx = 0; kx < g.kernel_w; ++kx) {
        const int offset = kx - g.pad_left;
        // Outputs whose input column ox + offset is inside [0, in_w).
        const int lo = std::max(0, -offset), hi = std::min(g.out_w, g.in_w - offset);
        S::Vec a = acc[ky * g.kernel_w + kx];
        for (int ox = lo; ox < hi; ox += width) {
          const int n = hi - ox;
          a = S::fmadd(S::load_first(dyrow + ox, n), S::load_first(xrow + ox + offset, n), a);
        }
        acc[ky * g.kernel_w + kx] = a;
      }
    }
  }
  float lanes[width];
  auto sum = [&](S::Vec v) {
    S::store(lanes, v);
    float s = 0.0f;
    for (int l = 0; l < width; ++l) s += lanes[l];
    return s;
  };
  for (int t = 0; t < taps; ++t) dkernel[t] += sum(acc[t]);
  if (dbias) *dbias += sum(bias_acc);
  if (!dx) return;
  // dx = dy convolved with the kernel turned by 180 degrees, padded so that the output is (H, W).
  float turned[kMaxDepthwiseTaps];
  for (int t = 0; t < taps; ++t) turned[t] = kernel[taps - 1 - t];
  ops::DepthwiseGeometry t = g;
  t.in_h = g.out_h;
  t.in_w = g.out_w;
  t.out_h = g.in_h;
  t.out_w = g.in_w;
  t.pad_top = g.kernel_h - 1 - g.pad_top;
  t.pad_left = g.kernel_w - 1 - g.pad_left;
  depthwise_plane_forward_simd<true>(t, dy, turned, 0.0f, dx);
}
#endif

}  // namespace detail

/// One output plane of a depthwise convolution (see ops::depthwise_plane_forward).
template <typename T>
void depthwise_plane_forward(const ops::DepthwiseGeometry& g, const T* x, const T* kernel, T bias, T* y) {
#if !MINIDNN_ISA_BASELINE
  if constexpr (std::is_same_v<T, float>) {
    if (g.stride_w == 1) {
      detail::depthwise_plane_forward_simd<false>(g, x, kernel, bias, y);
      return;
    }
  }
#endif
  ops::detail::depthwise_plane_forward_scalar(g, x, kernel, bias, y);
}

/// One output plane's backward of a depthwise convolution (see ops::depthwise_plane_backward).
template <typename T>
void depthwise_plane_backward(const ops::DepthwiseGeometry& g, const T* x, const T* kernel, const T* dy, T* dkernel,
                              T* dbias, T* dx) {
#if !MINIDNN_ISA_BASELINE
  if constexpr (std::is_same_v<T, float>) {
    if (g.stride_h == 1 && g.stride_w == 1 && g.kernel_h * g.kernel_w <= detail::kMaxDepthwiseTaps) {
      detail::depthwise_plane_backward_simd(g, x, kernel, dy, dkernel, dbias, dx);
      return;
    }
  }
#endif
  ops::detail::depthwise_plane_backward_scalar(g, x, kernel, dy, dkernel, dbias, dx);
}

}  // namespace minidnn::cpu::MINIDNN_ISA_NS
