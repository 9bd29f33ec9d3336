#include <catch2/catch.hpp>

#include "minidnn/core/parallel.hpp"
#include "minidnn/layers/depthwise_conv2d.hpp"
#include "support/gradient_check.hpp"
#include "support/sample_forward.hpp"
#include "support/torch_fixtures.hpp"

using namespace minidnn;
namespace fx = minidnn::fixtures;

TEST_CASE("DepthwiseConv2D has Keras's output shapes and parameter counts", "[depthwise_conv2d]") {
  Rng rng(1);
  DepthwiseConv2D<double> same(3, 2, Padding::same, 2);
  CHECK(same.build(Shape{3, 7, 6}, rng) == Shape{6, 4, 3});
  CHECK(same.parameter_count() == 3 * 2 * 9 + 6);
  CHECK(same.parameter_count_for(Shape{3, 7, 6}) == same.parameter_count());
  DepthwiseConv2D<double> valid(Size2(3, 2));
  CHECK(valid.build(Shape{4, 7, 6}, rng) == Shape{4, 5, 5});
  DepthwiseConv2D<double> no_bias(3, 1, Padding::valid, 1, Activation::linear, false);
  no_bias.build(Shape{4, 5, 5}, rng);
  CHECK(no_bias.parameter_count() == 36);
  DepthwiseConv2D<double> too_big(9);
  CHECK_THROWS_WITH(too_big.build(Shape{1, 5, 5}, rng), Catch::Contains("larger than the input"));
  CHECK_THROWS_WITH(DepthwiseConv2D<double>(3, 1, Padding::valid, 0), Catch::Contains("depth_multiplier"));
}

TEST_CASE("DepthwiseConv2D matches PyTorch's grouped convolution", "[depthwise_conv2d]") {
  Rng rng(1);
  SECTION("multiplier 2, stride 2, same padding") {
    DepthwiseConv2D<double> dw(3, 2, Padding::same, 2);
    dw.build(Shape{3, 7, 6}, rng);
    test::load_fixture(*dw.parameters()[0], fx::dw_same_s2_m2_kernel);
    test::load_fixture(*dw.parameters()[1], fx::dw_same_s2_m2_bias);
    Tensor<double> y;
    const auto x = test::fixture_tensor(fx::dw_same_s2_m2_x, 2, Shape{3, 7, 6});
    dw.forward(x, y, Mode::inference);
    CHECK(test::max_difference(y, fx::dw_same_s2_m2_y) < 1e-12);
    CHECK(test::max_difference(test::forward_by_samples(dw, x), fx::dw_same_s2_m2_y) < 1e-12);
  }
  SECTION("a 3x2 kernel, stride 1, valid") {
    DepthwiseConv2D<double> dw(Size2(3, 2));
    dw.build(Shape{2, 7, 6}, rng);
    test::load_fixture(*dw.parameters()[0], fx::dw_valid_s1_m1_kernel);
    test::load_fixture(*dw.parameters()[1], fx::dw_valid_s1_m1_bias);
    Tensor<double> y;
    const auto x = test::fixture_tensor(fx::dw_valid_s1_m1_x, 2, Shape{2, 7, 6});
    dw.forward(x, y, Mode::inference);
    CHECK(test::max_difference(y, fx::dw_valid_s1_m1_y) < 1e-12);
    CHECK(test::max_difference(test::forward_by_samples(dw, x), fx::dw_valid_s1_m1_y) < 1e-12);
  }
}

TEST_CASE("DepthwiseConv2D gradients match finite differences", "[depthwise_conv2d][gradient]") {
  struct Case { Size2 kernel, strides; Padding padding; int multiplier; Activation activation; Shape input; };
  for (const Case& c : {Case{3, 2, Padding::same, 2, Activation::linear, Shape{3, 7, 6}},
                        Case{3, 1, Padding::same, 3, Activation::relu, Shape{2, 5, 5}},
                        Case{Size2(3, 2), Size2(2, 1), Padding::valid, 1, Activation::linear, Shape{2, 6, 5}},
                        Case{5, 3, Padding::same, 2, Activation::linear, Shape{1, 8, 7}}}) {
    CAPTURE(c.kernel.to_string(), c.strides.to_string(), to_string(c.padding), c.multiplier, c.input.to_string());
    DepthwiseConv2D<double> dw(c.kernel, c.strides, c.padding, c.multiplier, c.activation);
    Rng rng(4);
    dw.build(c.input, rng);
    const auto errors = test::check_layer_gradients(dw, 2);
    CHECK(errors.input < 1e-7);
    CHECK(errors.parameters < 1e-7);
  }
}

TEST_CASE("DepthwiseConv2D gives the same bits on one thread and on several", "[depthwise_conv2d]") {
  // Large enough for the OpenMP loops to split; each thread owns whole planes and channels.
  Rng rng(8);
  DepthwiseConv2D<float> dw(3, 1, Padding::same, 2);
  dw.build(Shape{8, 16, 16}, rng);
  Tensor<float> x(8, dw.input_shape());
  for (auto& v : x) v = float(rng.uniform(-1.0, 1.0));
  auto run = [&](int threads, Tensor<float>& y, Tensor<float>& dx, std::vector<float>& dk) {
    set_num_threads(threads);
    dw.forward(x, y, Mode::train);
    Tensor<float> dy = y;
    dw.backward(x, y, dy, &dx);
    dk.assign(dw.parameters()[0]->grad.begin(), dw.parameters()[0]->grad.end());
  };
  Tensor<float> y1, dx1, y2, dx2;
  std::vector<float> dk1, dk2;
  const int threads = max_threads();
  run(1, y1, dx1, dk1);
  run(2, y2, dx2, dk2);
  set_num_threads(threads);
  REQUIRE(y1.size() == y2.size());
  for (std::size_t i = 0; i < y1.size(); ++i) REQUIRE(y1[i] == y2[i]);
  for (std::size_t i = 0; i < dx1.size(); ++i) REQUIRE(dx1[i] == dx2[i]);
  CHECK(dk1 == dk2);
}

// The float kernels (vector loops on AVX-512 / AVX2) against the double reference loops, same
// weights, at mini-Xception's shapes and at odd ones (wide kernels, a multiplier, stride 2 rows,
// rows wider than a vector, rows narrower than the kernel's reach, planes too large to pad on the stack).
TEST_CASE("DepthwiseConv2D float kernels match the double reference loops", "[depthwise_conv2d]") {
  struct Case { Size2 kernel, strides; Padding padding; int multiplier; Shape input; };
  for (const Case& c : {Case{3, 1, Padding::same, 1, Shape{8, 44, 44}}, Case{3, 1, Padding::same, 1, Shape{32, 11, 11}},
                        Case{3, 1, Padding::same, 1, Shape{4, 6, 6}}, Case{3, 1, Padding::same, 1, Shape{3, 3, 3}},
                        Case{5, 1, Padding::same, 2, Shape{2, 9, 37}}, Case{Size2(3, 2), 1, Padding::valid, 1, Shape{2, 7, 20}},
                        Case{3, Size2(2, 1), Padding::same, 1, Shape{2, 9, 17}}, Case{5, 2, Padding::same, 1, Shape{2, 8, 19}},
                        Case{Size2(1, 7), 1, Padding::same, 1, Shape{2, 4, 5}},
                        // Too large to pad on the stack: the masked loops.
                        Case{3, 1, Padding::same, 1, Shape{1, 96, 90}}, Case{3, Size2(2, 1), Padding::valid, 1, Shape{1, 190, 60}}}) {
    CAPTURE(c.kernel.to_string(), c.strides.to_string(), to_string(c.padding), c.multiplier, c.input.to_string());
    Rng rng(5);
    DepthwiseConv2D<float> dwf(c.kernel, c.strides, c.padding, c.multiplier);
    DepthwiseConv2D<double> dwd(c.kernel, c.strides, c.padding, c.multiplier);
    dwf.build(c.input, rng);
    dwd.build(c.input, rng);
    for (std::size_t p = 0; p < 2; ++p) {
      auto& pf = *dwf.parameters()[p];
      for (auto& v : pf.value) v = float(rng.uniform(-1.0, 1.0));
      std::copy(pf.value.begin(), pf.value.end(), dwd.parameters()[p]->value.begin());
    }
    Tensor<float> xf(3, c.input), yf, dxf;
    Tensor<double> xd(3, c.input), yd, dxd;
    for (std::size_t i = 0; i < xf.size(); ++i) xd[i] = xf[i] = float(rng.uniform(-1.0, 1.0));
    dwf.forward(xf, yf, Mode::train);
    dwd.forward(xd, yd, Mode::train);
    REQUIRE(yf.size() == yd.size());
    for (std::size_t i = 0; i < yf.size(); ++i) REQUIRE(std::abs(yf[i] - yd[i]) < 1e-5);
    Tensor<float> dyf(3, dwf.output_shape());
    Tensor<double> dyd(3, dwd.output_shape());
    for (std::size_t i = 0; i < dyf.size(); ++i) dyd[i] = dyf[i] = float(rng.uniform(-1.0, 1.0));
    dwf.backward(xf, yf, dyf, &dxf);
    dwd.backward(xd, yd, dyd, &dxd);
    for (std::size_t i = 0; i < dxf.size(); ++i) REQUIRE(std::abs(dxf[i] - dxd[i]) < 1e-5);
    // A kernel or bias gradient sums batch * OH * OW terms of magnitude <= 1 in float: its
    // rounding error is bounded by a few float epsilons per term.
    const double terms = 3.0 * dwf.output_shape().height() * dwf.output_shape().width();
    for (std::size_t p = 0; p < 2; ++p) {
      const auto& gf = dwf.parameters()[p]->grad;
      const auto& gd = dwd.parameters()[p]->grad;
      for (std::size_t i = 0; i < gf.size(); ++i) REQUIRE(std::abs(gf[i] - gd[i]) < 2 * 1.2e-7 * terms);
    }
  }
}
