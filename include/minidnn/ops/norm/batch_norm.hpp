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
/// values would lose digits. They run in kLanes independent chains (detail::channel_sums): one
/// chain of double additions waits ~4 cycles on each add, several let the compiler vectorize the
/// loop and keep it bound by memory. The training forward reads x twice (both sums in one pass,
/// then y), the backward reads x and dy twice (both sums, then dx).
#include <algorithm>
#include <cmath>
#include <cstddef>

#include "minidnn/cpu/isa.hpp"

#define MINIDNN_PER_ISA_FILE "minidnn/ops/norm/batch_norm-inl.hpp"
#include "minidnn/cpu/for_each_isa.hpp"

namespace minidnn::ops {

/// y = x * scale + shift over one channel (N planes of S, `stride` apart): the inference forward,
/// with batch_norm_inference_coefficients' scale and shift.
template <typename T>
void batch_norm_channel_inference(const T* x, int n, std::ptrdiff_t stride, std::ptrdiff_t s, T scale, T shift, T* y) {
  MINIDNN_DISPATCH(batch_norm_channel_inference<T>(x, n, stride, s, scale, shift, y));
}

/// One channel's training forward: x, y (N planes of S, `stride` apart); writes its batch mean,
/// variance and inverse standard deviation, and y.
template <typename T>
void batch_norm_channel_forward_train(const T* x, int n, std::ptrdiff_t stride, std::ptrdiff_t s, T gamma, T beta,
                                      T epsilon, T& mean, T& var, T& inv_std, T* y) {
  MINIDNN_DISPATCH(batch_norm_channel_forward_train<T>(x, n, stride, s, gamma, beta, epsilon, mean, var, inv_std, y));
}

/// One channel's training backward from its x, mean and inv_std; dy is read. Writes dgamma,
/// dbeta and, if dx is not null, dx.
template <typename T>
void batch_norm_channel_backward_train(const T* x, const T* dy, int n, std::ptrdiff_t stride, std::ptrdiff_t s,
                                       T gamma, T mean, T inv_std, T& dgamma, T& dbeta, T* dx) {
  MINIDNN_DISPATCH(batch_norm_channel_backward_train<T>(x, dy, n, stride, s, gamma, mean, inv_std, dgamma, dbeta, dx));
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
