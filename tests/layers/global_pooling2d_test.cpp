#include <catch2/catch.hpp>

#include <limits>

#include "minidnn/layers/global_pooling2d.hpp"
#include "support/gradient_check.hpp"
#include "support/torch_fixtures.hpp"

using namespace minidnn;
namespace fx = minidnn::fixtures;

TEST_CASE("Global pooling matches PyTorch's adaptive pooling to 1x1", "[global_pooling2d]") {
  Rng rng(1);
  const auto x = test::fixture_tensor(fx::gp_x, 2, Shape{3, 4, 5});
  Tensor<double> y;
  GlobalAveragePooling2D<double> avg;
  CHECK(avg.build(Shape{3, 4, 5}, rng) == Shape{3});
  avg.forward(x, y, Mode::inference);
  CHECK(test::max_difference(y, fx::gp_avg) < 1e-12);
  GlobalMaxPooling2D<double> max;
  CHECK(max.build(Shape{3, 4, 5}, rng) == Shape{3});
  max.forward(x, y, Mode::inference);
  CHECK(test::max_difference(y, fx::gp_max) < 1e-15);
  GlobalAveragePooling2D<double> flat;
  CHECK_THROWS_WITH(flat.build(Shape{12}, rng), Catch::Contains("GlobalAveragePooling2D"));
}

TEST_CASE("Global pooling gradients match finite differences", "[global_pooling2d][gradient]") {
  Rng rng(2);
  GlobalAveragePooling2D<double> avg;
  avg.build(Shape{3, 5, 4}, rng);
  CHECK(test::check_layer_gradients(avg, 3).input < 1e-8);
  // Distinct random inputs: the maximum of each plane is unique, so the max is differentiable.
  GlobalMaxPooling2D<double> max;
  max.build(Shape{3, 5, 4}, rng);
  CHECK(test::check_layer_gradients(max, 3).input < 1e-8);
}

TEST_CASE("GlobalMaxPooling2D passes NaN through", "[global_pooling2d]") {
  Rng rng(1);
  GlobalMaxPooling2D<double> max;
  max.build(Shape{1, 2, 2}, rng);
  Tensor<double> x(1, Shape{1, 2, 2}), y;
  x[0] = 1.0;
  x[1] = std::numeric_limits<double>::quiet_NaN();
  x[2] = 5.0;
  max.forward(x, y, Mode::inference);
  CHECK(std::isnan(y[0]));
}
