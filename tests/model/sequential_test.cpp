#include <catch2/catch.hpp>

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <new>
#include <sstream>

#include "minidnn/sequential.hpp"
#include "support/allocation_counter.hpp"
#include "support/gradient_check.hpp"
#include "support/models.hpp"
#include "support/paths.hpp"

using namespace minidnn;

namespace {
using test::allocation_counter::allocations;
using test::allocation_counter::counting;
}  // namespace

namespace {
// The smallest classifier of test::bar_images' 12x12 images into 3 classes.
Sequential<float> softmax_regression(const Optimizer<float>& optimizer) {
  Sequential<float> model;
  model.add(Flatten<float>());
  model.add(Dense<float>(3));
  model.add(Softmax<float>());
  model.build(Shape{1, 12, 12});
  model.compile(optimizer);
  return model;
}

// Random weights and moving statistics for a model with BatchNormalization (gammas and moving
// variances in [0.5, 1.5]).
void randomize_with_batch_norm(Sequential<double>& model, Rng& rng) {
  for (auto* p : model.parameters())
    for (auto& v : p->value) v = p->name == "gamma" ? rng.uniform(0.5, 1.5) : rng.uniform(-1.0, 1.0);
  for (auto* p : model.non_trainable_parameters())
    for (auto& v : p->value) v = p->name == "moving_variance" ? rng.uniform(0.5, 1.5) : rng.uniform(-0.5, 0.5);
}

// The reference of an inference: each layer's own batch forward, one after the other, nothing folded.
template <typename T>
std::vector<Tensor<T>> layer_by_layer_inference(Sequential<T>& model, const Tensor<T>& input) {
  std::vector<Tensor<T>> outputs(model.size());
  const Tensor<T>* in = &input;
  for (std::size_t i = 0; i < model.size(); ++i) {
    model.layer(i).forward(*in, outputs[i], Mode::inference);
    in = &outputs[i];
  }
  return outputs;
}
}  // namespace

TEST_CASE("Whole-model gradients (fused softmax + cross-entropy) match finite differences", "[sequential][gradient]") {
  Sequential<double> model;
  model.add(Conv2D<double>(3, 3, Activation::relu, 1, Padding::same));
  model.add(MaxPool2D<double>(2));
  model.add(Conv2D<double>(4, 2, Activation::relu));
  model.add(AvgPool2D<double>(2, 1));
  model.add(Flatten<double>());
  model.add(Dense<double>(6, Activation::relu));
  model.add(Dense<double>(3));
  model.add(Softmax<double>());
  model.build(Shape{2, 8, 8}, 3);
  model.compile(SGD<double>(1e-12));  // a negligible step: we only read the gradients
  Rng rng(8);
  Tensor<double> x(4, Shape{2, 8, 8});
  test::fill_uniform(x, rng);
  const std::vector<int> labels = {0, 2, 1, 2};
  auto loss = [&] {
    return CategoricalCrossEntropy<double>::loss(model.forward(x, Mode::train), labels);
  };
  model.train_on_batch(x, labels);
  // Undo the negligible update so the finite differences see the same weights.
  for (auto* p : model.parameters())
    for (std::size_t i = 0; i < p->size(); ++i) p->value[i] += 1e-12 * p->grad[i];
  double worst = 0;
  for (auto* p : model.parameters()) {
    for (std::size_t i = 0; i < p->size(); i += 3) {
      const double saved = p->value[i], h = 1e-6;
      p->value[i] = saved + h;
      const double plus = loss();
      p->value[i] = saved - h;
      const double minus = loss();
      p->value[i] = saved;
      worst = std::max(worst, test::relative_error(p->grad[i], (plus - minus) / (2 * h)));
    }
  }
  CHECK(worst < 1e-6);
}

TEST_CASE("A small CNN learns a separable image problem to at least 99%", "[sequential][learning]") {
  Tensor<float> x, x_test;
  std::vector<int> y, y_test;
  test::bar_images(2000, 6, 1, x, y);
  test::bar_images(500, 6, 2, x_test, y_test);
  Sequential<float> model;
  model.add(Conv2D<float>(8, 3, Activation::relu));
  model.add(MaxPool2D<float>(2));
  model.add(Flatten<float>());
  model.add(Dense<float>(32, Activation::relu));
  model.add(Dense<float>(6));
  model.add(Softmax<float>());
  model.build(Shape{1, 12, 12}, 1);
  model.compile(Adam<float>(3e-3));
  FitOptions<float> options;
  options.epochs = 8;
  options.batch_size = 32;
  options.validation_x = &x_test;
  options.validation_y = &y_test;
  const History history = model.fit(x, y, options);
  REQUIRE(history.epochs.size() == 8);
  CHECK(history.epochs.back().val_accuracy >= 0.99);
  CHECK(history.epochs.back().loss < history.epochs.front().loss);
  CHECK(model.evaluate(x_test, y_test).accuracy == Approx(history.epochs.back().val_accuracy));
}

TEST_CASE("Inference runs chains of per-sample layers sample by sample, with the layers' own results",
          "[sequential]") {
  // conv (direct) -> max pool -> avg pool form one chain; the reference is each layer's batch
  // forward in turn.
  Sequential<float> model;
  model.add(Conv2D<float>(6, 5, Activation::relu));
  model.add(MaxPool2D<float>(3, 2));
  model.add(AvgPool2D<float>(2));
  model.add(Flatten<float>());
  model.add(Dense<float>(4));
  model.add(Softmax<float>());
  model.build(Shape{1, 19, 21}, 3);
  for (int i = 0; i < 3; ++i) REQUIRE(model.layer(i).has_sample_forward(5));
  REQUIRE_FALSE(model.layer(3).has_sample_forward(5));
  for (const int batch : {1, 5}) {
    Tensor<float> x(batch, model.input_shape());
    Rng rng(9);
    for (auto& v : x) v = static_cast<float>(rng.uniform(-1.0, 1.0));
    const auto reference = layer_by_layer_inference(model, x);
    const Tensor<float>& p = model.forward(x);
    REQUIRE(p.shape() == reference[5].shape());
    for (std::size_t i = 0; i < p.size(); ++i) REQUIRE(p[i] == reference[5][i]);
  }
}

TEST_CASE("The same seed gives bit-identical weights and, on one thread, a bit-identical run", "[sequential][determinism]") {
  auto train = [](std::uint64_t seed) {
    set_num_threads(1);
    Tensor<float> x;
    std::vector<int> y;
    test::bar_images(256, 4, 3, x, y);
    Sequential<float> model;
    model.add(Conv2D<float>(4, 3, Activation::relu));
    model.add(Flatten<float>());
    model.add(Dropout<float>(0.3));
    model.add(Dense<float>(4));
    model.add(Softmax<float>());
    model.build(Shape{1, 12, 12}, seed);
    std::vector<float> initial;
    for (auto* p : model.parameters()) initial.insert(initial.end(), p->value.begin(), p->value.end());
    model.compile(Adam<float>());
    FitOptions<float> options;
    options.epochs = 2;
    options.batch_size = 32;
    options.seed = seed;
    model.fit(x, y, options);
    std::vector<float> trained;
    for (auto* p : model.parameters()) trained.insert(trained.end(), p->value.begin(), p->value.end());
    set_num_threads(max_threads());
    return std::make_pair(initial, trained);
  };
  const auto a = train(7), b = train(7), c = train(8);
  CHECK(a.first == b.first);
  CHECK(a.second == b.second);
  CHECK(a.first != c.first);
}

TEST_CASE("Sequential reports misuse with the layer and shapes involved", "[sequential][errors]") {
  Sequential<float> empty;
  CHECK_THROWS_WITH(empty.build(Shape{1, 4, 4}), Catch::Contains("empty model"));

  Sequential<float> model;
  model.add(Conv2D<float>(2, 3));
  model.add(Dense<float>(3));
  CHECK_THROWS_WITH(model.build(Shape{1, 8, 8}), Catch::Contains("layer 1 (Dense)") && Catch::Contains("Flatten"));

  Sequential<float> ok;
  ok.add(Flatten<float>());
  ok.add(Dense<float>(3));
  ok.add(Softmax<float>());
  ok.build(Shape{1, 4, 4});
  CHECK_THROWS_WITH(ok.add(Dense<float>(2)), Catch::Contains("after the model was built"));
  Tensor<float> wrong(2, Shape{1, 5, 4});
  CHECK_THROWS_WITH(ok.forward(wrong), Catch::Contains("(1, 5, 4)") && Catch::Contains("(1, 4, 4)"));
  Tensor<float> x(2, Shape{1, 4, 4});
  x.fill(0.5f);
  CHECK_THROWS_WITH(ok.train_on_batch(x, {0, 1}), Catch::Contains("compile"));
  ok.compile(Adam<float>());
  CHECK_THROWS_WITH(ok.train_on_batch(x, {0, 3}), Catch::Contains("label 3"));
  CHECK_THROWS_WITH(ok.evaluate(x, {0}), Catch::Contains("1 labels for 2 samples"));
  CHECK_THROWS_WITH(ok.fit(x, {0, -1}, FitOptions<float>{}), Catch::Contains("label -1"));
}

TEST_CASE("fit stops when a callback asks, and says where to resume", "[sequential]") {
  Tensor<float> x;
  std::vector<int> y;
  test::bar_images(100, 3, 4, x, y);
  Sequential<float> model = softmax_regression(Adam<float>());
  FitOptions<float> options;
  options.epochs = 3;
  options.batch_size = 10;
  options.on_batch_end = [](const BatchLogs& logs) { return !(logs.epoch == 1 && logs.batch == 4); };
  const History h = model.fit(x, y, options);
  CHECK(h.stopped);
  CHECK(h.epochs.size() == 1);
  CHECK(h.next_epoch == 1);
  CHECK(h.next_batch == 5);
}

TEST_CASE("fit sets the learning rate of each epoch from FitOptions::learning_rate, also when resumed", "[sequential]") {
  Tensor<float> x;
  std::vector<int> y;
  test::bar_images(40, 3, 5, x, y);
  Sequential<float> model = softmax_regression(Adam<float>(0.5));
  FitOptions<float> options;
  options.epochs = 4;
  options.batch_size = 10;
  options.learning_rate = [](int epoch) { return 1e-3 / (epoch + 1); };
  std::vector<double> seen;  // the optimizer's rate during each batch, as the step used it
  options.on_batch_end = [&](const BatchLogs&) {
    seen.push_back(model.optimizer()->learning_rate());
    return true;
  };
  model.fit(x, y, options);
  REQUIRE(seen.size() == 16);
  for (int b = 0; b < 16; ++b) CHECK(seen[b] == Approx(1e-3 / (b / 4 + 1)));

  seen.clear();
  options.initial_epoch = 2;
  options.initial_batch = 3;
  model.fit(x, y, options);
  REQUIRE(seen.size() == 5);
  CHECK(seen.front() == Approx(1e-3 / 3));
  CHECK(seen.back() == Approx(1e-3 / 4));
}

TEST_CASE("A non-finite loss stops fit naming epoch and batch; the last checkpoint stays usable", "[sequential][faults]") {
  const auto dir = test::scratch_dir("sequential_diverged");
  Tensor<float> x;
  std::vector<int> y;
  test::bar_images(100, 3, 4, x, y);
  Sequential<float> model;
  model.add(Flatten<float>());
  model.add(Dense<float>(8, Activation::relu));
  model.add(Dense<float>(3));
  model.add(Softmax<float>());
  model.build(Shape{1, 12, 12}, 5);
  model.compile(Adam<float>());
  FitOptions<float> options;
  options.epochs = 4;
  options.batch_size = 10;
  Tensor<float> at_checkpoint;
  options.on_epoch_end = [&](const EpochLogs&) {
    model.save(dir / "last.ckpt", /*with_optimizer=*/true);
    at_checkpoint = model.predict(x);
    return true;
  };
  // Training blows up in the middle of epoch 2: an overflowing weight, as a too-high learning
  // rate would produce.
  options.on_batch_end = [&](const BatchLogs& logs) {
    if (logs.epoch == 1 && logs.batch == 2) model.parameters()[0]->value[0] = std::numeric_limits<float>::infinity();
    return true;
  };
  CHECK_THROWS_WITH(model.fit(x, y, options), Catch::Contains("epoch 2, batch 4") && Catch::Contains("diverged") &&
                                                  Catch::Contains("the loss is"));
  // The checkpoint written after epoch 1 is intact: it loads, and predicts what the model did then.
  auto restored = Sequential<float>::load(dir / "last.ckpt");
  REQUIRE(restored.optimizer() != nullptr);
  const Tensor<float> p = restored.predict(x);
  REQUIRE(p.size() == at_checkpoint.size());
  for (std::size_t i = 0; i < p.size(); ++i) {
    REQUIRE(std::isfinite(p[i]));
    REQUIRE(p[i] == at_checkpoint[i]);
  }
}

// Without the carried sums a resumed epoch's loss and accuracy covered only the batches run after
// the resume (what `fer train --resume` after Ctrl-C wrote into history.csv).
TEST_CASE("fit resumed mid-epoch with the interrupted epoch's sums reports the whole epoch", "[sequential]") {
  Tensor<float> x;
  std::vector<int> y;
  test::bar_images(100, 3, 4, x, y);
  FitOptions<float> options;
  options.epochs = 2;
  options.batch_size = 10;
  Sequential<float> reference = softmax_regression(Adam<float>());
  const History whole = reference.fit(x, y, options);
  REQUIRE(whole.epochs.size() == 2);

  Sequential<float> model = softmax_regression(Adam<float>());
  BatchLogs last;
  options.on_batch_end = [&](const BatchLogs& logs) {
    last = logs;
    return !(logs.epoch == 1 && logs.batch == 3);
  };
  const History first = model.fit(x, y, options);
  REQUIRE(first.stopped);
  options.on_batch_end = nullptr;
  options.initial_epoch = first.next_epoch;
  options.initial_batch = first.next_batch;
  options.initial_samples_seen = last.samples_seen;
  options.initial_loss = last.loss;
  options.initial_accuracy = last.accuracy;
  options.initial_seconds = 5.0;
  const History rest = model.fit(x, y, options);
  REQUIRE(rest.epochs.size() == 1);
  CHECK(rest.epochs[0].loss == Approx(whole.epochs[1].loss).epsilon(1e-12));
  CHECK(rest.epochs[0].accuracy == whole.epochs[1].accuracy);
  CHECK(rest.epochs[0].seconds >= 5.0);
}

TEST_CASE("Sequential's summary stays aligned past ten layers and counts non-trainable parameters", "[sequential]") {
  Sequential<float> model;
  model.add(Conv2D<float>(2, 3, Activation::linear, 1, Padding::same));
  for (int i = 0; i < 5; ++i) {
    model.add(BatchNormalization<float>());
    model.add(ActivationLayer<float>("relu"));
  }
  model.add(GlobalAveragePooling2D<float>());
  model.add(Dense<float>(3));
  model.add(Softmax<float>());
  model.build(Shape{1, 6, 6}, 1);
  const std::string text = model.summary();
  // Each row's output shape starts in the header's "Output shape" column.
  std::istringstream lines(text);
  std::string line;
  std::size_t column = std::string::npos;
  int rows = 0;
  while (std::getline(lines, line)) {
    if (line.find("Output shape") != std::string::npos) column = line.find("Output shape");
    if (line.find("BatchNormalization") == std::string::npos && line.find("Activation") == std::string::npos) continue;
    ++rows;
    REQUIRE(column != std::string::npos);
    CHECK(line[column - 1] == ' ');
    CHECK(line[column] != ' ');
  }
  CHECK(rows == 10);
  CHECK_THAT(text, Catch::Contains(" 8 Activation"));
  CHECK_THAT(text, Catch::Contains("10 Activation"));
  CHECK_THAT(text, Catch::Contains(" 9 BatchNormalization"));
  CHECK_THAT(text, Catch::Contains("Total params: " + std::to_string(20 + 5 * 8 + 2 * 3 + 3)));
  CHECK_THAT(text, Catch::Contains("Non-trainable params: 20"));
  CHECK_THAT(text, !Catch::Contains("Connected to"));  // a chain: each layer reads the one above
}

TEST_CASE("Sequential is the functional Model's chain: the same seed gives the same weights and steps",
          "[sequential][determinism]") {
  // The Model built by hand, layer after layer from the same seed, is what build() makes.
  set_num_threads(1);
  Sequential<float> sequential;
  sequential.add(Conv2D<float>(3, 3, Activation::relu));
  sequential.add(BatchNormalization<float>());
  sequential.add(Flatten<float>());
  sequential.add(Dropout<float>(0.25));
  sequential.add(Dense<float>(3));
  sequential.add(Softmax<float>());
  sequential.build(Shape{1, 12, 12}, 5);
  Model<float> graph(5);
  Symbol h = graph.input(Shape{1, 12, 12});
  h = graph.apply(Conv2D<float>(3, 3, Activation::relu), h);
  h = graph.apply(BatchNormalization<float>(), h);
  h = graph.apply(Flatten<float>(), h);
  h = graph.apply(Dropout<float>(0.25), h);
  h = graph.apply(Dense<float>(3), h);
  graph.set_output(graph.apply(Softmax<float>(), h));
  REQUIRE(sequential.model().size() == graph.size());
  sequential.compile(Adam<float>(0.01f));
  graph.compile(Adam<float>(0.01f));
  Tensor<float> x;
  std::vector<int> y;
  test::bar_images(16, 3, 4, x, y);
  for (int step = 0; step < 3; ++step) {
    const auto a = sequential.train_on_batch(x, y), b = graph.train_on_batch(x, y);
    CHECK(a.loss == b.loss);
  }
  const auto ps = sequential.parameters(), pg = graph.parameters();
  REQUIRE(ps.size() == pg.size());
  for (std::size_t k = 0; k < ps.size(); ++k)
    for (std::size_t i = 0; i < ps[k]->size(); ++i) REQUIRE(ps[k]->value[i] == pg[k]->value[i]);
  set_num_threads(0);
}

TEST_CASE("A Sequential's inference folds BatchNormalization into the Conv2D or Dense before it; folded and "
          "unfolded agree",
          "[sequential]") {
  Sequential<double> model;
  model.add(Conv2D<double>(4, 3, Activation::linear, 1, Padding::same, /*use_bias=*/false));
  model.add(BatchNormalization<double>());  // folded (the conv without bias gets one)
  model.add(ActivationLayer<double>("relu"));
  model.add(MaxPool2D<double>(2));
  model.add(Conv2D<double>(3, 3, Activation::relu));
  model.add(BatchNormalization<double>());  // not folded: the conv's ReLU comes first
  model.add(Flatten<double>());
  model.add(Dense<double>(5));
  model.add(BatchNormalization<double>());  // folded into the Dense
  model.add(Dense<double>(3));
  model.add(Softmax<double>());
  model.build(Shape{2, 8, 8}, 4);
  Rng rng(6);
  randomize_with_batch_norm(model, rng);
  // 12 samples: the Dense's BatchNormalization then passes over as many values (5 x 12) as the
  // Dense has weights (12 x 5), the least batch at which inference folds it.
  Tensor<double> input(12, model.input_shape());
  test::fill_uniform(input, rng);
  const auto reference = layer_by_layer_inference(model, input);  // BatchNormalization unfolded
  model.set_fold_batch_norm(false);
  const auto unfolded = model.predict(input);
  CHECK(model.folded_batch_norms() == 0);
  model.set_fold_batch_norm(true);
  const auto folded = model.predict(input);
  CHECK(model.folded_batch_norms() == 2);
  REQUIRE(folded.size() == reference[10].size());
  for (std::size_t i = 0; i < folded.size(); ++i) {
    CHECK(unfolded[i] == Approx(reference[10][i]).margin(1e-12));
    CHECK(folded[i] == Approx(reference[10][i]).margin(1e-12));
  }
}

TEST_CASE("Inference chains run BatchNormalization, Activation, DepthwiseConv2D and SeparableConv2D sample by "
          "sample, folded or not, with the layers' own batch results",
          "[sequential]") {
  // conv (direct) -> BN -> ReLU -> separable -> BN -> tanh -> depthwise (stride 2) -> BN -> max
  // pool: one chain, with two folds inside it when folding (the conv's and the separable's).
  Sequential<double> model;
  Conv2D<double> conv(3, 3, Activation::linear, 1, Padding::valid, /*use_bias=*/false);
  conv.set_algorithm(ConvAlgorithm::direct);  // automatic would take Winograd at batch 6
  model.add(conv);
  model.add(BatchNormalization<double>());
  model.add(ActivationLayer<double>("relu"));
  model.add(SeparableConv2D<double>(4, 3, 1, Padding::same, 2, Activation::linear, /*use_bias=*/false));
  model.add(BatchNormalization<double>());
  model.add(ActivationLayer<double>("tanh"));
  model.add(DepthwiseConv2D<double>(3, 2, Padding::same, 2));
  model.add(BatchNormalization<double>());  // after a depthwise: never folded
  model.add(MaxPool2D<double>(3, 2, Padding::same));
  model.add(Flatten<double>());
  model.add(Dense<double>(3));
  model.add(Softmax<double>());
  model.build(Shape{2, 13, 12}, 5);
  for (std::size_t i = 0; i < 9; ++i) REQUIRE(model.layer(i).has_sample_forward(6));
  Rng rng(8);
  randomize_with_batch_norm(model, rng);
  for (const int batch : {1, 6}) {
    Tensor<double> input(batch, model.input_shape());
    test::fill_uniform(input, rng);
    const auto reference = layer_by_layer_inference(model, input);
    model.set_fold_batch_norm(false);
    const auto unfolded = model.predict(input);
    model.set_fold_batch_norm(true);
    const auto folded = model.predict(input);
    // Both fold at either batch: one sample's BatchNormalization passes over 330 and 440 values,
    // against the conv's 54 weights and the separable's 24 pointwise ones.
    CHECK(model.folded_batch_norms() == 2);
    REQUIRE(unfolded.size() == reference[11].size());
    for (std::size_t i = 0; i < unfolded.size(); ++i) {
      CHECK(unfolded[i] == reference[11][i]);
      CHECK(folded[i] == Approx(reference[11][i]).margin(1e-12));
    }
  }
}

TEST_CASE("Training steps and inference of a planned batch size allocate no buffer", "[sequential]") {
  Sequential<float> model;
  model.add(Conv2D<float>(4, 3, Activation::relu));
  model.add(MaxPool2D<float>(2));
  model.add(Conv2D<float>(6, 3, Activation::linear, 1, Padding::same));
  model.add(BatchNormalization<float>());
  model.add(ActivationLayer<float>("relu"));
  model.add(Flatten<float>());
  model.add(Dropout<float>(0.2));
  model.add(Dense<float>(8, Activation::relu));
  model.add(Dense<float>(3));
  model.add(Softmax<float>());
  model.build(Shape{1, 12, 12}, 2);
  model.compile(Adam<float>(0.01f));
  Tensor<float> x;
  std::vector<int> y;
  test::bar_images(8, 3, 5, x, y);
  for (int warm = 0; warm < 2; ++warm) model.train_on_batch(x, y), model.forward(x);  // plans the buffers
  // Buffers: every aligned allocation and plain ones of 256 bytes or more. (The layers' forward
  // copies their output Shape, a few ints, into the output tensor: those small copies are not what
  // the test is about.)
  test::allocation_counter::min_plain_bytes = 256;
  counting = true;
  for (int step = 0; step < 3; ++step) {
    model.train_on_batch(x, y);
    model.forward(x);
  }
  counting = false;
  CHECK(allocations.load() == 0);
}
