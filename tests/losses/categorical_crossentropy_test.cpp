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

#include "fixtures/torch_training_fixtures.hpp"

namespace {

// The fixture's logits (5 x 4) through a softmax, and its labels.
Tensor<double> fixture_probabilities(std::vector<int>& labels) {
  Tensor<double> z(5, Shape{4}), p;
  std::copy(fixtures::ce_logits, fixtures::ce_logits + 20, z.data());
  Softmax<double> softmax;
  Rng rng(1);
  softmax.build(Shape{4}, rng);
  softmax.forward(z, p, Mode::inference);
  labels.assign(fixtures::ce_labels, fixtures::ce_labels + 5);
  return p;
}

const std::vector<double> kFixtureWeights(fixtures::ce_weights, fixtures::ce_weights + 4);

}  // namespace

TEST_CASE("Label smoothing and class weights match torch.nn.CrossEntropyLoss: loss and logit gradient", "[loss]") {
  std::vector<int> labels;
  const Tensor<double> p = fixture_probabilities(labels);
  struct Case {
    CrossEntropyOptions options;
    const double* loss;
    const double* grad;
  };
  for (const Case& c : {Case{{0.1, {}}, fixtures::ce_smooth_loss, fixtures::ce_smooth_grad},
                        Case{{0.0, kFixtureWeights}, fixtures::ce_weighted_loss, fixtures::ce_weighted_grad},
                        Case{{0.2, kFixtureWeights}, fixtures::ce_smooth_weighted_loss, fixtures::ce_smooth_weighted_grad}}) {
    CHECK(Loss::loss(p, labels, c.options) == Approx(c.loss[0]).epsilon(1e-12));
    Tensor<double> grad;
    Loss::softmax_gradient(p, labels, grad, c.options);
    for (int i = 0; i < 20; ++i) REQUIRE(grad[i] == Approx(c.grad[i]).margin(1e-14).epsilon(1e-11));
  }
}

TEST_CASE("Smoothed, weighted loss: both gradients match finite differences", "[loss][gradient]") {
  Softmax<double> softmax;
  Rng rng(9);
  softmax.build(Shape{5}, rng);
  Tensor<double> z(4, Shape{5}), p;
  test::fill_uniform(z, rng, -3, 3);
  const std::vector<int> labels = {4, 0, 2, 4};
  const CrossEntropyOptions options{0.15, {1.0, 0.3, 2.0, 0.0, 1.7}};
  auto objective = [&] {
    softmax.forward(z, p, Mode::inference);
    return Loss::loss(p, labels, options);
  };
  objective();
  Tensor<double> grad;
  Loss::softmax_gradient(p, labels, grad, options);
  for (std::size_t i = 0; i < z.size(); ++i) {
    const double saved = z[i], h = 1e-6;
    z[i] = saved + h;
    const double plus = objective();
    z[i] = saved - h;
    const double minus = objective();
    z[i] = saved;
    REQUIRE(test::relative_error(grad[i], (plus - minus) / (2 * h)) < 1e-7);
  }

  Tensor<double> q(3, Shape{5});
  test::fill_uniform(q, rng, 0.05, 0.9);
  const std::vector<int> q_labels = {1, 4, 1};
  Loss::gradient(q, q_labels, grad, options);
  for (std::size_t i = 0; i < q.size(); ++i) {
    const double saved = q[i], h = 1e-7;
    q[i] = saved + h;
    const double plus = Loss::loss(q, q_labels, options);
    q[i] = saved - h;
    const double minus = Loss::loss(q, q_labels, options);
    q[i] = saved;
    REQUIRE(test::relative_error(grad[i], (plus - minus) / (2 * h)) < 1e-6);
  }
}

TEST_CASE("Balanced class weights give every class the same total weight; bad options are refused", "[loss]") {
  const std::vector<int> labels = {0, 0, 0, 1, 2, 2};
  const std::vector<double> w = balanced_class_weights(labels, 4);
  CHECK(w[0] == Approx(6.0 / (4 * 3)));
  CHECK(w[1] == Approx(6.0 / (4 * 1)));
  CHECK(w[2] == Approx(6.0 / (4 * 2)));
  CHECK(w[3] == 1.0);  // absent
  CHECK(3 * w[0] == Approx(1 * w[1]));
  CHECK_THROWS_WITH(balanced_class_weights({0, 5}, 4), Catch::Contains("label 5"));

  Tensor<double> p(2, Shape{3});
  p.fill(1.0 / 3);
  CHECK_THROWS_WITH(Loss::loss(p, {0, 1}, {1.0, {}}), Catch::Contains("label smoothing must be in [0, 1)"));
  CHECK_THROWS_WITH(Loss::loss(p, {0, 1}, {0.0, {1.0, 1.0}}), Catch::Contains("2 class weights for 3 classes"));
  CHECK_THROWS_WITH(Loss::loss(p, {0, 1}, {0.0, {1.0, -1.0, 1.0}}), Catch::Contains("class weight 1"));
  CHECK_THROWS_WITH(Loss::loss(p, {0, 1}, {0.0, {0.0, 0.0, 1.0}}), Catch::Contains("sum to 0"));
  // Uniform weights change nothing: the mean is over the weights.
  Tensor<double> q(2, Shape{3});
  q.sample(0)[0] = 0.7, q.sample(0)[1] = 0.2, q.sample(0)[2] = 0.1;
  q.sample(1)[0] = 0.1, q.sample(1)[1] = 0.3, q.sample(1)[2] = 0.6;
  CHECK(Loss::loss(q, {0, 2}, {0.0, {3.0, 3.0, 3.0}}) == Approx(Loss::loss(q, {0, 2})).epsilon(1e-14));
  // Smoothing s: (1 - s) CE + s * mean over classes of -log p.
  const double s = 0.3;
  const double expect = ((1 - s) * -std::log(0.7) + s / 3 * -(std::log(0.7) + std::log(0.2) + std::log(0.1)) +
                         (1 - s) * -std::log(0.6) + s / 3 * -(std::log(0.1) + std::log(0.3) + std::log(0.6))) / 2;
  CHECK(Loss::loss(q, {0, 2}, {s, {}}) == Approx(expect).epsilon(1e-14));
}
