#pragma once
/// \file
/// Keras-style callbacks for fit (FitOptions::callbacks): EarlyStopping, ModelCheckpoint and
/// ReduceLROnPlateau, each watching one figure of the epoch logs ("val_loss", "val_accuracy",
/// "loss" or "accuracy"; losses improve downwards, accuracies upwards).
///
///     EarlyStopping<float> stop("val_loss", /*patience=*/5, /*min_delta=*/0, /*restore_best_weights=*/true);
///     ModelCheckpoint<float> best("best.mdnn", "val_accuracy");
///     ReduceLROnPlateau<float> plateau("val_loss", /*factor=*/0.5, /*patience=*/3);
///     options.callbacks = {&stop, &best, &plateau};
///
/// They run after each epoch's validation, in order, before FitOptions::on_epoch_end. A callback
/// keeps its state across fit calls: a fit that starts at epoch 0 resets it, a resumed one
/// (initial_epoch > 0) continues from it; state()/set_state() carry the counters through a
/// checkpoint's metadata (EarlyStopping's best weights excepted: after a resume in another
/// process it can restore only weights it has seen since).
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <sstream>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "minidnn/core/aligned_vector.hpp"
#include "minidnn/core/error.hpp"
#include "minidnn/core/parameter.hpp"
#include "minidnn/model/training.hpp"
#include "minidnn/optim/optimizer.hpp"

namespace minidnn {

/// What a callback may use of the model being trained.
template <typename T>
class TrainingModel {
 public:
  virtual ~TrainingModel() = default;
  /// Every value that makes the model what it is: trainable parameters, then non-trainable ones
  /// (BatchNormalization's moving statistics).
  virtual std::vector<Parameter<T>*> weights() = 0;
  virtual Optimizer<T>* optimizer() = 0;
  /// Saves the model atomically (the file is the old one or the complete new one).
  virtual void save(const std::filesystem::path& path, bool with_optimizer) = 0;
};

/// How the run starts, for on_train_begin.
struct TrainBegin {
  int initial_epoch = 0, epochs = 0;
  bool has_validation = false;
  bool has_schedule = false;  // FitOptions::learning_rate or step_learning_rate is set
};

template <typename T>
class Callback {
 public:
  virtual ~Callback() = default;
  virtual void on_train_begin(const TrainBegin&, TrainingModel<T>&) {}
  /// Returns false to stop training after this epoch.
  virtual bool on_epoch_end(const EpochLogs&, TrainingModel<T>&) { return true; }
  /// `finished`: the run reached its last epoch or a callback stopped it (false when
  /// FitOptions::on_batch_end/on_epoch_end interrupted it, e.g. to resume later).
  virtual void on_train_end(bool /*finished*/, TrainingModel<T>&) {}
};

namespace callback_detail {

inline bool higher_is_better(const std::string& monitor) {
  if (monitor == "loss" || monitor == "val_loss") return false;
  if (monitor == "accuracy" || monitor == "val_accuracy") return true;
  fail("callback: cannot monitor '", monitor, "'; use loss, accuracy, val_loss or val_accuracy");
}

inline void check_monitor(const char* who, const std::string& monitor, const TrainBegin& begin) {
  higher_is_better(monitor);
  if (monitor.rfind("val_", 0) == 0 && !begin.has_validation)
    fail(who, ": monitors ", monitor, " but fit has no validation data (give validation_x/y or validation_split)");
}

// Whether `current` beats `best` by more than min_delta, in the monitored figure's direction.
inline bool improves(bool higher_is_better, double current, double best, double min_delta = 0.0) {
  return higher_is_better ? current - min_delta > best : current + min_delta < best;
}

// The starting "best" that any first epoch improves on.
inline double worst(bool higher_is_better) {
  return higher_is_better ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity();
}

inline double monitored(const EpochLogs& logs, const std::string& monitor) {
  if (monitor == "loss") return logs.loss;
  if (monitor == "accuracy") return logs.accuracy;
  return monitor == "val_loss" ? logs.val_loss : logs.val_accuracy;
}

// "key=value" pairs separated by spaces; doubles with all their digits (inf included).
inline std::string format_state(const std::vector<std::pair<std::string, double>>& fields) {
  std::string out;
  char buffer[64];
  for (const auto& [key, value] : fields) {
    std::snprintf(buffer, sizeof buffer, "%.17g", value);
    out += (out.empty() ? "" : " ") + key + "=" + buffer;
  }
  return out;
}

inline double state_field(const char* who, const std::string& state, const std::string& key) {
  std::istringstream in(state);
  std::string token;
  while (in >> token) {
    if (token.rfind(key + "=", 0) != 0) continue;
    const std::string text = token.substr(key.size() + 1);
    char* end = nullptr;
    const double value = std::strtod(text.c_str(), &end);
    if (text.empty() || *end != '\0' || std::isnan(value)) fail(who, ": bad value '", text, "' for ", key, " in state");
    return value;
  }
  fail(who, ": state '", state, "' has no ", key);
}

}  // namespace callback_detail

/// Stops training when the monitored figure has not improved by more than min_delta for
/// `patience` epochs (Keras's EarlyStopping: never after the first epoch). With
/// restore_best_weights the model ends with the weights of its best epoch.
template <typename T>
class EarlyStopping : public Callback<T> {
 public:
  explicit EarlyStopping(std::string monitor = "val_loss", int patience = 0, double min_delta = 0.0,
                         bool restore_best_weights = false)
      : monitor_(std::move(monitor)), patience_(patience), min_delta_(std::abs(min_delta)),
        restore_(restore_best_weights), higher_(callback_detail::higher_is_better(monitor_)) {
    if (patience < 0) fail("EarlyStopping: patience must be >= 0, got ", patience);
    reset();
  }

  void on_train_begin(const TrainBegin& begin, TrainingModel<T>&) override {
    callback_detail::check_monitor("EarlyStopping", monitor_, begin);
    if (begin.initial_epoch == 0) reset();
  }

  bool on_epoch_end(const EpochLogs& logs, TrainingModel<T>& model) override {
    const double current = callback_detail::monitored(logs, monitor_);
    ++wait_;
    if (callback_detail::improves(higher_, current, best_, min_delta_)) {
      best_ = current;
      best_epoch_ = logs.epoch;
      wait_ = 0;
      if (restore_) snapshot(model);
      return true;
    }
    if (wait_ >= patience_ && logs.epoch > 0) {
      stopped_epoch_ = logs.epoch;
      return false;
    }
    return true;
  }

  void on_train_end(bool finished, TrainingModel<T>& model) override {
    if (!finished || !restore_ || best_weights_.empty()) return;
    auto weights = model.weights();
    if (weights.size() != best_weights_.size()) fail("EarlyStopping: the model's weights changed during training");
    for (std::size_t i = 0; i < weights.size(); ++i) weights[i]->value = best_weights_[i];
  }

  /// The epoch (0-based) training stopped at, -1 if it did not stop early.
  int stopped_epoch() const { return stopped_epoch_; }
  int best_epoch() const { return best_epoch_; }
  double best() const { return best_; }
  /// Whether it holds the best epoch's weights to restore (not after set_state, until a better epoch).
  bool has_best_weights() const { return !best_weights_.empty(); }

  std::string state() const {
    return callback_detail::format_state({{"wait", wait_}, {"best", best_}, {"best_epoch", best_epoch_}});
  }
  void set_state(const std::string& state) {
    wait_ = int(callback_detail::state_field("EarlyStopping", state, "wait"));
    best_ = callback_detail::state_field("EarlyStopping", state, "best");
    best_epoch_ = int(callback_detail::state_field("EarlyStopping", state, "best_epoch"));
    best_weights_.clear();
  }

 private:
  void reset() {
    wait_ = 0;
    best_ = callback_detail::worst(higher_);
    best_epoch_ = stopped_epoch_ = -1;
    best_weights_.clear();
  }
  void snapshot(TrainingModel<T>& model) {
    auto weights = model.weights();
    best_weights_.resize(weights.size());
    for (std::size_t i = 0; i < weights.size(); ++i) best_weights_[i] = weights[i]->value;  // reuses the buffers
  }

  std::string monitor_;
  int patience_;
  double min_delta_;
  bool restore_, higher_;
  int wait_ = 0, best_epoch_ = -1, stopped_epoch_ = -1;
  double best_ = 0.0;
  std::vector<AlignedVector<T>> best_weights_;
};

/// Saves the model after an epoch: with save_best_only (the default) only when the monitored
/// figure beats every earlier epoch's. "{epoch}" in the path becomes the 1-based epoch. Each
/// save is atomic, so the file on disk is always a complete model.
template <typename T>
class ModelCheckpoint : public Callback<T> {
 public:
  explicit ModelCheckpoint(std::filesystem::path path, std::string monitor = "val_loss", bool save_best_only = true,
                           bool with_optimizer = false)
      : path_(std::move(path)), monitor_(std::move(monitor)), best_only_(save_best_only),
        with_optimizer_(with_optimizer), higher_(callback_detail::higher_is_better(monitor_)) {
    if (path_.empty()) fail("ModelCheckpoint: empty path");
    reset();
  }

  void on_train_begin(const TrainBegin& begin, TrainingModel<T>&) override {
    callback_detail::check_monitor("ModelCheckpoint", monitor_, begin);
    if (begin.initial_epoch == 0) reset();
  }

  bool on_epoch_end(const EpochLogs& logs, TrainingModel<T>& model) override {
    const double current = callback_detail::monitored(logs, monitor_);
    const bool improved = callback_detail::improves(higher_, current, best_);
    if (best_only_ && !improved) return true;
    if (improved) best_ = current;
    std::string path = path_.string();
    for (std::size_t at; (at = path.find("{epoch}")) != std::string::npos;)
      path.replace(at, 7, std::to_string(logs.epoch + 1));
    model.save(path, with_optimizer_);
    ++saves_;
    return true;
  }

  /// Saves made so far.
  int saves() const { return saves_; }
  double best() const { return best_; }
  std::string state() const { return callback_detail::format_state({{"best", best_}}); }
  void set_state(const std::string& state) { best_ = callback_detail::state_field("ModelCheckpoint", state, "best"); }

 private:
  void reset() {
    best_ = callback_detail::worst(higher_);
  }

  std::filesystem::path path_;
  std::string monitor_;
  bool best_only_, with_optimizer_, higher_;
  double best_ = 0.0;
  int saves_ = 0;
};

/// Multiplies the optimizer's learning rate by `factor` when the monitored figure has not improved
/// by more than min_delta for `patience` epochs, then waits `cooldown` epochs before counting
/// again; never below min_lr (Keras's ReduceLROnPlateau). Not combinable with a schedule, which
/// would overwrite the rate.
template <typename T>
class ReduceLROnPlateau : public Callback<T> {
 public:
  explicit ReduceLROnPlateau(std::string monitor = "val_loss", double factor = 0.1, int patience = 10,
                             double min_delta = 1e-4, int cooldown = 0, double min_lr = 0.0)
      : monitor_(std::move(monitor)), factor_(factor), patience_(patience), min_delta_(std::abs(min_delta)),
        cooldown_(cooldown), min_lr_(min_lr), higher_(callback_detail::higher_is_better(monitor_)) {
    if (!(factor > 0 && factor < 1)) fail("ReduceLROnPlateau: factor must be in (0, 1), got ", factor);
    if (patience < 0 || cooldown < 0) fail("ReduceLROnPlateau: patience and cooldown must be >= 0");
    if (!(min_lr >= 0)) fail("ReduceLROnPlateau: min_lr must be >= 0, got ", min_lr);
    reset();
  }

  void on_train_begin(const TrainBegin& begin, TrainingModel<T>& model) override {
    callback_detail::check_monitor("ReduceLROnPlateau", monitor_, begin);
    if (begin.has_schedule) fail("ReduceLROnPlateau: fit also has a learning-rate schedule; use one or the other");
    if (!model.optimizer()) fail("ReduceLROnPlateau: call compile(optimizer) before training");
    if (begin.initial_epoch == 0) reset();
  }

  bool on_epoch_end(const EpochLogs& logs, TrainingModel<T>& model) override {
    const double current = callback_detail::monitored(logs, monitor_);
    if (cooldown_counter_ > 0) {
      --cooldown_counter_;
      wait_ = 0;
    }
    if (callback_detail::improves(higher_, current, best_, min_delta_)) {
      best_ = current;
      wait_ = 0;
    } else if (cooldown_counter_ == 0 && ++wait_ >= patience_) {
      Optimizer<T>& optimizer = *model.optimizer();
      const double rate = optimizer.learning_rate();
      if (rate > min_lr_) {
        optimizer.set_learning_rate(std::max(rate * factor_, min_lr_));
        ++reductions_;
        cooldown_counter_ = cooldown_;
        wait_ = 0;
      }
    }
    return true;
  }

  int reductions() const { return reductions_; }
  std::string state() const {
    return callback_detail::format_state({{"wait", wait_}, {"best", best_}, {"cooldown", cooldown_counter_}});
  }
  void set_state(const std::string& state) {
    wait_ = int(callback_detail::state_field("ReduceLROnPlateau", state, "wait"));
    best_ = callback_detail::state_field("ReduceLROnPlateau", state, "best");
    cooldown_counter_ = int(callback_detail::state_field("ReduceLROnPlateau", state, "cooldown"));
  }

 private:
  void reset() {
    wait_ = cooldown_counter_ = 0;
    best_ = callback_detail::worst(higher_);
  }

  std::string monitor_;
  double factor_;
  int patience_;
  double min_delta_;
  int cooldown_;
  double min_lr_;
  bool higher_;
  int wait_ = 0, cooldown_counter_ = 0, reductions_ = 0;
  double best_ = 0.0;
};

}  // namespace minidnn
