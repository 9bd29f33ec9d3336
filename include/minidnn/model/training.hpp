#pragma once
/// \file
/// What fit (Sequential and Model, one loop in model/fit_loop.hpp) takes and reports: options,
/// per-batch and per-epoch logs, history.
#include <cstdint>
#include <functional>
#include <vector>

#include "minidnn/core/random.hpp"
#include "minidnn/core/tensor.hpp"

namespace minidnn {

template <typename T>
class Callback;  // model/callbacks.hpp

/// Loss and accuracy over some samples.
struct Evaluation {
  double loss = 0.0;
  double accuracy = 0.0;
};

/// Reported after each training batch; `loss`/`accuracy` are running means over the epoch so far.
struct BatchLogs {
  int epoch = 0;        // 0-based
  int batch = 0;        // 0-based, within the epoch
  int batches = 0;      // batches in the epoch
  int samples_seen = 0; // in this epoch so far
  double loss = 0.0;
  double accuracy = 0.0;
};

/// Reported after each epoch. Validation figures are present when validation data was given.
struct EpochLogs {
  int epoch = 0;  // 0-based
  double loss = 0.0, accuracy = 0.0;
  bool has_validation = false;
  double val_loss = 0.0, val_accuracy = 0.0;
  double seconds = 0.0;  // wall time of the epoch, validation included
  double learning_rate = 0.0;  // the optimizer's rate at the end of the epoch, before callbacks
};

struct History {
  std::vector<EpochLogs> epochs;
  /// True when a callback asked to stop before the requested epochs were done.
  bool stopped = false;
  /// True when a Callback (e.g. EarlyStopping) made that stop: the run is over, not interrupted.
  bool stopped_by_callback = false;
  /// Where training stopped: the next batch to run is (next_epoch, next_batch).
  int next_epoch = 0, next_batch = 0;
};

template <typename T>
struct FitOptions {
  int epochs = 1;
  int batch_size = 32;
  bool shuffle = true;
  /// Seeds the per-epoch shuffles (and the augmentation generator): epoch e's order depends only
  /// on (seed, e), so a run resumed at epoch e sees the same batches as an uninterrupted one.
  std::uint64_t seed = 1;
  /// Where to start: lets a checkpointed run continue where it stopped.
  int initial_epoch = 0, initial_batch = 0;
  /// With initial_batch > 0: what the interrupted epoch's earlier batches had reached (the last
  /// BatchLogs before the stop, and the seconds spent), so the resumed epoch's loss, accuracy and
  /// time cover the whole epoch rather than only the batches run after the resume.
  int initial_samples_seen = 0;
  double initial_loss = 0.0, initial_accuracy = 0.0, initial_seconds = 0.0;
  const Tensor<T>* validation_x = nullptr;
  const std::vector<int>* validation_y = nullptr;
  /// Instead of validation_x/y: hold out this fraction of (x, labels) for validation, the last
  /// samples, taken before shuffling (Keras's validation_split); training uses the rest.
  double validation_split = 0.0;
  /// When set, the optimizer's learning rate is set to learning_rate(epoch) before each epoch
  /// (0-based), e.g. CosineDecay. A resumed run gets the rate of the epoch it resumes in.
  std::function<double(int epoch)> learning_rate;
  /// Or per batch: the rate for the step-th batch of the run (epoch * batches + batch, 0-based),
  /// set before each batch, e.g. OneCycle. At most one of the two.
  std::function<double(std::int64_t step)> step_learning_rate;
  /// Changes a gathered training batch in place (e.g. random flips); gets a generator derived
  /// from (seed, epoch, batch).
  std::function<void(Tensor<T>& batch, Rng& rng)> augment;
  /// Called after every batch; return false to stop training after this batch.
  std::function<bool(const BatchLogs&)> on_batch_end;
  /// Called after every epoch (after the callbacks); return false to stop training.
  std::function<bool(const EpochLogs&)> on_epoch_end;
  /// EarlyStopping, ModelCheckpoint, ReduceLROnPlateau... (model/callbacks.hpp), run in order
  /// after each epoch's validation; not owned.
  std::vector<Callback<T>*> callbacks;
};

}  // namespace minidnn
