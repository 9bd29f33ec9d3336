#include <catch2/catch.hpp>

#include "minidnn/layers/flatten.hpp"
#include "support/gradient_check.hpp"

using namespace minidnn;

TEST_CASE("Flatten keeps storage order (C, H, W)", "[flatten]") {
  Flatten<double> flatten;
  Rng rng(1);
  CHECK(flatten.build(Shape{128, 1, 1}, rng) == Shape{128});
  Flatten<double> f2;
  f2.build(Shape{2, 3, 4}, rng);
  Tensor<double> x(2, Shape{2, 3, 4}), y;
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = double(i);
  f2.forward(x, y, Mode::inference);
  CHECK(y.shape() == Shape{24});
  for (std::size_t i = 0; i < y.size(); ++i) REQUIRE(y[i] == double(i));
}

TEST_CASE("Flatten gradients match finite differences", "[flatten][gradient]") {
  Flatten<double> flatten;
  Rng rng(2);
  flatten.build(Shape{2, 3, 4}, rng);
  CHECK(test::check_layer_gradients(flatten, 2).input < 1e-9);
}
