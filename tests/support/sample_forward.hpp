#pragma once
// A layer's inference run through its per-sample forward, for comparing against a reference.
#include <catch2/catch.hpp>

#include <limits>

#include "minidnn/core/aligned_vector.hpp"
#include "minidnn/core/tensor.hpp"
#include "minidnn/layers/layer.hpp"

namespace minidnn::test {

/// y (N, output_shape) from layer.forward_sample on each sample of x, with the scratch the layer
/// asks for (filled with NaN first, so that a forward reading scratch it did not write shows).
template <typename T>
Tensor<T> forward_by_samples(Layer<T>& layer, const Tensor<T>& x) {
  REQUIRE(layer.has_sample_forward(x.batch()));
  layer.prepare_sample_forward();
  AlignedVector<T> scratch(layer.sample_scratch_size(), std::numeric_limits<T>::quiet_NaN());
  Tensor<T> y(x.batch(), layer.output_shape());
  for (int n = 0; n < x.batch(); ++n) layer.forward_sample(x.sample(n), y.sample(n), scratch.empty() ? nullptr : scratch.data());
  return y;
}

}  // namespace minidnn::test
