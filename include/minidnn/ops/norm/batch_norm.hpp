#pragma once
/// \file
/// Batch normalization over the channels of an (N, C, S) batch: S = H*W after a convolution, S = 1
/// after a dense layer (each feature is its own channel). Statistics are taken over the N*S values
/// of a channel; the variance is the biased one (divided by M = N*S), as Keras's.
///
///   training forward, per channel c:
///     mean_c = sum(x) / M ;  var_c = sum((x - mean_c)^2) / M ;  inv_std_c = 1 / sqrt(var_c + eps)
///     xhat = (x - mean_c) * inv_std_c ;  y = gamma_c * xhat + beta_c = x * scale_c + shift_c
///   training backward (mean and var depend on x):
///     dbeta_c = sum(dy) ;  dgamma_c = sum(dy * xhat)
///     dx = gamma_c * inv_std_c / M * (M * dy - dbeta_c - xhat * dgamma_c)
///   inference forward (moving statistics are constants): y = x * scale_c + shift_c with
///     scale_c = gamma_c / sqrt(moving_var_c + eps),  shift_c = beta_c - moving_mean_c * scale_c
///
/// A ReLU after the normalization (Keras's BatchNormalization then Activation("relu")) can run
/// in the same passes: the training forward writes z = max(y, 0) instead of y, and the backward
/// takes dz, the gradient of z, and masks it by y > 0 itself (y recomputed from x with the
/// forward's scale and shift, bit for bit), where a separate ReLU layer would read z and dz and
/// write dy. That saves two passes of the forward's five and three of the backward's eight.
///
/// The functions work on a block of n consecutive samples, in memory order (sample, channel,
/// position): the layer cuts the batch into blocks and runs them on its threads. (Walking one
/// channel at a time reads N planes of S values C*S apart; the hardware prefetcher restarts at
/// each, and the training forward ran 2.5x slower on mini-Xception's first layer.) The sums of a
/// block are added to per-channel double totals: a float sum over M = 256 * 48 * 48 values would
/// lose digits. Within a plane the forward's run in kLanes independent double chains (one chain
/// waits ~4 cycles on each add, several let the compiler vectorize the loop); the backward's in
/// float vectors (Simd<float>), each plane's total then added in double. The
/// training forward reads x twice (both sums, then y), the backward reads x and dy twice (both
/// sums, then dx).
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <type_traits>

#include "minidnn/cpu/isa.hpp"
#include "minidnn/cpu/simd.hpp"
#include "minidnn/ops/activation/pointwise.hpp"

#define MINIDNN_PER_ISA_FILE "minidnn/ops/norm/batch_norm-inl.hpp"
#include "minidnn/cpu/for_each_isa.hpp"

namespace minidnn::ops {

/// Whether the passes can apply `f` after the normalization (linear: none, or relu).
inline bool fuses_after_batch_norm(Pointwise f) { return f == Pointwise::linear || f == Pointwise::relu; }

/// Adds to sum[c] and squares[c] the sums of d = x - origin[c] and of d^2 over channel c of an
/// (n, C, S) block. Shifted by a value of the channel (`origin`), the variance as
/// E[d^2] - E[d]^2 keeps its digits in double unless the mean lies ~1e4 standard deviations from
/// it (two passes, for the mean and then the squares, would read x twice).
template <typename T>
void batch_norm_forward_sums(const T* x, int n, int c, std::ptrdiff_t s, const double* origin, double* sum,
                             double* squares) {
  MINIDNN_DISPATCH(batch_norm_forward_sums<T>(x, n, c, s, origin, sum, squares));
}

/// y = x * scale[c] + shift[c] over an (n, C, S) block, then a ReLU if `relu` (y may be x).
template <typename T>
void batch_norm_apply(const T* x, int n, int c, std::ptrdiff_t s, const T* scale, const T* shift, bool relu, T* y) {
  MINIDNN_DISPATCH(batch_norm_apply<T>(x, n, c, s, scale, shift, relu, y));
}

/// Adds to sum_dy[c] and sum_dy_xhat[c] the sums of g and of g * xhat over channel c of an
/// (n, C, S) block, xhat = (x - mean[c]) * inv_std[c] and g = dy, or with `relu` dy where
/// x * scale[c] + shift[c] > 0 (dy being the gradient of the ReLU's output).
template <typename T>
void batch_norm_backward_sums(const T* x, const T* dy, int n, int c, std::ptrdiff_t s, const T* mean,
                              const T* inv_std, const T* scale, const T* shift, bool relu, double* sum_dy,
                              double* sum_dy_xhat) {
  MINIDNN_DISPATCH(batch_norm_backward_sums<T>(x, dy, n, c, s, mean, inv_std, scale, shift, relu, sum_dy, sum_dy_xhat));
}

/// dx = a[c] * g + b[c] * xhat + c0[c] over an (n, C, S) block, g and xhat as in
/// batch_norm_backward_sums (dx may be dy).
template <typename T>
void batch_norm_backward_apply(const T* x, const T* dy, int n, int c, std::ptrdiff_t s, const T* mean,
                               const T* inv_std, const T* scale, const T* shift, bool relu, const T* a, const T* b,
                               const T* c0, T* dx) {
  MINIDNN_DISPATCH(batch_norm_backward_apply<T>(x, dy, n, c, s, mean, inv_std, scale, shift, relu, a, b, c0, dx));
}

/// The training forward's y = x * scale + shift from the T mean and inv_std the backward also
/// gets: it recomputes y for the ReLU's mask with the same bits.
template <typename T>
void batch_norm_train_coefficients(T gamma, T beta, T mean, T inv_std, T& scale, T& shift) {
  scale = gamma * inv_std;
  shift = beta - mean * scale;
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
