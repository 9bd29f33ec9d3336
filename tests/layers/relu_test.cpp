#include <catch2/catch.hpp>

#include "minidnn/layers/relu.hpp"
#include "support/gradient_check.hpp"

using namespace minidnn;

TEST_CASE("ReLU forward clips negatives", "[relu]") {
  ReLU<double> relu;
  Rng rng(1);
  relu.build(Shape{4}, rng);
  Tensor<double> x(1, Shape{4}), y;
  const double v[] = {-2.0, -0.0, 0.5, 3.0};
  std::copy(v, v + 4, x.data());
  relu.forward(x, y, Mode::inference);
  CHECK(y[0] == 0.0);
  CHECK(y[1] == 0.0);
  CHECK(y[2] == 0.5);
  CHECK(y[3] == 3.0);
}

TEST_CASE("ReLU gradients match finite differences", "[relu][gradient]") {
  ReLU<double> relu;
  Rng rng(2);
  relu.build(Shape{2, 5, 5}, rng);
  CHECK(test::check_layer_gradients(relu, 3).input < 1e-9);
}
