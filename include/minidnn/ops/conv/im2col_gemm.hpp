#pragma once
/// \file
/// Im2colGemmConv: a 2-D convolution as im2col + GEMM, for any kernel, stride and padding, with its
/// per-thread workspaces (sized on first use, then reused).
///
/// Per sample n, with P = out_h*out_w output positions and K = C*kh*kw:
///     col   (K x P)   = im2col(x_n)
///     y_n   (F x P)   = kernel (F x K) * col + bias          then activation
///   backward:
///     dW    (F x K)  += dy_n (F x P) * col^T                 summed over the batch
///     db    (F)      += row sums of dy_n
///     dcol  (K x P)   = kernel^T * dy_n ;  dx_n = col2im(dcol)
/// Samples are spread over OpenMP threads; each thread owns its col/dcol/dW workspaces, and the
/// per-thread weight gradients are summed in thread order, so results do not depend on timing.
///
/// The column matrix of a sample is built and consumed in blocks of whole input channels (rows
/// [c0*kh*kw, c1*kh*kw) of col, kColumnBlockBytes at most), not all at once: the seed model's
/// conv2 has a full col of 1600 x 324 floats = 2 MB, more than a 1 MB L2 cache, so im2col would
/// write it out to L3 and the GEMM's packing would read it back from there. A block stays in L2
/// between im2col, the GEMM that reads it and (backward) col2im. The products split along K:
///     y_n   = sum over blocks  kernel[:, block] * col[block]          (beta = 1 after the first)
///     dW[:, block] += dy_n * col[block]^T ;  dcol[block] = kernel[:, block]^T * dy_n
/// A 1x1, stride-1, unpadded (pointwise) convolution reads its input directly as col.
#include <algorithm>
#include <cstddef>
#include <vector>

#include "minidnn/core/aligned_vector.hpp"
#include "minidnn/core/parallel.hpp"
#include "minidnn/core/tensor.hpp"
#include "minidnn/ops/activation.hpp"
#include "minidnn/ops/conv/geometry.hpp"
#include "minidnn/ops/conv/im2col.hpp"
#include "minidnn/ops/gemm.hpp"
#include "minidnn/ops/row_sums.hpp"

namespace minidnn {

template <typename T>
class Im2colGemmConv {
 public:
  /// Size bound of one column block: with the GEMM's packed copy of it (about as large) and the
  /// backward's dcol block it stays within a 1 MB L2 cache.
  static constexpr std::size_t kColumnBlockBytes = 256 * 1024;

  Im2colGemmConv() = default;
  Im2colGemmConv(const ConvGeometry& g, int filters) : g_(g), filters_(filters) {
    const std::size_t per_channel = sizeof(T) * static_cast<std::size_t>(g.kernel_h) * g.kernel_w * g.col_cols();
    block_channels_ = static_cast<int>(std::clamp<std::size_t>(kColumnBlockBytes / per_channel, 1, g.channels));
  }

  /// Values of scratch forward_sample needs: one column block (none for a pointwise convolution).
  std::size_t sample_scratch_size() const { return is_pointwise() ? 0 : column_block_size(); }

  /// y (F x P) = activation(kernel (F x K) * im2col(x) + bias) for one sample x (C, H, W), with
  /// `scratch` of sample_scratch_size() values. Allocates nothing; safe to call from many threads.
  void forward_sample(const T* x, const T* kernel, const T* bias, Activation activation, T* y, T* scratch) const {
    const int k = g_.col_rows(), p = g_.col_cols();
    if (is_pointwise()) {
      gemm<T>(Transpose::no, Transpose::no, filters_, p, k, T(1), kernel, k, x, p, T(0), y, p);
    } else {
      T* col = scratch;  // (block rows x P)
      for (int c0 = 0; c0 < g_.channels; c0 += block_channels_) {
        const ConvGeometry block = channel_block(c0);
        const int rows = block.col_rows(), row0 = c0 * g_.kernel_h * g_.kernel_w;
        im2col(block, x + channel_offset(c0), col);
        gemm<T>(Transpose::no, Transpose::no, filters_, p, rows, T(1), kernel + row0, k, col, p, T(c0 == 0 ? 0 : 1),
                y, p);
      }
    }
    add_to_rows(bias, filters_, static_cast<std::size_t>(p), y);
    apply_activation(activation, y, static_cast<std::size_t>(filters_) * p);
  }

  /// The batch's forward, samples spread over threads. y sized by the caller.
  void forward(const Tensor<T>& x, const T* kernel, const T* bias, Activation activation, Tensor<T>& y) {
    reserve(/*backward=*/false);
    const int batch = x.batch();
#pragma omp parallel for schedule(static) if (batch > 1)
    for (int n = 0; n < batch; ++n)
      forward_sample(x.sample(n), kernel, bias, activation, y.sample(n),
                     is_pointwise() ? nullptr : col_[thread_index()].data());
  }

  /// From dy (gradient of the activated output y; masked in place by `activation`'s derivative
  /// at y): dkernel (F x K) and dbias (F) overwritten; dx overwritten unless null.
  void backward(const Tensor<T>& x, const Tensor<T>& y, Activation activation, const T* kernel, Tensor<T>& dy,
                T* dkernel, T* dbias, Tensor<T>* dx) {
    reserve(/*backward=*/true);
    const int batch = x.batch();
    const int k = g_.col_rows(), p = g_.col_cols();
    int team = 1;
#pragma omp parallel if (batch > 1)
    {
      const int t = thread_index();
#pragma omp single nowait
      team = team_size();
      T* dkernel_t = dkernel_[t].data();  // (F x K), this thread's share of the batch
      T* dbias_t = dbias_[t].data();      // (F)
      std::fill(dkernel_t, dkernel_t + static_cast<std::size_t>(filters_) * k, T(0));
      std::fill(dbias_t, dbias_t + filters_, T(0));
#pragma omp for schedule(static)
      for (int n = 0; n < batch; ++n) {
        T* dy_n = dy.sample(n);  // (F x P)
        // Per sample, inside the parallel loop: the masked gradient is then still in cache for
        // the sums and products below.
        activation_backward(activation, y.sample(n), dy_n, dy.sample_size());
        add_row_sums(dy_n, filters_, p, p, dbias_t);
        T* dx_n = dx ? dx->sample(n) : nullptr;
        if (is_pointwise()) {
          gemm<T>(Transpose::no, Transpose::yes, filters_, k, p, T(1), dy_n, p, x.sample(n), p, T(1), dkernel_t, k);
          if (dx_n) gemm<T>(Transpose::yes, Transpose::no, k, p, filters_, T(1), kernel, k, dy_n, p, T(0), dx_n, p);
          continue;
        }
        T* col = col_[t].data();    // (block rows x P)
        T* dcol = dcol_[t].data();  // (block rows x P)
        if (dx_n) std::fill(dx_n, dx_n + dx->sample_size(), T(0));
        for (int c0 = 0; c0 < g_.channels; c0 += block_channels_) {
          const ConvGeometry block = channel_block(c0);
          const int rows = block.col_rows(), row0 = c0 * g_.kernel_h * g_.kernel_w;
          im2col(block, x.sample(n) + channel_offset(c0), col);
          gemm<T>(Transpose::no, Transpose::yes, filters_, rows, p, T(1), dy_n, p, col, p, T(1), dkernel_t + row0, k);
          if (dx_n) {
            gemm<T>(Transpose::yes, Transpose::no, rows, p, filters_, T(1), kernel + row0, k, dy_n, p, T(0), dcol, p);
            col2im_add(block, dcol, dx_n + channel_offset(c0));
          }
        }
      }
    }
    // The per-thread shares summed in thread order: deterministic for a given thread count.
    sum_thread_shares(dkernel_, team, static_cast<std::size_t>(filters_) * k, dkernel);
    sum_thread_shares(dbias_, team, static_cast<std::size_t>(filters_), dbias);
  }

 private:
  bool is_pointwise() const {
    return g_.kernel_h == 1 && g_.kernel_w == 1 && g_.stride_h == 1 && g_.stride_w == 1 && g_.pad_h == 0 &&
           g_.pad_w == 0;
  }
  // The geometry of input channels [c0, c0 + block_channels_) (fewer for the last block).
  ConvGeometry channel_block(int c0) const {
    ConvGeometry block = g_;
    block.channels = std::min(block_channels_, g_.channels - c0);
    return block;
  }
  std::size_t channel_offset(int c0) const { return static_cast<std::size_t>(c0) * g_.height * g_.width; }
  std::size_t column_block_size() const {
    return static_cast<std::size_t>(channel_block(0).col_rows()) * g_.col_cols();
  }

  // Grows the per-thread workspaces to their final size once; later calls find them sized.
  void reserve(bool backward) {
    const int threads = max_threads();
    auto grow = [&](std::vector<AlignedVector<T>>& buffers, std::size_t size) {
      if (buffers.size() < static_cast<std::size_t>(threads)) buffers.resize(threads);
      for (auto& b : buffers)
        if (b.size() < size) b.resize(size);
    };
    if (!is_pointwise()) grow(col_, column_block_size());
    if (backward) {
      if (!is_pointwise()) grow(dcol_, column_block_size());
      grow(dkernel_, static_cast<std::size_t>(filters_) * g_.col_rows());
      grow(dbias_, filters_);
    }
  }

  ConvGeometry g_{};
  int filters_ = 0;
  int block_channels_ = 1;  // input channels per column block
  std::vector<AlignedVector<T>> col_, dcol_, dkernel_, dbias_;  // per thread, by OpenMP thread number
};

}  // namespace minidnn
