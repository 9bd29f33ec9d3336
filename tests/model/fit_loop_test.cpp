#include <catch2/catch.hpp>

#include <vector>

#include "minidnn/optim/one_cycle.hpp"
#include "minidnn/sequential.hpp"
#include "support/models.hpp"

using namespace minidnn;

namespace {

Sequential<float> tiny_model() {
  Sequential<float> model;
  model.add(Flatten<float>());
  model.add(Dense<float>(3));
  model.add(Softmax<float>());
  model.build(Shape{1, 12, 12}, 3);
  model.compile(SGD<float>(0.1, 0.9));
  return model;
}

std::vector<float> flat_weights(Sequential<float>& model) {
  std::vector<float> out;
  for (auto* p : model.parameters()) out.insert(out.end(), p->value.begin(), p->value.end());
  return out;
}

}  // namespace

TEST_CASE("validation_split holds out the last samples before shuffling, as Keras", "[fit_loop]") {
  Tensor<float> x;
  std::vector<int> y;
  test::bar_images(40, 3, 31, x, y);
  FitOptions<float> options;
  options.epochs = 3;
  options.batch_size = 8;
  options.validation_split = 0.25;  // int(40 * 0.75) = 30 train, 10 validate
  std::vector<int> seen;
  options.on_batch_end = [&](const BatchLogs& logs) {
    seen.push_back(logs.samples_seen);
    return true;
  };
  Sequential<float> split = tiny_model();
  const History h = split.fit(x, y, options);
  REQUIRE(h.epochs.size() == 3);
  CHECK(seen.back() == 30);
  CHECK(h.epochs.back().has_validation);

  // The same as training on the first 30 with the last 10 given as validation data.
  Tensor<float> head(30, x.shape()), tail(10, x.shape());
  std::copy(x.sample(0), x.sample(30), head.data());
  std::copy(x.sample(30), x.sample(40), tail.data());
  const std::vector<int> head_y(y.begin(), y.begin() + 30), tail_y(y.begin() + 30, y.end());
  Sequential<float> explicit_data = tiny_model();
  FitOptions<float> explicit_options = options;
  explicit_options.validation_split = 0;
  explicit_options.validation_x = &tail;
  explicit_options.validation_y = &tail_y;
  const History e = explicit_data.fit(head, head_y, explicit_options);
  CHECK(flat_weights(split) == flat_weights(explicit_data));
  CHECK(h.epochs.back().val_loss == e.epochs.back().val_loss);
  const Evaluation v = split.evaluate(tail, tail_y);
  CHECK(h.epochs.back().val_loss == Approx(v.loss).epsilon(1e-6));

  explicit_options.validation_split = 0.2;
  CHECK_THROWS_WITH(split.fit(x, y, explicit_options), Catch::Contains("not both"));
  options.validation_split = 0.99;  // int(40 * 0.01) = 0 left to train on
  CHECK_THROWS_WITH(split.fit(x, y, options), Catch::Contains("both need at least one"));
  options.validation_split = 1.0;
  CHECK_THROWS_WITH(split.fit(x, y, options), Catch::Contains("must be in [0, 1)"));
}

TEST_CASE("step_learning_rate sets the rate before every batch, counted over the run", "[fit_loop]") {
  Tensor<float> x;
  std::vector<int> y;
  test::bar_images(30, 3, 32, x, y);
  Sequential<float> model = tiny_model();
  const OneCycle schedule{0.2, 12};
  FitOptions<float> options;
  options.epochs = 3;
  options.batch_size = 8;  // 4 batches an epoch
  options.step_learning_rate = schedule;
  std::vector<double> seen;
  options.on_batch_end = [&](const BatchLogs&) {
    seen.push_back(model.optimizer()->learning_rate());
    return true;
  };
  const History h = model.fit(x, y, options);
  REQUIRE(seen.size() == 12);
  for (int s = 0; s < 12; ++s) CHECK(seen[s] == schedule(s));
  // The epoch's rate is the one its last batch (step 7) ran with. Compared with what the optimizer
  // held then, not with a second call of schedule: under -march=native GCC contracts each inlined
  // call site to FMA on its own, and two sites can differ in the last bit.
  CHECK(h.epochs[1].learning_rate == seen[7]);
  // Resumed mid-run: the same rates from where it left off.
  seen.clear();
  options.initial_epoch = 2;
  options.initial_batch = 1;
  model.fit(x, y, options);
  REQUIRE(seen.size() == 3);
  CHECK(seen[0] == schedule(9));
  options.learning_rate = [](int) { return 0.1; };
  CHECK_THROWS_WITH(model.fit(x, y, options), Catch::Contains("not both"));
}
