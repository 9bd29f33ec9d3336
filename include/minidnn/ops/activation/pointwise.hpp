#pragma once
/// \file
/// Element-wise activations as Keras's Activation layer names them, forward and backward over n
/// values. Backward turns dy into dx from the forward's output y (all four are functions of it):
///   relu     y = max(x, 0)             dx = dy * (y > 0)         (NaN passes through, as PyTorch)
///   sigmoid  y = 1 / (1 + exp(-x))     dx = dy * y * (1 - y)
///   tanh     y = tanh(x)               dx = dy * (1 - y^2)
///   linear   y = x                     dx = dy
#include <cmath>
#include <cstddef>
#include <string>

#include "minidnn/core/error.hpp"
#include "minidnn/cpu/isa.hpp"

namespace minidnn::ops {

enum class Pointwise { linear, relu, sigmoid, tanh };

inline std::string to_string(Pointwise f) {
  switch (f) {
    case Pointwise::relu: return "relu";
    case Pointwise::sigmoid: return "sigmoid";
    case Pointwise::tanh: return "tanh";
    default: return "linear";
  }
}
/// The function Keras calls `name`; throws minidnn::Error naming it if there is none here.
inline Pointwise pointwise_from_name(const std::string& name) {
  for (Pointwise f : {Pointwise::linear, Pointwise::relu, Pointwise::sigmoid, Pointwise::tanh})
    if (to_string(f) == name) return f;
  fail("unknown activation '", name, "' (known: linear, relu, sigmoid, tanh)");
}

}  // namespace minidnn::ops

#define MINIDNN_PER_ISA_FILE "minidnn/ops/activation/pointwise-inl.hpp"
#include "minidnn/cpu/for_each_isa.hpp"

namespace minidnn::ops {

/// y = f(x) over n values.
template <typename T>
void pointwise_forward(Pointwise f, const T* x, T* y, std::size_t n) {
  MINIDNN_DISPATCH(pointwise_forward<T>(f, x, y, n));
}

/// dx = dy * f'(x) over n values, from the forward's output y (dx may be dy).
template <typename T>
void pointwise_backward(Pointwise f, const T* y, const T* dy, T* dx, std::size_t n) {
  MINIDNN_DISPATCH(pointwise_backward<T>(f, y, dy, dx, n));
}

}  // namespace minidnn::ops
