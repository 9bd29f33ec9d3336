#include <catch2/catch.hpp>

#include "minidnn/layers/softmax.hpp"
#include "minidnn/losses/categorical_crossentropy.hpp"
#include "support/gradient_check.hpp"

using namespace minidnn;
using Loss = CategoricalCrossEntropy<double>;

TEST_CASE("Cross-entropy is the mean negative log-probability of the true class", "[loss]") {
  Tensor<double> p(2, Shape{3});
  const double values[] = {0.2, 0.5, 0.3, 0.1, 0.1, 0.8};
  std::copy(values, values + 6, p.data());
  CHECK(Loss::loss(p, {1, 2}) == Approx(-(std::log(0.5) + std::log(0.8)) / 2));
}

TEST_CASE("Cross-entropy stays finite when the true class has probability 0", "[loss]") {
  Tensor<double> p(1, Shape{2});
  p[0] = 1.0;
  p[1] = 0.0;
  const double loss = Loss::loss(p, {1});
  CHECK(std::isfinite(loss));
  CHECK(loss == Approx(-std::log(1e-7)));
  Tensor<double> g;
  Loss::gradient(p, {1}, g);
  CHECK(std::isfinite(g[1]));
}

TEST_CASE("Cross-entropy rejects labels outside the class range", "[loss]") {
  Tensor<double> p(2, Shape{3});
  p.fill(1.0 / 3);
  CHECK_THROWS_WITH(Loss::loss(p, {0, 3}), Catch::Contains("label 3") && Catch::Contains("[0, 3)"));
  CHECK_THROWS_WITH(Loss::loss(p, {0}), Catch::Contains("1 labels for a batch of 2"));
}

TEST_CASE("Fused softmax gradient (p - y) / N matches finite differences of loss(softmax(z))", "[loss][gradient]") {
  Softmax<double> softmax;
  Rng rng(4);
  softmax.build(Shape{7}, rng);
  Tensor<double> z(5, Shape{7}), p;
  test::fill_uniform(z, rng, -3, 3);
  const std::vector<int> labels = {0, 6, 3, 3, 1};
  auto objective = [&] {
    softmax.forward(z, p, Mode::inference);
    return Loss::loss(p, labels);
  };
  objective();
  Tensor<double> grad;
  Loss::softmax_gradient(p, labels, grad);
  for (std::size_t i = 0; i < z.size(); ++i) {
    const double saved = z[i], h = 1e-6;
    z[i] = saved + h;
    const double plus = objective();
    z[i] = saved - h;
    const double minus = objective();
    z[i] = saved;
    REQUIRE(test::relative_error(grad[i], (plus - minus) / (2 * h)) < 1e-8);
  }
}

TEST_CASE("Plain cross-entropy gradient w.r.t. probabilities matches finite differences", "[loss][gradient]") {
  Tensor<double> p(3, Shape{4});
  Rng rng(5);
  test::fill_uniform(p, rng, 0.05, 0.9);
  const std::vector<int> labels = {2, 0, 3};
  Tensor<double> grad;
  Loss::gradient(p, labels, grad);
  for (std::size_t i = 0; i < p.size(); ++i) {
    const double saved = p[i], h = 1e-7;
    p[i] = saved + h;
    const double plus = Loss::loss(p, labels);
    p[i] = saved - h;
    const double minus = Loss::loss(p, labels);
    p[i] = saved;
    REQUIRE(test::relative_error(grad[i], (plus - minus) / (2 * h)) < 1e-7);
  }
}
