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

/// The gradient of y at x: dy itself, or under a ReLU dy where x * scale + shift > 0. As a
/// multiply by the 0/1 mask: GCC 12 vectorizes plane_sums' lane loop with that, not with a
/// select. (A non-finite dy where y <= 0 then gives NaN rather than 0; a non-finite gradient
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
