#pragma once
/// \file
/// DataParallel<T>: synchronous data-parallel training of a Model over the ranks of MPI_COMM_WORLD.
///
///     distributed::MpiEnvironment mpi(&argc, &argv);
///     Model<float> model = ...;  model.compile(Adam<float>(1e-3));
///     distributed::DataParallel<float> parallel(mpi, model);  // rank 0's weights to every rank
///     History h = parallel.fit(x, labels, options);            // options as for Model::fit
///
/// Every rank holds the whole data set and runs the same fit loop (model/fit_loop.hpp) with the
/// same options: the same seed gives every rank the same shuffled order and the same global
/// batches (augmented alike), and each rank trains on its shard of each global batch
/// (distributed/shard.hpp: global / ranks samples, the remainder to the first ranks). Gradients
/// are averaged by GradientAllreduce, weighted by each rank's share, so a step equals one
/// process's step on the whole global batch up to float rounding, and the optimizer step (the
/// same code on the same numbers) keeps the weights identical on every rank. Loss, accuracy and
/// validation (split across ranks) are summed over ranks, so every rank sees the same logs and
/// callbacks decide alike; only rank 0 writes files (save(): atomic, as Model::save).
///
/// BatchNormalization uses each rank's local batch statistics in training (what PyTorch's
/// DistributedDataParallel does without SyncBatchNorm): no communication inside forward, but
/// with small per-rank batches the statistics are noisier than one process's. The moving mean
/// and variance (which drift apart across ranks) are averaged over the ranks before every
/// evaluation and save and at the end of fit, so every rank evaluates and rank 0 saves the same
/// statistics. Dropout: each rank draws the whole global batch's mask from its copy of the
/// layer's generator and applies its shard's part (Dropout::set_batch_window), so training with
/// dropout is exactly one process's too.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "minidnn/core/error.hpp"
#include "minidnn/core/tensor.hpp"
#include "minidnn/distributed/environment.hpp"
#include "minidnn/distributed/gradient_allreduce.hpp"
#include "minidnn/distributed/shard.hpp"
#include "minidnn/layers/dropout.hpp"
#include "minidnn/model/fit_loop.hpp"
#include "minidnn/model/functional.hpp"
#include "minidnn/model/training.hpp"

namespace minidnn::distributed {

template <typename T>
class DataParallel {
 public:
  /// Broadcasts rank 0's weights and moving statistics to every rank and hooks the allreduce
  /// into `model`'s backward (both not owned; they outlive this object).
  DataParallel(const MpiEnvironment& environment, Model<T>& model, std::size_t bucket_elements = std::size_t(1) << 20,
               bool overlap = true)
      : environment_(environment), model_(model), allreduce_(environment, model.parameters(), bucket_elements, overlap) {
    for (auto* p : model_.parameters()) environment_.broadcast(p->value.data(), p->value.size());
    for (auto* p : model_.non_trainable_parameters()) environment_.broadcast(p->value.data(), p->value.size());
    model_.set_gradient_observer(&allreduce_);
    for (std::size_t k = 0; k < model_.size(); ++k)
      if (auto* dropout = dynamic_cast<Dropout<T>*>(model_.layer(k))) dropouts_.push_back(dropout);
  }
  ~DataParallel() {
    model_.set_gradient_observer(nullptr);
    for (auto* dropout : dropouts_) dropout->set_batch_window(0, 0);
  }
  DataParallel(const DataParallel&) = delete;
  DataParallel& operator=(const DataParallel&) = delete;

  /// Trains as Model::fit does, every rank on its shard of each global batch of options.batch_size.
  History fit(const Tensor<T>& x, const std::vector<int>& labels, const FitOptions<T>& options) {
    if (labels.size() != std::size_t(x.batch())) fail("fit: ", labels.size(), " labels for ", x.batch(), " samples");
    History history = fit_loop(*this, x, labels, options, batch_x_, batch_labels_);
    synchronize_statistics();
    return history;
  }

  /// One step on the global batch (x, labels), of which this rank trains its shard; returns the
  /// loss and accuracy over the whole global batch (before the update). A step that fails on one
  /// rank (e.g. a loss that is not finite) ends the job: the others could not know.
  Evaluation train_on_batch(const Tensor<T>& x, const std::vector<int>& labels) {
    const int global = x.batch();
    const Shard shard = shard_of(global, environment_.rank(), environment_.size());
    allreduce_.set_weight(double(shard.count) / global);
    double sums[2] = {0.0, 0.0};  // loss * samples, correct samples
    if (shard.count > 0) {
      local_x_.resize(shard.count, x.shape());
      std::copy(x.sample(shard.begin), x.sample(shard.begin) + std::size_t(shard.count) * x.sample_size(),
                local_x_.data());
      local_labels_.assign(labels.begin() + shard.begin, labels.begin() + shard.begin + shard.count);
      Evaluation local;
      try {
        for (auto* dropout : dropouts_) dropout->set_batch_window(shard.begin, global);
        local = model_.train_on_batch(local_x_, local_labels_);
      } catch (const Error& e) {
        environment_.abort(std::string("training step failed: ") + e.what());
      }
      sums[0] = local.loss * shard.count;
      sums[1] = std::round(local.accuracy * shard.count);
    } else {  // nothing to train on in this (small, last) batch: take part in the sums all the same
      if (!model_.optimizer()) fail("fit: call compile(optimizer) before training");
      for (auto* dropout : dropouts_) dropout->skip_samples(global);  // the masks of the others' samples
      allreduce_.backward_done();
      model_.optimizer()->step(model_.parameters());
    }
    environment_.sum(sums, 2);
    return {sums[0] / global, sums[1] / global};
  }

  /// Loss and accuracy over (x, labels), each rank evaluating its shard.
  Evaluation evaluate(const Tensor<T>& x, const std::vector<int>& labels, int batch_size = 256) {
    if (labels.size() != std::size_t(x.batch())) fail("evaluate: ", labels.size(), " labels for ", x.batch(), " samples");
    if (x.batch() == 0) fail("evaluate: no samples");
    synchronize_statistics();
    const Shard shard = shard_of(x.batch(), environment_.rank(), environment_.size());
    double sums[2] = {0.0, 0.0};
    if (shard.count > 0) {
      local_x_.resize(shard.count, x.shape());
      std::copy(x.sample(shard.begin), x.sample(shard.begin) + std::size_t(shard.count) * x.sample_size(),
                local_x_.data());
      local_labels_.assign(labels.begin() + shard.begin, labels.begin() + shard.begin + shard.count);
      const Evaluation local = model_.evaluate(local_x_, local_labels_, batch_size);
      sums[0] = local.loss * shard.count;
      sums[1] = std::round(local.accuracy * shard.count);
    }
    environment_.sum(sums, 2);
    return {sums[0] / x.batch(), sums[1] / x.batch()};
  }

  /// Rank 0 saves (atomically, Model::save); every rank returns once it has, or fails if it could not.
  void save(const std::filesystem::path& path, bool with_optimizer = false, const std::string& metadata = "") {
    synchronize_statistics();
    int ok = 1;
    std::string error;
    if (environment_.is_root()) {
      try {
        model_.save(path, with_optimizer, metadata);
      } catch (const Error& e) {
        ok = 0;
        error = e.what();
      }
    }
    environment_.broadcast(ok);
    if (!ok) fail(environment_.is_root() ? error : "rank 0 could not save " + path.string());
  }

  /// Averages the non-trainable arrays (BatchNormalization's moving statistics) over the ranks.
  void synchronize_statistics() {
    for (auto* p : model_.non_trainable_parameters()) {
      check_mpi(MPI_Allreduce(MPI_IN_PLACE, p->value.data(), int(p->value.size()), mpi_type<T>(), MPI_SUM,
                              MPI_COMM_WORLD),
                "MPI_Allreduce");
      const T scale = T(1) / T(environment_.size());
      for (auto& v : p->value) v *= scale;
    }
  }

  Optimizer<T>* optimizer() { return model_.optimizer(); }
  std::vector<Parameter<T>*> parameters() { return model_.parameters(); }
  std::vector<Parameter<T>*> non_trainable_parameters() { return model_.non_trainable_parameters(); }
  Model<T>& model() { return model_; }
  GradientAllreduce<T>& allreduce() { return allreduce_; }
  const MpiEnvironment& environment() const { return environment_; }

 private:
  const MpiEnvironment& environment_;
  Model<T>& model_;
  GradientAllreduce<T> allreduce_;
  Tensor<T> batch_x_, local_x_;
  std::vector<int> batch_labels_, local_labels_;
  std::vector<Dropout<T>*> dropouts_;  // told each step which samples of the global batch are this rank's
};

}  // namespace minidnn::distributed
