#pragma once
/// \file
/// Dense: a fully connected layer, y = x * kernel + bias, with an optional fused ReLU. The whole
/// batch is one GEMM.
///
///     x (N x in),  kernel (in x out) as Keras stores it,  bias (out),  y (N x out)
///   backward:  dkernel = x^T * dy,  dbias = column sums of dy,  dx = dy * kernel^T
#include <string>

#include "minidnn/ops/gemm.hpp"
#include "minidnn/core/initializers.hpp"
#include "minidnn/ops/activation.hpp"
#include "minidnn/layers/layer.hpp"

namespace minidnn {

template <typename T>
class Dense : public Layer<T> {
 public:
  explicit Dense(int units, Activation activation = Activation::linear)
      : units_(units), activation_(activation) {
    if (units <= 0) fail("Dense: units must be positive, got ", units);
  }

  std::string type() const override { return "Dense"; }
  std::string describe() const override { return std::to_string(units_) + ", " + to_string(activation_); }
  std::vector<Parameter<T>*> parameters() override { return {&kernel_, &bias_}; }
  std::size_t parameter_count_for(const Shape& input_shape) const override {
    return std::size_t(input_shape[0]) * units_ + units_;
  }

  /// What folding a following BatchNormalization into this layer at inference rewrites
  /// (model/functional.hpp): the kernel and bias values (the bias is zeros without use_bias), and
  /// the fused activation, which must be linear for the fold.
  AlignedVector<T>& kernel_values() { return kernel_.value; }
  AlignedVector<T>& bias_values() { return bias_.value; }
  Activation activation() const { return activation_; }

  void write_config(BinaryWriter& out) const override {
    out.write<std::int32_t>(units_);
    out.write<std::int32_t>(activation_code(activation_));
  }
  static std::unique_ptr<Layer<T>> read_config(BinaryReader& in) {
    const int units = in.read<std::int32_t>("Dense units");
    const Activation activation = activation_from_code(in.read<std::int32_t>("Dense activation"));
    return std::make_unique<Dense>(units, activation);
  }

  void forward(const Tensor<T>& input, Tensor<T>& output, Mode) override {
    this->check_input(input);
    const int batch = input.batch();
    const int in = static_cast<int>(input.sample_size());
    output.resize(batch, this->output_shape());
    gemm<T>(Transpose::no, Transpose::no, batch, units_, in, T(1), input.data(), in,
            kernel_.value.data(), units_, T(0), output.data(), units_);
    for (int n = 0; n < batch; ++n) {
      T* y = output.sample(n);
      for (int u = 0; u < units_; ++u) y[u] += bias_.value[u];
    }
    apply_activation(activation_, output.data(), output.size());
  }

  void backward(const Tensor<T>& input, const Tensor<T>& output, Tensor<T>& grad_output,
                Tensor<T>* grad_input) override {
    const int batch = input.batch();
    const int in = static_cast<int>(input.sample_size());
    activation_backward(activation_, output.data(), grad_output.data(), output.size());
    gemm<T>(Transpose::yes, Transpose::no, in, units_, batch, T(1), input.data(), in,
            grad_output.data(), units_, T(0), kernel_.grad.data(), units_);
    std::fill(bias_.grad.begin(), bias_.grad.end(), T(0));
    for (int n = 0; n < batch; ++n) {
      const T* dy = grad_output.sample(n);
      for (int u = 0; u < units_; ++u) bias_.grad[u] += dy[u];
    }
    if (grad_input) {
      grad_input->resize(batch, this->input_shape());
      gemm<T>(Transpose::no, Transpose::yes, batch, in, units_, T(1), grad_output.data(), units_,
              kernel_.value.data(), units_, T(0), grad_input->data(), in);
    }
  }

 protected:
  Shape infer_output_shape(const Shape& in) const override {
    if (in.rank() != 1)
      fail("Dense: expects a flat (features,) input, got ", in, "; add a Flatten layer before it");
    return Shape{units_};
  }
  void initialize(Rng& rng) override {
    const int in = this->input_shape()[0];
    kernel_ = Parameter<T>("kernel", {in, units_});
    bias_ = Parameter<T>("bias", {units_});
    glorot_uniform(kernel_.value, in, units_, rng);
  }

 private:
  int units_;
  Activation activation_;
  Parameter<T> kernel_;  // (in, out)
  Parameter<T> bias_;    // (out)
};

}  // namespace minidnn
