#pragma once
/// \file
/// Weight initializers, as Keras's defaults: Glorot-uniform kernels and zero biases.
#include <cmath>

#include "minidnn/core/aligned_vector.hpp"
#include "minidnn/core/random.hpp"

namespace minidnn {

/// Fills `values` uniformly in [-limit, limit], limit = sqrt(6 / (fan_in + fan_out)).
template <typename T>
void glorot_uniform(AlignedVector<T>& values, double fan_in, double fan_out, Rng& rng) {
  const double limit = std::sqrt(6.0 / (fan_in + fan_out));
  for (auto& v : values) v = static_cast<T>(rng.uniform(-limit, limit));
}

}  // namespace minidnn
