#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <vector>

#include "fixtures/torch_training_fixtures.hpp"
#include "minidnn/model/callbacks.hpp"
#include "minidnn/optim/sgd.hpp"
#include "minidnn/sequential.hpp"
#include "support/models.hpp"
#include "support/paths.hpp"

using namespace minidnn;

namespace {

// A stand-in model: one weight, an SGD optimizer, and a count of saves.
struct FakeModel : TrainingModel<double> {
  Parameter<double> w{"w", {1}};
  SGD<double> sgd{0.1};
  int saves = 0;
  std::vector<Parameter<double>*> weights() override { return {&w}; }
  Optimizer<double>* optimizer() override { return &sgd; }
  void save(const std::filesystem::path&, bool) override { ++saves; }
};

EpochLogs logs_with_val_loss(int epoch, double val_loss) {
  EpochLogs logs;
  logs.epoch = epoch;
  logs.has_validation = true;
  logs.val_loss = val_loss;
  return logs;
}

const TrainBegin kBegin{0, 100, /*has_validation=*/true, /*has_schedule=*/false};

// A tiny classifier of test::bar_images' 12x12 images.
Sequential<float> tiny_model() {
  Sequential<float> model;
  model.add(Flatten<float>());
  model.add(Dense<float>(3));
  model.add(Softmax<float>());
  model.build(Shape{1, 12, 12}, 7);
  model.compile(SGD<float>(0.5, 0.9));
  return model;
}

std::vector<std::vector<float>> copy_weights(Sequential<float>& model) {
  std::vector<std::vector<float>> out;
  for (auto* p : model.parameters()) out.emplace_back(p->value.begin(), p->value.end());
  return out;
}

}  // namespace

TEST_CASE("ReduceLROnPlateau gives torch's ReduceLROnPlateau rates (Keras patience P = torch's P - 1)", "[callbacks]") {
  FakeModel model;
  ReduceLROnPlateau<double> plateau("val_loss", 0.5, 3, 0.01, 0, 0.02);
  plateau.on_train_begin(kBegin, model);
  const int epochs = sizeof(fixtures::plateau_losses) / sizeof(double);
  for (int e = 0; e < epochs; ++e) {
    plateau.on_epoch_end(logs_with_val_loss(e, fixtures::plateau_losses[e]), model);
    REQUIRE(model.sgd.learning_rate() == Approx(fixtures::plateau_rates[e]).epsilon(1e-15));
  }
  CHECK(plateau.reductions() == 3);  // 0.1 -> 0.05 -> 0.025 -> 0.02 (min_lr)
}

TEST_CASE("ReduceLROnPlateau's cooldown and state follow Keras's rules", "[callbacks]") {
  // Keras: in cooldown the counter ticks down and wait stays 0; the epoch that ends the cooldown
  // already counts as a bad epoch.
  FakeModel model;
  ReduceLROnPlateau<double> plateau("val_loss", 0.1, 2, 0.0, /*cooldown=*/2);
  plateau.on_train_begin(kBegin, model);
  const double losses[] = {1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0};
  // epoch: 0 best; 1 wait 1; 2 wait 2 -> cut, cooldown 2; 3 cooldown 1; 4 cooldown 0, wait 1;
  // 5 wait 2 -> cut; 6, 7 cooldown.
  const double expected[] = {0.1, 0.1, 0.01, 0.01, 0.01, 0.001, 0.001, 0.001};
  for (int e = 0; e < 8; ++e) {
    plateau.on_epoch_end(logs_with_val_loss(e, losses[e]), model);
    CHECK(model.sgd.learning_rate() == Approx(expected[e]));
    if (e == 3) {  // a copy restored from the state continues identically
      FakeModel other;
      other.sgd.set_learning_rate(model.sgd.learning_rate());
      ReduceLROnPlateau<double> resumed("val_loss", 0.1, 2, 0.0, 2);
      resumed.set_state(plateau.state());
      resumed.on_train_begin({4, 100, true, false}, other);  // initial_epoch > 0: keeps the state
      for (int k = 4; k < 8; ++k) resumed.on_epoch_end(logs_with_val_loss(k, losses[k]), other);
      CHECK(other.sgd.learning_rate() == Approx(0.001));
    }
  }
  TrainBegin scheduled = kBegin;
  scheduled.has_schedule = true;
  CHECK_THROWS_WITH(plateau.on_train_begin(scheduled, model), Catch::Contains("schedule"));
  TrainBegin no_validation = kBegin;
  no_validation.has_validation = false;
  CHECK_THROWS_WITH(plateau.on_train_begin(no_validation, model), Catch::Contains("no validation data"));
  CHECK_THROWS_WITH(ReduceLROnPlateau<double>("val_los"), Catch::Contains("cannot monitor 'val_los'"));
}

TEST_CASE("EarlyStopping counts patience with min_delta as Keras does; accuracy improves upwards", "[callbacks]") {
  FakeModel model;
  EarlyStopping<double> stop("val_loss", 2, 0.05);
  stop.on_train_begin(kBegin, model);
  CHECK(stop.on_epoch_end(logs_with_val_loss(0, 1.0), model));
  CHECK(stop.on_epoch_end(logs_with_val_loss(1, 0.96), model));  // not by more than 0.05: wait 1
  CHECK(stop.on_epoch_end(logs_with_val_loss(2, 0.90), model));  // improvement: wait 0
  CHECK(stop.on_epoch_end(logs_with_val_loss(3, 0.91), model));  // wait 1
  CHECK_FALSE(stop.on_epoch_end(logs_with_val_loss(4, 0.86), model));  // wait 2 = patience: stop
  CHECK(stop.stopped_epoch() == 4);
  CHECK(stop.best_epoch() == 2);

  EarlyStopping<double> by_accuracy("accuracy", 1);
  by_accuracy.on_train_begin(kBegin, model);
  EpochLogs logs;
  logs.accuracy = 0.5;
  CHECK(by_accuracy.on_epoch_end(logs, model));
  logs.epoch = 1, logs.accuracy = 0.6;
  CHECK(by_accuracy.on_epoch_end(logs, model));
  logs.epoch = 2, logs.accuracy = 0.55;
  CHECK_FALSE(by_accuracy.on_epoch_end(logs, model));

  // State through text; patience 0 never stops on the first epoch.
  EarlyStopping<double> restored("val_loss", 2, 0.05);
  restored.set_state(stop.state());
  CHECK(restored.best() == Approx(0.90));
  CHECK_THROWS_WITH(restored.set_state("wait=1"), Catch::Contains("no best"));
  EarlyStopping<double> impatient("val_loss", 0);
  impatient.on_train_begin(kBegin, model);
  CHECK(impatient.on_epoch_end(logs_with_val_loss(0, 1.0), model));
  CHECK_FALSE(impatient.on_epoch_end(logs_with_val_loss(1, 1.0), model));
}

TEST_CASE("EarlyStopping on a real fit stops by the rule and restores the best epoch's weights", "[callbacks]") {
  Tensor<float> x, vx;
  std::vector<int> y, vy;
  test::bar_images(60, 3, 11, x, y);
  test::bar_images(30, 3, 12, vx, vy);
  for (int& label : vy) label = (label + 1) % 3;  // validation disagrees with training: it gets worse
  Sequential<float> model = tiny_model();
  EarlyStopping<float> stop("val_loss", 2, 0.0, /*restore_best_weights=*/true);
  FitOptions<float> options;
  options.epochs = 30;
  options.batch_size = 10;
  options.validation_x = &vx;
  options.validation_y = &vy;
  options.callbacks = {&stop};
  std::vector<std::vector<std::vector<float>>> weights_after;  // per epoch
  options.on_epoch_end = [&](const EpochLogs&) {
    weights_after.push_back(copy_weights(model));
    return true;
  };
  const History h = model.fit(x, y, options);
  // The rule, applied independently to the recorded validation losses.
  int best = 0, wait = 0, expected_stop = -1;
  for (int e = 0; e < int(h.epochs.size()); ++e) {
    if (e > 0 && h.epochs[e].val_loss < h.epochs[best].val_loss) {
      best = e;
      wait = 0;
    } else if (e > 0 && ++wait >= 2) {
      expected_stop = e;
      break;
    }
  }
  REQUIRE(expected_stop >= 0);
  CHECK(stop.stopped_epoch() == expected_stop);
  CHECK(int(h.epochs.size()) == expected_stop + 1);
  CHECK(h.stopped);
  CHECK(h.stopped_by_callback);
  CHECK(stop.best_epoch() == best);
  CHECK(copy_weights(model) == weights_after[best]);
  CHECK(copy_weights(model) != weights_after.back());
}

TEST_CASE("ModelCheckpoint saves only on improvement, atomically, and the file holds the best epoch", "[callbacks]") {
  Tensor<float> x, vx;
  std::vector<int> y, vy;
  test::bar_images(60, 3, 21, x, y);
  test::bar_images(30, 3, 22, vx, vy);
  for (std::size_t i = 0; i < vy.size(); i += 2) vy[i] = (vy[i] + 1) % 3;  // a noisy validation set
  Sequential<float> model = tiny_model();
  const std::filesystem::path dir = test::scratch_dir("model_checkpoint");
  const std::filesystem::path path = dir / "best.mdnn";
  std::filesystem::remove(path);
  ModelCheckpoint<float> checkpoint(path, "val_accuracy");
  FitOptions<float> options;
  options.epochs = 8;
  options.batch_size = 10;
  options.validation_x = &vx;
  options.validation_y = &vy;
  options.callbacks = {&checkpoint};
  std::vector<std::vector<std::vector<float>>> weights_after;
  std::vector<bool> file_changed;
  std::filesystem::file_time_type last_write{};
  options.on_epoch_end = [&](const EpochLogs&) {
    weights_after.push_back(copy_weights(model));
    const auto now = std::filesystem::last_write_time(path);
    file_changed.push_back(now != last_write);
    last_write = now;
    return true;
  };
  const History h = model.fit(x, y, options);
  int improvements = 0, best = -1;
  for (int e = 0; e < int(h.epochs.size()); ++e)
    if (best < 0 || h.epochs[e].val_accuracy > h.epochs[best].val_accuracy) {
      best = e;
      ++improvements;
    }
  CHECK(checkpoint.saves() == improvements);
  CHECK(improvements < int(h.epochs.size()));  // some epochs did not improve, so were not saved
  Sequential<float> loaded = Sequential<float>::load(path);
  CHECK(copy_weights(loaded) == weights_after[best]);
  for (const auto& entry : std::filesystem::directory_iterator(dir))
    CHECK(entry.path().filename() == "best.mdnn");  // no temporary left behind
  // "{epoch}" names a file per saved epoch.
  ModelCheckpoint<float> every(dir / "epoch{epoch}.mdnn", "loss", /*save_best_only=*/false);
  options.callbacks = {&every};
  options.epochs = 2;
  options.on_epoch_end = nullptr;
  model.fit(x, y, options);
  CHECK(std::filesystem::exists(dir / "epoch1.mdnn"));
  CHECK(std::filesystem::exists(dir / "epoch2.mdnn"));
}

TEST_CASE("Callbacks work on a functional Model: EarlyStopping restores its moving statistics too", "[callbacks]") {
  Tensor<float> x, vx;
  std::vector<int> y, vy;
  test::bar_images(60, 3, 41, x, y);
  test::bar_images(30, 3, 42, vx, vy);
  for (int& label : vy) label = (label + 2) % 3;
  Model<float> net(5);
  Symbol h = net.apply(Flatten<float>(), net.input(Shape{1, 12, 12}));
  h = net.apply(BatchNormalization<float>(0.5), net.apply(Dense<float>(3), h));
  net.set_output(net.apply(Softmax<float>(), h));
  net.compile(SGD<float>(0.5, 0.9), {0.1, {}});
  EarlyStopping<float> stop("val_loss", 1, 0.0, true);
  FitOptions<float> options;
  options.epochs = 20;
  options.batch_size = 10;
  options.validation_x = &vx;
  options.validation_y = &vy;
  options.callbacks = {&stop};
  auto all_weights = [&] {
    std::vector<std::vector<float>> out;
    for (auto* p : net.parameters()) out.emplace_back(p->value.begin(), p->value.end());
    for (auto* p : net.non_trainable_parameters()) out.emplace_back(p->value.begin(), p->value.end());
    return out;
  };
  std::vector<std::vector<std::vector<float>>> after;
  options.on_epoch_end = [&](const EpochLogs&) {
    after.push_back(all_weights());
    return true;
  };
  const History h_fit = net.fit(x, y, options);
  REQUIRE(stop.best_epoch() >= 0);
  REQUIRE(net.non_trainable_parameters().size() == 2);  // moving mean and variance
  CHECK(all_weights() == after[stop.best_epoch()]);
  if (stop.stopped_epoch() >= 0) CHECK(int(h_fit.epochs.size()) == stop.stopped_epoch() + 1);

  // ModelCheckpoint on a graph: the file loads back with Model::load and holds the last epoch's
  // weights, moving statistics included.
  const std::filesystem::path dir = test::scratch_dir("model_checkpoint_graph");
  ModelCheckpoint<float> last(dir / "graph.mdnn", "loss", /*save_best_only=*/false);
  options.callbacks = {&last};
  options.epochs = 2;
  options.on_epoch_end = nullptr;
  net.fit(x, y, options);
  CHECK(last.saves() == 2);
  Model<float> loaded = Model<float>::load(dir / "graph.mdnn");
  std::vector<std::vector<float>> loaded_weights;
  for (auto* p : loaded.parameters()) loaded_weights.emplace_back(p->value.begin(), p->value.end());
  for (auto* p : loaded.non_trainable_parameters()) loaded_weights.emplace_back(p->value.begin(), p->value.end());
  CHECK(loaded_weights == all_weights());
}
