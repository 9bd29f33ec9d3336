#pragma once
/// \file
/// ReLU: max(x, 0) element-wise, as a layer of its own (Conv2D and Dense can also fuse it).
#include <string>

#include "minidnn/ops/activation.hpp"
#include "minidnn/layers/layer.hpp"

namespace minidnn {

template <typename T>
class ReLU : public Layer<T> {
 public:
  std::string type() const override { return "ReLU"; }
  static std::unique_ptr<Layer<T>> read_config(BinaryReader&) { return std::make_unique<ReLU>(); }

  void forward(const Tensor<T>& input, Tensor<T>& output, Mode) override {
    this->check_input(input);
    output.resize(input.batch(), this->output_shape());
    std::copy(input.begin(), input.end(), output.begin());
    apply_activation(Activation::relu, output.data(), output.size());
  }

  void backward(const Tensor<T>& input, const Tensor<T>& output, Tensor<T>& grad_output,
                Tensor<T>* grad_input) override {
    if (!grad_input) return;
    grad_input->resize(input.batch(), this->input_shape());
    std::copy(grad_output.begin(), grad_output.end(), grad_input->begin());
    activation_backward(Activation::relu, output.data(), grad_input->data(), output.size());
  }

 protected:
  Shape infer_output_shape(const Shape& in) const override { return in; }
};

}  // namespace minidnn
