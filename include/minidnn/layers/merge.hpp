#pragma once
/// \file
/// MergeLayer<T>: a layer of several inputs (functional models' `Add`, `Concatenate`), with the
/// same life as Layer<T>: hyperparameters at construction, shapes at build, forward, backward.
///
/// Contracts:
///   forward(inputs, output)       ensures output is resized to (batch, output_shape()) and overwritten.
///   backward(inputs, grad_output, grad_inputs)
///     ensures every non-null grad_inputs[i] is resized to inputs[i]'s size and OVERWRITTEN with
///             dLoss/dinput i.
#include <algorithm>
#include <string>
#include <vector>

#include "minidnn/core/error.hpp"
#include "minidnn/core/shape.hpp"
#include "minidnn/core/tensor.hpp"

namespace minidnn {

template <typename T>
class MergeLayer {
 public:
  virtual ~MergeLayer() = default;
  virtual std::string type() const = 0;

  /// Infers the output shape from the inputs' per-sample shapes; throws minidnn::Error if they
  /// do not suit the layer.
  Shape build(const std::vector<Shape>& input_shapes) {
    if (input_shapes.size() < 2) fail(type(), ": needs at least two inputs, got ", input_shapes.size());
    input_shapes_ = input_shapes;
    output_shape_ = infer_output_shape(input_shapes);
    return output_shape_;
  }
  virtual void forward(const std::vector<const Tensor<T>*>& inputs, Tensor<T>& output) = 0;
  virtual void backward(const std::vector<const Tensor<T>*>& inputs, const Tensor<T>& grad_output,
                        const std::vector<Tensor<T>*>& grad_inputs) = 0;

  const std::vector<Shape>& input_shapes() const { return input_shapes_; }
  const Shape& output_shape() const { return output_shape_; }

 protected:
  virtual Shape infer_output_shape(const std::vector<Shape>& input_shapes) const = 0;
  void check_inputs(const std::vector<const Tensor<T>*>& inputs) const {
    if (inputs.size() != input_shapes_.size())
      fail(type(), ": got ", inputs.size(), " inputs, built for ", input_shapes_.size());
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      if (inputs[i]->shape() != input_shapes_[i])
        fail(type(), ": input ", i, " has shape ", inputs[i]->shape(), ", built for ", input_shapes_[i]);
      if (inputs[i]->batch() != inputs[0]->batch()) fail(type(), ": inputs have different batch sizes");
    }
  }

 private:
  std::vector<Shape> input_shapes_;
  Shape output_shape_;
};

/// Add: the element-wise sum of inputs of one shape (residual connections). dx_i = dy.
template <typename T>
class Add : public MergeLayer<T> {
 public:
  std::string type() const override { return "Add"; }
  void forward(const std::vector<const Tensor<T>*>& inputs, Tensor<T>& output) override {
    this->check_inputs(inputs);
    output.resize(inputs[0]->batch(), this->output_shape());
    std::copy(inputs[0]->begin(), inputs[0]->end(), output.begin());
    for (std::size_t i = 1; i < inputs.size(); ++i) {
      const T* x = inputs[i]->data();
      T* y = output.data();
      for (std::size_t k = 0; k < output.size(); ++k) y[k] += x[k];
    }
  }
  void backward(const std::vector<const Tensor<T>*>& inputs, const Tensor<T>& grad_output,
                const std::vector<Tensor<T>*>& grad_inputs) override {
    for (std::size_t i = 0; i < inputs.size(); ++i)
      if (grad_inputs[i]) {
        grad_inputs[i]->resize(inputs[i]->batch(), inputs[i]->shape());
        std::copy(grad_output.begin(), grad_output.end(), grad_inputs[i]->begin());
      }
  }

 protected:
  Shape infer_output_shape(const std::vector<Shape>& shapes) const override {
    for (const auto& s : shapes)
      if (s != shapes[0]) fail("Add: inputs must have one shape, got ", shapes[0], " and ", s);
    return shapes[0];
  }
};

/// Concatenate: joins inputs along the channel axis (axis 0 of (C, H, W) or (F,) samples; the
/// other dimensions must agree). In NCHW each sample's channels are contiguous, so a sample of
/// the output is the inputs' samples one after another.
template <typename T>
class Concatenate : public MergeLayer<T> {
 public:
  std::string type() const override { return "Concatenate"; }
  void forward(const std::vector<const Tensor<T>*>& inputs, Tensor<T>& output) override {
    this->check_inputs(inputs);
    const int batch = inputs[0]->batch();
    output.resize(batch, this->output_shape());
    for (int n = 0; n < batch; ++n) {
      T* y = output.sample(n);
      for (const auto* x : inputs) y = std::copy(x->sample(n), x->sample(n) + x->sample_size(), y);
    }
  }
  void backward(const std::vector<const Tensor<T>*>& inputs, const Tensor<T>& grad_output,
                const std::vector<Tensor<T>*>& grad_inputs) override {
    const int batch = inputs[0]->batch();
    for (std::size_t i = 0; i < inputs.size(); ++i)
      if (grad_inputs[i]) grad_inputs[i]->resize(batch, inputs[i]->shape());
    for (int n = 0; n < batch; ++n) {
      const T* dy = grad_output.sample(n);
      for (std::size_t i = 0; i < inputs.size(); ++i) {
        const std::size_t size = inputs[i]->sample_size();
        if (grad_inputs[i]) std::copy(dy, dy + size, grad_inputs[i]->sample(n));
        dy += size;
      }
    }
  }

 protected:
  Shape infer_output_shape(const std::vector<Shape>& shapes) const override {
    std::vector<int> dims = shapes[0].dims();
    for (std::size_t i = 1; i < shapes.size(); ++i) {
      const auto& d = shapes[i].dims();
      if (d.size() != dims.size() || !std::equal(d.begin() + 1, d.end(), dims.begin() + 1))
        fail("Concatenate: inputs must agree except in channels, got ", shapes[0], " and ", shapes[i]);
      dims[0] += d[0];
    }
    return Shape(dims);
  }
};

}  // namespace minidnn
