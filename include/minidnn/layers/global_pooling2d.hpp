#pragma once
/// \file
/// GlobalAveragePooling2D and GlobalMaxPooling2D: each channel plane of a (C, H, W) input reduced
/// to one value, giving a flat (C,) output as Keras's (keepdims false); ops/pool/global_pool.hpp.
#include <string>
#include <vector>

#include "minidnn/layers/layer.hpp"
#include "minidnn/ops/pool/global_pool.hpp"

namespace minidnn {

template <typename T>
class GlobalAveragePooling2D : public Layer<T> {
 public:
  std::string type() const override { return "GlobalAveragePooling2D"; }
  static std::unique_ptr<Layer<T>> read_config(BinaryReader&) { return std::make_unique<GlobalAveragePooling2D>(); }

  void forward(const Tensor<T>& input, Tensor<T>& output, Mode) override {
    this->check_input(input);
    output.resize(input.batch(), this->output_shape());
    ops::global_average_pool_forward(input.data(), std::ptrdiff_t(output.size()), plane(), output.data());
  }
  void backward(const Tensor<T>& input, const Tensor<T>& output, Tensor<T>& grad_output,
                Tensor<T>* grad_input) override {
    if (!grad_input) return;
    grad_input->resize(input.batch(), this->input_shape());
    ops::global_average_pool_backward(grad_output.data(), std::ptrdiff_t(output.size()), plane(), grad_input->data());
  }

 protected:
  Shape infer_output_shape(const Shape& in) const override {
    if (in.rank() != 3) fail(type(), ": expects a (channels, height, width) input, got ", in);
    return Shape{in.channels()};
  }

 private:
  std::ptrdiff_t plane() const { return std::ptrdiff_t(this->input_shape().height()) * this->input_shape().width(); }
};

template <typename T>
class GlobalMaxPooling2D : public Layer<T> {
 public:
  std::string type() const override { return "GlobalMaxPooling2D"; }
  static std::unique_ptr<Layer<T>> read_config(BinaryReader&) { return std::make_unique<GlobalMaxPooling2D>(); }

  void forward(const Tensor<T>& input, Tensor<T>& output, Mode) override {
    this->check_input(input);
    output.resize(input.batch(), this->output_shape());
    if (argmax_.size() < output.size()) argmax_.resize(output.size());
    ops::global_max_pool_forward(input.data(), std::ptrdiff_t(output.size()), plane(), output.data(), argmax_.data());
  }
  void backward(const Tensor<T>& input, const Tensor<T>& output, Tensor<T>& grad_output,
                Tensor<T>* grad_input) override {
    if (!grad_input) return;
    grad_input->resize(input.batch(), this->input_shape());
    ops::global_max_pool_backward(grad_output.data(), argmax_.data(), std::ptrdiff_t(output.size()), plane(),
                                  grad_input->data());
  }

 protected:
  Shape infer_output_shape(const Shape& in) const override {
    if (in.rank() != 3) fail(type(), ": expects a (channels, height, width) input, got ", in);
    return Shape{in.channels()};
  }

 private:
  std::ptrdiff_t plane() const { return std::ptrdiff_t(this->input_shape().height()) * this->input_shape().width(); }
  std::vector<int> argmax_;  // (N, C): where each plane's maximum was, for backward
};

}  // namespace minidnn
