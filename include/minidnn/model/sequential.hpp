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
/// A thin special case of the functional Model<T> (model/functional.hpp), the one engine: add()
/// collects the layers, build() applies them in order to the input of a Model (input -> layer 0
/// -> ... -> layer n-1), built from the seed's generator in that order; forward, training,
/// evaluation, prediction, BatchNormalization folding and the buffers (planned per batch size and
/// reused, so steps of one batch size allocate nothing) are the Model's. What stays Sequential's
/// own: add/layer(i) by position, the summary without a "Connected to" column, and the file: a
/// Sequential saves in format version 2 (a chain of layers) and loads versions 1 and 2, which
/// Model<T>::load reads too.
#include <filesystem>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "minidnn/layers/layer.hpp"
#include "minidnn/model/fit_loop.hpp"
#include "minidnn/model/functional.hpp"
#include "minidnn/model/model_file.hpp"
#include "minidnn/model/summary_table.hpp"
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
    pending_.push_back(std::move(layer));
    return *pending_.back();
  }

  /// Infers every layer's shapes for a per-sample `input_shape` and initializes the weights
  /// from `seed` (same seed, same weights, bit for bit).
  void build(const Shape& input_shape, std::uint64_t seed = 1) {
    if (pending_.empty()) fail("Sequential: cannot build an empty model; add layers first");
    if (built_) fail("Sequential: the model is already built");
    Model<T> model(seed);
    model.input(input_shape);
    Shape shape = input_shape;
    for (std::size_t i = 0; i < pending_.size(); ++i) {
      try {
        shape = pending_[i]->build(shape, model.rng_);
      } catch (const Error& e) {
        fail("layer ", i, " (", pending_[i]->type(), "): ", e.what());
      }
    }
    for (auto& layer : pending_) model.append_built(std::move(layer));
    model.set_output(Symbol{int(model.size()) - 1});
    pending_.clear();
    model_ = std::move(model);
    built_ = true;
  }

  bool built() const { return built_; }
  const Shape& input_shape() const {
    static const Shape none;
    return built_ ? model_.input_shape() : none;
  }
  const Shape& output_shape() const { return require_built(), model_.output_shape(); }
  /// The layers (the Model's nodes after its input).
  std::size_t size() const { return built_ ? model_.size() - 1 : pending_.size(); }
  Layer<T>& layer(std::size_t i) { return built_ ? *model_.layer(i + 1) : *pending_.at(i); }
  const Layer<T>& layer(std::size_t i) const { return built_ ? *model_.layer(i + 1) : *pending_.at(i); }

  /// The functional model this is (node i + 1 is layer i): the engine everything below forwards to.
  Model<T>& model() { return require_built(), model_; }
  /// Hands the built model over as the Model it is (for code that holds any model as a Model<T>);
  /// this Sequential is left empty.
  Model<T> into_model() && {
    require_built();
    built_ = false;
    return std::move(model_);
  }

  std::vector<Parameter<T>*> parameters() { return model_.parameters(); }
  /// The values that are not trained by the optimizer (BatchNormalization's moving statistics).
  std::vector<Parameter<T>*> non_trainable_parameters() { return model_.non_trainable_parameters(); }
  std::size_t parameter_count() { return model_.parameter_count(); }

  /// A Keras-style table: each layer, its output shape (H x W x C for images) and parameters.
  std::string summary() {
    require_built();
    // Indices right-aligned to the widest, so the type names start in one column.
    const std::size_t index_width = std::to_string(size() - 1).size();
    std::vector<std::vector<std::string>> rows = {{" Layer (type)", "Output shape", "Param #", "Configuration"}};
    for (std::size_t i = 0; i < size(); ++i) {
      auto& l = layer(i);
      std::string index = std::to_string(i);
      index.insert(0, index_width - index.size(), ' ');
      rows.push_back({" " + index + " " + l.type(), summary::format_shape(l.output_shape()),
                      summary::with_commas(l.parameter_count()), l.describe()});
    }
    return summary::table("Model: Sequential, input " + summary::format_shape(input_shape()), rows, parameter_count(),
                          model_.non_trainable_parameter_count());
  }

  /// Sets the optimizer (copied), needed before training, and the training loss's options (label
  /// smoothing, class weights: see CategoricalCrossEntropy). evaluate() reports the plain
  /// cross-entropy, comparable between runs whatever their options.
  void compile(const Optimizer<T>& optimizer, CrossEntropyOptions loss = {}) {
    model_.compile(optimizer, std::move(loss));
  }
  Optimizer<T>* optimizer() { return model_.optimizer(); }
  const CrossEntropyOptions& loss_options() const { return model_.loss_options(); }

  /// Runs the model on a batch; the result is valid until the next forward or training call.
  const Tensor<T>& forward(const Tensor<T>& x, Mode mode = Mode::inference) {
    require_built();
    if (x.shape() != input_shape())
      fail("Sequential: input shape ", x.shape(), " does not match the model's input shape ", input_shape());
    return model_.forward(x, mode);
  }

  /// One optimization step on one batch. Returns the batch's loss and accuracy (before the
  /// update). Throws, leaving the weights untouched, if the loss is not finite.
  Evaluation train_on_batch(const Tensor<T>& x, const std::vector<int>& labels) {
    if (!model_.optimizer()) fail("Sequential: call compile(optimizer) before training");
    return model_.train_on_batch(x, labels);
  }

  /// Loss and accuracy over a whole data set, in batches (dropout off).
  Evaluation evaluate(const Tensor<T>& x, const std::vector<int>& labels, int batch_size = 256) {
    require_built();
    return model_.evaluate(x, labels, batch_size);
  }

  /// Class probabilities (N x classes) for every sample, in batches.
  Tensor<T> predict(const Tensor<T>& x, int batch_size = 256) {
    require_built();
    return model_.predict(x, batch_size);
  }

  /// Trains for options.epochs epochs on (x, labels); see FitOptions. Callbacks see this
  /// Sequential (a ModelCheckpoint writes a Sequential file).
  History fit(const Tensor<T>& x, const std::vector<int>& labels, const FitOptions<T>& options) {
    require_built();
    model_.check_dataset(x, labels, "fit");
    if (options.validation_x && options.validation_y)
      model_.check_dataset(*options.validation_x, *options.validation_y, "fit validation");
    return fit_loop(*this, x, labels, options, model_.fit_x_, model_.fit_labels_);
  }

  /// Whether inference folds a BatchNormalization into the Conv2D or Dense before it (on by
  /// default; see Model::set_fold_batch_norm).
  void set_fold_batch_norm(bool on) { model_.set_fold_batch_norm(on); }
  /// How many BatchNormalization layers inference folds (after a forward in inference).
  std::size_t folded_batch_norms() const { return model_.folded_batch_norms(); }

  /// Saves the model (atomically: the file is either the old one or the complete new one) in
  /// format version 2, a chain of layers. With `with_optimizer` the optimizer state is saved too,
  /// making a checkpoint training can resume from. `metadata` is free text stored alongside
  /// (tools keep e.g. the epoch reached there).
  void save(const std::filesystem::path& path, bool with_optimizer = false, const std::string& metadata = "") {
    require_built();
    if (with_optimizer && !optimizer()) fail("Sequential: no optimizer to save; call compile first");
    std::vector<Layer<T>*> layers;
    for (std::size_t i = 0; i < size(); ++i) layers.push_back(&layer(i));
    model_file::save<T>(path, input_shape(), layers, with_optimizer ? optimizer() : nullptr, metadata);
  }

  /// Loads a model saved by save() (format version 1 or 2); a checkpoint comes back compiled with
  /// its optimizer state. A functional graph's file is refused: load it with Model<T>::load.
  static Sequential load(const std::filesystem::path& path, std::string* metadata = nullptr) {
    auto contents = model_file::load<T>(path);
    Sequential sequential;
    Model<T>& model = sequential.model_;
    model.input(contents.input_shape);
    for (auto& layer : contents.layers) model.append_built(std::move(layer));
    model.set_output(Symbol{int(model.size()) - 1});
    model.optimizer_ = std::move(contents.optimizer);
    sequential.built_ = true;
    if (metadata) *metadata = contents.metadata;
    return sequential;
  }

 private:
  void require_built() const {
    if (!built_) fail("Sequential: the model is not built; call build(input_shape) first");
  }

  std::vector<std::unique_ptr<Layer<T>>> pending_;  // the layers added, until build moves them into model_
  Model<T> model_;
  bool built_ = false;
};

}  // namespace minidnn
