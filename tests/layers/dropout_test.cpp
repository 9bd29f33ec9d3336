#include <catch2/catch.hpp>

#include "minidnn/layers/dropout.hpp"
#include "support/gradient_check.hpp"

using namespace minidnn;

TEST_CASE("Dropout is the identity in inference", "[dropout]") {
  Dropout<double> drop(0.5);
  Rng rng(1);
  drop.build(Shape{100}, rng);
  Tensor<double> x(3, Shape{100}), y;
  test::fill_uniform(x, rng);
  drop.forward(x, y, Mode::inference);
  for (std::size_t i = 0; i < x.size(); ++i) REQUIRE(y[i] == x[i]);
}

TEST_CASE("Dropout in training zeroes about `rate` of the values and rescales the rest", "[dropout]") {
  Dropout<double> drop(0.2);
  Rng rng(1);
  drop.build(Shape{1000}, rng);
  Tensor<double> x(20, Shape{1000}), y;
  x.fill(1.0);
  drop.forward(x, y, Mode::train);
  int zeros = 0;
  for (double v : y) {
    if (v == 0.0) ++zeros;
    else REQUIRE(v == Approx(1.25));
  }
  // 20,000 Bernoulli(0.2) draws: mean 4000, sd ~57.
  CHECK(zeros > 3700);
  CHECK(zeros < 4300);
}

TEST_CASE("Dropout: the same seed gives the same masks", "[dropout]") {
  auto masks = [](std::uint64_t seed) {
    Dropout<float> drop(0.5);
    Rng rng(seed);
    drop.build(Shape{64}, rng);
    Tensor<float> x(4, Shape{64}), y;
    x.fill(1.0f);
    drop.forward(x, y, Mode::train);
    return std::vector<float>(y.begin(), y.end());
  };
  CHECK(masks(3) == masks(3));
  CHECK(masks(3) != masks(4));
}

TEST_CASE("Dropout gradients match finite differences with the mask held fixed", "[dropout][gradient]") {
  Dropout<double> drop(0.3);
  Rng rng(2);
  drop.build(Shape{3, 4, 5}, rng);
  CHECK(test::check_layer_gradients(drop, 2).input < 1e-9);
}

TEST_CASE("Dropout rejects a rate outside [0, 1)", "[dropout]") {
  CHECK_THROWS_AS(Dropout<float>(1.0), Error);
  CHECK_THROWS_AS(Dropout<float>(-0.1), Error);
}
