#include <catch2/catch.hpp>

#include "minidnn/optim/sgd.hpp"

using namespace minidnn;

TEST_CASE("SGD without momentum steps against the gradient", "[sgd]") {
  Parameter<double> p("w", {2});
  p.value = {1.0, 2.0};
  p.grad = {0.5, -1.0};
  SGD<double> sgd(0.1);
  sgd.step({&p});
  CHECK(p.value[0] == Approx(0.95));
  CHECK(p.value[1] == Approx(2.1));
}

TEST_CASE("SGD with momentum accumulates velocity: v = mu v - lr g; w += v", "[sgd]") {
  Parameter<double> p("w", {1});
  p.value = {0.0};
  SGD<double> sgd(0.1, 0.9);
  p.grad = {1.0};
  sgd.step({&p});  // v = -0.1, w = -0.1
  CHECK(p.value[0] == Approx(-0.1));
  p.grad = {1.0};
  sgd.step({&p});  // v = -0.09 - 0.1 = -0.19, w = -0.29
  CHECK(p.value[0] == Approx(-0.29));
  p.grad = {-2.0};
  sgd.step({&p});  // v = -0.171 + 0.2 = 0.029, w = -0.261
  CHECK(p.value[0] == Approx(-0.261));
}

#include <cstring>
#include <vector>

#include "fixtures/torch_training_fixtures.hpp"

namespace {

// Runs `sgd` on the fixture's weights and gradients; returns the weights after every step.
std::vector<double> run_on_fixture(SGD<double>& sgd) {
  Parameter<double> p("w", {6});
  std::memcpy(p.value.data(), fixtures::opt_w0, 6 * sizeof(double));
  std::vector<double> trace;
  for (int step = 0; step < 5; ++step) {
    std::memcpy(p.grad.data(), fixtures::opt_grads + 6 * step, 6 * sizeof(double));
    sgd.step({&p});
    trace.insert(trace.end(), p.value.begin(), p.value.end());
  }
  return trace;
}

// An independent loop in PyTorch's formulation (buf = mu buf + g; nesterov: w -= lr (g + mu buf)).
std::vector<double> torch_style_loop(double lr, double mu, bool nesterov, double wd) {
  std::vector<double> w(fixtures::opt_w0, fixtures::opt_w0 + 6), buf(6, 0.0), trace;
  for (int step = 0; step < 5; ++step) {
    for (int i = 0; i < 6; ++i) {
      const double g = fixtures::opt_grads[6 * step + i] + wd * w[i];
      buf[i] = step == 0 ? g : mu * buf[i] + g;
      w[i] -= lr * (nesterov ? g + mu * buf[i] : buf[i]);
    }
    trace.insert(trace.end(), w.begin(), w.end());
  }
  return trace;
}

}  // namespace

TEST_CASE("SGD with Nesterov momentum and L2 weight decay matches a direct loop and torch.optim.SGD", "[sgd]") {
  SGD<double> sgd(0.1, {/*momentum=*/0.9, /*nesterov=*/true, /*weight_decay=*/0.01});
  const std::vector<double> ours = run_on_fixture(sgd);
  const std::vector<double> loop = torch_style_loop(0.1, 0.9, true, 0.01);
  for (std::size_t i = 0; i < ours.size(); ++i) {
    REQUIRE(ours[i] == Approx(loop[i]).epsilon(1e-12));
    REQUIRE(ours[i] == Approx(fixtures::sgd_nesterov_wd[i]).epsilon(1e-12));
  }
}

TEST_CASE("SGD with plain momentum and weight decay matches torch.optim.SGD", "[sgd]") {
  SGD<double> sgd(0.05, {/*momentum=*/0.8, /*nesterov=*/false, /*weight_decay=*/0.1});
  const std::vector<double> ours = run_on_fixture(sgd);
  const std::vector<double> loop = torch_style_loop(0.05, 0.8, false, 0.1);
  for (std::size_t i = 0; i < ours.size(); ++i) {
    REQUIRE(ours[i] == Approx(loop[i]).epsilon(1e-12));
    REQUIRE(ours[i] == Approx(fixtures::sgd_momentum_wd[i]).epsilon(1e-12));
  }
}

TEST_CASE("Nesterov differs from plain momentum from the second step on", "[sgd]") {
  SGD<double> plain(0.1, 0.9), nesterov(0.1, {0.9, true});
  Parameter<double> a("w", {1}), b("w", {1});
  a.grad = {1.0};
  b.grad = {1.0};
  plain.step({&a});
  nesterov.step({&b});
  CHECK(a.value[0] == Approx(-0.1));
  CHECK(b.value[0] == Approx(-0.19));  // v = -0.1; w += 0.9 v - 0.1 g
}

TEST_CASE("SGD refuses bad options and keeps them through a checkpoint", "[sgd]") {
  CHECK_THROWS_WITH(SGD<float>(0.1, {0.0, true}), Catch::Contains("nesterov needs a momentum"));
  CHECK_THROWS_WITH(SGD<float>(0.1, {0.9, false, -1.0}), Catch::Contains("weight decay"));
  CHECK_THROWS_WITH(SGD<float>(0.1, {0.9, false, 0.0, -2.0}), Catch::Contains("clip norm"));
  CHECK(SGD<float>(0.1, 0.9).type() == "SGD");  // the layout files have always had

  SGD<double> sgd(0.1, {0.9, true, 0.01, 2.5});
  CHECK(sgd.type() == "SGD/2");
  Parameter<double> p("w", {6}), q("w", {6});
  std::memcpy(p.value.data(), fixtures::opt_w0, 6 * sizeof(double));
  p.grad.assign(fixtures::opt_grads, fixtures::opt_grads + 6);
  sgd.step({&p});
  BinaryWriter out;
  sgd.write_config(out);
  auto restored = SGD<double>::for_stored_type(sgd.type());
  REQUIRE(restored);
  BinaryReader in(out.bytes().data(), out.bytes().size(), "config");
  restored->read_config(in);
  CHECK(in.remaining() == 0);
  CHECK(restored->clip_norm() == 2.5);
  CHECK(restored->iterations() == 1);
  q.value = p.value;
  q.optimizer_slots = p.optimizer_slots;
  for (int step = 1; step < 5; ++step) {
    p.grad.assign(fixtures::opt_grads + 6 * step, fixtures::opt_grads + 6 * step + 6);
    q.grad = p.grad;
    sgd.step({&p});
    restored->step({&q});
  }
  for (int i = 0; i < 6; ++i) CHECK(q.value[i] == p.value[i]);
  CHECK(SGD<double>::for_stored_type("Adam") == nullptr);
}

#include <filesystem>

#include "minidnn/sequential.hpp"
#include "support/paths.hpp"

TEST_CASE("Checkpoints with SGD/2 and AdamW load through the model file and continue identically", "[sgd]") {
  const std::filesystem::path dir = test::scratch_dir("optimizer_checkpoints");
  Tensor<double> x(4, Shape{3});
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = std::sin(double(i));
  const std::vector<int> labels = {0, 1, 1, 0};
  SGD<double> sgd(0.1, {0.9, true, 0.01, 0.5});
  AdamW<double> adamw(0.01, 0.1);
  for (const Optimizer<double>* optimizer : {static_cast<const Optimizer<double>*>(&sgd),
                                             static_cast<const Optimizer<double>*>(&adamw)}) {
    Sequential<double> model;
    model.add(Dense<double>(2));
    model.add(Softmax<double>());
    model.build(Shape{3}, 4);
    model.compile(*optimizer);
    model.train_on_batch(x, labels);
    const auto path = dir / (optimizer->type() == "AdamW" ? "adamw.mdnn" : "sgd.mdnn");
    model.save(path, /*with_optimizer=*/true);
    Sequential<double> loaded = Sequential<double>::load(path);
    REQUIRE(loaded.optimizer());
    CHECK(loaded.optimizer()->type() == optimizer->type());
    CHECK(loaded.optimizer()->clip_norm() == optimizer->clip_norm());
    for (int step = 0; step < 3; ++step) {
      model.train_on_batch(x, labels);
      loaded.train_on_batch(x, labels);
    }
    const auto a = model.parameters(), b = loaded.parameters();
    for (std::size_t k = 0; k < a.size(); ++k)
      for (std::size_t i = 0; i < a[k]->size(); ++i) CHECK(a[k]->value[i] == b[k]->value[i]);
  }
}
