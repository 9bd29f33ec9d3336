#pragma once
/// \file
/// Model<T>: Keras's functional API. A model starts from an input; layers are applied to symbolic
/// tensors (Symbol) and return new ones, so any directed acyclic graph can be written: branches,
/// residual additions (Add), channel concatenations (Concatenate), a tensor used by several
/// layers (its gradients are summed).
///
///     Model<float> model(/*seed=*/1);
///     Symbol x = model.input(Shape{1, 12, 12});
///     Symbol h = model.apply(Conv2D<float>(8, 3, Activation::relu, 1, Padding::same), x);
///     Symbol r = model.apply(Conv2D<float>(8, 3, Activation::linear, 1, Padding::same), h);
///     Symbol s = model.merge(Add<float>(), {h, r});          // h is used twice
///     ...
///     model.set_output(model.apply(Softmax<float>(), logits));
///
/// Layers are built when applied (shapes are known then), from the model's seeded generator.
/// Nodes are kept in the order they were made, which is a topological order: a node can only use
/// nodes made before it. forward runs them in that order; backward in reverse, each node's
/// gradient being the sum over its consumers. Activations and gradients are one buffer per node,
/// resized per batch and reused.
///
/// Training runs a BatchNormalization and the ReLU Activation layer after it (its only consumer)
/// as one layer, in the passes over memory of the BatchNormalization alone. Inference runs chains
/// of per-sample layers (Layer::has_sample_forward) one sample at a time and folds a
/// BatchNormalization into the Conv2D or Dense before it. It has fit (model/fit_loop.hpp),
/// train_on_batch, evaluate, predict, parameters, summary (with a "Connected to" column),
/// save/load (model file format version 3, model/model_file.hpp; load also reads a Sequential's
/// files, as a chain). It is the one training engine: Sequential (model/sequential.hpp) is a chain
/// of it. A GradientObserver hook (set_gradient_observer) lets data-parallel training
/// (distributed/) start each node's gradient allreduce as soon as backward has produced it.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <iomanip>
#include <memory>
#include <sstream>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "minidnn/core/aligned_vector.hpp"
#include "minidnn/core/parallel.hpp"
#include "minidnn/layers/activation_layer.hpp"
#include "minidnn/layers/batch_normalization.hpp"
#include "minidnn/layers/conv2d.hpp"
#include "minidnn/layers/dense.hpp"
#include "minidnn/layers/layer.hpp"
#include "minidnn/layers/merge.hpp"
#include "minidnn/layers/separable_conv2d.hpp"
#include "minidnn/layers/softmax.hpp"
#include "minidnn/losses/categorical_crossentropy.hpp"
#include "minidnn/metrics/accuracy.hpp"
#include "minidnn/model/fit_loop.hpp"
#include "minidnn/model/model_file.hpp"
#include "minidnn/model/summary_table.hpp"
#include "minidnn/model/training.hpp"
#include "minidnn/optim/optimizer.hpp"

namespace minidnn {

/// Told during Model's backward when gradients are final, so that a data-parallel trainer
/// (distributed/gradient_allreduce.hpp) can start reducing them while the rest of backward runs.
template <typename T>
class GradientObserver {
 public:
  virtual ~GradientObserver() = default;
  /// After one node's backward: `parameters` (that node's) hold their final gradients.
  virtual void gradients_ready(const std::vector<Parameter<T>*>& parameters) = 0;
  /// After the whole backward, before the optimizer step: every gradient is final on return.
  virtual void backward_done() = 0;
};

/// A symbolic tensor: the output of one node of a Model (its index).
struct Symbol {
  int node = -1;
};

template <typename T>
class Sequential;

template <typename T>
class Model {
 public:
  using Loss = CategoricalCrossEntropy<T>;

  explicit Model(std::uint64_t seed = 0) : rng_(seed) {}

  /// The model's input (one per model), of per-sample shape `shape`.
  Symbol input(const Shape& shape) {
    if (!nodes_.empty()) fail("Model: the input must be the first node, and there is one");
    Node node;
    node.shape = shape;
    nodes_.push_back(std::move(node));
    return Symbol{0};
  }

  /// Applies a one-input layer to `x`; builds it for x's shape.
  template <typename L, typename = std::enable_if_t<std::is_base_of_v<Layer<T>, L>>>
  Symbol apply(L layer, Symbol x) {
    return apply(std::unique_ptr<Layer<T>>(std::make_unique<L>(std::move(layer))), x);
  }
  Symbol apply(std::unique_ptr<Layer<T>> layer, Symbol x) {
    check_symbol(x);
    if (!layer) fail("Model: cannot apply a null layer");
    Node node;
    node.layer = std::move(layer);
    node.inputs = {x.node};
    try {
      node.shape = node.layer->build(nodes_[x.node].shape, rng_);
    } catch (const Error& e) {
      fail("Model: node ", nodes_.size(), " (", node.layer->type(), "): ", e.what());
    }
    return push(std::move(node));
  }

  /// Applies a layer of several inputs (Add, Concatenate) to `xs`.
  template <typename L, typename = std::enable_if_t<std::is_base_of_v<MergeLayer<T>, L>>>
  Symbol merge(L layer, const std::vector<Symbol>& xs) {
    Node node;
    node.merge = std::make_unique<L>(std::move(layer));
    std::vector<Shape> shapes;
    for (Symbol x : xs) {
      check_symbol(x);
      node.inputs.push_back(x.node);
      shapes.push_back(nodes_[x.node].shape);
    }
    try {
      node.shape = node.merge->build(shapes);
    } catch (const Error& e) {
      fail("Model: node ", nodes_.size(), " (", node.merge->type(), "): ", e.what());
    }
    return push(std::move(node));
  }

  /// Marks `y` as the model's output (the class probabilities, for the loss).
  void set_output(Symbol y) {
    check_symbol(y);
    output_ = y.node;
  }

  const Shape& input_shape() const { return require_output(), nodes_[0].shape; }
  const Shape& output_shape() const { return require_output(), nodes_[output_].shape; }
  /// Nodes, the input included.
  std::size_t size() const { return nodes_.size(); }
  /// Node k's one-input layer; null for the input and for merges (Add, Concatenate).
  Layer<T>* layer(std::size_t k) { return nodes_.at(k).layer.get(); }
  const Layer<T>* layer(std::size_t k) const { return nodes_.at(k).layer.get(); }
  /// Node k in words: its layer's type and configuration, a merge's type, or "Input".
  std::string describe(std::size_t k) const {
    const Node& node = nodes_.at(k);
    if (node.layer) return node.layer->type() + " " + node.layer->describe();
    return node.merge ? node.merge->type() : "Input " + node.shape.to_string();
  }

  std::vector<Parameter<T>*> parameters() {
    std::vector<Parameter<T>*> all;
    for (auto& node : nodes_)
      if (node.layer)
        for (auto* p : node.layer->parameters()) all.push_back(p);
    return all;
  }
  /// Every layer's non-trainable arrays (BatchNormalization's moving mean and variance), in node
  /// order; EarlyStopping restores them too.
  std::vector<Parameter<T>*> non_trainable_parameters() {
    std::vector<Parameter<T>*> all;
    for (auto& node : nodes_)
      if (node.layer)
        for (auto* p : node.layer->non_trainable_parameters()) all.push_back(p);
    return all;
  }
  std::size_t parameter_count() {
    std::size_t n = 0;
    for (auto* p : parameters()) n += p->size();
    return n;
  }
  std::size_t non_trainable_parameter_count() {
    std::size_t n = 0;
    for (auto* p : non_trainable_parameters()) n += p->size();
    return n;
  }

  /// Sets the optimizer (copied) and the training loss's options (label smoothing, class
  /// weights: see CategoricalCrossEntropy). evaluate() reports the plain cross-entropy.
  void compile(const Optimizer<T>& optimizer, CrossEntropyOptions loss = {}) {
    optimizer_ = optimizer.clone();
    loss_options_ = std::move(loss);
  }
  Optimizer<T>* optimizer() { return optimizer_.get(); }
  const CrossEntropyOptions& loss_options() const { return loss_options_; }

  /// Runs the graph on a batch; the result is valid until the next forward or training call.
  const Tensor<T>& forward(const Tensor<T>& x, Mode mode = Mode::inference) {
    require_output();
    if (x.shape() != nodes_[0].shape)
      fail("Model: input shape ", x.shape(), " does not match the model's input shape ", nodes_[0].shape);
    if (x.batch() < 1) fail("Model: empty input batch");
    input_ = &x;
    // In inference a BatchNormalization right after a Conv2D, SeparableConv2D or Dense (its only
    // consumer) is folded into it: the layer runs with weights W * s and bias (b - mean) * s +
    // beta, s = gamma / sqrt(variance + epsilon), and the BatchNormalization's pass over memory is
    // skipped. Folding costs a pass over the layer's weights at each forward, so a pair is folded
    // only where the BatchNormalization's pass over the batch is at least as large (at batch 1
    // the deep 3x3 convolutions hold 100x more weights than outputs).
    const bool fold = mode == Mode::inference && fold_batch_norm_;
    if (fold) plan_folds();
    active_folds_ = 0;
    for (auto& f : folds_) {
      const double bn_values = double(x.batch()) * double(nodes_[f.bn].shape.size());
      f.active = fold && bn_values >= double(foldable(f.layer).kernel->size());
      in_fold_[f.layer] = f.active ? kFoldedLayer : 0;
      in_fold_[f.bn] = f.active ? kFoldedBatchNorm : 0;
      active_folds_ += f.active;
    }
    struct Restore {  // swaps the layers' own weights back, also if a forward throws
      Model* model;
      bool active;
      ~Restore() {
        if (active)
          for (auto& f : model->folds_)
            if (f.active) model->swap_folded(f);
      }
    } restore{this, active_folds_ > 0};
    if (restore.active)
      for (auto& f : folds_)
        if (f.active) compute_fold(f), swap_folded(f);
    plan_chains();
    plan_activation_fusions();
    activations_fused_ = mode == Mode::train && fuse_activations_;
    std::size_t next_fold = 0;
    for (std::size_t k = 1; k < nodes_.size();) {
      Node& node = nodes_[k];
      if (activations_fused_ && fused_activation_[k] >= 0) {  // writes its Activation's output
        Node& activation = nodes_[fused_activation_[k]];
        batch_norm(k).forward_train(value(node.inputs[0]), activation.output, activation_function(activation));
        ++k;
        continue;
      }
      if (activations_fused_ && fused_batch_norm_[k] >= 0) {  // its BatchNormalization applied it
        ++k;
        continue;
      }
      while (next_fold < folds_.size() && folds_[next_fold].bn < int(k)) ++next_fold;
      if (next_fold < folds_.size() && folds_[next_fold].bn == int(k) && folds_[next_fold].active) {
        // The folded layer's output is this node's.
        std::swap(node.output, nodes_[folds_[next_fold].layer].output);
        ++k;
        continue;
      }
      if (node.layer) {
        const std::size_t end = mode == Mode::inference ? sample_chain_end(k, x.batch()) : k + 1;
        if (end - k > 1) {
          forward_sample_chain(k, end);
          k = end;
          continue;
        }
        node.layer->forward(value(node.inputs[0]), node.output, mode);
      } else {
        gather_inputs(node);
        node.merge->forward(inputs_scratch_, node.output);
      }
      ++k;
    }
    return value(output_);
  }

  /// One optimization step on one batch; returns its loss and accuracy (before the update).
  /// Throws, leaving the weights untouched, if the loss is not finite.
  Evaluation train_on_batch(const Tensor<T>& x, const std::vector<int>& labels) {
    if (!optimizer_) fail("Model: call compile(optimizer) before training");
    const Tensor<T>& probabilities = forward(x, Mode::train);
    Evaluation result;
    result.loss = Loss::loss(probabilities, labels, loss_options_);
    if (!std::isfinite(result.loss)) fail("training diverged: the loss is ", result.loss);
    result.accuracy = accuracy(probabilities, labels);
    backward_from_loss(labels);
    optimizer_->step(step_parameters());
    return result;
  }

  /// Backpropagates `grad_output` (dLoss/doutput, overwritten) from the output of the last
  /// forward(Mode::train); fills every parameter's grad and, if grad_input is not null,
  /// dLoss/dinput.
  void backward(Tensor<T>& grad_output, Tensor<T>* grad_input = nullptr) {
    reset_gradients();
    std::swap(nodes_[output_].grad, grad_output);
    nodes_[output_].has_grad = true;
    propagate(grad_input);
    std::swap(nodes_[output_].grad, grad_output);
  }

  /// Trains for options.epochs epochs on (x, labels); see FitOptions.
  History fit(const Tensor<T>& x, const std::vector<int>& labels, const FitOptions<T>& options) {
    check_dataset(x, labels, "fit");
    if (options.validation_x && options.validation_y)
      check_dataset(*options.validation_x, *options.validation_y, "fit validation");
    return fit_loop(*this, x, labels, options, fit_x_, fit_labels_);
  }

  /// Loss and accuracy over a data set, in batches (dropout off).
  Evaluation evaluate(const Tensor<T>& x, const std::vector<int>& labels, int batch_size = 256) {
    check_dataset(x, labels, "evaluate");
    double loss_sum = 0.0;
    long correct = 0;
    for_each_batch(x, batch_size, [&](int begin, const Tensor<T>& batch) {
      const Tensor<T>& p = forward(batch, Mode::inference);
      labels_scratch_.assign(labels.begin() + begin, labels.begin() + begin + batch.batch());
      loss_sum += Loss::loss(p, labels_scratch_) * batch.batch();
      correct += count_correct(p, labels_scratch_);
    });
    return {loss_sum / x.batch(), double(correct) / x.batch()};
  }

  /// The output for every sample, in batches.
  Tensor<T> predict(const Tensor<T>& x, int batch_size = 256) {
    Tensor<T> out(x.batch(), output_shape());
    for_each_batch(x, batch_size, [&](int begin, const Tensor<T>& batch) {
      const Tensor<T>& p = forward(batch, Mode::inference);
      std::copy(p.begin(), p.end(), out.sample(begin));
    });
    return out;
  }

  /// Saves the graph (its layers and their hyperparameters, the connections, the weights and
  /// non-trainable state such as BatchNormalization's moving statistics) atomically to `path`, in
  /// model file format version 3. With `with_optimizer` the optimizer state is saved too (a
  /// checkpoint); `metadata` is free text stored alongside.
  void save(const std::filesystem::path& path, bool with_optimizer = false, const std::string& metadata = "") {
    require_output();
    if (with_optimizer && !optimizer_) fail("Model: no optimizer to save; call compile first");
    model_file::save_graph<T>(path, nodes_[0].shape, stored_nodes(), output_, with_optimizer ? optimizer_.get() : nullptr,
                              metadata);
  }

  /// Saves the graph as save() does, without optimizer state, with every weight rounded to float16:
  /// half the file, for a model that ships (load() reads it back as T). A weight beyond the half
  /// range (+-65504) is an error naming it.
  void save_float16(const std::filesystem::path& path, const std::string& metadata = "") {
    require_output();
    model_file::save_graph<T>(path, nodes_[0].shape, stored_nodes(), output_, nullptr, metadata, 2);
  }

  /// Loads a model saved by save(), or a Sequential model's file (as a chain); a checkpoint comes
  /// back compiled with its optimizer state. `seed` seeds the generator of layers applied later.
  static Model load(const std::filesystem::path& path, std::string* metadata = nullptr, std::uint64_t seed = 0) {
    auto contents = model_file::load_graph<T>(path);
    Model model(seed);
    model.input(contents.input_shape);
    for (auto& stored : contents.nodes) {
      Node node;
      static_cast<model_file::GraphNode<T>&>(node) = std::move(stored);
      model.push(std::move(node));
    }
    model.output_ = contents.output;
    model.optimizer_ = std::move(contents.optimizer);
    if (metadata) *metadata = contents.metadata;
    return model;
  }

  /// Tells `observer` (not owned; null: none) about each node's final gradients during backward
  /// and waits on it before the optimizer step (GradientObserver).
  void set_gradient_observer(GradientObserver<T>* observer) { gradient_observer_ = observer; }

  /// Whether training runs a BatchNormalization and the ReLU Activation layer after it as one
  /// layer (on by default; the same outputs and gradients to rounding).
  void set_fuse_activations(bool on) { fuse_activations_ = on; }
  /// How many (BatchNormalization, Activation) pairs the last forward ran as one (in training).
  std::size_t fused_activations() const {
    if (!activations_fused_) return 0;
    return std::size_t(std::count_if(fused_activation_.begin(), fused_activation_.end(), [](int a) { return a >= 0; }));
  }

  /// Whether inference folds BatchNormalization into the Conv2D or Dense before it (on by
  /// default; the outputs agree to rounding).
  void set_fold_batch_norm(bool on) { fold_batch_norm_ = on; }
  /// How many BatchNormalization nodes the last forward folded (in inference, and only where
  /// the batch makes it pay: see forward).
  std::size_t folded_batch_norms() const { return active_folds_; }

  /// A Keras-style table with a "Connected to" column (model/summary_table.hpp).
  std::string summary() {
    require_output();
    std::vector<std::vector<std::string>> rows;
    rows.push_back({"Layer (type)", "Output shape", "Param #", "Connected to"});
    for (std::size_t k = 0; k < nodes_.size(); ++k) {
      const Node& node = nodes_[k];
      std::string connected;
      for (int i : node.inputs) connected += (connected.empty() ? "" : ", ") + name(i);
      std::size_t params = 0;
      if (node.layer) {
        for (auto* p : node.layer->parameters()) params += p->size();
        for (auto* p : node.layer->non_trainable_parameters()) params += p->size();
      }
      rows.push_back({name(int(k)) + " (" + type(int(k)) + ")", summary::format_shape(node.shape), summary::with_commas(params),
                      connected});
    }
    return summary::table("Model: functional, input " + summary::format_shape(nodes_[0].shape), rows,
                          parameter_count(), non_trainable_parameter_count());
  }

 private:
  friend class Sequential<T>;

  // The nodes after the input, as the model file stores them.
  std::vector<model_file::GraphNode<T>*> stored_nodes() {
    std::vector<model_file::GraphNode<T>*> nodes;
    for (std::size_t k = 1; k < nodes_.size(); ++k) nodes.push_back(&nodes_[k]);
    return nodes;
  }

  // layer (one input) or merge (several), neither for the input; inputs; shape: as stored in a
  // model file.
  struct Node : model_file::GraphNode<T> {
    Tensor<T> output;  // the last forward's output
    Tensor<T> grad;    // dLoss/doutput, summed over consumers
    bool has_grad = false;
  };

  Symbol push(Node node) {
    nodes_.push_back(std::move(node));
    return Symbol{int(nodes_.size()) - 1};
  }
  // Appends an already built one-input layer reading the last node (Sequential's chain).
  Symbol append_built(std::unique_ptr<Layer<T>> layer) {
    Node node;
    node.shape = layer->output_shape();
    node.layer = std::move(layer);
    node.inputs = {int(nodes_.size()) - 1};
    return push(std::move(node));
  }
  void check_symbol(Symbol x) const {
    if (x.node < 0 || std::size_t(x.node) >= nodes_.size()) fail("Model: symbol ", x.node, " is not a node of this model");
  }
  void require_output() const {
    if (output_ < 0) fail("Model: no output; call set_output first");
  }
  void check_dataset(const Tensor<T>& x, const std::vector<int>& labels, const char* what) const {
    require_output();
    if (x.shape() != nodes_[0].shape)
      fail(what, ": input shape ", x.shape(), " does not match the model's input shape ", nodes_[0].shape);
    if (labels.size() != std::size_t(x.batch())) fail(what, ": ", labels.size(), " labels for ", x.batch(), " samples");
    if (x.batch() == 0) fail(what, ": no samples");
    const int classes = int(nodes_[output_].shape.size());
    for (std::size_t i = 0; i < labels.size(); ++i)
      if (labels[i] < 0 || labels[i] >= classes)
        fail(what, ": label ", labels[i], " of sample ", i, " is outside [0, ", classes, ")");
  }
  const Tensor<T>& value(int node) const { return node == 0 ? *input_ : nodes_[node].output; }
  void gather_inputs(const Node& node) {
    inputs_scratch_.clear();
    for (int i : node.inputs) inputs_scratch_.push_back(&value(i));
  }
  std::string type(int k) const {
    const Node& n = nodes_[k];
    return n.layer ? n.layer->type() : n.merge ? n.merge->type() : "Input";
  }
  std::string name(int k) const { return "#" + std::to_string(k); }

  struct Fold {
    bool active = false;                   // folded in the current forward
    int layer = -1, bn = -1;               // the Conv2D, SeparableConv2D or Dense node, the BatchNormalization after it
    AlignedVector<T> kernel, bias;         // the folded weights while not swapped in
  };

  // A node's Conv2D, SeparableConv2D or Dense with a linear activation: its kernel and bias
  // (empty for a SeparableConv2D without bias, which adds one when given one) and how the kernel
  // is laid out, or nulls.
  struct Foldable {
    AlignedVector<T>* kernel = nullptr;
    AlignedVector<T>* bias = nullptr;
    std::size_t channels = 0;  // output channels
    bool rows = true;          // output channel c scales kernel row c (else column c: Dense)
  };
  Foldable foldable(int k) {
    Layer<T>* layer = nodes_[k].layer.get();
    if (auto* conv = dynamic_cast<Conv2D<T>*>(layer))  // kernel (F, C, kh, kw)
      if (conv->activation() == Activation::linear)
        return {&conv->kernel_values(), &conv->bias_values(), conv->bias_values().size(), true};  // bias always sized
    if (auto* sep = dynamic_cast<SeparableConv2D<T>*>(layer))  // pointwise kernel (F, C*M)
      if (sep->activation() == Activation::linear)
        return {&sep->pointwise_values(), &sep->bias_values(), std::size_t(sep->filters()), true};
    if (auto* dense = dynamic_cast<Dense<T>*>(layer))  // kernel (in, units)
      if (dense->activation() == Activation::linear)
        return {&dense->kernel_values(), &dense->bias_values(), dense->bias_values().size(), false};
    return {};
  }

  // Per node: how many nodes read its output (the plans below run once per graph).
  std::vector<int> consumer_counts() const {
    std::vector<int> consumers(nodes_.size(), 0);
    for (const auto& node : nodes_)
      for (int i : node.inputs) ++consumers[i];
    return consumers;
  }

  // Finds the (layer, BatchNormalization) pairs to fold, once per graph (nodes are only added).
  void plan_folds() {
    if (folds_planned_for_ == nodes_.size()) return;
    folds_.clear();
    const std::vector<int> consumers = consumer_counts();
    for (std::size_t k = 1; k < nodes_.size(); ++k) {
      if (!dynamic_cast<BatchNormalization<T>*>(nodes_[k].layer.get())) continue;
      const int j = nodes_[k].inputs[0];
      if (j == 0 || j == output_ || consumers[j] != 1 || !foldable(j).kernel) continue;
      Fold f;
      f.layer = j;
      f.bn = int(k);
      folds_.push_back(std::move(f));
    }
    in_fold_.assign(nodes_.size(), 0);  // set per forward, for the folds then active
    folds_planned_for_ = nodes_.size();
  }

  // The (BatchNormalization, Activation) pairs training runs as one layer: the Activation (relu
  // or linear) is the BatchNormalization's only consumer. Once per graph and output.
  void plan_activation_fusions() {
    if (fusions_planned_for_ == nodes_.size() && fusions_output_ == output_) return;
    const std::vector<int> consumers = consumer_counts();
    fused_activation_.assign(nodes_.size(), -1);
    fused_batch_norm_.assign(nodes_.size(), -1);
    for (std::size_t a = 1; a < nodes_.size(); ++a) {
      const auto* activation = dynamic_cast<const ActivationLayer<T>*>(nodes_[a].layer.get());
      if (!activation || !ops::fuses_after_batch_norm(activation->function())) continue;
      const int k = nodes_[a].inputs[0];
      if (!dynamic_cast<BatchNormalization<T>*>(nodes_[k].layer.get()) || consumers[k] != 1 || k == output_) continue;
      fused_activation_[k] = int(a);
      fused_batch_norm_[a] = k;
    }
    fusions_planned_for_ = nodes_.size();
    fusions_output_ = output_;
  }
  BatchNormalization<T>& batch_norm(std::size_t k) { return static_cast<BatchNormalization<T>&>(*nodes_[k].layer); }
  static ops::Pointwise activation_function(const Node& node) {
    return static_cast<const ActivationLayer<T>&>(*node.layer).function();
  }

  // Which nodes pass their output straight to the next node and to nothing else (the links of
  // the per-sample chains inference runs), once per graph and output.
  void plan_chains() {
    if (chains_planned_for_ == nodes_.size() && chains_output_ == output_) return;
    const std::vector<int> consumers = consumer_counts();
    feeds_next_only_.assign(nodes_.size(), 0);
    for (std::size_t k = 1; k + 1 < nodes_.size(); ++k) {
      const Node& next = nodes_[k + 1];
      feeds_next_only_[k] = next.layer && next.inputs[0] == int(k) && consumers[k] == 1 && int(k) != output_;
    }
    chains_planned_for_ = nodes_.size();
    chains_output_ = output_;
  }

  bool folded_batch_norm(std::size_t k) const { return k < in_fold_.size() && in_fold_[k] == kFoldedBatchNorm; }

  // One past the last node of the chain of per-sample layers that starts at node `first` (first + 1
  // when it has no per-sample forward). The BatchNormalization of a fold in use passes its
  // input on (its layer applies it), so it joins the chain of its layer.
  std::size_t sample_chain_end(std::size_t first, int batch) const {
    auto per_sample = [&](std::size_t k) {
      return nodes_[k].layer && (folded_batch_norm(k) || nodes_[k].layer->has_sample_forward(batch));
    };
    std::size_t end = first + 1;
    if (per_sample(first))
      while (end < nodes_.size() && feeds_next_only_[end - 1] && per_sample(end)) ++end;
    return end;
  }

  // Inference through nodes [first, last), a chain of layers with a per-sample forward, one
  // sample at a time: each thread passes its sample from layer to layer in two buffers of its
  // own, which stay in cache, and only the last layer's output goes to memory, as node last - 1's
  // value. (The outputs of the chain's other nodes are left as they were; nothing else reads them.)
  // A chain never starts at a folded BatchNormalization: forward passes that one on itself.
  void forward_sample_chain(std::size_t first, std::size_t last) {
    const Tensor<T>& x = value(nodes_[first].inputs[0]);
    Tensor<T>& y = nodes_[last - 1].output;
    const int batch = x.batch();
    y.resize(batch, nodes_[last - 1].shape);
    chain_layers_.clear();
    std::size_t largest = 0, layer_scratch = 0;
    for (std::size_t k = first; k < last; ++k) {
      if (folded_batch_norm(k)) continue;
      Layer<T>* layer = nodes_[k].layer.get();
      layer->prepare_sample_forward();
      chain_layers_.push_back(layer);
      layer_scratch = std::max(layer_scratch, layer->sample_scratch_size());
      if (k + 1 < last) largest = std::max(largest, nodes_[k].shape.size());
    }
    auto aligned = [](std::size_t n) { return (n + 15) / 16 * 16; };  // 64 bytes of float
    const std::size_t stride = aligned(largest), per_thread = 2 * stride + aligned(layer_scratch);
    sample_scratch_.resize(std::max<std::size_t>(sample_scratch_.size(), max_threads()));
    for (auto& scratch : sample_scratch_)
      if (scratch.size() < per_thread) scratch.resize(per_thread);
    const std::size_t layers = chain_layers_.size();
#pragma omp parallel for schedule(static) if (batch > 1)
    for (int n = 0; n < batch; ++n) {
      T* buffers = sample_scratch_[thread_index()].data();
      T* layer_scratch_begin = layer_scratch ? buffers + 2 * stride : nullptr;
      const T* in = x.sample(n);
      for (std::size_t i = 0; i < layers; ++i) {
        T* out = i + 1 == layers ? y.sample(n) : buffers + (i % 2) * stride;
        chain_layers_[i]->forward_sample(in, out, layer_scratch_begin);
        in = out;
      }
    }
  }

  // Fills f's folded weights from the current weights and moving statistics.
  void compute_fold(Fold& f) {
    const Foldable layer = foldable(f.layer);
    auto& bn = static_cast<BatchNormalization<T>&>(*nodes_[f.bn].layer);
    const auto& gamma = bn.parameters()[0]->value;
    const auto& beta = bn.parameters()[1]->value;
    const auto& mean = bn.non_trainable_parameters()[0]->value;
    const auto& variance = bn.non_trainable_parameters()[1]->value;
    const std::size_t channels = layer.channels;
    const AlignedVector<T>& kernel = *layer.kernel;
    f.kernel.resize(kernel.size());
    f.bias.resize(channels);
    const std::size_t per_channel = kernel.size() / channels;
    for (std::size_t c = 0; c < channels; ++c) {
      const double s = double(gamma[c]) / std::sqrt(double(variance[c]) + bn.epsilon());
      const double b = layer.bias->empty() ? 0.0 : double((*layer.bias)[c]);
      f.bias[c] = T((b - double(mean[c])) * s + double(beta[c]));
      if (layer.rows) {
        for (std::size_t i = 0; i < per_channel; ++i) f.kernel[c * per_channel + i] = T(kernel[c * per_channel + i] * s);
      } else {
        for (std::size_t i = 0; i < per_channel; ++i) f.kernel[i * channels + c] = T(kernel[i * channels + c] * s);
      }
    }
  }
  void swap_folded(Fold& f) {
    const Foldable layer = foldable(f.layer);
    std::swap(*layer.kernel, f.kernel);
    std::swap(*layer.bias, f.bias);
  }

  // parameters(), and each node's share of them for the GradientObserver, listed once per graph
  // (again when a node is added): a step builds no vector.
  void list_parameters() {
    if (parameters_listed_for_ == nodes_.size()) return;
    step_parameters_.clear();
    node_parameters_.assign(nodes_.size(), {});
    for (std::size_t k = 0; k < nodes_.size(); ++k)
      if (nodes_[k].layer) {
        node_parameters_[k] = nodes_[k].layer->parameters();
        step_parameters_.insert(step_parameters_.end(), node_parameters_[k].begin(),
                                node_parameters_[k].end());
      }
    parameters_listed_for_ = nodes_.size();
  }
  const std::vector<Parameter<T>*>& step_parameters() {
    list_parameters();
    return step_parameters_;
  }

  void reset_gradients() {
    for (auto& node : nodes_) node.has_grad = false;
  }

  // Where a backward writes its contribution to node k's gradient: straight into the node's own
  // buffer for the first one (then marked as set), else into `spare` for accumulate to add. Each
  // node keeps its buffer from step to step, so steps of one batch size allocate nothing.
  Tensor<T>* gradient_target(int k, Tensor<T>& spare) {
    Node& node = nodes_[k];
    if (node.has_grad) return &spare;
    node.has_grad = true;
    return &node.grad;
  }
  // Adds `g` into node k's gradient unless g is that gradient (gradient_target's first contribution).
  void accumulate(int k, Tensor<T>& g) {
    Node& node = nodes_[k];
    if (&g == &node.grad) return;
    T* dst = node.grad.data();
    const T* src = g.data();
    for (std::size_t i = 0; i < node.grad.size(); ++i) dst[i] += src[i];
  }

  void backward_from_loss(const std::vector<int>& labels) {
    reset_gradients();
    Node& out = nodes_[output_];
    if (dynamic_cast<Softmax<T>*>(out.layer.get()) && out.inputs[0] != 0) {
      // Fused softmax + cross-entropy: dLoss/d(softmax input) = (p - y) / N.
      Tensor<T>* target = gradient_target(out.inputs[0], scratch_);
      Loss::softmax_gradient(out.output, labels, *target, loss_options_);
      accumulate(out.inputs[0], *target);
    } else {
      Loss::gradient(value(output_), labels, out.grad, loss_options_);
      out.has_grad = true;
    }
    propagate(nullptr);
  }

  // Runs every node's backward in reverse order, from the gradients set so far.
  void propagate(Tensor<T>* grad_input) {
    list_parameters();
    for (std::size_t k = nodes_.size(); k-- > 1;) {
      Node& node = nodes_[k];
      // A fused Activation's gradient goes straight to its BatchNormalization's backward.
      if (activations_fused_ && fused_batch_norm_[k] >= 0) continue;
      Node* fused = activations_fused_ && fused_activation_[k] >= 0 ? &nodes_[fused_activation_[k]] : nullptr;
      if (!(fused ? fused->has_grad : node.has_grad)) {
        // No path to the loss (or the output's softmax, handled by the fused gradient): its
        // parameters get zero gradients.
        if (node.layer) {
          for (auto* p : node_parameters_[k]) std::fill(p->grad.begin(), p->grad.end(), T(0));
          if (gradient_observer_) gradient_observer_->gradients_ready(node_parameters_[k]);
        }
        continue;
      }
      if (node.layer) {
        const int in = node.inputs[0];
        const bool wants = in != 0 || grad_input;
        Tensor<T>* target = wants ? gradient_target(in, scratch_) : nullptr;
        if (fused) batch_norm(k).backward_train(value(in), fused->grad, target, activation_function(*fused));
        else node.layer->backward(value(in), node.output, node.grad, target);
        if (gradient_observer_) gradient_observer_->gradients_ready(node_parameters_[k]);
        if (wants) accumulate(in, *target);
      } else {
        gather_inputs(node);
        merge_grads_.resize(node.inputs.size());
        grad_pointers_.clear();
        for (std::size_t i = 0; i < node.inputs.size(); ++i)  // an input used twice: its second slot is a spare
          grad_pointers_.push_back(node.inputs[i] != 0 || grad_input ? gradient_target(node.inputs[i], merge_grads_[i])
                                                                      : nullptr);
        node.merge->backward(inputs_scratch_, node.grad, grad_pointers_);
        for (std::size_t i = 0; i < node.inputs.size(); ++i)
          if (grad_pointers_[i]) accumulate(node.inputs[i], *grad_pointers_[i]);
      }
    }
    if (gradient_observer_) gradient_observer_->backward_done();
    if (grad_input) {
      if (nodes_[0].has_grad) std::swap(*grad_input, nodes_[0].grad);
      else grad_input->resize(input_->batch(), nodes_[0].shape), std::fill(grad_input->begin(), grad_input->end(), T(0));
    }
  }

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
  Rng rng_;
  std::vector<Node> nodes_;
  bool fold_batch_norm_ = true;
  std::vector<Fold> folds_;
  static constexpr char kFoldedLayer = 1, kFoldedBatchNorm = 2;
  std::vector<char> in_fold_;          // per node: 0, or which side of an active fold it is
  std::size_t active_folds_ = 0;       // folds active in the last forward
  std::size_t folds_planned_for_ = 0;  // the node count folds_ was planned for
  bool fuse_activations_ = true;
  bool activations_fused_ = false;         // by the last forward (Mode::train), so also by its backward
  std::vector<int> fused_activation_;      // per BatchNormalization node: its fused Activation node, or -1
  std::vector<int> fused_batch_norm_;      // per Activation node: the BatchNormalization fused with it, or -1
  std::size_t fusions_planned_for_ = 0;
  int fusions_output_ = -1;
  std::vector<char> feeds_next_only_;  // per node: its one consumer is the next node, a layer
  std::size_t chains_planned_for_ = 0;
  int chains_output_ = -1;
  std::vector<AlignedVector<T>> sample_scratch_;  // per thread: forward_sample_chain's buffers
  std::vector<Layer<T>*> chain_layers_;           // the layers forward_sample_chain runs
  std::vector<Parameter<T>*> step_parameters_;    // parameters(), for the optimizer
  std::vector<std::vector<Parameter<T>*>> node_parameters_;  // per node: its layer's parameters()
  std::size_t parameters_listed_for_ = 0;                    // the node count they were listed for
  int output_ = -1;
  const Tensor<T>* input_ = nullptr;
  std::unique_ptr<Optimizer<T>> optimizer_;
  CrossEntropyOptions loss_options_;
  GradientObserver<T>* gradient_observer_ = nullptr;
  std::vector<const Tensor<T>*> inputs_scratch_;
  std::vector<Tensor<T>> merge_grads_;
  std::vector<Tensor<T>*> grad_pointers_;
  Tensor<T> scratch_, batch_x_, fit_x_;
  std::vector<int> labels_scratch_, fit_labels_;
};

}  // namespace minidnn
