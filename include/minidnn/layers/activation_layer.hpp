#pragma once
/// \file
/// ActivationLayer: Keras's `Activation("relu")` layer, an element-wise function as a layer of its
/// own (after BatchNormalization, say); ops/activation/pointwise.hpp holds the functions (linear,
/// relu, sigmoid, tanh). Its type in model files and summaries is "Activation". (Named
/// ActivationLayer because `minidnn::Activation` is the fused-activation choice of Conv2D and
/// Dense.)
#include <algorithm>
#include <cstddef>
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
  ops::Pointwise function() const { return function_; }
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
    for_each_block(input.size(), [&](std::size_t begin, std::size_t n) {
      ops::pointwise_forward(function_, input.data() + begin, output.data() + begin, n);
    });
  }
  bool has_sample_forward(int) const override { return true; }
  void forward_sample(const T* x, T* y, T*) const override {
    ops::pointwise_forward(function_, x, y, this->input_shape().size());
  }

  void backward(const Tensor<T>& input, const Tensor<T>& output, Tensor<T>& grad_output,
                Tensor<T>* grad_input) override {
    if (!grad_input) return;
    grad_input->resize(input.batch(), this->input_shape());
    for_each_block(output.size(), [&](std::size_t begin, std::size_t n) {
      ops::pointwise_backward(function_, output.data() + begin, grad_output.data() + begin, grad_input->data() + begin, n);
    });
  }

 protected:
  Shape infer_output_shape(const Shape& in) const override { return in; }

 private:
  // Runs f(begin, count) over [0, size) in blocks of 16k values, the blocks spread over the
  // threads (a memory-bound pass: one thread alone does not saturate the memory system).
  template <typename F>
  static void for_each_block(std::size_t size, F&& f) {
    constexpr std::ptrdiff_t kBlock = 16384;
    const std::ptrdiff_t blocks = (std::ptrdiff_t(size) + kBlock - 1) / kBlock;
#pragma omp parallel for schedule(static) if (blocks > 1)
    for (std::ptrdiff_t b = 0; b < blocks; ++b)
      f(std::size_t(b * kBlock), std::size_t(std::min<std::ptrdiff_t>(kBlock, std::ptrdiff_t(size) - b * kBlock)));
  }

  ops::Pointwise function_;
};

}  // namespace minidnn
