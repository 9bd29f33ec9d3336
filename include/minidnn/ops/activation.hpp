#pragma once
/// \file
/// Activation: the element-wise activation a Conv2D or Dense layer can apply to its output in
/// the same pass (fused), instead of a separate ReLU layer and an extra trip through memory.
#include <string>

#include "minidnn/core/error.hpp"
#include "minidnn/ops/activation/pointwise.hpp"  // the loops, compiled per instruction set

namespace minidnn {

enum class Activation { linear, relu };

inline std::string to_string(Activation a) { return a == Activation::relu ? "relu" : "linear"; }

inline Activation activation_from_code(int code) {
  if (code == 0) return Activation::linear;
  if (code == 1) return Activation::relu;
  fail("unknown activation code ", code);
}
inline int activation_code(Activation a) { return a == Activation::relu ? 1 : 0; }

/// Applies `a` in place to n values. ReLU passes NaN through (as PyTorch does): a diverged
/// model must reach the loss as NaN, not as a healthy-looking zero.
template <typename T>
void apply_activation(Activation a, T* values, std::size_t n) {
  if (a != Activation::relu) return;
  MINIDNN_DISPATCH(relu_in_place<T>(values, n));
}

/// Turns dLoss/doutput into dLoss/dpreactivation in place, given the activated outputs.
template <typename T>
void activation_backward(Activation a, const T* outputs, T* grads, std::size_t n) {
  if (a != Activation::relu) return;
  MINIDNN_DISPATCH(relu_backward_in_place<T>(outputs, grads, n));
}

}  // namespace minidnn
