#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "minidnn/core/parallel.hpp"
#include "minidnn/layers/batch_normalization.hpp"
#include "support/gradient_check.hpp"
#include "support/sample_forward.hpp"
#include "support/torch_fixtures.hpp"

using namespace minidnn;
namespace fx = minidnn::fixtures;

namespace {
Parameter<double>& param(Layer<double>& l, const std::string& name) {
  for (auto* p : l.parameters())
    if (p->name == name) return *p;
  for (auto* p : l.non_trainable_parameters())
    if (p->name == name) return *p;
  FAIL("no parameter " << name);
  throw;
}
}  // namespace

TEST_CASE("BatchNormalization has Keras's defaults and parameters", "[batch_normalization]") {
  BatchNormalization<double> bn;
  CHECK(bn.momentum() == 0.99);
  CHECK(bn.epsilon() == 1e-3);
  Rng rng(1);
  CHECK(bn.build(Shape{8, 5, 5}, rng) == Shape{8, 5, 5});
  CHECK(bn.parameter_count() == 16);  // gamma, beta trainable
  CHECK(bn.non_trainable_parameters().size() == 2);
  for (double g : param(bn, "gamma").value) CHECK(g == 1.0);
  for (double v : param(bn, "moving_variance").value) CHECK(v == 1.0);
  for (double m : param(bn, "moving_mean").value) CHECK(m == 0.0);
  CHECK_THROWS_WITH(BatchNormalization<double>(1.5), Catch::Contains("momentum"));
  CHECK_THROWS_WITH(BatchNormalization<double>(0.9, 0.0), Catch::Contains("epsilon"));
  BatchNormalization<double> bad;
  CHECK_THROWS_WITH(bad.build(Shape{2, 3}, rng), Catch::Contains("BatchNormalization"));
}

TEST_CASE("BatchNormalization after a convolution matches PyTorch in training and inference", "[batch_normalization]") {
  BatchNormalization<double> bn;
  Rng rng(1);
  bn.build(Shape{2, 4, 5}, rng);
  test::load_fixture(param(bn, "gamma"), fx::bn_conv_gamma);
  test::load_fixture(param(bn, "beta"), fx::bn_conv_beta);
  const auto x = test::fixture_tensor(fx::bn_conv_x, 3, Shape{2, 4, 5});
  Tensor<double> y;
  bn.forward(x, y, Mode::train);
  CHECK(test::max_difference(y, fx::bn_conv_y_train) < 1e-12);
  CHECK(test::max_difference(param(bn, "moving_mean").value, fx::bn_conv_moving_mean) < 1e-12);
  CHECK(test::max_difference(param(bn, "moving_variance").value, fx::bn_conv_moving_var) < 1e-12);

  test::load_fixture(param(bn, "moving_mean"), fx::bn_conv_run_mean);
  test::load_fixture(param(bn, "moving_variance"), fx::bn_conv_run_var);
  bn.forward(x, y, Mode::inference);
  CHECK(test::max_difference(y, fx::bn_conv_y_eval) < 1e-12);
  CHECK(test::max_difference(test::forward_by_samples(bn, x), fx::bn_conv_y_eval) < 1e-12);
}

TEST_CASE("BatchNormalization after a dense layer normalizes each feature as PyTorch's BatchNorm1d", "[batch_normalization]") {
  BatchNormalization<double> bn;
  Rng rng(1);
  bn.build(Shape{3}, rng);
  test::load_fixture(param(bn, "gamma"), fx::bn_dense_gamma);
  test::load_fixture(param(bn, "beta"), fx::bn_dense_beta);
  const auto x = test::fixture_tensor(fx::bn_dense_x, 5, Shape{3});
  Tensor<double> y;
  bn.forward(x, y, Mode::train);
  CHECK(test::max_difference(y, fx::bn_dense_y_train) < 1e-12);
  CHECK(test::max_difference(param(bn, "moving_mean").value, fx::bn_dense_moving_mean) < 1e-12);
  CHECK(test::max_difference(param(bn, "moving_variance").value, fx::bn_dense_moving_var) < 1e-12);
  test::load_fixture(param(bn, "moving_mean"), fx::bn_dense_run_mean);
  test::load_fixture(param(bn, "moving_variance"), fx::bn_dense_run_var);
  bn.forward(x, y, Mode::inference);
  CHECK(test::max_difference(y, fx::bn_dense_y_eval) < 1e-12);
}

TEST_CASE("BatchNormalization training-mode gradients match finite differences", "[batch_normalization][gradient]") {
  // The batch statistics depend on every input: the check covers the full Jacobian, batch > 1.
  struct Case { int batch; Shape shape; };
  for (const Case& c : {Case{4, Shape{2, 3, 3}}, Case{2, Shape{3, 5, 4}}, Case{3, Shape{3, 1, 1}},
                        Case{2, Shape{1, 7, 7}}, Case{6, Shape{5}}}) {
    CAPTURE(c.batch, c.shape.to_string());
    BatchNormalization<double> bn(0.9, 1e-3);
    Rng rng(3);
    bn.build(c.shape, rng);
    for (auto* p : bn.parameters())
      for (auto& v : p->value) v = rng.uniform(0.5, 1.5);
    const auto errors = test::check_layer_gradients(bn, c.batch, Mode::train);
    CHECK(errors.input < 1e-7);
    CHECK(errors.parameters < 1e-7);
  }
}

TEST_CASE("BatchNormalization in float agrees with double on a large batch", "[batch_normalization]") {
  // 64 x 24 x 24 values per channel with a large mean: the statistics must not lose digits.
  BatchNormalization<float> bf;
  BatchNormalization<double> bd;
  Rng rng(5);
  bf.build(Shape{2, 24, 24}, rng);
  bd.build(Shape{2, 24, 24}, rng);
  Tensor<float> xf(64, Shape{2, 24, 24}), yf;
  Tensor<double> xd(64, Shape{2, 24, 24}), yd;
  for (std::size_t i = 0; i < xf.size(); ++i) xd[i] = xf[i] = float(100.0 + rng.uniform(-1.0, 1.0));
  bf.forward(xf, yf, Mode::train);
  bd.forward(xd, yd, Mode::train);
  double worst = 0.0;
  for (std::size_t i = 0; i < yf.size(); ++i) worst = std::max(worst, std::abs(double(yf[i]) - yd[i]));
  CHECK(worst < 1e-3);
}

TEST_CASE("BatchNormalization's statistics match a two-pass loop when the channel starts with an outlier",
          "[batch_normalization]") {
  // The training forward sums x - x[0] and its squares in one pass; x[0] far from the mean is that
  // formula's worst case. Reference: the mean, then the squared deviations, in double.
  // Planes of 35 values take the plain loop, of 72 and 156 the vector one (each plane's own mean
  // first, its first plane's holding the outlier).
  for (const Shape& shape : {Shape{3, 7, 5}, Shape{3, 9, 8}, Shape{2, 12, 13}}) {
    CAPTURE(shape.to_string());
    BatchNormalization<float> bn;
    Rng rng(8);
    bn.build(shape, rng);
    Tensor<float> x(9, shape), y;
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = float(100.0 + rng.uniform(-1.0, 1.0));
    const std::size_t channels = std::size_t(shape.channels()), plane = shape.size() / channels,
                      sample = shape.size();
    for (std::size_t c = 0; c < channels; ++c) x[c * plane] = -1000.0f;  // the first value of each channel
    bn.forward(x, y, Mode::train);
    for (std::size_t c = 0; c < channels; ++c) {
      double sum = 0.0, squares = 0.0;
      for (int n = 0; n < 9; ++n)
        for (std::size_t k = 0; k < plane; ++k) sum += x[n * sample + c * plane + k];
      const double m = 9.0 * plane, mean = sum / m;
      for (int n = 0; n < 9; ++n)
        for (std::size_t k = 0; k < plane; ++k) squares += std::pow(x[n * sample + c * plane + k] - mean, 2);
      const double inv_std = 1.0 / std::sqrt(squares / m + 1e-3);
      for (int n = 0; n < 9; ++n)
        for (std::size_t k = 0; k < plane; ++k) {
          const std::size_t i = n * sample + c * plane + k;
          const double expected = (x[i] - mean) * inv_std;
          REQUIRE(std::abs(y[i] - expected) <= 1e-4 * (1.0 + std::abs(expected)));
        }
    }
  }
}

TEST_CASE("BatchNormalization with a fused ReLU gives the outputs and gradients of the layer then a ReLU",
          "[batch_normalization]") {
  // Reference: the plain training forward, a ReLU loop, its mask applied to dz, the plain backward.
  // The fused passes compute the same values in the same order, so float agrees bit for bit.
  for (const Shape& shape : {Shape{3, 6, 5}, Shape{7}}) {
    CAPTURE(shape.to_string());
    Rng rng(12);
    BatchNormalization<float> fused, plain;
    fused.build(shape, rng);
    plain.build(shape, rng);
    for (std::size_t p = 0; p < 2; ++p)
      for (std::size_t i = 0; i < fused.parameters()[p]->size(); ++i)
        fused.parameters()[p]->value[i] = plain.parameters()[p]->value[i] = float(rng.uniform(-1.0, 1.5));
    Tensor<float> x(5, shape), dz(5, shape);
    for (auto& v : x) v = float(rng.uniform(-2.0, 2.0));
    for (auto& v : dz) v = float(rng.uniform(-1.0, 1.0));

    Tensor<float> z, y;
    fused.forward_train(x, z, ops::Pointwise::relu);
    plain.forward(x, y, Mode::train);
    std::size_t positive = 0;
    Tensor<float> dy = dz;
    for (std::size_t i = 0; i < y.size(); ++i) {
      REQUIRE(z[i] == std::max(y[i], 0.0f));
      if (y[i] > 0.0f) ++positive;
      else dy[i] = 0.0f;
    }
    CHECK(positive > y.size() / 4);  // both sides of the ReLU are exercised
    CHECK(positive < y.size() * 3 / 4 + 1);

    Tensor<float> dx_fused, dx_plain, unused;
    fused.backward_train(x, dz, &dx_fused, ops::Pointwise::relu);
    plain.backward(x, unused, dy, &dx_plain);
    for (std::size_t i = 0; i < dx_plain.size(); ++i) REQUIRE(dx_fused[i] == dx_plain[i]);
    for (std::size_t p = 0; p < 2; ++p)
      for (std::size_t i = 0; i < plain.parameters()[p]->size(); ++i)
        REQUIRE(fused.parameters()[p]->grad[i] == plain.parameters()[p]->grad[i]);
    for (std::size_t p = 0; p < 2; ++p)  // the moving statistics moved alike
      for (std::size_t i = 0; i < plain.non_trainable_parameters()[p]->size(); ++i)
        REQUIRE(fused.non_trainable_parameters()[p]->value[i] == plain.non_trainable_parameters()[p]->value[i]);
  }
  BatchNormalization<float> bn;
  Rng rng(1);
  bn.build(Shape{2}, rng);
  Tensor<float> x(2, Shape{2}), y;
  CHECK_THROWS_WITH(bn.forward_train(x, y, ops::Pointwise::tanh), Catch::Contains("tanh"));
}

TEST_CASE("BatchNormalization's statistics and gradients do not depend on the number of threads", "[batch_normalization]") {
  // The passes run over blocks of samples on the threads; the blocks' sums are added in block
  // order, so one thread and two give the same bits (a batch of 37: blocks of 8 and a tail).
  const Shape shape{4, 23, 25};  // 85,100 values: enough for the passes to use the threads
  const int saved_threads = max_threads();
  Rng rng(3);
  Tensor<float> x(37, shape), dz(37, shape);
  for (auto& v : x) v = float(rng.uniform(-2.0, 3.0));
  for (auto& v : dz) v = float(rng.uniform(-1.0, 1.0));
  auto run = [&](int threads, Tensor<float>& z, Tensor<float>& dx, std::vector<float>& grads) {
    set_num_threads(threads);
    BatchNormalization<float> bn;
    Rng build_rng(1);
    bn.build(shape, build_rng);
    bn.forward_train(x, z, ops::Pointwise::relu);
    bn.backward_train(x, dz, &dx, ops::Pointwise::relu);
    grads.clear();
    for (auto* p : bn.parameters()) grads.insert(grads.end(), p->grad.begin(), p->grad.end());
    for (auto* p : bn.non_trainable_parameters()) grads.insert(grads.end(), p->value.begin(), p->value.end());
  };
  Tensor<float> z1, z2, dx1, dx2;
  std::vector<float> g1, g2;
  run(1, z1, dx1, g1);
  run(2, z2, dx2, g2);
  set_num_threads(saved_threads);
  REQUIRE(z1.size() == z2.size());
  for (std::size_t i = 0; i < z1.size(); ++i) REQUIRE(z1[i] == z2[i]);
  for (std::size_t i = 0; i < dx1.size(); ++i) REQUIRE(dx1[i] == dx2[i]);
  CHECK(g1 == g2);
}

TEST_CASE("BatchNormalization's float backward agrees with double, with and without the fused ReLU",
          "[batch_normalization]") {
  // The float passes run in vectors (a plane's last vector partly outside it: 7x7 and 5x3 planes,
  // and one value per feature after a Dense); double runs the plain loops. Same data, same result
  // to float rounding.
  for (const Shape& shape : {Shape{3, 7, 7}, Shape{2, 5, 3}, Shape{9}, Shape{2, 20, 19}}) {
    for (auto activation : {ops::Pointwise::linear, ops::Pointwise::relu}) {
      CAPTURE(shape.to_string(), ops::to_string(activation));
      Rng rng(31);
      BatchNormalization<float> bf;
      BatchNormalization<double> bd;
      bf.build(shape, rng);
      bd.build(shape, rng);
      for (std::size_t p = 0; p < 2; ++p)
        for (std::size_t i = 0; i < bf.parameters()[p]->size(); ++i)
          bd.parameters()[p]->value[i] = bf.parameters()[p]->value[i] = float(rng.uniform(0.5, 1.5) - p);
      const int batch = 11;
      Tensor<float> xf(batch, shape), dzf(batch, shape), zf, dxf;
      Tensor<double> xd(batch, shape), dzd(batch, shape), zd, dxd;
      for (std::size_t i = 0; i < xf.size(); ++i) {
        xd[i] = xf[i] = float(rng.uniform(-2.0, 2.0));
        dzd[i] = dzf[i] = float(rng.uniform(-1.0, 1.0));
      }
      bf.forward_train(xf, zf, activation);
      bd.forward_train(xd, zd, activation);
      bf.backward_train(xf, dzf, &dxf, activation);
      bd.backward_train(xd, dzd, &dxd, activation);
      double worst_z = 0.0, worst_dx = 0.0, largest_dx = 0.0;
      for (std::size_t i = 0; i < zf.size(); ++i) {
        if (activation == ops::Pointwise::relu && std::abs(zd[i]) < 1e-5) continue;  // the ReLU's edge
        worst_z = std::max(worst_z, std::abs(zf[i] - zd[i]));
        worst_dx = std::max(worst_dx, std::abs(dxf[i] - dxd[i]));
        largest_dx = std::max(largest_dx, std::abs(dxd[i]));
      }
      CHECK(worst_z < 1e-5);
      CHECK(largest_dx > 0.1);
      CHECK(worst_dx < 1e-5 * (1.0 + largest_dx));
      for (std::size_t p = 0; p < 2; ++p)
        for (std::size_t i = 0; i < bd.parameters()[p]->size(); ++i)
          CHECK(bf.parameters()[p]->grad[i] == Approx(bd.parameters()[p]->grad[i]).margin(1e-4));
    }
  }
}
