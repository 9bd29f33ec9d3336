#pragma once
/// \file
/// Softmax: turns each sample's scores into probabilities, p_i = exp(z_i - max z) / sum_j exp(z_j - max z)
/// (subtracting the max keeps exp from overflowing).
///
/// Followed by categorical cross-entropy, Sequential skips this layer's backward and uses the
/// fused gradient (p - y) / N instead (see losses/categorical_crossentropy.hpp); the general
/// backward below serves every other use, and the gradient checks.
#include <algorithm>
#include <cmath>
#include <string>

#include "minidnn/layers/layer.hpp"

namespace minidnn {

template <typename T>
class Softmax : public Layer<T> {
 public:
  std::string type() const override { return "Softmax"; }
  static std::unique_ptr<Layer<T>> read_config(BinaryReader&) { return std::make_unique<Softmax>(); }

  void forward(const Tensor<T>& input, Tensor<T>& output, Mode) override {
    this->check_input(input);
    output.resize(input.batch(), this->output_shape());
    const std::size_t k = input.sample_size();
    for (int n = 0; n < input.batch(); ++n) {
      const T* z = input.sample(n);
      T* p = output.sample(n);
      const T max = *std::max_element(z, z + k);
      T sum = T(0);
      for (std::size_t i = 0; i < k; ++i) sum += (p[i] = std::exp(z[i] - max));
      for (std::size_t i = 0; i < k; ++i) p[i] /= sum;
    }
  }

  /// dz_i = p_i * (dp_i - sum_j dp_j p_j)
  void backward(const Tensor<T>& input, const Tensor<T>& output, Tensor<T>& grad_output,
                Tensor<T>* grad_input) override {
    if (!grad_input) return;
    grad_input->resize(input.batch(), this->input_shape());
    const std::size_t k = input.sample_size();
    for (int n = 0; n < input.batch(); ++n) {
      const T* p = output.sample(n);
      const T* dp = grad_output.sample(n);
      T* dz = grad_input->sample(n);
      T dot = T(0);
      for (std::size_t i = 0; i < k; ++i) dot += dp[i] * p[i];
      for (std::size_t i = 0; i < k; ++i) dz[i] = p[i] * (dp[i] - dot);
    }
  }

 protected:
  Shape infer_output_shape(const Shape& in) const override {
    if (in.rank() != 1) fail("Softmax: expects a flat (classes,) input, got ", in);
    return in;
  }
};

}  // namespace minidnn
