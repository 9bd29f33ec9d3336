#pragma once
/// \file
/// Sequential<T>: a stack of layers trained with categorical cross-entropy.
///
///     Sequential<float> model;
///     model.add(Conv2D<float>(32, 3, Activation::relu));
///     model.add(MaxPool2D<float>(2));
///     model.add(Flatten<float>());
///     model.add(Dense<float>(10));
///     model.add(Softmax<float>());
///     model.build(Shape{1, 28, 28}, /*seed=*/1);
///     model.compile(Adam<float>());
///     FitOptions<float> options;
///     options.epochs = 5;
///     History history = model.fit(x, labels, options);
///
/// The model owns its layers and every buffer a step needs (activations, gradients, a batch
/// buffer); they are sized on the first step and reused, so steps of the same batch size never
/// allocate.
#include <chrono>
#include <cmath>
#include <filesystem>
#include <iomanip>
#include <memory>
#include <numeric>
#include <ostream>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include "minidnn/core/aligned_vector.hpp"
#include "minidnn/core/parallel.hpp"
#include "minidnn/model/model_file.hpp"
#include "minidnn/model/summary_table.hpp"
#include "minidnn/layers/layer.hpp"
#include "minidnn/layers/softmax.hpp"
#include "minidnn/losses/categorical_crossentropy.hpp"
#include "minidnn/metrics/accuracy.hpp"
#include "minidnn/model/fit_loop.hpp"
#include "minidnn/model/training.hpp"
#include "minidnn/optim/optimizer.hpp"

namespace minidnn {

template <typename T>
class Sequential {
 public:
  using Loss = CategoricalCrossEntropy<T>;

  Sequential() = default;
  Sequential(Sequential&&) noexcept = default;
  Sequential& operator=(Sequential&&) noexcept = default;

  /// Appends a layer (before build). Returns a reference to the stored layer.
  template <typename L, typename = std::enable_if_t<std::is_base_of_v<Layer<T>, L>>>
  L& add(L layer) {
    auto owned = std::make_unique<L>(std::move(layer));
    L& ref = *owned;
    add(std::unique_ptr<Layer<T>>(std::move(owned)));
    return ref;
  }
  Layer<T>& add(std::unique_ptr<Layer<T>> layer) {
    if (built_) fail("Sequential: cannot add a layer after the model was built");
    if (!layer) fail("Sequential: cannot add a null layer");
    layers_.push_back(std::move(layer));
    return *layers_.back();
  }

  /// Infers every layer's shapes for a per-sample `input_shape` and initializes the weights
  /// from `seed` (same seed, same weights, bit for bit).
  void build(const Shape& input_shape, std::uint64_t seed = 1) {
    if (layers_.empty()) fail("Sequential: cannot build an empty model; add layers first");
    if (built_) fail("Sequential: the model is already built");
    Rng rng(seed);
    Shape shape = input_shape;
    for (std::size_t i = 0; i < layers_.size(); ++i) {
      try {
        shape = layers_[i]->build(shape, rng);
      } catch (const Error& e) {
        fail("layer ", i, " (", layers_[i]->type(), "): ", e.what());
      }
    }
    input_shape_ = input_shape;
    built_ = true;
  }

  bool built() const { return built_; }
  const Shape& input_shape() const { return input_shape_; }
  const Shape& output_shape() const { return require_built(), layers_.back()->output_shape(); }
  std::size_t size() const { return layers_.size(); }
  Layer<T>& layer(std::size_t i) { return *layers_.at(i); }
  const Layer<T>& layer(std::size_t i) const { return *layers_.at(i); }

  std::vector<Parameter<T>*> parameters() {
    std::vector<Parameter<T>*> all;
    for (auto& layer : layers_)
      for (auto* p : layer->parameters()) all.push_back(p);
    return all;
  }
  /// The values that are not trained by the optimizer (BatchNormalization's moving statistics).
  std::vector<Parameter<T>*> non_trainable_parameters() {
    std::vector<Parameter<T>*> all;
    for (auto& layer : layers_)
      for (auto* p : layer->non_trainable_parameters()) all.push_back(p);
    return all;
  }
  std::size_t parameter_count() {
    std::size_t n = 0;
    for (auto* p : parameters()) n += p->size();
    return n;
  }

  /// A Keras-style table: each layer, its output shape (H x W x C for images) and parameters.
  std::string summary() {
    require_built();
    // Indices right-aligned to the widest, so the type names start in one column.
    const std::size_t index_width = std::to_string(layers_.size() - 1).size();
    std::vector<std::vector<std::string>> rows = {{" Layer (type)", "Output shape", "Param #", "Configuration"}};
    for (std::size_t i = 0; i < layers_.size(); ++i) {
      auto& l = *layers_[i];
      std::string index = std::to_string(i);
      index.insert(0, index_width - index.size(), ' ');
      rows.push_back({" " + index + " " + l.type(), summary::format_shape(l.output_shape()),
                      summary::with_commas(l.parameter_count()), l.describe()});
    }
    std::size_t non_trainable = 0;
    for (auto& layer : layers_)
      for (auto* p : layer->non_trainable_parameters()) non_trainable += p->size();
    return summary::table("Model: Sequential, input " + summary::format_shape(input_shape_), rows, parameter_count(),
                          non_trainable);
  }

  /// Sets the optimizer (copied), needed before training, and the training loss's options (label
  /// smoothing, class weights: see CategoricalCrossEntropy). evaluate() reports the plain
  /// cross-entropy, comparable between runs whatever their options.
  void compile(const Optimizer<T>& optimizer, CrossEntropyOptions loss = {}) {
    optimizer_ = optimizer.clone();
    loss_options_ = std::move(loss);
  }
  Optimizer<T>* optimizer() { return optimizer_.get(); }
  const CrossEntropyOptions& loss_options() const { return loss_options_; }

  /// Runs the model on a batch; the result is valid until the next forward or training call.
  const Tensor<T>& forward(const Tensor<T>& x, Mode mode = Mode::inference) {
    require_built();
    if (x.shape() != input_shape_)
      fail("Sequential: input shape ", x.shape(), " does not match the model's input shape ", input_shape_);
    if (x.batch() < 1) fail("Sequential: empty input batch");
    activations_.resize(layers_.size());
    const Tensor<T>* in = &x;
    for (std::size_t i = 0; i < layers_.size();) {
      const std::size_t end = mode == Mode::inference ? sample_chain_end(i, x.batch()) : i + 1;
      if (end - i > 1) forward_sample_chain(i, end, *in, activations_[end - 1]);
      else layers_[i]->forward(*in, activations_[i], mode);
      in = &activations_[end - 1];
      i = end;
    }
    return *in;
  }

  /// One optimization step on one batch. Returns the batch's loss and accuracy (before the
  /// update). Throws, leaving the weights untouched, if the loss is not finite.
  Evaluation train_on_batch(const Tensor<T>& x, const std::vector<int>& labels) {
    require_compiled();
    const Tensor<T>& probabilities = forward(x, Mode::train);
    Evaluation result;
    result.loss = Loss::loss(probabilities, labels, loss_options_);
    if (!std::isfinite(result.loss)) fail("training diverged: the loss is ", result.loss);
    result.accuracy = accuracy(probabilities, labels);
    backward(x, labels);
    optimizer_->step(parameters());
    return result;
  }

  /// Loss and accuracy over a whole data set, in batches (dropout off).
  Evaluation evaluate(const Tensor<T>& x, const std::vector<int>& labels, int batch_size = 256) {
    check_dataset(x, labels, "evaluate");
    double loss_sum = 0.0;
    long correct = 0;
    for_each_batch(x, batch_size, [&](int begin, const Tensor<T>& batch) {
      const Tensor<T>& p = forward(batch, Mode::inference);
      batch_labels_.assign(labels.begin() + begin, labels.begin() + begin + batch.batch());
      loss_sum += Loss::loss(p, batch_labels_) * batch.batch();
      correct += count_correct(p, batch_labels_);
    });
    return {loss_sum / x.batch(), double(correct) / x.batch()};
  }

  /// Class probabilities (N x classes) for every sample, in batches.
  Tensor<T> predict(const Tensor<T>& x, int batch_size = 256) {
    require_built();
    Tensor<T> out(x.batch(), output_shape());
    for_each_batch(x, batch_size, [&](int begin, const Tensor<T>& batch) {
      const Tensor<T>& p = forward(batch, Mode::inference);
      std::copy(p.begin(), p.end(), out.sample(begin));
    });
    return out;
  }

  /// Trains for options.epochs epochs on (x, labels); see FitOptions.
  History fit(const Tensor<T>& x, const std::vector<int>& labels, const FitOptions<T>& options) {
    check_dataset(x, labels, "fit");
    if (options.epochs < 0 || options.batch_size < 1)
      fail("fit: need epochs >= 0 and batch_size >= 1, got ", options.epochs, " and ", options.batch_size);
    if ((options.validation_x == nullptr) != (options.validation_y == nullptr))
      fail("fit: give both validation_x and validation_y, or neither");
    if (options.validation_x) check_dataset(*options.validation_x, *options.validation_y, "fit validation");
    return fit_loop(*this, x, labels, options, batch_x_, batch_labels_);
  }

  /// Saves the model (atomically: the file is either the old one or the complete new one). With
  /// `with_optimizer` the optimizer state is saved too, making a checkpoint training can resume
  /// from. `metadata` is free text stored alongside (tools keep e.g. the epoch reached there).
  void save(const std::filesystem::path& path, bool with_optimizer = false, const std::string& metadata = "") {
    require_built();
    if (with_optimizer && !optimizer_) fail("Sequential: no optimizer to save; call compile first");
    model_file::save<T>(path, input_shape_, layers_, with_optimizer ? optimizer_.get() : nullptr, metadata);
  }

  /// Loads a model saved by save(); a checkpoint comes back compiled with its optimizer state.
  static Sequential load(const std::filesystem::path& path, std::string* metadata = nullptr) {
    auto contents = model_file::load<T>(path);
    Sequential model;
    model.layers_ = std::move(contents.layers);
    model.input_shape_ = contents.input_shape;
    model.optimizer_ = std::move(contents.optimizer);
    model.built_ = true;
    if (metadata) *metadata = contents.metadata;
    return model;
  }

 private:
  void require_built() const {
    if (!built_) fail("Sequential: the model is not built; call build(input_shape) first");
  }
  void require_compiled() const {
    if (!optimizer_) fail("Sequential: call compile(optimizer) before training");
  }

  void check_dataset(const Tensor<T>& x, const std::vector<int>& labels, const char* what) const {
    require_built();
    if (x.shape() != input_shape_)
      fail(what, ": input shape ", x.shape(), " does not match the model's input shape ", input_shape_);
    if (labels.size() != static_cast<std::size_t>(x.batch()))
      fail(what, ": ", labels.size(), " labels for ", x.batch(), " samples");
    if (x.batch() == 0) fail(what, ": no samples");
    const int classes = static_cast<int>(output_shape().size());
    for (std::size_t i = 0; i < labels.size(); ++i)
      if (labels[i] < 0 || labels[i] >= classes)
        fail(what, ": label ", labels[i], " of sample ", i, " is outside the class range [0, ", classes, ")");
  }

  // One past the last layer of the chain of per-sample layers that starts at `first` (first + 1
  // when layer `first` has no per-sample forward).
  std::size_t sample_chain_end(std::size_t first, int batch) const {
    std::size_t end = first + 1;
    if (layers_[first]->has_sample_forward(batch))
      while (end < layers_.size() && layers_[end]->has_sample_forward(batch)) ++end;
    return end;
  }

  // Inference through layers [first, last), all with a per-sample forward, one sample at a time:
  // each thread passes its sample from layer to layer in two scratch buffers of its own, which stay
  // in cache, and only the last layer's output goes to memory. (The intermediate activations_ of
  // the chain are left as they were; only the last is this forward's.)
  void forward_sample_chain(std::size_t first, std::size_t last, const Tensor<T>& x, Tensor<T>& y) {
    const int batch = x.batch();
    y.resize(batch, layers_[last - 1]->output_shape());
    std::size_t largest = 0;
    for (std::size_t i = first; i + 1 < last; ++i) largest = std::max(largest, layers_[i]->output_shape().size());
    const std::size_t stride = (largest + 15) / 16 * 16;  // keeps the second buffer 64-byte aligned for float
    sample_scratch_.resize(std::max<std::size_t>(sample_scratch_.size(), max_threads()));
    for (auto& scratch : sample_scratch_)
      if (scratch.size() < 2 * stride) scratch.resize(2 * stride);
#pragma omp parallel for schedule(static) if (batch > 1)
    for (int n = 0; n < batch; ++n) {
      T* scratch = sample_scratch_[thread_index()].data();
      const T* in = x.sample(n);
      for (std::size_t i = first; i < last; ++i) {
        T* out = i + 1 == last ? y.sample(n) : scratch + ((i - first) % 2) * stride;
        layers_[i]->forward_sample(in, out);
        in = out;
      }
    }
  }

  // Backpropagates the loss of the last forward(Mode::train) through every layer.
  void backward(const Tensor<T>& x, const std::vector<int>& labels) {
    const std::size_t count = layers_.size();
    gradients_.resize(count);
    std::size_t top = count;  // layers [0, top) still need their backward
    // gradients_[i] holds dLoss/d(output of layer i).
    if (dynamic_cast<Softmax<T>*>(layers_.back().get()) && count >= 2) {
      // Fused softmax + cross-entropy: the gradient w.r.t. the softmax's input is (p - y) / N.
      Loss::softmax_gradient(activations_.back(), labels, gradients_[count - 2], loss_options_);
      top = count - 1;
    } else {
      Loss::gradient(activations_.back(), labels, gradients_[count - 1], loss_options_);
    }
    for (std::size_t i = top; i-- > 0;) {
      const Tensor<T>& input = i == 0 ? x : activations_[i - 1];
      layers_[i]->backward(input, activations_[i], gradients_[i], i == 0 ? nullptr : &gradients_[i - 1]);
    }
  }

  // Calls f(first_index, batch) for consecutive batches of x.
  template <typename F>
  void for_each_batch(const Tensor<T>& x, int batch_size, F&& f) {
    if (batch_size < 1) fail("batch size must be at least 1, got ", batch_size);
    for (int begin = 0; begin < x.batch(); begin += batch_size) {
      const int count = std::min(batch_size, x.batch() - begin);
      batch_x_.resize(count, x.shape());
      std::copy(x.sample(begin), x.sample(begin) + count * x.sample_size(), batch_x_.data());
      f(begin, batch_x_);
    }
  }

  std::vector<std::unique_ptr<Layer<T>>> layers_;
  Shape input_shape_;
  bool built_ = false;
  std::unique_ptr<Optimizer<T>> optimizer_;
  CrossEntropyOptions loss_options_;
  std::vector<Tensor<T>> activations_;  // activations_[i]: output of layer i for the last forward
  std::vector<Tensor<T>> gradients_;    // gradients_[i]: dLoss/d(output of layer i)
  Tensor<T> batch_x_;                   // reusable batch buffer (gathered or sliced samples)
  std::vector<AlignedVector<T>> sample_scratch_;  // per thread: two buffers for forward_sample_chain
  std::vector<int> batch_labels_;
};

}  // namespace minidnn
