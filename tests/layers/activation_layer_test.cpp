#include <catch2/catch.hpp>

#include "minidnn/layers/activation_layer.hpp"
#include "support/gradient_check.hpp"
#include "support/sample_forward.hpp"
#include "support/torch_fixtures.hpp"

using namespace minidnn;
namespace fx = minidnn::fixtures;

TEST_CASE("Activation layers match PyTorch's functions", "[activation_layer]") {
  Rng rng(1);
  const auto x = test::fixture_tensor(fx::gp_x, 2, Shape{3, 4, 5});
  Tensor<double> y;
  ActivationLayer<double> sigmoid("sigmoid");
  sigmoid.build(x.shape(), rng);
  sigmoid.forward(x, y, Mode::inference);
  CHECK(test::max_difference(y, fx::act_sigmoid) < 1e-15);
  CHECK(test::max_difference(test::forward_by_samples(sigmoid, x), fx::act_sigmoid) < 1e-15);
  ActivationLayer<double> tanh("tanh");
  tanh.build(x.shape(), rng);
  tanh.forward(x, y, Mode::inference);
  CHECK(test::max_difference(y, fx::act_tanh) < 1e-15);
  CHECK(test::max_difference(test::forward_by_samples(tanh, x), fx::act_tanh) < 1e-15);
  ActivationLayer<double> relu("relu");
  relu.build(x.shape(), rng);
  relu.forward(x, y, Mode::inference);
  for (std::size_t i = 0; i < y.size(); ++i) CHECK(y[i] == std::max(x[i], 0.0));
  CHECK(relu.type() == "Activation");
  CHECK(relu.describe() == "relu");
  CHECK_THROWS_WITH(ActivationLayer<double>("swish"), Catch::Contains("unknown activation 'swish'"));
}

TEST_CASE("Activation layer gradients match finite differences", "[activation_layer][gradient]") {
  for (const char* name : {"relu", "sigmoid", "tanh", "linear"}) {
    CAPTURE(name);
    ActivationLayer<double> layer(name);
    Rng rng(3);
    layer.build(Shape{2, 4, 3}, rng);
    CHECK(test::check_layer_gradients(layer, 3).input < 1e-8);
  }
}
