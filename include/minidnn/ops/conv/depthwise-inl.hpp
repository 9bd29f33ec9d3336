// No include guard: compiled once per instruction set by ops/conv/depthwise.hpp.
/// \file
/// Depthwise convolution of one plane, for the instruction set being compiled (see
/// ops/conv/depthwise.hpp).

namespace minidnn::cpu::MINIDNN_ISA_NS {

namespace detail {

#if !MINIDNN_ISA_BASELINE
/// The largest zero-padded plane (floats) the stride-1 vector loops copy onto the stack: 32 KiB,
/// a 90x90 plane under a 3x3 kernel. Larger planes take the masked loops below.
constexpr int kMaxPaddedPlane = 8192;

/// The most taps the vector loops keep in registers / on the stack; larger kernels take the
/// reference loop.
constexpr int kMaxDepthwiseTaps = 49;

/// Where the stride-1-along-rows loops read: the input plane copied into a zero-padded buffer of
/// `cols` = out_w + kernel_w - 1 columns and `rows` = (out_h - 1) * stride_h + kernel_h rows, so
/// that every tap of every output reads inside the buffer and no lane needs a mask or a bounds
/// check. One Simd width of zeros follows the last row: a row's last vector reads past its end.
struct PaddedPlane {
  int rows, cols;
  static PaddedPlane of(const ops::DepthwiseGeometry& g) {
    return {(g.out_h - 1) * g.stride_h + g.kernel_h, g.out_w + g.kernel_w - 1};
  }
  std::ptrdiff_t floats(int width) const { return std::ptrdiff_t(rows) * cols + width; }
};

/// Copies x (in_h, in_w) into `padded` (see PaddedPlane). Vector stores throughout: the planes
/// are small (6x6 in mini-Xception), where a call to memset / memcpy per row costs more than the
/// copy.
inline void pad_plane(const ops::DepthwiseGeometry& g, PaddedPlane pp, const float* x, float* padded) {
  using S = Simd<float>;
  constexpr int width = S::width;
  const std::ptrdiff_t total = pp.floats(width);
  for (std::ptrdiff_t i = 0; i + width <= total; i += width) S::store(padded + i, S::zero());
  for (std::ptrdiff_t i = total / width * width; i < total; ++i) padded[i] = 0.0f;
  const int copied = std::max(0, std::min(g.in_w, pp.cols - g.pad_left));  // valid padding may drop columns
  const int row0 = std::max(0, g.pad_top), row1 = std::min(pp.rows, g.pad_top + g.in_h);
  for (int r = row0; r < row1; ++r) {
    const float* in = x + std::ptrdiff_t(r - g.pad_top) * g.in_w;
    float* out = padded + std::ptrdiff_t(r) * pp.cols + g.pad_left;
    // A full store: the lanes past the row are zeros (the right padding, the next row's left
    // padding or the slack after the last row), and the next row is copied after this one.
    for (int j = 0; j < copied; j += width) S::store(out + j, S::load_first(in + j, copied - j));
  }
}

/// The float forward at stride 1 along the row, from the padded plane: `width` adjacent outputs
/// per vector, accumulated in a register over every tap (ky, kx) in the reference's order and
/// stored once. KH, KW: the kernel's sides when known at compile time (3x3, fully unrolled with
/// the taps in registers), else 0. Accumulate: add to y instead of starting from the bias.
template <bool Accumulate, int KH, int KW>
void depthwise_padded_forward(const ops::DepthwiseGeometry& g, PaddedPlane pp, const float* padded,
                              const float* kernel, float bias, float* y) {
  using S = Simd<float>;
  constexpr int width = S::width;
  const int kh = KH ? KH : g.kernel_h, kw = KW ? KW : g.kernel_w;
  S::Vec w[kMaxDepthwiseTaps];
  for (int t = 0; t < kh * kw; ++t) w[t] = S::set1(kernel[t]);
  const S::Vec b = S::set1(bias);
  for (int oy = 0; oy < g.out_h; ++oy) {
    float* yrow = y + std::ptrdiff_t(oy) * g.out_w;
    const float* top = padded + std::ptrdiff_t(oy) * g.stride_h * pp.cols;
    for (int ox = 0; ox < g.out_w; ox += width) {
      const int n = g.out_w - ox;
      S::Vec acc = Accumulate ? S::load_first(yrow + ox, n) : b;
      for (int ky = 0; ky < kh; ++ky)
        for (int kx = 0; kx < kw; ++kx) acc = S::fmadd(w[ky * kw + kx], S::load(top + ky * pp.cols + ox + kx), acc);
      // A row's ragged end may spill into the rows after it, which are stored after it: a plain
      // store unless it would pass the plane's end (or when accumulating into y).
      if (n >= width || (!Accumulate && ox + width <= (g.out_h - oy) * g.out_w))
        S::store(yrow + ox, acc);
      else
        S::store_first(yrow + ox, acc, n);
    }
  }
}

/// dkernel[t] += the lanes of acc[t] summed, for the `taps` kernel gradient accumulators, and
/// *dbias += those of bias_acc unless dbias is null.
inline void add_lane_sums(const Simd<float>::Vec* acc, int taps, Simd<float>::Vec bias_acc, float* dkernel,
                          float* dbias) {
  using S = Simd<float>;
  float lanes[S::width];
  auto sum = [&](S::Vec v) {
    S::store(lanes, v);
    float s = 0.0f;
    for (int l = 0; l < S::width; ++l) s += lanes[l];
    return s;
  };
  for (int t = 0; t < taps; ++t) dkernel[t] += sum(acc[t]);
  if (dbias) *dbias += sum(bias_acc);
}

/// The kernel gradient at stride 1 from the padded input plane: dkernel[t] += sum over the plane
/// of dy * x at tap t, in kh*kw vector accumulators; *dbias += sum of dy unless dbias is null.
template <int KH, int KW>
void depthwise_padded_kernel_gradient(const ops::DepthwiseGeometry& g, PaddedPlane pp, const float* padded,
                                      const float* dy, float* dkernel, float* dbias) {
  using S = Simd<float>;
  constexpr int width = S::width;
  const int kh = KH ? KH : g.kernel_h, kw = KW ? KW : g.kernel_w;
  S::Vec acc[kMaxDepthwiseTaps];
  for (int t = 0; t < kh * kw; ++t) acc[t] = S::zero();
  S::Vec bias_acc = S::zero();
  for (int oy = 0; oy < g.out_h; ++oy) {
    const float* dyrow = dy + std::ptrdiff_t(oy) * g.out_w;
    const float* top = padded + std::ptrdiff_t(oy) * pp.cols;
    for (int ox = 0; ox < g.out_w; ox += width) {
      const int n = g.out_w - ox;
      const S::Vec d = S::load_first(dyrow + ox, n);  // zero past the row's end
      bias_acc = S::add(bias_acc, d);
      for (int ky = 0; ky < kh; ++ky)
        for (int kx = 0; kx < kw; ++kx) {
          const float* xs = top + ky * pp.cols + ox + kx;
          // Past the row's end x belongs to the next row: masked to zero, so that an infinite x
          // there cannot make 0 * inf = NaN in a tap it does not touch.
          acc[ky * kw + kx] = S::fmadd(d, n >= width ? S::load(xs) : S::load_first(xs, n), acc[ky * kw + kx]);
        }
    }
  }
  add_lane_sums(acc, kh * kw, bias_acc, dkernel, dbias);
}

/// The float forward at stride 1 along the row for planes too large to pad on the stack: `width`
/// adjacent outputs of a row per vector (a masked vector for the tail), accumulated in a register
/// over every tap (ky, kx) in the reference's order and stored once. A tap whose input column is
/// outside the row for some lanes (the first and last columns under padding) loads and adds only
/// the lanes inside (a masked load and select: those lanes keep their sum, as the reference skips
/// the tap). Accumulate: add to y instead of starting from the bias.
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

/// The geometry of dx as a stride-1 convolution of dy (OH, OW) with the kernel turned by 180
/// degrees, padded so that its output is (H, W).
inline ops::DepthwiseGeometry turned_geometry(const ops::DepthwiseGeometry& g) {
  ops::DepthwiseGeometry t = g;
  t.in_h = g.out_h;
  t.in_w = g.out_w;
  t.out_h = g.in_h;
  t.out_w = g.in_w;
  t.pad_top = g.kernel_h - 1 - g.pad_top;
  t.pad_left = g.kernel_w - 1 - g.pad_left;
  return t;
}

/// The float backward at stride 1 in both directions for planes too large to pad on the stack
/// (see ops/conv/depthwise.hpp): ADDS to
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
  add_lane_sums(acc, taps, bias_acc, dkernel, dbias);
  if (!dx) return;
  // dx = dy convolved with the kernel turned by 180 degrees, padded so that the output is (H, W).
  float turned[kMaxDepthwiseTaps];
  for (int t = 0; t < taps; ++t) turned[t] = kernel[taps - 1 - t];
  depthwise_plane_forward_simd<true>(turned_geometry(g), dy, turned, 0.0f, dx);
}
#endif

}  // namespace detail

/// One output plane of a depthwise convolution (see ops::depthwise_plane_forward).
template <typename T>
void depthwise_plane_forward(const ops::DepthwiseGeometry& g, const T* x, const T* kernel, T bias, T* y) {
#if !MINIDNN_ISA_BASELINE
  if constexpr (std::is_same_v<T, float>) {
    if (g.stride_w == 1) {
      const auto pp = detail::PaddedPlane::of(g);
      if (g.kernel_h * g.kernel_w > detail::kMaxDepthwiseTaps ||
          pp.floats(Simd<float>::width) > detail::kMaxPaddedPlane) {
        detail::depthwise_plane_forward_simd<false>(g, x, kernel, bias, y);
        return;
      }
      alignas(64) float padded[detail::kMaxPaddedPlane];
      detail::pad_plane(g, pp, x, padded);
      if (g.kernel_h == 3 && g.kernel_w == 3)
        detail::depthwise_padded_forward<false, 3, 3>(g, pp, padded, kernel, bias, y);
      else
        detail::depthwise_padded_forward<false, 0, 0>(g, pp, padded, kernel, bias, y);
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
      const auto pp = detail::PaddedPlane::of(g);
      const ops::DepthwiseGeometry turned_g = detail::turned_geometry(g);
      const auto turned_pp = detail::PaddedPlane::of(turned_g);
      constexpr int width = Simd<float>::width;
      if (std::max(pp.floats(width), turned_pp.floats(width)) > detail::kMaxPaddedPlane) {
        detail::depthwise_plane_backward_simd(g, x, kernel, dy, dkernel, dbias, dx);
        return;
      }
      const bool k3x3 = g.kernel_h == 3 && g.kernel_w == 3;
      alignas(64) float padded[detail::kMaxPaddedPlane];
      detail::pad_plane(g, pp, x, padded);
      if (k3x3)
        detail::depthwise_padded_kernel_gradient<3, 3>(g, pp, padded, dy, dkernel, dbias);
      else
        detail::depthwise_padded_kernel_gradient<0, 0>(g, pp, padded, dy, dkernel, dbias);
      if (!dx) return;
      // dx = dy convolved with the kernel turned by 180 degrees (see ops/conv/depthwise.hpp).
      float turned[detail::kMaxDepthwiseTaps];
      const int taps = g.kernel_h * g.kernel_w;
      for (int t = 0; t < taps; ++t) turned[t] = kernel[taps - 1 - t];
      detail::pad_plane(turned_g, turned_pp, dy, padded);
      if (k3x3)
        detail::depthwise_padded_forward<true, 3, 3>(turned_g, turned_pp, padded, turned, 0.0f, dx);
      else
        detail::depthwise_padded_forward<true, 0, 0>(turned_g, turned_pp, padded, turned, 0.0f, dx);
      return;
    }
  }
#endif
  ops::detail::depthwise_plane_backward_scalar(g, x, kernel, dy, dkernel, dbias, dx);
}

}  // namespace minidnn::cpu::MINIDNN_ISA_NS
