// No include guard: compiled once per instruction set by ops/conv/depthwise.hpp.
/// \file
/// Depthwise convolution of one plane, for the instruction set being compiled (see
/// ops/conv/depthwise.hpp).

namespace minidnn::cpu::MINIDNN_ISA_NS {

namespace detail {

#if !MINIDNN_ISA_BASELINE
/// The float forward at stride 1 along the row: `width` adjacent outputs of a row per vector
/// (a masked vector for the tail), accumulated in a register over every tap (ky, kx) in the
/// reference's order and stored once. Only the columns whose every tap is inside the row take
/// the vector loop; the pad_left / right-border columns take the per-element loop.
inline void depthwise_plane_forward_simd(const ops::DepthwiseGeometry& g, const float* x, const float* kernel,
                                         float bias, float* y) {
  using S = Simd<float>;
  constexpr int width = S::width;
  // Output columns [lo, hi) read input columns [ox - pad_left, ox - pad_left + kw) inside [0, in_w).
  const int lo = std::min(g.pad_left, g.out_w);
  const int hi = std::max(lo, std::min(g.out_w, g.in_w - g.kernel_w + g.pad_left + 1));
  const S::Vec b = S::set1(bias);
  for (int oy = 0; oy < g.out_h; ++oy) {
    float* yrow = y + std::ptrdiff_t(oy) * g.out_w;
    const int top = oy * g.stride_h - g.pad_top;  // input row of tap ky = 0
    const int ky0 = std::max(0, -top), ky1 = std::min(g.kernel_h, g.in_h - top);
    auto border = [&](int ox) {
      float sum = bias;
      for (int ky = ky0; ky < ky1; ++ky) {
        const float* xrow = x + std::ptrdiff_t(top + ky) * g.in_w;
        for (int kx = 0; kx < g.kernel_w; ++kx) {
          const int ix = ox + kx - g.pad_left;
          if (ix >= 0 && ix < g.in_w) sum += kernel[ky * g.kernel_w + kx] * xrow[ix];
        }
      }
      yrow[ox] = sum;
    };
    for (int ox = 0; ox < lo; ++ox) border(ox);
    for (int ox = hi; ox < g.out_w; ++ox) border(ox);
    for (int ox = lo; ox < hi; ox += width) {
      const int n = std::min(width, hi - ox);
      S::Vec acc = b;
      for (int ky = ky0; ky < ky1; ++ky) {
        const float* xs = x + std::ptrdiff_t(top + ky) * g.in_w + ox - g.pad_left;
        const float* ks = kernel + ky * g.kernel_w;
        for (int kx = 0; kx < g.kernel_w; ++kx) acc = S::fmadd(S::set1(ks[kx]), S::load_first(xs + kx, n), acc);
      }
      S::store_first(yrow + ox, acc, n);
    }
  }
}
#endif

}  // namespace detail

/// One output plane of a depthwise convolution (see ops::depthwise_plane_forward).
template <typename T>
void depthwise_plane_forward(const ops::DepthwiseGeometry& g, const T* x, const T* kernel, T bias, T* y) {
#if !MINIDNN_ISA_BASELINE
  if constexpr (std::is_same_v<T, float>) {
    if (g.stride_w == 1) {
      detail::depthwise_plane_forward_simd(g, x, kernel, bias, y);
      return;
    }
  }
#endif
  ops::detail::depthwise_plane_forward_scalar(g, x, kernel, bias, y);
}

}  // namespace minidnn::cpu::MINIDNN_ISA_NS
