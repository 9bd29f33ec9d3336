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

template <typename T>
void pointwise_forward(Pointwise f, const T* x, T* y, std::size_t n) {
  switch (f) {
    case Pointwise::relu:
      for (std::size_t i = 0; i < n; ++i) y[i] = x[i] < T(0) ? T(0) : x[i];
      break;
    case Pointwise::sigmoid:
      for (std::size_t i = 0; i < n; ++i) y[i] = T(1) / (T(1) + std::exp(-x[i]));
      break;
    case Pointwise::tanh:
      for (std::size_t i = 0; i < n; ++i) y[i] = std::tanh(x[i]);
      break;
    default:
      for (std::size_t i = 0; i < n; ++i) y[i] = x[i];
  }
}

template <typename T>
void pointwise_backward(Pointwise f, const T* y, const T* dy, T* dx, std::size_t n) {
  switch (f) {
    case Pointwise::relu:
      // dy is loaded whatever y is: a conditional load keeps the compiler from vectorizing, and
      // the branch it leaves mispredicts on half the values of a ReLU's output.
      for (std::size_t i = 0; i < n; ++i) {
        const T g = dy[i];
        dx[i] = y[i] > T(0) ? g : T(0);
      }
      break;
    case Pointwise::sigmoid:
      for (std::size_t i = 0; i < n; ++i) dx[i] = dy[i] * y[i] * (T(1) - y[i]);
      break;
    case Pointwise::tanh:
      for (std::size_t i = 0; i < n; ++i) dx[i] = dy[i] * (T(1) - y[i] * y[i]);
      break;
    default:
      for (std::size_t i = 0; i < n; ++i) dx[i] = dy[i];
  }
}

}  // namespace minidnn::ops
