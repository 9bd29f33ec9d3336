// No include guard: compiled once per instruction set by ops/norm/batch_norm.hpp.
/// \file
/// The batch normalization loops over a block of samples (see ops/norm/batch_norm.hpp), plain
/// C++ that the compiler vectorizes for the instruction set being compiled: the double sums run
/// 4 (AVX2) or 8 (AVX-512) lanes wide instead of SSE2's 2.

namespace minidnn::cpu::MINIDNN_ISA_NS {

namespace detail {
constexpr int kLanes = 8;

/// sa += sum a(k), sb += sum b(k) over k in [0, s), in kLanes independent double chains each.
template <typename A, typename B>
void plane_sums(std::ptrdiff_t s, A&& a, B&& b, double& sa, double& sb) {
  double acc_a[kLanes] = {}, acc_b[kLanes] = {};
  std::ptrdiff_t k = 0;
  for (; k + kLanes <= s; k += kLanes)
    for (int l = 0; l < kLanes; ++l) {
      acc_a[l] += a(k + l);
      acc_b[l] += b(k + l);
    }
  for (int l = 0; k + l < s; ++l) {
    acc_a[l] += a(k + l);
    acc_b[l] += b(k + l);
  }
  for (int l = 0; l < kLanes; ++l) {
    sa += acc_a[l];
    sb += acc_b[l];
  }
}

#if MINIDNN_ISA_BASELINE
constexpr bool kVectorPlanes = false;
#else
constexpr bool kVectorPlanes = true;
#endif
/// Whether the planes of T run through the Simd<float> loops below (float, AVX2 or AVX-512): GCC
/// 12 vectorized the plain backward sums' lane loop into lane shuffles for the linear case (14
/// GB/s against 24 with the ReLU's mask, on a 46x46 plane). The ReLU's mask and the forward's y
/// then both come from the same fused multiply-add, so they agree bit for bit.
template <typename T>
constexpr bool kSimdPlanes = kVectorPlanes && std::is_same_v<T, float>;

// The Simd<float> loops over one plane of s values (F is float; a template parameter so that the
// baseline copy, which has no vector float, compiles them only where used: nowhere). The last
// vector of a plane loads and stores only the lanes inside it.
namespace vector_plane {
/// The lanes of v added in double.
template <typename F>
double lane_total(typename Simd<F>::Vec v) {
  F lanes[Simd<F>::width];
  Simd<F>::store(lanes, v);
  double total = 0.0;
  for (int l = 0; l < Simd<F>::width; ++l) total += double(lanes[l]);
  return total;
}

template <bool kRelu, typename F>
typename Simd<F>::Vec gradient(typename Simd<F>::Vec x, typename Simd<F>::Vec dy, typename Simd<F>::Vec scale,
                               typename Simd<F>::Vec shift) {
  using S = Simd<F>;
  // dy times the 0/1 mask: as a select of dy, GCC 12 folds it into a masked load of dy that
  // waits for the comparison, which ran this pass at half the speed of the linear one.
  if constexpr (kRelu) return S::mul(dy, S::select(S::greater(S::fmadd(x, scale, shift), S::zero()), S::set1(F(1)), S::zero()));
  else return dy;
}

template <bool kRelu, typename F>
void apply(const F* x, std::ptrdiff_t s, F scale, F shift, F* y) {
  using S = Simd<F>;
  const auto a = S::set1(scale), b = S::set1(shift);
  for (std::ptrdiff_t k = 0; k < s; k += S::width) {
    const int n = int(std::min<std::ptrdiff_t>(S::width, s - k));
    auto v = S::fmadd(S::load_first(x + k, n), a, b);
    if constexpr (kRelu) v = S::select(S::greater(S::zero(), v), S::zero(), v);  // NaN passes
    S::store_first(y + k, v, n);
  }
}

/// sum += sum of (x - origin), squares += sum of (x - origin)^2 over the plane, from its own
/// statistics in float: its mean m_p (a first pass, from L1 after it), then c = sum of (x - m_p)
/// and q = sum of (x - m_p)^2, so that sum = s (m_p + c/s - origin) and squares =
/// q - c^2/s + s (m_p + c/s - origin)^2 in double. The float sums are of deviations from the
/// plane's own mean (q of positive terms), so they keep their digits; converting every value to
/// double, as the plain loop does, bound the pass by the conversions (10 GB/s on a 46x46 plane).
template <typename F>
void forward_sums(const F* x, std::ptrdiff_t s, double origin, double& sum, double& squares) {
  using S = Simd<F>;
  constexpr int width = S::width;
  auto a0 = S::zero(), a1 = S::zero();
  std::ptrdiff_t k = 0;
  for (; k + 2 * width <= s; k += 2 * width) {
    a0 = S::add(a0, S::load(x + k));
    a1 = S::add(a1, S::load(x + k + width));
  }
  for (; k < s; k += width) a0 = S::add(a0, S::load_first(x + k, int(std::min<std::ptrdiff_t>(width, s - k))));
  const F plane_mean = F(lane_total<F>(S::add(a0, a1)) / double(s));
  const auto m = S::set1(plane_mean);
  auto c0 = S::zero(), c1 = S::zero(), q0 = S::zero(), q1 = S::zero();
  for (k = 0; k + 2 * width <= s; k += 2 * width) {
    const auto d0 = S::sub(S::load(x + k), m), d1 = S::sub(S::load(x + k + width), m);
    c0 = S::add(c0, d0);
    c1 = S::add(c1, d1);
    q0 = S::fmadd(d0, d0, q0);
    q1 = S::fmadd(d1, d1, q1);
  }
  for (; k < s; k += width) {  // lanes past the plane: d = 0, added nowhere
    const int n = int(std::min<std::ptrdiff_t>(width, s - k));
    const auto d0 = S::select(S::first_lanes(n), S::sub(S::load_first(x + k, n), m), S::zero());
    c0 = S::add(c0, d0);
    q0 = S::fmadd(d0, d0, q0);
  }
  const double c = lane_total<F>(S::add(c0, c1)), q = lane_total<F>(S::add(q0, q1)), n = double(s);
  const double offset = double(plane_mean) + c / n - origin;  // the plane's mean - origin
  sum += n * offset;
  squares += std::max(0.0, q - c * c / n) + n * offset * offset;
}

/// sum_dy += sum of g, sum_dy_xhat += inv_std * sum of g * (x - mean), in two vector chains each.
template <bool kRelu, typename F>
void backward_sums(const F* x, const F* dy, std::ptrdiff_t s, F mean, F inv_std, F scale, F shift, double& sum_dy,
                   double& sum_dy_xhat) {
  using S = Simd<F>;
  constexpr int width = S::width;
  const auto m = S::set1(mean), a = S::set1(scale), b = S::set1(shift);
  auto g0 = S::zero(), g1 = S::zero(), h0 = S::zero(), h1 = S::zero();
  std::ptrdiff_t k = 0;
  for (; k + 2 * width <= s; k += 2 * width) {
    const auto x0 = S::load(x + k), x1 = S::load(x + k + width);
    const auto d0 = gradient<kRelu, F>(x0, S::load(dy + k), a, b), d1 = gradient<kRelu, F>(x1, S::load(dy + k + width), a, b);
    g0 = S::add(g0, d0);
    g1 = S::add(g1, d1);
    h0 = S::fmadd(d0, S::sub(x0, m), h0);
    h1 = S::fmadd(d1, S::sub(x1, m), h1);
  }
  for (; k < s; k += width) {  // lanes past the plane load x = dy = 0 and add nothing
    const int n = int(std::min<std::ptrdiff_t>(width, s - k));
    const auto x0 = S::load_first(x + k, n);
    const auto d0 = gradient<kRelu, F>(x0, S::load_first(dy + k, n), a, b);
    g0 = S::add(g0, d0);
    h0 = S::fmadd(d0, S::sub(x0, m), h0);
  }
  sum_dy += lane_total<F>(S::add(g0, g1));
  sum_dy_xhat += lane_total<F>(S::add(h0, h1)) * double(inv_std);
}

/// dx = ga * g + gb * (x - mean) * inv_std + g0.
template <bool kRelu, typename F>
void backward_apply(const F* x, const F* dy, std::ptrdiff_t s, F mean, F inv_std, F scale, F shift, F ga, F gb, F g0,
                    F* dx) {
  using S = Simd<F>;
  const auto m = S::set1(mean), r = S::set1(inv_std), a = S::set1(scale), b = S::set1(shift);
  const auto va = S::set1(ga), vb = S::set1(gb), v0 = S::set1(g0);
  for (std::ptrdiff_t k = 0; k < s; k += S::width) {
    const int n = int(std::min<std::ptrdiff_t>(S::width, s - k));
    const auto xv = S::load_first(x + k, n);
    const auto g = gradient<kRelu, F>(xv, S::load_first(dy + k, n), a, b);
    S::store_first(dx + k, S::fmadd(va, g, S::fmadd(vb, S::mul(S::sub(xv, m), r), v0)), n);
  }
}
}  // namespace vector_plane

/// The plain loops' gradient of y at x (double, and float on the baseline): dy itself, or under a
/// ReLU dy where x * scale + shift > 0. As a multiply by the 0/1 mask: GCC 12 vectorizes the lane
/// loop with that, not with a select. (A non-finite dy where y <= 0 then gives NaN rather than 0; a non-finite gradient
/// already means a diverged step.)
template <bool kRelu, typename T>
T masked_gradient(T x, T dy, T scale, T shift) {
  if constexpr (kRelu) return T(x * scale + shift > T(0)) * dy;
  else return dy;
}

template <bool kRelu, typename T>
void apply(const T* x, int n, int c, std::ptrdiff_t s, const T* scale, const T* shift, T* y) {
  for (int i = 0; i < n; ++i)
    for (int ch = 0; ch < c; ++ch) {
      const std::ptrdiff_t at = (std::ptrdiff_t(i) * c + ch) * s;
      const T a = scale[ch], b = shift[ch];
      if constexpr (kSimdPlanes<T>) {
        vector_plane::apply<kRelu>(x + at, s, a, b, y + at);
        continue;
      }
      for (std::ptrdiff_t k = 0; k < s; ++k) {
        const T v = x[at + k] * a + b;
        y[at + k] = kRelu && v < T(0) ? T(0) : v;  // NaN passes, as the ReLU layer's
      }
    }
}

template <bool kRelu, typename T>
void backward_sums(const T* x, const T* dy, int n, int c, std::ptrdiff_t s, const T* mean, const T* inv_std,
                   const T* scale, const T* shift, double* sum_dy, double* sum_dy_xhat) {
  // Each plane's sums run in T, in kPlaneLanes chains of at most a few hundred values (a 44x44
  // plane), and are added to the double totals plane by plane: the float conversions of a
  // double chain per value made this pass bound by them (the forward's statistics keep their
  // double chains: their E[d^2] - E[d]^2 needs the digits).
  constexpr int kPlaneLanes = 16;
  for (int i = 0; i < n; ++i)
    for (int ch = 0; ch < c; ++ch) {
      const std::ptrdiff_t at = (std::ptrdiff_t(i) * c + ch) * s;
      const T* xs = x + at;
      const T* dys = dy + at;
      const T m = mean[ch], r = inv_std[ch], a = scale[ch], b = shift[ch];
      if constexpr (kSimdPlanes<T>) {
        vector_plane::backward_sums<kRelu>(xs, dys, s, m, r, a, b, sum_dy[ch], sum_dy_xhat[ch]);
        continue;
      }
      T acc_dy[kPlaneLanes] = {}, acc_dy_xhat[kPlaneLanes] = {};
      std::ptrdiff_t k = 0;
      for (; k + kPlaneLanes <= s; k += kPlaneLanes)
        for (int l = 0; l < kPlaneLanes; ++l) {
          const T xv = xs[k + l], g = masked_gradient<kRelu>(xv, dys[k + l], a, b);
          acc_dy[l] += g;
          acc_dy_xhat[l] += g * ((xv - m) * r);
        }
      for (int l = 0; k + l < s; ++l) {
        const T xv = xs[k + l], g = masked_gradient<kRelu>(xv, dys[k + l], a, b);
        acc_dy[l] += g;
        acc_dy_xhat[l] += g * ((xv - m) * r);
      }
      for (int l = 0; l < kPlaneLanes; ++l) {
        sum_dy[ch] += double(acc_dy[l]);
        sum_dy_xhat[ch] += double(acc_dy_xhat[l]);
      }
    }
}

template <bool kRelu, typename T>
void backward_apply(const T* x, const T* dy, int n, int c, std::ptrdiff_t s, const T* mean, const T* inv_std,
                    const T* scale, const T* shift, const T* a, const T* b, const T* c0, T* dx) {
  for (int i = 0; i < n; ++i)
    for (int ch = 0; ch < c; ++ch) {
      const std::ptrdiff_t at = (std::ptrdiff_t(i) * c + ch) * s;
      const T m = mean[ch], r = inv_std[ch], sa = scale[ch], sb = shift[ch], ga = a[ch], gb = b[ch], g0 = c0[ch];
      if constexpr (kSimdPlanes<T>) {
        vector_plane::backward_apply<kRelu>(x + at, dy + at, s, m, r, sa, sb, ga, gb, g0, dx + at);
        continue;
      }
      for (std::ptrdiff_t k = 0; k < s; ++k) {
        const T xv = x[at + k];
        dx[at + k] = ga * masked_gradient<kRelu>(xv, dy[at + k], sa, sb) + gb * ((xv - m) * r) + g0;
      }
    }
}
}  // namespace detail

template <typename T>
void batch_norm_forward_sums(const T* x, int n, int c, std::ptrdiff_t s, const double* origin, double* sum,
                             double* squares) {
  for (int i = 0; i < n; ++i)
    for (int ch = 0; ch < c; ++ch) {
      const T* xs = x + (std::ptrdiff_t(i) * c + ch) * s;
      const double o = origin[ch];
      // Planes of fewer than 64 values (6x6, 3x3) take the plain loop: the vector one's three lane
      // reductions per plane cost more there than the conversions they save.
      if constexpr (detail::kSimdPlanes<T>) {
        if (s >= 64) {
          detail::vector_plane::forward_sums(xs, s, o, sum[ch], squares[ch]);
          continue;
        }
      }
      detail::plane_sums(
          s, [xs, o](std::ptrdiff_t k) { return double(xs[k]) - o; },
          [xs, o](std::ptrdiff_t k) {
            const double d = double(xs[k]) - o;
            return d * d;
          },
          sum[ch], squares[ch]);
    }
}

template <typename T>
void batch_norm_apply(const T* x, int n, int c, std::ptrdiff_t s, const T* scale, const T* shift, bool relu, T* y) {
  if (relu) detail::apply<true>(x, n, c, s, scale, shift, y);
  else detail::apply<false>(x, n, c, s, scale, shift, y);
}

template <typename T>
void batch_norm_backward_sums(const T* x, const T* dy, int n, int c, std::ptrdiff_t s, const T* mean,
                              const T* inv_std, const T* scale, const T* shift, bool relu, double* sum_dy,
                              double* sum_dy_xhat) {
  if (relu) detail::backward_sums<true>(x, dy, n, c, s, mean, inv_std, scale, shift, sum_dy, sum_dy_xhat);
  else detail::backward_sums<false>(x, dy, n, c, s, mean, inv_std, scale, shift, sum_dy, sum_dy_xhat);
}

template <typename T>
void batch_norm_backward_apply(const T* x, const T* dy, int n, int c, std::ptrdiff_t s, const T* mean,
                               const T* inv_std, const T* scale, const T* shift, bool relu, const T* a, const T* b,
                               const T* c0, T* dx) {
  if (relu) detail::backward_apply<true>(x, dy, n, c, s, mean, inv_std, scale, shift, a, b, c0, dx);
  else detail::backward_apply<false>(x, dy, n, c, s, mean, inv_std, scale, shift, a, b, c0, dx);
}

}  // namespace minidnn::cpu::MINIDNN_ISA_NS
