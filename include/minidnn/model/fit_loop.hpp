#pragma once
/// \file
/// fit_loop: the one training loop of every model type (Sequential, the functional Model):
/// epochs of shuffled batches gathered into a reused buffer, optional augmentation and
/// learning-rate schedule (per epoch or per batch), validation (given, or split off the data),
/// callbacks (model/callbacks.hpp) and per-batch/per-epoch hooks, resumption at
/// (initial_epoch, initial_batch). The model supplies train_on_batch, evaluate, optimizer() and
/// parameters(); callbacks also use non_trainable_parameters() and save().
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <numeric>
#include <string>
#include <utility>
#include <vector>

#include "minidnn/core/error.hpp"
#include "minidnn/core/random.hpp"
#include "minidnn/core/tensor.hpp"
#include "minidnn/model/callbacks.hpp"
#include "minidnn/model/training.hpp"

namespace minidnn {

namespace fit_detail {

// The model as callbacks see it.
template <typename Model, typename T>
class CallbackView : public TrainingModel<T> {
 public:
  explicit CallbackView(Model& model) : model_(model) {}
  std::vector<Parameter<T>*> weights() override {
    std::vector<Parameter<T>*> all = model_.parameters();
    for (auto* p : model_.non_trainable_parameters()) all.push_back(p);
    return all;
  }
  Optimizer<T>* optimizer() override { return model_.optimizer(); }
  void save(const std::filesystem::path& path, bool with_optimizer) override {
    model_.save(path, with_optimizer, std::string());
  }

 private:
  Model& model_;
};

}  // namespace fit_detail

/// Trains `model` for options.epochs epochs on (x, labels); see FitOptions. The caller has
/// checked the data set's shapes and labels; batch_x and batch_labels are its reused buffers
/// (evaluate() may reuse them between epochs: each epoch gathers afresh).
template <typename Model, typename T>
History fit_loop(Model& model, const Tensor<T>& x, const std::vector<int>& labels, const FitOptions<T>& options,
                 Tensor<T>& batch_x, std::vector<int>& batch_labels) {
  if (options.epochs < 0 || options.batch_size < 1)
    fail("fit: need epochs >= 0 and batch_size >= 1, got ", options.epochs, " and ", options.batch_size);
  if ((options.validation_x == nullptr) != (options.validation_y == nullptr))
    fail("fit: give both validation_x and validation_y, or neither");
  if (options.learning_rate && options.step_learning_rate)
    fail("fit: give learning_rate (per epoch) or step_learning_rate (per batch), not both");
  if ((options.learning_rate || options.step_learning_rate) && !model.optimizer())
    fail("fit: call compile(optimizer) before training");
  // validation_split: the last samples validate (copied once), the first ones train.
  int n = x.batch();
  Tensor<T> split_x;
  std::vector<int> split_y;
  const Tensor<T>* validation_x = options.validation_x;
  const std::vector<int>* validation_y = options.validation_y;
  if (options.validation_split != 0.0) {
    if (!(options.validation_split > 0 && options.validation_split < 1))
      fail("fit: validation_split must be in [0, 1), got ", options.validation_split);
    if (validation_x) fail("fit: give validation_x/y or validation_split, not both");
    const int train = static_cast<int>(n * (1.0 - options.validation_split));
    if (train < 1 || train >= n)
      fail("fit: validation_split ", options.validation_split, " of ", n, " samples leaves ", train,
           " for training and ", n - train, " for validation; both need at least one");
    split_x.resize(n - train, x.shape());
    std::copy(x.sample(train), x.sample(train) + (n - train) * x.sample_size(), split_x.data());
    split_y.assign(labels.begin() + train, labels.end());
    validation_x = &split_x;
    validation_y = &split_y;
    n = train;
  }
  const int batches = (n + options.batch_size - 1) / options.batch_size;
  History history;
  std::vector<int> order(n);
  fit_detail::CallbackView<Model, T> view(model);
  const TrainBegin begin{options.initial_epoch, options.epochs, validation_x != nullptr,
                         options.learning_rate || options.step_learning_rate};
  for (auto* callback : options.callbacks) callback->on_train_begin(begin, view);
  auto end_training = [&](bool finished) {
    for (auto* callback : options.callbacks) callback->on_train_end(finished, view);
    return history;
  };
  for (int epoch = options.initial_epoch; epoch < options.epochs; ++epoch) {
    const auto start = std::chrono::steady_clock::now();
    if (options.learning_rate) model.optimizer()->set_learning_rate(options.learning_rate(epoch));
    std::iota(order.begin(), order.end(), 0);
    if (options.shuffle) {
      Rng rng(Rng::derive(options.seed, static_cast<std::uint64_t>(epoch)));
      for (int i = n - 1; i > 0; --i) std::swap(order[i], order[rng.below(static_cast<std::uint64_t>(i) + 1)]);
    }
    BatchLogs logs{epoch, 0, batches, 0, 0.0, 0.0};
    double loss_sum = 0.0;
    long correct = 0;
    const int first_batch = epoch == options.initial_epoch ? options.initial_batch : 0;
    auto epoch_start = start;
    if (first_batch > 0 && options.initial_samples_seen > 0) {  // the interrupted epoch's sums so far
      logs.samples_seen = options.initial_samples_seen;
      loss_sum = options.initial_loss * options.initial_samples_seen;
      correct = std::lround(options.initial_accuracy * options.initial_samples_seen);
      epoch_start -= std::chrono::duration_cast<std::chrono::steady_clock::duration>(
          std::chrono::duration<double>(options.initial_seconds));
    }
    for (int b = first_batch; b < batches; ++b) {
      const int begin = b * options.batch_size;
      const int count = std::min(options.batch_size, n - begin);
      batch_x.resize(count, x.shape());
      batch_labels.resize(count);
      for (int i = 0; i < count; ++i) {
        const int k = order[begin + i];
        std::copy(x.sample(k), x.sample(k) + x.sample_size(), batch_x.sample(i));
        batch_labels[i] = labels[k];
      }
      if (options.step_learning_rate)
        model.optimizer()->set_learning_rate(options.step_learning_rate(std::int64_t(epoch) * batches + b));
      if (options.augment) {
        Rng rng(Rng::derive(Rng::derive(options.seed, 0x5eed + epoch), static_cast<std::uint64_t>(b)));
        options.augment(batch_x, rng);
      }
      Evaluation step;
      try {
        step = model.train_on_batch(batch_x, batch_labels);
      } catch (const Error& e) {
        fail("epoch ", epoch + 1, ", batch ", b + 1, ": ", e.what());
      }
      loss_sum += step.loss * count;
      correct += std::lround(step.accuracy * count);
      logs.batch = b;
      logs.samples_seen += count;
      logs.loss = loss_sum / logs.samples_seen;
      logs.accuracy = double(correct) / logs.samples_seen;
      if (options.on_batch_end && !options.on_batch_end(logs)) {
        history.stopped = true;
        history.next_epoch = b + 1 < batches ? epoch : epoch + 1;
        history.next_batch = b + 1 < batches ? b + 1 : 0;
        return end_training(false);
      }
    }
    EpochLogs epoch_logs;
    epoch_logs.epoch = epoch;
    epoch_logs.loss = logs.loss;
    epoch_logs.accuracy = logs.accuracy;
    if (model.optimizer()) epoch_logs.learning_rate = model.optimizer()->learning_rate();
    if (validation_x) {
      const Evaluation v = model.evaluate(*validation_x, *validation_y, options.batch_size);
      epoch_logs.has_validation = true;
      epoch_logs.val_loss = v.loss;
      epoch_logs.val_accuracy = v.accuracy;
    }
    epoch_logs.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - epoch_start).count();
    history.epochs.push_back(epoch_logs);
    history.next_epoch = epoch + 1;
    bool keep_going = true;
    for (auto* callback : options.callbacks) keep_going = callback->on_epoch_end(epoch_logs, view) && keep_going;
    if (!keep_going) history.stopped = history.stopped_by_callback = epoch + 1 < options.epochs;
    if (options.on_epoch_end && !options.on_epoch_end(epoch_logs)) {
      history.stopped = epoch + 1 < options.epochs;
      return end_training(!history.stopped || history.stopped_by_callback);
    }
    if (!keep_going) return end_training(true);
  }
  return end_training(true);
}

}  // namespace minidnn
