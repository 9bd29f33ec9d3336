#pragma once
// Shared by the benchmark programs.
#include "minidnn/layers/conv2d.hpp"
#include "minidnn/layers/dense.hpp"

namespace minidnn::bench {

/// Multiply-accumulates per sample of a Conv2D or Dense layer's forward pass (0 for the others).
inline double forward_macs(Layer<float>& layer) {
  if (auto* conv = dynamic_cast<Conv2D<float>*>(&layer))
    return double(layer.output_shape().size()) * conv->geometry().col_rows();
  if (dynamic_cast<Dense<float>*>(&layer))
    return double(layer.input_shape().size()) * double(layer.output_shape().size());
  return 0.0;
}

}  // namespace minidnn::bench
