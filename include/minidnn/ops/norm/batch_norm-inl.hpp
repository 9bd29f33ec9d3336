// No include guard: compiled once per instruction set by ops/norm/batch_norm.hpp.
/// \file
/// The per-channel batch normalization loops (see ops/norm/batch_norm.hpp), plain C++ that the
/// compiler vectorizes for the instruction set being compiled: the double sums run 4 (AVX2) or 8
/// (AVX-512) lanes wide instead of SSE2's 2.

namespace minidnn::cpu::MINIDNN_ISA_NS {

namespace detail {
constexpr int kLanes = 8;

/// Adds sum a(i, k) to sa and sum b(i, k) to sb over a channel's planes i in [0, n) and positions
/// k in [0, s), in kLanes independent double chains each, kept across the planes: on small planes
/// (6x6) a reduction per plane would cost as much as the plane.
template <typename A, typename B>
void channel_sums(int n, std::ptrdiff_t s, A&& a, B&& b, double& sa, double& sb) {
  double acc_a[kLanes] = {}, acc_b[kLanes] = {};
  for (int i = 0; i < n; ++i) {
    std::ptrdiff_t k = 0;
    for (; k + kLanes <= s; k += kLanes)
      for (int l = 0; l < kLanes; ++l) {
        acc_a[l] += a(i, k + l);
        acc_b[l] += b(i, k + l);
      }
    for (int l = 0; k + l < s; ++l) {
      acc_a[l] += a(i, k + l);
      acc_b[l] += b(i, k + l);
    }
  }
  for (int l = 0; l < kLanes; ++l) {
    sa += acc_a[l];
    sb += acc_b[l];
  }
}
}  // namespace detail

/// y = x * scale + shift over one channel (N planes of S, `stride` apart): the inference forward,
/// with batch_norm_inference_coefficients' scale and shift.
template <typename T>
void batch_norm_channel_inference(const T* x, int n, std::ptrdiff_t stride, std::ptrdiff_t s, T scale, T shift, T* y) {
  for (int i = 0; i < n; ++i) {
    const T* xs = x + i * stride;
    T* ys = y + i * stride;
    for (std::ptrdiff_t k = 0; k < s; ++k) ys[k] = xs[k] * scale + shift;
  }
}

/// One channel's training forward: x, y (N planes of S, `stride` apart); writes its batch mean,
/// variance and inverse standard deviation, and y.
template <typename T>
void batch_norm_channel_forward_train(const T* x, int n, std::ptrdiff_t stride, std::ptrdiff_t s, T gamma, T beta,
                                      T epsilon, T& mean, T& var, T& inv_std, T* y) {
  const double m = double(n) * double(s);
  // One pass for both sums, of x - x[0]: shifted by a value of the channel, the variance as
  // E[d^2] - E[d]^2 keeps its digits in double unless the mean lies ~1e4 standard deviations
  // from that value (two passes, for the mean and then the squares, read x twice).
  const double shift0 = double(x[0]);
  double sum = 0.0, squares = 0.0;
  detail::channel_sums(
      n, s, [x, stride, shift0](int i, std::ptrdiff_t k) { return double(x[i * stride + k]) - shift0; },
      [x, stride, shift0](int i, std::ptrdiff_t k) {
        const double d = double(x[i * stride + k]) - shift0;
        return d * d;
      },
      sum, squares);
  const double mean_shifted = sum / m;
  const double mu = shift0 + mean_shifted;
  const double variance = std::max(0.0, squares / m - mean_shifted * mean_shifted);
  const double istd = 1.0 / std::sqrt(variance + double(epsilon));
  mean = T(mu);
  var = T(variance);
  inv_std = T(istd);
  const T scale = T(double(gamma) * istd), shift = T(double(beta) - mu * double(gamma) * istd);
  batch_norm_channel_inference(x, n, stride, s, scale, shift, y);
}

/// One channel's training backward from its x, mean and inv_std; dy is read. Writes dgamma,
/// dbeta and, if dx is not null, dx.
template <typename T>
void batch_norm_channel_backward_train(const T* x, const T* dy, int n, std::ptrdiff_t stride, std::ptrdiff_t s,
                                       T gamma, T mean, T inv_std, T& dgamma, T& dbeta, T* dx) {
  const double m = double(n) * double(s);
  double sum_dy = 0.0, sum_dy_xhat = 0.0;
  detail::channel_sums(
      n, s, [dy, stride](int i, std::ptrdiff_t k) { return double(dy[i * stride + k]); },
      [x, dy, stride, mean, inv_std](int i, std::ptrdiff_t k) {
        const std::ptrdiff_t j = i * stride + k;
        return double(dy[j] * ((x[j] - mean) * inv_std));
      },
      sum_dy, sum_dy_xhat);
  dbeta = T(sum_dy);
  dgamma = T(sum_dy_xhat);
  if (!dx) return;
  // dx = a * dy + b * xhat + c0, one multiply-add chain per element.
  const T a = T(double(gamma) * inv_std);
  const T b = T(-double(gamma) * inv_std * sum_dy_xhat / m);
  const T c0 = T(-double(gamma) * inv_std * sum_dy / m);
  for (int i = 0; i < n; ++i) {
    const T* xs = x + i * stride;
    const T* dys = dy + i * stride;
    T* dxs = dx + i * stride;
    for (std::ptrdiff_t k = 0; k < s; ++k) dxs[k] = a * dys[k] + b * ((xs[k] - mean) * inv_std) + c0;
  }
}

}  // namespace minidnn::cpu::MINIDNN_ISA_NS
