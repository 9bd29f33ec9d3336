#include <catch2/catch.hpp>

#include "minidnn/layers/dense.hpp"
#include "support/gradient_check.hpp"

using namespace minidnn;

TEST_CASE("Dense forward is x * kernel + bias", "[dense]") {
  Dense<double> dense(3, Activation::relu);
  Rng rng(1);
  dense.build(Shape{4}, rng);
  auto& kernel = dense.parameters()[0]->value;  // (in 4, out 3)
  auto& bias = dense.parameters()[1]->value;
  for (auto& b : bias) b = rng.uniform(-1, 1);
  Tensor<double> x(2, Shape{4}), y;
  test::fill_uniform(x, rng);
  dense.forward(x, y, Mode::inference);
  for (int n = 0; n < 2; ++n)
    for (int u = 0; u < 3; ++u) {
      double s = bias[u];
      for (int i = 0; i < 4; ++i) s += x.sample(n)[i] * kernel[i * 3 + u];
      REQUIRE(y.sample(n)[u] == Approx(std::max(s, 0.0)).margin(1e-14));
    }
}

TEST_CASE("Dense gradients match finite differences", "[dense][gradient]") {
  for (Activation a : {Activation::linear, Activation::relu}) {
    Dense<double> dense(7, a);
    Rng rng(2);
    dense.build(Shape{13}, rng);
    const auto errors = test::check_layer_gradients(dense, 5);
    CHECK(errors.input < 1e-7);
    CHECK(errors.parameters < 1e-7);
  }
}

TEST_CASE("Dense initializes Glorot-uniform kernels and zero biases", "[dense]") {
  Dense<double> dense(200);
  Rng rng(3);
  dense.build(Shape{300}, rng);
  const double limit = std::sqrt(6.0 / 500.0);
  double sum_sq = 0;
  for (double w : dense.parameters()[0]->value) {
    REQUIRE(std::abs(w) <= limit);
    sum_sq += w * w;
  }
  // Variance of U(-l, l) is l^2 / 3.
  CHECK(sum_sq / 60000 == Approx(limit * limit / 3).epsilon(0.03));
  for (double b : dense.parameters()[1]->value) REQUIRE(b == 0.0);
}

TEST_CASE("Dense wants flat input", "[dense]") {
  Rng rng(1);
  CHECK_THROWS_WITH(Dense<float>(4).build(Shape{2, 3, 3}, rng), Catch::Contains("Flatten"));
}
