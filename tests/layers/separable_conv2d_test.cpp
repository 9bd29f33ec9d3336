#include <catch2/catch.hpp>

#include "minidnn/layers/separable_conv2d.hpp"
#include "support/gradient_check.hpp"
#include "support/sample_forward.hpp"
#include "support/torch_fixtures.hpp"

using namespace minidnn;
namespace fx = minidnn::fixtures;

TEST_CASE("SeparableConv2D has Keras's parameters and counts", "[separable_conv2d]") {
  Rng rng(1);
  // Keras: SeparableConv2D(32, 3) on 16 channels has 16*9 + 16*32 + 32 = 688 parameters.
  SeparableConv2D<double> sep(32, 3);
  CHECK(sep.build(Shape{16, 10, 10}, rng) == Shape{32, 8, 8});
  CHECK(sep.parameter_count() == 688);
  CHECK(sep.parameter_count_for(Shape{16, 10, 10}) == 688);
  const auto params = sep.parameters();
  REQUIRE(params.size() == 3);
  CHECK(params[0]->name == "depthwise_kernel");
  CHECK(params[1]->name == "pointwise_kernel");
  CHECK(params[2]->name == "bias");
  // mini-Xception's: 16 -> 32, 3x3, same, no bias: 16*9 + 16*32 = 656.
  SeparableConv2D<double> no_bias(32, 3, 1, Padding::same, 1, Activation::linear, false);
  CHECK(no_bias.build(Shape{16, 11, 11}, rng) == Shape{32, 11, 11});
  CHECK(no_bias.parameter_count() == 656);
  SeparableConv2D<double> multiplied(8, 3, 2, Padding::same, 3);
  CHECK(multiplied.build(Shape{4, 9, 9}, rng) == Shape{8, 5, 5});
  CHECK(multiplied.parameter_count() == 4 * 3 * 9 + 12 * 8 + 8);
}

TEST_CASE("SeparableConv2D matches PyTorch's depthwise then pointwise convolution", "[separable_conv2d]") {
  Rng rng(1);
  SeparableConv2D<double> sep(4, 3, 1, Padding::same, 2);
  sep.build(Shape{3, 6, 5}, rng);
  const auto params = sep.parameters();
  test::load_fixture(*params[0], fx::sep_depthwise);
  test::load_fixture(*params[1], fx::sep_pointwise);
  test::load_fixture(*params[2], fx::sep_bias);
  Tensor<double> y;
  const auto x = test::fixture_tensor(fx::sep_x, 2, Shape{3, 6, 5});
  sep.forward(x, y, Mode::inference);
  CHECK(test::max_difference(y, fx::sep_y) < 1e-12);
  CHECK(test::max_difference(test::forward_by_samples(sep, x), fx::sep_y) < 1e-12);
}

TEST_CASE("SeparableConv2D gradients match finite differences", "[separable_conv2d][gradient]") {
  struct Case { int filters; Size2 kernel, strides; Padding padding; int multiplier; Activation activation; bool bias; };
  for (const Case& c : {Case{4, 3, 1, Padding::same, 2, Activation::linear, true},
                        Case{5, 3, 2, Padding::valid, 1, Activation::relu, true},
                        Case{3, Size2(1, 3), 1, Padding::same, 1, Activation::linear, false}}) {
    CAPTURE(c.filters, c.kernel.to_string(), c.strides.to_string(), c.multiplier);
    SeparableConv2D<double> sep(c.filters, c.kernel, c.strides, c.padding, c.multiplier, c.activation, c.bias);
    Rng rng(6);
    sep.build(Shape{3, 7, 6}, rng);
    const auto errors = test::check_layer_gradients(sep, 3);
    CHECK(errors.input < 1e-7);
    CHECK(errors.parameters < 1e-7);
  }
}
