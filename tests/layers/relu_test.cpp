#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include "minidnn/layers/conv2d.hpp"
#include "minidnn/layers/dense.hpp"
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

TEST_CASE("ReLU passes NaN through, alone and fused into Dense and Conv2D", "[relu]") {
  // A diverged model must reach the loss as NaN (where training stops with an error), not as
  // zeros that look like a healthy, uniform prediction.
  const double nan = std::numeric_limits<double>::quiet_NaN();
  Rng rng(1);
  ReLU<double> relu;
  relu.build(Shape{2}, rng);
  Tensor<double> x(1, Shape{2}), y;
  x[0] = nan;
  x[1] = -1.0;
  relu.forward(x, y, Mode::inference);
  CHECK(std::isnan(y[0]));
  CHECK(y[1] == 0.0);

  Dense<double> dense(3, Activation::relu);
  dense.build(Shape{2}, rng);
  dense.forward(x, y, Mode::inference);
  for (int i = 0; i < 3; ++i) CHECK(std::isnan(y[i]));

  for (const ConvChoice choice : {ConvChoice{ConvAlgorithm::im2col, 0}, ConvChoice{ConvAlgorithm::winograd, 2},
                                  ConvChoice{ConvAlgorithm::winograd, 3}, ConvChoice{ConvAlgorithm::winograd, 4}}) {
    Conv2D<double> conv(2, 3, Activation::relu);
    conv.set_algorithm(choice.algorithm, choice.winograd_tile);
    conv.build(Shape{1, 4, 4}, rng);
    Tensor<double> image(1, conv.input_shape());
    image[5] = nan;  // pixel (1, 1): inside every 3x3 window of a 4x4 image
    conv.forward(image, y, Mode::inference);
    for (std::size_t i = 0; i < y.size(); ++i) CHECK(std::isnan(y[i]));
  }
}
