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
/// Channel sums accumulate in double: a float sum over M = 256 * 48 * 48 values would lose digits.
/// Channels are spread over OpenMP threads (each owns its statistics and its part of dx).
#include <cmath>
#include <cstddef>

namespace minidnn::ops {

/// x, y (N, C, S); gamma, beta (C); writes mean, var, inv_std (C) and y.
template <typename T>
void batch_norm_forward_train(const T* x, int n, int c, int s, const T* gamma, const T* beta, T epsilon,
                              T* mean, T* var, T* inv_std, T* y) {
  const std::ptrdiff_t plane = s, sample = std::ptrdiff_t(c) * s;
  const double m = double(n) * s;
#pragma omp parallel for schedule(static) if (std::ptrdiff_t(n) * sample > 32768)
  for (int ch = 0; ch < c; ++ch) {
    double sum = 0.0;
    for (int i = 0; i < n; ++i) {
      const T* xs = x + i * sample + ch * plane;
      for (std::ptrdiff_t k = 0; k < plane; ++k) sum += xs[k];
    }
    const double mu = sum / m;
    double squares = 0.0;
    for (int i = 0; i < n; ++i) {
      const T* xs = x + i * sample + ch * plane;
      for (std::ptrdiff_t k = 0; k < plane; ++k) {
        const double d = xs[k] - mu;
        squares += d * d;
      }
    }
    const double variance = squares / m;
    const double istd = 1.0 / std::sqrt(variance + double(epsilon));
    mean[ch] = T(mu);
    var[ch] = T(variance);
    inv_std[ch] = T(istd);
    const T scale = T(double(gamma[ch]) * istd), shift = T(double(beta[ch]) - mu * double(gamma[ch]) * istd);
    for (int i = 0; i < n; ++i) {
      const T* xs = x + i * sample + ch * plane;
      T* ys = y + i * sample + ch * plane;
      for (std::ptrdiff_t k = 0; k < plane; ++k) ys[k] = xs[k] * scale + shift;
    }
  }
}

/// The backward of batch_norm_forward_train, from its x, mean and inv_std. dy (N, C, S) is read;
/// writes dgamma, dbeta (C) and, if dx is not null, dx (N, C, S).
template <typename T>
void batch_norm_backward_train(const T* x, const T* dy, int n, int c, int s, const T* gamma, const T* mean,
                               const T* inv_std, T* dgamma, T* dbeta, T* dx) {
  const std::ptrdiff_t plane = s, sample = std::ptrdiff_t(c) * s;
  const double m = double(n) * s;
#pragma omp parallel for schedule(static) if (std::ptrdiff_t(n) * sample > 32768)
  for (int ch = 0; ch < c; ++ch) {
    const T mu = mean[ch], istd = inv_std[ch];
    double sum_dy = 0.0, sum_dy_xhat = 0.0;
    for (int i = 0; i < n; ++i) {
      const T* xs = x + i * sample + ch * plane;
      const T* dys = dy + i * sample + ch * plane;
      for (std::ptrdiff_t k = 0; k < plane; ++k) {
        sum_dy += dys[k];
        sum_dy_xhat += dys[k] * ((xs[k] - mu) * istd);
      }
    }
    dbeta[ch] = T(sum_dy);
    dgamma[ch] = T(sum_dy_xhat);
    if (!dx) continue;
    // dx = a * dy + b * xhat + c0, folded into one multiply-add per element.
    const T a = T(double(gamma[ch]) * istd);
    const T b = T(-double(gamma[ch]) * istd * sum_dy_xhat / m);
    const T c0 = T(-double(gamma[ch]) * istd * sum_dy / m);
    for (int i = 0; i < n; ++i) {
      const T* xs = x + i * sample + ch * plane;
      const T* dys = dy + i * sample + ch * plane;
      T* dxs = dx + i * sample + ch * plane;
      for (std::ptrdiff_t k = 0; k < plane; ++k) dxs[k] = a * dys[k] + b * ((xs[k] - mu) * istd) + c0;
    }
  }
}

/// y = x * scale_c + shift_c over (N, C, S): the inference forward, given
/// batch_norm_inference_coefficients' scale and shift.
template <typename T>
void batch_norm_forward_inference(const T* x, int n, int c, int s, const T* scale, const T* shift, T* y) {
  const std::ptrdiff_t plane = s, sample = std::ptrdiff_t(c) * s;
  for (int i = 0; i < n; ++i)
    for (int ch = 0; ch < c; ++ch) {
      const T* xs = x + i * sample + ch * plane;
      T* ys = y + i * sample + ch * plane;
      const T a = scale[ch], b = shift[ch];
      for (std::ptrdiff_t k = 0; k < plane; ++k) ys[k] = xs[k] * a + b;
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
