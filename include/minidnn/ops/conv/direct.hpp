#pragma once
/// \file
/// Direct convolution forward for layers with few input values per output, such as the seed
/// model's conv1 (1 channel, 5x5: 25 multiply-adds per output).
///
/// im2col + GEMM would write a column matrix 25x the input's size, pack it, multiply with a
/// k of only 25 and then make a second pass over the output for bias and ReLU. Here the input
/// rows are read in place: a register tile of up to 8 filters x 3 vectors of adjacent output
/// columns starts from the bias, takes one fused multiply-add per filter for each input vector
/// (one load per kernel tap), and is stored once, activated.
///
/// The tiles are written once with cpu::Simd (ops/conv/direct-inl.hpp) and compiled per
/// instruction set; direct_conv_forward runs the active one.
///
/// Stride 1 and no padding only (conv1 of the seed model); Conv2D uses this where it applies
/// and the column matrix is short (see direct_conv_applies).
#include <algorithm>
#include <cstddef>

#include "minidnn/cpu/simd.hpp"
#include "minidnn/ops/activation.hpp"
#include "minidnn/ops/conv/geometry.hpp"

namespace minidnn {

/// Inputs per output (channels x kernel taps) up to which the direct forward beats im2col + GEMM.
inline constexpr int kDirectConvMaxTaps = 32;

/// True when direct_conv_forward computes this convolution and is the faster way.
inline bool direct_conv_applies(const ConvGeometry& g) {
  return g.stride_h == 1 && g.stride_w == 1 && g.pad_h == 0 && g.pad_w == 0 &&
         g.col_rows() <= kDirectConvMaxTaps;
}

}  // namespace minidnn

#define MINIDNN_PER_ISA_FILE "minidnn/ops/conv/direct-inl.hpp"
#include "minidnn/cpu/for_each_isa.hpp"

namespace minidnn {

/// y (filters, out_h, out_w) = activation(conv(x, kernel) + bias) for one sample x (C, H, W);
/// kernel (filters, C, kh, kw). Requires direct_conv_applies(g).
template <typename T>
void direct_conv_forward(const ConvGeometry& g, int filters, const T* x, const T* kernel, const T* bias,
                         Activation activation, T* y) {
  MINIDNN_DISPATCH(direct_conv_forward<T>(g, filters, x, kernel, bias, activation, y));
}

}  // namespace minidnn
