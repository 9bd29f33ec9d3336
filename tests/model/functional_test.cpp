#include <catch2/catch.hpp>

#include <cstring>
#include <fstream>
#include <sstream>

#include "minidnn/layers/activation_layer.hpp"
#include "minidnn/layers/batch_normalization.hpp"
#include "minidnn/layers/conv2d.hpp"
#include "minidnn/layers/dense.hpp"
#include "minidnn/layers/depthwise_conv2d.hpp"
#include "minidnn/layers/dropout.hpp"
#include "minidnn/layers/global_pooling2d.hpp"
#include "minidnn/layers/max_pool2d.hpp"
#include "minidnn/layers/separable_conv2d.hpp"
#include "minidnn/model/functional.hpp"
#include "minidnn/optim/adam.hpp"
#include "support/gradient_check.hpp"
#include "support/models.hpp"
#include "support/paths.hpp"

using namespace minidnn;

namespace {

// A graph with a branch, a residual add and a tensor used three times:
//   a = tanh(conv(x));  b = depthwise(a) + conv1x1(a);  c = b + a;  d = concat(c, a)
//   out = dense(gap(bn(d)))
Model<double> branchy_graph() {
  Model<double> model(5);
  Symbol x = model.input(Shape{2, 5, 5});
  Symbol a = model.apply(Conv2D<double>(3, 3, Activation::linear, 1, Padding::same), x);
  a = model.apply(ActivationLayer<double>("tanh"), a);
  Symbol left = model.apply(DepthwiseConv2D<double>(3, 1, Padding::same), a);
  Symbol right = model.apply(Conv2D<double>(3, 1), a);
  Symbol b = model.merge(Add<double>(), {left, right});
  Symbol c = model.merge(Add<double>(), {b, a});
  Symbol d = model.merge(Concatenate<double>(), {c, a});
  Symbol e = model.apply(BatchNormalization<double>(), d);
  Symbol f = model.apply(GlobalAveragePooling2D<double>(), e);
  model.set_output(model.apply(Dense<double>(4), f));
  return model;
}

// Every layer of format version 2 in one graph, with a branch (two poolings of one tensor) and a
// residual add, ending in a classifier (the conv without bias, the max pooling same-padded):
//   a = relu(bn(conv(x)));  b = sep(depthwise(a));  c = maxpool(relu(b + a))
//   out = softmax(dense(dropout(concat(gap(c), gmp(c)))))
Model<float> every_layer_graph() {
  Model<float> model(7);
  Symbol x = model.input(Shape{1, 12, 12});
  Symbol a = model.apply(Conv2D<float>(4, 3, Activation::linear, 1, Padding::same, /*use_bias=*/false), x);
  a = model.apply(BatchNormalization<float>(0.9), a);
  a = model.apply(ActivationLayer<float>("relu"), a);
  Symbol b = model.apply(DepthwiseConv2D<float>(3, 1, Padding::same, 2), a);
  b = model.apply(SeparableConv2D<float>(4, 3, 1, Padding::same, 1, Activation::linear, false), b);
  Symbol c = model.merge(Add<float>(), {b, a});
  c = model.apply(ActivationLayer<float>("relu"), c);
  c = model.apply(MaxPool2D<float>(3, 2, Padding::same), c);
  Symbol joined = model.merge(Concatenate<float>(), {model.apply(GlobalAveragePooling2D<float>(), c),
                                                      model.apply(GlobalMaxPooling2D<float>(), c)});
  joined = model.apply(Dropout<float>(0.25), joined);
  joined = model.apply(Dense<float>(4), joined);
  model.set_output(model.apply(Softmax<float>(), joined));
  return model;
}

// (f(v + h) - f(v - h)) / 2h for the scalar f() of a model whose weight or input is v (restored).
template <typename F>
double central_difference(F&& f, double& v, double h = 1e-6) {
  const double saved = v;
  v = saved + h;
  const double plus = f();
  v = saved - h;
  const double minus = f();
  v = saved;
  return (plus - minus) / (2 * h);
}

std::string read_bytes(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Writes `bytes` with the payload size and CRC fixed up, so that the loader reaches the fields.
std::filesystem::path write_patched(const std::filesystem::path& p, std::string bytes) {
  const std::uint64_t payload = bytes.size() - model_file::kHeaderSize - 4;
  std::memcpy(&bytes[12], &payload, sizeof payload);
  const std::uint32_t crc = crc32(bytes.data() + model_file::kHeaderSize, payload);
  std::memcpy(&bytes[bytes.size() - 4], &crc, sizeof crc);
  std::ofstream(p, std::ios::binary) << bytes;
  return p;
}

}  // namespace

TEST_CASE("A graph with every format-2 layer, a branch and a residual add saves and loads", "[functional][model_file]") {
  const auto dir = test::scratch_dir("functional_save_load");
  Tensor<float> x;
  std::vector<int> y;
  test::bar_images(64, 4, 5, x, y);
  auto model = every_layer_graph();
  model.compile(Adam<float>(0.01f));
  for (int step = 0; step < 3; ++step) model.train_on_batch(x, y);  // moves BN's moving statistics
  const auto expected = model.predict(x);
  model.save(dir / "graph.mdnn", true, "epoch=3\n");

  std::string metadata;
  auto loaded = Model<float>::load(dir / "graph.mdnn", &metadata);
  CHECK(metadata == "epoch=3\n");
  CHECK(loaded.size() == model.size());
  CHECK(loaded.summary() == model.summary());  // the same layers, shapes, counts and connections
  CHECK(loaded.parameter_count() == model.parameter_count());
  CHECK(loaded.non_trainable_parameter_count() == 2 * 4);
  const auto got = loaded.predict(x);
  REQUIRE(got.size() == expected.size());
  for (std::size_t i = 0; i < got.size(); ++i) REQUIRE(got[i] == expected[i]);

  // The checkpoint resumes exactly: one more step on each gives the same weights.
  REQUIRE(loaded.optimizer() != nullptr);
  CHECK(loaded.optimizer()->type() == "Adam");
  model.train_on_batch(x, y);
  loaded.train_on_batch(x, y);
  const auto a = model.parameters(), b = loaded.parameters();
  REQUIRE(a.size() == b.size());
  for (std::size_t k = 0; k < a.size(); ++k)
    for (std::size_t i = 0; i < a[k]->size(); ++i) REQUIRE(a[k]->value[i] == b[k]->value[i]);

  // A graph is not a Sequential model.
  CHECK_THROWS_WITH(Sequential<float>::load(dir / "graph.mdnn"), Catch::Contains("load it with Model<T>::load"));
}

TEST_CASE("Model::load reads a Sequential model's file as a chain", "[functional][model_file]") {
  // tests/fixtures/model_v1.bin: format version 1, written by tests/fixtures/make_v1_model.cpp.
  const std::string fixtures = MINIDNN_TEST_FIXTURES;
  auto sequential = Sequential<float>::load(fixtures + "/model_v1.bin");
  auto graph = Model<float>::load(fixtures + "/model_v1.bin");
  CHECK(graph.size() == sequential.size() + 1);
  Tensor<float> probe;
  std::vector<int> labels;
  test::bar_images(6, 3, 9, probe, labels);
  const auto expected = sequential.predict(probe), got = graph.predict(probe);
  for (std::size_t i = 0; i < got.size(); ++i) CHECK(got[i] == Approx(expected[i]).epsilon(1e-6));
  REQUIRE(graph.optimizer() != nullptr);
  CHECK(graph.optimizer()->type() == "Adam");
}

TEST_CASE("A corrupt graph file is refused naming the field", "[functional][model_file]") {
  const auto dir = test::scratch_dir("functional_bad_file");
  Model<float> model(1);
  Symbol x = model.input(Shape{3});
  Symbol h = model.apply(Dense<float>(3), x);
  model.set_output(model.merge(Add<float>(), {h, x}));
  model.save(dir / "good.mdnn");
  const std::string good = read_bytes(dir / "good.mdnn");
  // Payload: input shape (4 + 4 bytes), node count (4), node 1: input count (4) and input (4)...
  const std::size_t node1_input = model_file::kHeaderSize + 8 + 4 + 4;
  auto patch = [&](std::size_t offset, std::uint32_t value, const char* name) {
    std::string bytes = good;
    std::memcpy(&bytes[offset], &value, sizeof value);
    return write_patched(dir / name, bytes);
  };
  CHECK_THROWS_WITH(Model<float>::load(patch(node1_input, 1, "self.mdnn")),
                    Catch::Contains("node 1: node input 1 is not an earlier node"));
  CHECK_THROWS_WITH(Model<float>::load(patch(node1_input - 4, 5000, "inputs.mdnn")),
                    Catch::Contains("implausible node input count 5000"));
  CHECK_THROWS_WITH(Model<float>::load(patch(model_file::kHeaderSize + 8, 0, "nodes.mdnn")),
                    Catch::Contains("implausible node count 0"));
  // The output node: after the metadata string (4 + 0 bytes), the optimizer flag (1) and it (4).
  CHECK_THROWS_WITH(Model<float>::load(patch(good.size() - 4 - 4 - 1 - 4, 7, "output.mdnn")),
                    Catch::Contains("output node 7 is not a node of the graph"));
  // A merge's input shapes must still agree: Add of (3,) and the input widened to (4,).
  CHECK_THROWS_WITH(Model<float>::load(patch(model_file::kHeaderSize + 4, 4, "shape.mdnn")),
                    Catch::Contains("node 1 (Dense)"));
  {
    std::string bytes = good;
    const auto at = bytes.find("Add");
    REQUIRE(at != std::string::npos);
    bytes.replace(at, 3, "Mul");
    CHECK_THROWS_WITH(Model<float>::load(write_patched(dir / "mul.mdnn", bytes)),
                      Catch::Contains("node 2: unknown merge layer type 'Mul'"));
  }
  std::string truncated = good.substr(0, good.size() - 9);
  CHECK_THROWS_WITH(Model<float>::load(write_patched(dir / "short.mdnn", truncated + "0000")),
                    Catch::Contains("truncated"));
}

TEST_CASE("A graph's gradients (branch, residual add, a tensor used three times) match finite differences",
          "[functional][gradient]") {
  auto model = branchy_graph();
  Rng rng(9);
  const int batch = 3;
  Tensor<double> x(batch, model.input_shape()), upstream(batch, model.output_shape());
  test::fill_uniform(x, rng);
  test::fill_uniform(upstream, rng);
  for (auto* p : model.parameters())
    if (p->name == "bias" || p->name == "gamma" || p->name == "beta")
      for (auto& v : p->value) v = rng.uniform(-0.5, 0.5) + (p->name == "gamma" ? 1.0 : 0.0);
  auto objective = [&] {
    const auto& y = model.forward(x, Mode::train);
    double s = 0.0;
    for (std::size_t i = 0; i < y.size(); ++i) s += y[i] * upstream[i];
    return s;
  };
  objective();
  Tensor<double> grad_out = upstream, grad_in;
  model.backward(grad_out, &grad_in);
  std::vector<std::vector<double>> analytic;
  for (auto* p : model.parameters()) analytic.emplace_back(p->grad.begin(), p->grad.end());

  auto numeric = [&](double& v) { return central_difference(objective, v); };
  double worst_input = 0.0, worst_param = 0.0;
  for (std::size_t i = 0; i < x.size(); i += 3)
    worst_input = std::max(worst_input, test::relative_error(grad_in[i], numeric(x[i])));
  const auto params = model.parameters();
  REQUIRE(params.size() == 10);  // conv, depthwise, 1x1 conv, BatchNormalization, dense: 2 each
  for (std::size_t k = 0; k < params.size(); ++k)
    for (std::size_t i = 0; i < params[k]->size(); i += 2)
      worst_param = std::max(worst_param, test::relative_error(analytic[k][i], numeric(params[k]->value[i])));
  CHECK(worst_input < 1e-7);
  CHECK(worst_param < 1e-7);
}

TEST_CASE("A residual network learns a small separable problem to 99%", "[functional]") {
  Tensor<float> x, x_test;
  std::vector<int> y, y_test;
  test::bar_images(768, 4, 11, x, y);
  test::bar_images(256, 4, 12, x_test, y_test);
  Model<float> model(3);
  Symbol in = model.input(Shape{1, 12, 12});
  Symbol h = model.apply(Conv2D<float>(8, 3, Activation::linear, 1, Padding::same), in);
  h = model.apply(BatchNormalization<float>(), h);
  h = model.apply(ActivationLayer<float>("relu"), h);
  Symbol r = model.apply(SeparableConv2D<float>(8, 3, 1, Padding::same, 1, Activation::relu), h);
  r = model.apply(Conv2D<float>(8, 3, Activation::linear, 1, Padding::same), r);
  h = model.merge(Add<float>(), {h, r});
  h = model.apply(ActivationLayer<float>("relu"), h);
  h = model.apply(MaxPool2D<float>(2), h);
  h = model.apply(GlobalMaxPooling2D<float>(), h);
  h = model.apply(Dense<float>(4), h);
  model.set_output(model.apply(Softmax<float>(), h));
  model.compile(Adam<float>(0.01f));
  FitOptions<float> options;
  options.epochs = 8;
  options.batch_size = 32;
  options.validation_x = &x_test;
  options.validation_y = &y_test;
  const History history = model.fit(x, y, options);
  REQUIRE(history.epochs.size() == 8);
  CHECK(history.epochs.back().val_accuracy == model.evaluate(x_test, y_test).accuracy);
  CHECK_THROWS_WITH(model.fit(x_test, std::vector<int>(256, 4), options), Catch::Contains("label 4"));
  const auto result = model.evaluate(x_test, y_test);
  INFO("held-out accuracy " << result.accuracy << ", loss " << result.loss);
  CHECK(result.accuracy >= 0.99);
}

TEST_CASE("A graph's summary has a Connected-to column and stays aligned past ten layers", "[functional]") {
  Model<float> model(1);
  Symbol x = model.input(Shape{3, 8, 8});
  Symbol h = x;
  for (int i = 0; i < 12; ++i) h = model.merge(Add<float>(), {model.apply(DepthwiseConv2D<float>(3, 1, Padding::same), h), h});
  h = model.apply(BatchNormalization<float>(), h);
  h = model.apply(GlobalAveragePooling2D<float>(), h);
  model.set_output(model.apply(Dense<float>(2), h));
  const std::string text = model.summary();
  CHECK_THAT(text, Catch::Contains("Connected to"));
  CHECK_THAT(text, Catch::Contains("#24 (Add)"));
  CHECK_THAT(text, Catch::Contains("#23, #22"));
  CHECK_THAT(text, Catch::Contains("Total params: " + std::to_string(12 * 30 + 12 + 8)));
  CHECK_THAT(text, Catch::Contains("Trainable params: " + std::to_string(12 * 30 + 6 + 8)));
  CHECK_THAT(text, Catch::Contains("Non-trainable params: 6"));
  // Every row's "Output shape" column starts at the same offset as its header.
  std::istringstream lines(text);
  std::string line;
  std::size_t column = std::string::npos;
  int rows = 0;
  while (std::getline(lines, line)) {
    if (line.find("Output shape") != std::string::npos) column = line.find("Output shape");
    if (line.rfind("#", 0) != 0) continue;
    ++rows;
    REQUIRE(column != std::string::npos);
    CHECK(line[column - 1] == ' ');
    CHECK(line[column] != ' ');
  }
  CHECK(rows == 28);
  CHECK_THROWS_WITH(model.merge(Add<float>(), {x, h}), Catch::Contains("Add: inputs must have one shape"));
}

TEST_CASE("Inference folds BatchNormalization into the Conv2D, SeparableConv2D or Dense before it; folded and unfolded agree",
          "[functional]") {
  Model<double> model(11);
  Symbol x = model.input(Shape{2, 6, 6});
  Symbol a = model.apply(Conv2D<double>(3, 3, Activation::linear, 1, Padding::same, /*use_bias=*/false), x);
  a = model.apply(BatchNormalization<double>(), a);  // folded (a conv without bias gets one)
  Symbol b = model.apply(Conv2D<double>(3, 3, Activation::linear, 1, Padding::same), a);
  Symbol bn_b = model.apply(BatchNormalization<double>(), b);  // not folded: b is also used by the Add
  Symbol c = model.merge(Add<double>(), {bn_b, b});
  c = model.apply(Conv2D<double>(4, 1, Activation::relu), c);
  c = model.apply(BatchNormalization<double>(), c);  // not folded: the conv's ReLU comes first
  c = model.apply(SeparableConv2D<double>(3, 3, 1, Padding::same, 2, Activation::linear, /*use_bias=*/false), c);
  c = model.apply(BatchNormalization<double>(), c);  // folded (given a bias for the time)
  c = model.apply(SeparableConv2D<double>(4, 3, 1, Padding::valid), c);
  c = model.apply(BatchNormalization<double>(), c);  // folded
  c = model.apply(GlobalAveragePooling2D<double>(), c);
  c = model.apply(Dense<double>(5), c);
  c = model.apply(BatchNormalization<double>(), c);  // folded into the Dense
  model.set_output(model.apply(Dense<double>(3), c));
  Rng rng(2);
  for (auto* p : model.parameters())
    for (auto& v : p->value) v = p->name == "gamma" ? rng.uniform(0.5, 1.5) : rng.uniform(-1.0, 1.0);
  for (auto* p : model.non_trainable_parameters())  // moving means, then positive variances
    for (auto& v : p->value) v = p->name == "moving_variance" ? rng.uniform(0.5, 1.5) : rng.uniform(-0.5, 0.5);
  std::vector<std::vector<double>> weights;
  for (auto* p : model.parameters()) weights.emplace_back(p->value.begin(), p->value.end());

  // A batch of 4: each BatchNormalization's pass over it is at least as large as the weights of
  // the layer it folds into (the Dense's 20: 5 outputs x 4 samples), so all four fold.
  Tensor<double> input(4, model.input_shape());
  test::fill_uniform(input, rng);
  model.set_fold_batch_norm(false);
  const auto unfolded = model.predict(input);
  CHECK(model.folded_batch_norms() == 0);
  model.set_fold_batch_norm(true);
  const auto folded = model.predict(input);
  CHECK(model.folded_batch_norms() == 4);
  // One sample: the Dense's 20 weights outweigh its BatchNormalization's 5 values, which then run
  // as a pass of their own; the same outputs.
  Tensor<double> one(1, model.input_shape());
  std::copy(input.sample(2), input.sample(2) + input.sample_size(), one.data());
  const auto folded_one = model.predict(one);
  CHECK(model.folded_batch_norms() == 3);
  for (std::size_t i = 0; i < folded_one.size(); ++i)
    CHECK(folded_one[i] == Approx(unfolded[2 * folded_one.size() + i]).margin(1e-12));
  REQUIRE(folded.size() == unfolded.size());
  for (std::size_t i = 0; i < folded.size(); ++i) CHECK(folded[i] == Approx(unfolded[i]).margin(1e-12));
  // The layers' own weights are back, and training sees the BatchNormalization layers again.
  const auto params = model.parameters();
  for (std::size_t k = 0; k < params.size(); ++k)
    for (std::size_t i = 0; i < params[k]->size(); ++i) REQUIRE(params[k]->value[i] == weights[k][i]);
  const auto& train = model.forward(input, Mode::train);
  bool differs = false;  // batch statistics, not the moving ones
  for (std::size_t i = 0; i < train.size(); ++i) differs = differs || std::abs(train[i] - unfolded[i]) > 1e-6;
  CHECK(differs);
  // That forward moved the moving statistics: the fold follows them.
  const auto again = model.predict(input);
  model.set_fold_batch_norm(false);
  const auto again_unfolded = model.predict(input);
  bool moved = false;
  for (std::size_t i = 0; i < again.size(); ++i) {
    CHECK(again[i] == Approx(again_unfolded[i]).margin(1e-12));
    moved = moved || again[i] != Approx(unfolded[i]).margin(1e-9);
  }
  CHECK(moved);
}

TEST_CASE("Training fuses a ReLU Activation into the BatchNormalization before it; gradients match finite differences",
          "[functional][gradient]") {
  // conv -> bn -> relu (fused) used twice; dense -> bn -> relu (fused) at the end; a bn whose relu
  // is not its only consumer stays unfused:  a = relu(bn(conv(x)));  b = bn(conv(a));
  // c = relu(b) + b + a;  out = relu(bn(dense(gap(c))))
  auto build = [] {
    Model<double> model(21);
    Symbol x = model.input(Shape{2, 5, 5});
    Symbol a = model.apply(Conv2D<double>(3, 3, Activation::linear, 1, Padding::same, /*use_bias=*/false), x);
    a = model.apply(BatchNormalization<double>(0.9), a);
    a = model.apply(ActivationLayer<double>("relu"), a);
    Symbol b = model.apply(Conv2D<double>(3, 3, Activation::linear, 1, Padding::same), a);
    b = model.apply(BatchNormalization<double>(0.9), b);
    Symbol c = model.merge(Add<double>(), {model.apply(ActivationLayer<double>("relu"), b), b});
    c = model.merge(Add<double>(), {c, a});
    c = model.apply(GlobalAveragePooling2D<double>(), c);
    c = model.apply(Dense<double>(4), c);
    c = model.apply(BatchNormalization<double>(0.9), c);
    model.set_output(model.apply(ActivationLayer<double>("relu"), c));
    Rng rng(4);
    for (auto* p : model.parameters())
      if (p->name == "bias" || p->name == "gamma" || p->name == "beta")
        for (auto& v : p->value) v = rng.uniform(-0.5, 0.5) + (p->name == "gamma" ? 1.0 : 0.0);
    return model;
  };
  auto fused = build(), plain = build();
  plain.set_fuse_activations(false);
  Rng rng(9);
  const int batch = 4;
  Tensor<double> x(batch, fused.input_shape()), upstream(batch, fused.output_shape());
  test::fill_uniform(x, rng);
  test::fill_uniform(upstream, rng);
  auto objective = [&](Model<double>& model) {
    const auto& y = model.forward(x, Mode::train);
    double s = 0.0;
    for (std::size_t i = 0; i < y.size(); ++i) s += y[i] * upstream[i];
    return s;
  };
  auto gradients = [&](Model<double>& model, Tensor<double>& grad_in) {
    objective(model);
    Tensor<double> grad_out = upstream;
    model.backward(grad_out, &grad_in);
    std::vector<std::vector<double>> g;
    for (auto* p : model.parameters()) g.emplace_back(p->grad.begin(), p->grad.end());
    return g;
  };
  Tensor<double> grad_in, plain_grad_in;
  const auto analytic = gradients(fused, grad_in);
  const auto plain_analytic = gradients(plain, plain_grad_in);
  CHECK(fused.fused_activations() == 2);
  CHECK(plain.fused_activations() == 0);
  for (std::size_t i = 0; i < grad_in.size(); ++i) REQUIRE(grad_in[i] == Approx(plain_grad_in[i]).margin(1e-13));
  for (std::size_t k = 0; k < analytic.size(); ++k)
    for (std::size_t i = 0; i < analytic[k].size(); ++i) REQUIRE(analytic[k][i] == Approx(plain_analytic[k][i]).margin(1e-13));

  auto numeric = [&](double& v) { return central_difference([&] { return objective(fused); }, v); };
  double worst_input = 0.0, worst_param = 0.0;
  for (std::size_t i = 0; i < x.size(); i += 2)
    worst_input = std::max(worst_input, test::relative_error(grad_in[i], numeric(x[i])));
  const auto params = fused.parameters();
  for (std::size_t k = 0; k < params.size(); ++k)
    for (std::size_t i = 0; i < params[k]->size(); ++i)
      worst_param = std::max(worst_param, test::relative_error(analytic[k][i], numeric(params[k]->value[i])));
  CHECK(worst_input < 1e-7);
  CHECK(worst_param < 1e-7);
}
