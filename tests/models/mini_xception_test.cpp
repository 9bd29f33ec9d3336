#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <vector>

#include "support/torch_fixtures.hpp"
#include "minidnn/models/mini_xception.hpp"
#include "minidnn/optim/adam.hpp"

using namespace minidnn;

namespace {

template <std::size_t N>
void set(Parameter<double>& p, const double (&values)[N]) {
  REQUIRE(p.size() == N);
  std::copy(values, values + N, p.value.begin());
}

}  // namespace

TEST_CASE("mini-Xception has the parameter counts of the same network built in PyTorch", "[mini_xception]") {
  // tests/fixtures/make_torch_fixtures.py builds it with torch.nn and counts its parameters.
  auto model = models::mini_xception_model<float>(1);
  CHECK(model.input_shape() == Shape{1, 48, 48});
  CHECK(model.output_shape() == Shape{7});
  CHECK(long(model.parameter_count()) == fixtures::mini_xception_trainable_params);
  CHECK(long(model.non_trainable_parameter_count()) == fixtures::mini_xception_non_trainable_params);
  CHECK_THAT(model.summary(), Catch::Contains("Total params: 58,423"));  // Keras's count for mini_XCEPTION
}

TEST_CASE("A mini-Xception residual module computes what PyTorch computes (inference)", "[mini_xception]") {
  Model<double> model(2);
  Symbol x = model.input(Shape{8, 7, 7});
  model.set_output(models::xception_module(model, x, 16));
  CHECK(model.output_shape() == Shape{16, 4, 4});
  // Node order: residual conv, its BatchNormalization; separable, BN, ReLU, separable, BN, pool, add.
  const auto params = model.parameters();
  REQUIRE(params.size() == 11);
  using namespace fixtures;
  set(*params[0], block_residual_0_weight);
  set(*params[1], block_residual_1_weight);
  set(*params[2], block_residual_1_bias);
  set(*params[3], block_main_0_0_weight);
  set(*params[4], block_main_0_1_weight);
  set(*params[5], block_main_1_weight);
  set(*params[6], block_main_1_bias);
  set(*params[7], block_main_3_0_weight);
  set(*params[8], block_main_3_1_weight);
  set(*params[9], block_main_4_weight);
  set(*params[10], block_main_4_bias);
  const auto moving = model.non_trainable_parameters();
  REQUIRE(moving.size() == 6);
  set(*moving[0], block_residual_1_running_mean);
  set(*moving[1], block_residual_1_running_var);
  set(*moving[2], block_main_1_running_mean);
  set(*moving[3], block_main_1_running_var);
  set(*moving[4], block_main_4_running_mean);
  set(*moving[5], block_main_4_running_var);
  Tensor<double> input(2, model.input_shape());
  std::copy(std::begin(block_x), std::end(block_x), input.begin());
  const auto& y = model.forward(input, Mode::inference);
  REQUIRE(y.size() == std::size(block_y));
  double worst = 0.0;
  for (std::size_t i = 0; i < y.size(); ++i) worst = std::max(worst, std::abs(y[i] - block_y[i]));
  CHECK(worst < 1e-12);
}

TEST_CASE("mini-Xception runs forward and backward on 48x48 faces", "[mini_xception]") {
  auto model = models::mini_xception_model<float>(3);
  model.compile(Adam<float>(1e-3f));
  Rng rng(4);
  Tensor<float> x(4, model.input_shape());
  for (auto& v : x) v = float(rng.uniform(0.0, 1.0));
  const std::vector<int> labels = {0, 3, 6, 3};
  const auto first = model.train_on_batch(x, labels);
  CHECK(std::isfinite(first.loss));
  for (int step = 0; step < 5; ++step) model.train_on_batch(x, labels);
  const auto later = model.evaluate(x, labels);
  INFO("loss " << first.loss << " -> " << later.loss);
  CHECK(std::isfinite(later.loss));
  bool any_gradient = false;
  for (auto* p : model.parameters())
    for (float g : p->grad) any_gradient = any_gradient || g != 0.0f;
  CHECK(any_gradient);
  const auto p = model.predict(x);
  REQUIRE(p.shape() == Shape{7});
  for (int n = 0; n < 4; ++n) {
    double sum = 0.0;
    for (int k = 0; k < 7; ++k) sum += p.sample(n)[k];
    CHECK(sum == Approx(1.0).epsilon(1e-5));
  }
}
