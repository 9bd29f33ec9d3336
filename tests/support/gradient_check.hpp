#pragma once
// Finite-difference gradient checks in double precision.
//
// For a layer f and a fixed random "upstream" tensor R, the scalar L(x, w) = sum(f(x; w) * R)
// has dL/dx = backward(grad_output = R) and dL/dw = the parameter grads. Each analytic entry is
// compared with the central difference (L(v + h) - L(v - h)) / 2h.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "minidnn/layers/layer.hpp"

namespace minidnn::test {

struct GradientErrors {
  double input = 0.0;       // largest relative error over the input entries checked
  double parameters = 0.0;  // largest relative error over the parameter entries checked
};

inline double relative_error(double analytic, double numeric) {
  return std::abs(analytic - numeric) / std::max(1.0, std::abs(analytic) + std::abs(numeric));
}

inline void fill_uniform(Tensor<double>& t, Rng& rng, double low = -1.0, double high = 1.0) {
  for (auto& v : t) v = rng.uniform(low, high);
}

/// Checks input and parameter gradients of an already built layer on a random batch.
/// `max_checks` bounds how many entries of each array are checked (spread evenly).
inline GradientErrors check_layer_gradients(Layer<double>& layer, int batch, Mode mode = Mode::train,
                                            std::uint64_t seed = 7, std::size_t max_checks = 400) {
  Rng rng(seed);
  Tensor<double> x(batch, layer.input_shape());
  fill_uniform(x, rng);
  // Non-zero biases exercise the bias path of fused activations too.
  for (auto* p : layer.parameters())
    if (p->name == "bias")
      for (auto& b : p->value) b = rng.uniform(-0.5, 0.5);
  Tensor<double> upstream(batch, layer.output_shape());
  fill_uniform(upstream, rng);

  // Layers with random state (Dropout) must see the same randomness in every evaluation.
  BinaryWriter state;
  layer.write_state(state);
  auto restore_state = [&] {
    BinaryReader in(state.bytes().data(), state.bytes().size(), "layer state");
    layer.read_state(in);
  };

  Tensor<double> y;
  auto objective = [&]() {
    restore_state();
    layer.forward(x, y, mode);
    double s = 0.0;
    for (std::size_t i = 0; i < y.size(); ++i) s += y[i] * upstream[i];
    return s;
  };

  objective();
  Tensor<double> grad_out = upstream;  // backward may overwrite it
  Tensor<double> grad_in;
  layer.backward(x, y, grad_out, &grad_in);
  std::vector<std::vector<double>> param_grads;
  for (auto* p : layer.parameters()) param_grads.emplace_back(p->grad.begin(), p->grad.end());

  const double h = 1e-6;
  auto numeric = [&](double& v) {
    const double saved = v;
    v = saved + h;
    const double plus = objective();
    v = saved - h;
    const double minus = objective();
    v = saved;
    return (plus - minus) / (2 * h);
  };
  auto stride_for = [&](std::size_t n) { return std::max<std::size_t>(1, n / max_checks); };

  GradientErrors errors;
  for (std::size_t i = 0; i < x.size(); i += stride_for(x.size()))
    errors.input = std::max(errors.input, relative_error(grad_in[i], numeric(x[i])));
  const auto params = layer.parameters();
  for (std::size_t k = 0; k < params.size(); ++k) {
    auto& values = params[k]->value;
    for (std::size_t i = 0; i < values.size(); i += stride_for(values.size()))
      errors.parameters = std::max(errors.parameters, relative_error(param_grads[k][i], numeric(values[i])));
  }
  return errors;
}

}  // namespace minidnn::test
