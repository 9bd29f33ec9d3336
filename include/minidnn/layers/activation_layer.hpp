#pragma once
/// \file
/// ActivationLayer: Keras's `Activation("relu")` layer, an element-wise function as a layer of its
/// own (after BatchNormalization, say); ops/activation/pointwise.hpp holds the functions (linear,
/// relu, sigmoid, tanh). Its type in model files and summaries is "Activation". (Named
/// ActivationLayer because `minidnn::Activation` is the fused-activation choice of Conv2D and
/// Dense.)
#include <string>

#include "minidnn/layers/layer.hpp"
#include "minidnn/ops/activation/pointwise.hpp"

namespace minidnn {

template <typename T>
class ActivationLayer : public Layer<T> {
 public:
  /// `name` as Keras spells it: "relu", "sigmoid", "tanh" or "linear".
  explicit ActivationLayer(const std::string& name) : function_(ops::pointwise_from_name(name)) {}

  std::string type() const override { return "Activation"; }
  std::string describe() const override { return ops::to_string(function_); }
  void write_config(BinaryWriter& out) const override { out.write_string(ops::to_string(function_)); }
  static std::unique_ptr<Layer<T>> read_config(BinaryReader& in) {
    const std::string name = in.read_string("Activation function", 64);
    try {
      return std::make_unique<ActivationLayer>(name);
    } catch (const Error& e) {
      fail(in.what(), ": Activation: ", e.what());
    }
  }

  void forward(const Tensor<T>& input, Tensor<T>& output, Mode) override {
    this->check_input(input);
    output.resize(input.batch(), this->output_shape());
    ops::pointwise_forward(function_, input.data(), output.data(), input.size());
  }
  void backward(const Tensor<T>& input, const Tensor<T>& output, Tensor<T>& grad_output,
                Tensor<T>* grad_input) override {
    if (!grad_input) return;
    grad_input->resize(input.batch(), this->input_shape());
    ops::pointwise_backward(function_, output.data(), grad_output.data(), grad_input->data(), output.size());
  }

 protected:
  Shape infer_output_shape(const Shape& in) const override { return in; }

 private:
  ops::Pointwise function_;
};

}  // namespace minidnn
