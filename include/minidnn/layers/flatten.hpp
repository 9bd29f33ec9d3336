#pragma once
/// \file
/// Flatten: views each (C, H, W) sample as a flat (C*H*W,) vector, in storage order (channel
/// first; Keras, being NHWC, flattens in (H, W, C) order instead).
#include <string>

#include "minidnn/layers/layer.hpp"

namespace minidnn {

template <typename T>
class Flatten : public Layer<T> {
 public:
  std::string type() const override { return "Flatten"; }
  static std::unique_ptr<Layer<T>> read_config(BinaryReader&) { return std::make_unique<Flatten>(); }

  void forward(const Tensor<T>& input, Tensor<T>& output, Mode) override {
    this->check_input(input);
    output.resize(input.batch(), this->output_shape());
    std::copy(input.begin(), input.end(), output.begin());
  }

  void backward(const Tensor<T>& input, const Tensor<T>&, Tensor<T>& grad_output,
                Tensor<T>* grad_input) override {
    if (!grad_input) return;
    grad_input->resize(input.batch(), this->input_shape());
    std::copy(grad_output.begin(), grad_output.end(), grad_input->begin());
  }

 protected:
  Shape infer_output_shape(const Shape& in) const override {
    return Shape{static_cast<int>(in.size())};
  }
};

}  // namespace minidnn
