#pragma once
/// \file
/// Batch normalization over the channels of an (N, C, S) batch: S = H*W after a convolution, S = 1
/// after a dense layer (each feature is its own channel). Statistics are taken over the N*S values
/// of a channel; the variance is the biased one (divided by M = N*S), as Keras's.
///
///   training forward, per channel c:
///     mean_c = sum(x) / M ;  var_c = sum((x - mean_c)^2) / M ;  inv_std_c = 1 / sqrt(var_c + eps)
///     xhat = (x - mean_c) * inv_std_c ;  y = gamma_c * xhat + beta_c
///   training backward (mean and var depend on x):
///     dbeta_c = sum(dy) ;  dgamma_c = sum(dy * xhat)
///     dx = gamma_c * inv_std_c / M * (M * dy - dbeta_c - xhat * dgamma_c)
///   inference forward (moving statistics are constants): y = x * scale_c + shift_c with
///     scale_c = gamma_c / sqrt(moving_var_c + eps),  shift_c = beta_c - moving_mean_c * scale_c
///
/// The functions work on one channel: its N planes of S values, `stride` = C*S apart in the
/// batch. The layer runs them over the channels in parallel (each channel owns its statistics
/// and its part of dx). Channel sums accumulate in double: a float sum over M = 256 * 48 * 48
/// values would lose digits. Each plane's sums run in kLanes independent chains (detail::lane_sums):
/// one chain of double additions waits ~4 cycles on each add, several let the compiler vectorize
/// the loop and keep it bound by memory.
#include <cmath>
#include <cstddef>

namespace minidnn::ops {

namespace detail {
constexpr int kLanes = 8;

/// sum_k a(k) over k in [0, s), in kLanes independent double chains.
template <typename A>
double lane_sum(std::ptrdiff_t s, A&& a) {
  double acc[kLanes] = {};
  std::ptrdiff_t k = 0;
  for (; k + kLanes <= s; k += kLanes)
    for (int l = 0; l < kLanes; ++l) acc[l] += a(k + l);
  for (; k < s; ++k) acc[0] += a(k);
  double total = 0.0;
  for (int l = 0; l < kLanes; ++l) total += acc[l];
  return total;
}

/// Adds sum_k a(k) to sa and sum_k b(k) to sb over k in [0, s), in kLanes chains each.
template <typename A, typename B>
void lane_sums(std::ptrdiff_t s, A&& a, B&& b, double& sa, double& sb) {
  double acc_a[kLanes] = {}, acc_b[kLanes] = {};
  std::ptrdiff_t k = 0;
  for (; k + kLanes <= s; k += kLanes)
    for (int l = 0; l < kLanes; ++l) {
      acc_a[l] += a(k + l);
      acc_b[l] += b(k + l);
    }
  for (; k < s; ++k) {
    acc_a[0] += a(k);
    acc_b[0] += b(k);
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
  double sum = 0.0;
  for (int i = 0; i < n; ++i) {
    const T* xs = x + i * stride;
    sum += detail::lane_sum(s, [xs](std::ptrdiff_t k) { return double(xs[k]); });
  }
  const double mu = sum / m;
  double squares = 0.0;
  for (int i = 0; i < n; ++i) {
    const T* xs = x + i * stride;
    squares += detail::lane_sum(s, [xs, mu](std::ptrdiff_t k) {
      const double d = double(xs[k]) - mu;
      return d * d;
    });
  }
  const double variance = squares / m;
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
  for (int i = 0; i < n; ++i) {
    const T* xs = x + i * stride;
    const T* dys = dy + i * stride;
    detail::lane_sums(
        s, [dys](std::ptrdiff_t k) { return double(dys[k]); },
        [xs, dys, mean, inv_std](std::ptrdiff_t k) { return double(dys[k] * ((xs[k] - mean) * inv_std)); }, sum_dy,
        sum_dy_xhat);
  }
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

/// scale_c = gamma_c / sqrt(moving_var_c + eps), shift_c = beta_c - moving_mean_c * scale_c (C).
template <typename T>
void batch_norm_inference_coefficients(int c, const T* gamma, const T* beta, const T* moving_mean,
                                       const T* moving_var, T epsilon, T* scale, T* shift) {
  for (int ch = 0; ch < c; ++ch) {
    const double a = double(gamma[ch]) / std::sqrt(double(moving_var[ch]) + double(epsilon));
    scale[ch] = T(a);
    shift[ch] = T(double(beta[ch]) - double(moving_mean[ch]) * a);
  }
}

/// moving = moving * momentum + batch * (1 - momentum), Keras's update (C values).
template <typename T>
void update_moving_average(int c, T momentum, const T* batch, T* moving) {
  for (int ch = 0; ch < c; ++ch) moving[ch] = moving[ch] * momentum + batch[ch] * (T(1) - momentum);
}

}  // namespace minidnn::ops
