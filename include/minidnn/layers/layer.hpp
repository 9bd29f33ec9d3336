#pragma once
/// \file
/// Layer<T>: the small interface every layer implements.
///
/// Life of a layer:
///   1. constructed with hyperparameters only (filters, kernel size, rate, ...);
///   2. build(input_shape, rng): infers its output shape, allocates and initializes parameters;
///   3. forward / backward, any number of times, for any batch size.
///
/// Contracts (requires / ensures):
///   forward(input, output, mode)
///     requires input.shape() == the shape given to build; input.batch() >= 1.
///     ensures  output is resized to (input.batch(), output_shape()) and overwritten.
///   backward(input, output, grad_output, grad_input)
///     requires input/output are exactly what the last forward (in Mode::train) saw and produced;
///              grad_output has output's size and MAY BE OVERWRITTEN (it is scratch space).
///     ensures  every parameter's grad is OVERWRITTEN with dLoss/dparam for this batch (not
///              accumulated); if grad_input is non-null it is resized to input's size and
///              OVERWRITTEN with dLoss/dinput (the first layer of a model gets nullptr and skips it).
///   forward_sample(x, y, scratch)      (only where has_sample_forward(batch) is true)
///     requires x holds one sample of input_shape(), y room for one of output_shape(), scratch
///              room for sample_scratch_size() values (64-byte aligned; null when that is 0);
///              prepare_sample_forward() called since the weights last changed.
///     ensures  y is what forward(..., Mode::inference) writes for that sample; no member
///              changes (several threads call it at once, each with its own scratch).
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "minidnn/core/error.hpp"
#include "minidnn/core/parameter.hpp"
#include "minidnn/core/random.hpp"
#include "minidnn/core/shape.hpp"
#include "minidnn/core/tensor.hpp"
#include "minidnn/io/binary_io.hpp"

namespace minidnn {

/// Training enables dropout and makes layers keep what backward needs.
enum class Mode { inference, train };

template <typename T>
class Layer {
 public:
  virtual ~Layer() = default;

  /// The layer's type as written in model files and summaries ("Conv2D").
  virtual std::string type() const = 0;

  /// Infers shapes and initializes parameters from `rng`. Throws minidnn::Error if the input
  /// shape does not suit the layer. Returns the per-sample output shape.
  Shape build(const Shape& input_shape, Rng& rng) {
    input_shape_ = input_shape;
    output_shape_ = infer_output_shape(input_shape);
    initialize(rng);
    built_ = true;
    return output_shape_;
  }

  /// The per-sample output shape build() would give for `input_shape`, without building
  /// anything. Throws minidnn::Error if the input shape does not suit the layer.
  Shape output_shape_for(const Shape& input_shape) const { return infer_output_shape(input_shape); }

  /// How many parameter values build() would allocate for `input_shape` (lets a model-file
  /// reader refuse an implausible layer before allocating for it).
  virtual std::size_t parameter_count_for(const Shape& /*input_shape*/) const { return 0; }

  virtual void forward(const Tensor<T>& input, Tensor<T>& output, Mode mode) = 0;
  virtual void backward(const Tensor<T>& input, const Tensor<T>& output, Tensor<T>& grad_output,
                        Tensor<T>* grad_input) = 0;

  /// True when forward_sample computes this layer's inference one sample at a time as fast as
  /// forward does for a batch of `batch` (a direct convolution, pooling). Sequential runs a chain of
  /// such layers sample by sample in inference, so that what passes between them stays in cache:
  /// the seed model's conv1 writes 495 KB per image, which MaxPool2D would otherwise read back
  /// from memory for the whole batch (127 MB at batch 256).
  virtual bool has_sample_forward(int /*batch*/) const { return false; }
  /// Values of working memory forward_sample needs (the depthwise output a SeparableConv2D
  /// passes to its pointwise product, say).
  virtual std::size_t sample_scratch_size() const { return 0; }
  /// Computes what forward_sample reads from the weights but does not change per sample
  /// (BatchNormalization's scale and shift); called once before a pass of forward_sample calls.
  virtual void prepare_sample_forward() {}
  /// The inference output of one sample (see the contract above).
  virtual void forward_sample(const T* /*x*/, T* /*y*/, T* /*scratch*/) const {
    fail(type(), ": has no per-sample forward");
  }

  /// Trainable parameters (empty for parameter-free layers). Pointers stay valid for the
  /// layer's lifetime.
  virtual std::vector<Parameter<T>*> parameters() { return {}; }
  /// Arrays saved with the weights that the optimizer never updates (BatchNormalization's moving
  /// mean and variance; Keras's non-trainable weights). Their `grad` is unused.
  virtual std::vector<Parameter<T>*> non_trainable_parameters() { return {}; }

  /// The type tag written in model files: type(), unless a variant needs a tag of its own
  /// (MaxPool2D with same padding, which files from before it cannot describe).
  virtual std::string file_type() const { return type(); }
  /// Writes the hyperparameters (not the weights) to a model file; the layer registry reads them
  /// back with the matching constructor.
  virtual void write_config(BinaryWriter&) const {}
  /// One-line description of the hyperparameters for summaries ("64 5x5, stride 1, valid, relu").
  virtual std::string describe() const { return ""; }

  /// Non-parameter state that must survive a checkpoint (e.g. Dropout's random generator).
  virtual void write_state(BinaryWriter&) const {}
  virtual void read_state(BinaryReader&) {}

  bool built() const { return built_; }
  const Shape& input_shape() const { return input_shape_; }
  const Shape& output_shape() const { return output_shape_; }
  std::size_t parameter_count() {
    std::size_t n = 0;
    for (auto* p : parameters()) n += p->size();
    return n;
  }

  /// "Conv2D (64, 48, 48)->(64, 44, 44)": for error messages.
  std::string label() const {
    return type() + (built_ ? " " + input_shape_.to_string() + "->" + output_shape_.to_string() : "");
  }

 protected:
  virtual Shape infer_output_shape(const Shape& input_shape) const = 0;
  virtual void initialize(Rng&) {}

  /// Throws unless `input` matches the shape this layer was built for.
  void check_input(const Tensor<T>& input) const {
    if (!built_) fail(type(), ": forward called before the layer was built");
    if (input.shape() != input_shape_)
      fail(type(), ": input shape ", input.shape(), " does not match the built input shape ",
           input_shape_);
    if (input.batch() < 1) fail(type(), ": empty batch");
  }

 private:
  bool built_ = false;
  Shape input_shape_;
  Shape output_shape_;
};

}  // namespace minidnn
