#include <catch2/catch.hpp>

#include <cstring>

#include "minidnn/layers/conv2d.hpp"
#include "support/gradient_check.hpp"
#include "support/sample_forward.hpp"

using namespace minidnn;

namespace {

struct ConvCase {
  const char* name;
  int channels, height, width, filters;
  Size2 kernel, stride;
  Padding padding;
  Activation activation;
  int batch;
};

// Direct 7-deep loop convolution, the textbook definition, as an independent reference.
Tensor<double> direct_conv(const Tensor<double>& x, const AlignedVector<double>& kernel,
                           const AlignedVector<double>& bias, const ConvGeometry& g, int filters,
                           Activation activation) {
  Tensor<double> y(x.batch(), Shape{filters, g.out_h, g.out_w});
  for (int n = 0; n < x.batch(); ++n)
    for (int f = 0; f < filters; ++f)
      for (int oy = 0; oy < g.out_h; ++oy)
        for (int ox = 0; ox < g.out_w; ++ox) {
          double s = bias[f];
          for (int c = 0; c < g.channels; ++c)
            for (int i = 0; i < g.kernel_h; ++i)
              for (int j = 0; j < g.kernel_w; ++j) {
                const int iy = oy * g.stride_h - g.pad_h + i, ix = ox * g.stride_w - g.pad_w + j;
                if (iy < 0 || iy >= g.height || ix < 0 || ix >= g.width) continue;
                s += kernel[((f * g.channels + c) * g.kernel_h + i) * g.kernel_w + j] *
                     x.sample(n)[(c * g.height + iy) * g.width + ix];
              }
          if (activation == Activation::relu) s = std::max(s, 0.0);
          y.sample(n)[(f * g.out_h + oy) * g.out_w + ox] = s;
        }
  return y;
}

const ConvCase kCases[] = {
    {"3x3 valid, batch 3", 2, 7, 6, 3, 3, 1, Padding::valid, Activation::linear, 3},
    {"5x5 valid relu (seed conv1 shape, small)", 1, 12, 12, 4, 5, 1, Padding::valid, Activation::relu, 2},
    {"stride 2 valid, window not covering the input exactly", 2, 8, 9, 3, 3, 2, Padding::valid, Activation::linear, 2},
    {"same padding, stride 1", 3, 6, 5, 2, 3, 1, Padding::same, Activation::linear, 2},
    {"same padding, stride 2, even kernel", 2, 7, 8, 3, Size2(4, 2), 2, Padding::same, Activation::linear, 2},
    {"non-square kernel and stride", 2, 9, 7, 2, Size2(2, 3), Size2(2, 1), Padding::valid, Activation::relu, 3},
    {"pointwise 1x1", 4, 5, 5, 3, 1, 1, Padding::valid, Activation::linear, 2},
    // 25 x 900 column rows per channel exceed half the 256 KB column block in double: the
    // column matrix is built and used one channel at a time (three blocks).
    {"5x5 on 34x34: column matrix in channel blocks", 3, 34, 34, 4, 5, 1, Padding::valid, Activation::relu, 2},
    // Winograd F(2x2, 3x3) shapes: odd outputs (edge tiles half outside), same padding with odd
    // sides, and batches split into several sample groups with a smaller last group (8x8
    // outputs: 16 tiles, 4 samples per group; 3x3 outputs: 4 tiles, 16 per group).
    {"3x3 valid, odd output 5x4", 3, 7, 6, 4, 3, 1, Padding::valid, Activation::relu, 2},
    {"3x3 same, odd sides 5x7", 2, 5, 7, 3, 3, 1, Padding::same, Activation::relu, 3},
    {"3x3 valid 10x10, 5 samples in groups of 4", 2, 10, 10, 3, 3, 1, Padding::valid, Activation::relu, 5},
    {"3x3 valid 5x5 (seed conv5 shape, small), 41 samples in groups of 16", 2, 5, 5, 2, 3, 1, Padding::valid, Activation::linear, 41},
    // The direct forward's register tiles are 8 filters x 3 vectors: 11 filters and 56 output
    // columns leave partial tiles in both directions.
    {"5x5 valid on 7x60, 11 filters: partial direct tiles", 1, 7, 60, 11, 5, 1, Padding::valid, Activation::relu, 2},
};

// The algorithms a case can run with: im2col always, Winograd in each tile size for 3x3 kernels at stride 1,
// the direct forward at stride 1 without padding for at most 32 inputs per output.
std::vector<ConvChoice> algorithms_for(const ConvCase& c) {
  std::vector<ConvChoice> out{{ConvAlgorithm::im2col, 0}};
  if (c.kernel == Size2(3) && c.stride == Size2(1))
    for (const int tile : {2, 3, 4}) out.push_back({ConvAlgorithm::winograd, tile});
  if (c.stride == Size2(1) && (c.padding == Padding::valid || c.kernel == Size2(1)) &&
      c.channels * c.kernel.h * c.kernel.w <= 32)
    out.push_back({ConvAlgorithm::direct, 0});
  return out;
}

}  // namespace

TEST_CASE("Conv2D infers Keras's output shapes", "[conv2d]") {
  Rng rng(1);
  CHECK(Conv2D<float>(64, 5).build(Shape{1, 48, 48}, rng) == Shape{64, 44, 44});
  CHECK(Conv2D<float>(8, 3, Activation::linear, 2, Padding::same).build(Shape{1, 7, 8}, rng) == Shape{8, 4, 4});
  CHECK(Conv2D<float>(8, Size2(3, 1), Activation::linear, Size2(2, 1)).build(Shape{2, 9, 5}, rng) == Shape{8, 4, 5});
  CHECK_THROWS_WITH(Conv2D<float>(8, 5).build(Shape{1, 4, 4}, rng), Catch::Contains("larger than its input"));
  CHECK_THROWS_WITH(Conv2D<float>(8, 3).build(Shape{16}, rng), Catch::Contains("(channels, height, width)"));
  CHECK_THROWS_AS(Conv2D<float>(0, 3), Error);
}

TEST_CASE("Conv2D picks Winograd for 3x3 stride-1 kernels, the direct forward for few inputs per output, and refuses either elsewhere", "[conv2d]") {
  Rng rng(1);
  Conv2D<float> conv3(8, 3);
  conv3.build(Shape{8, 8, 4}, rng);  // 6x2 output: 3 F(2x2) tiles, 48 multiplications against 50 and 72
  CHECK(conv3.choice() == ConvChoice{ConvAlgorithm::winograd, 2});
  conv3.set_algorithm(ConvAlgorithm::im2col);
  CHECK(conv3.algorithm() == ConvAlgorithm::im2col);
  // A 3x3 output is 4 Winograd tiles: too few to pay for it at batch 1 (then im2col: 72 inputs
  // per output are too many for the direct forward), enough at batch 8.
  Conv2D<float> small(8, 3);
  small.build(Shape{8, 5, 5}, rng);
  CHECK(small.algorithm(1) == ConvAlgorithm::im2col);
  CHECK(small.choice(8) == ConvChoice{ConvAlgorithm::winograd, 3});
  small.set_algorithm(ConvAlgorithm::winograd);  // the cheapest tile, at any batch
  CHECK(small.choice(1) == ConvChoice{ConvAlgorithm::winograd, 3});
  small.set_algorithm(ConvAlgorithm::winograd, 2);
  CHECK(small.choice(1) == ConvChoice{ConvAlgorithm::winograd, 2});
  CHECK(small.choice(1).to_string() == "winograd F(2x2)");
  CHECK_THROWS_WITH(small.set_algorithm(ConvAlgorithm::winograd, 5), Catch::Contains("2x2, 3x3 or 4x4, not 5x5"));
  CHECK_THROWS_WITH(small.set_algorithm(ConvAlgorithm::im2col, 4), Catch::Contains("only with ConvAlgorithm::winograd"));
  // Fewer than 8 input channels: never Winograd unless asked (mini-Xception's and VGG-BN's first
  // convolutions), but the direct forward where it applies (18 inputs per output), else im2col.
  Conv2D<float> few(8, 3), few_padded(32, 3, Activation::linear, 1, Padding::same);
  few.build(Shape{2, 48, 48}, rng);
  few_padded.build(Shape{1, 48, 48}, rng);
  CHECK(few.algorithm() == ConvAlgorithm::direct);
  CHECK(few_padded.algorithm() == ConvAlgorithm::im2col);
  few_padded.set_algorithm(ConvAlgorithm::winograd, 4);
  CHECK(few_padded.choice() == ConvChoice{ConvAlgorithm::winograd, 4});
  Conv2D<float> conv5(8, 5);
  conv5.build(Shape{2, 9, 9}, rng);
  CHECK(conv5.algorithm() == ConvAlgorithm::im2col);
  CHECK_THROWS_WITH(conv5.set_algorithm(ConvAlgorithm::winograd), Catch::Contains("only 3x3 kernels at stride 1"));
  // The tile with the fewest multiplications (m + 2)^2 per m x m tile, tiles past the edge
  // included, the smaller on a tie: seed conv3 (16x16) F(4x4): 576 against 900 and 1024; conv2
  // (18x18) F(3x3): 900, as F(4x4)'s 25 tiles, against 1296; conv4 (5x5) F(3x3): 100 against 144
  // and 144; conv5 (3x3) F(3x3): 25 against 36 and 64.
  Conv2D<float> seed_conv3(64, 3), seed_conv2(64, 3), seed_conv4(128, 3), seed_conv5(128, 3);
  seed_conv3.build(Shape{64, 18, 18}, rng);
  seed_conv2.build(Shape{64, 20, 20}, rng);
  seed_conv4.build(Shape{64, 7, 7}, rng);
  seed_conv5.build(Shape{128, 5, 5}, rng);
  CHECK(seed_conv3.choice() == ConvChoice{ConvAlgorithm::winograd, 4});
  CHECK(seed_conv2.choice() == ConvChoice{ConvAlgorithm::winograd, 3});
  CHECK(seed_conv4.choice() == ConvChoice{ConvAlgorithm::winograd, 3});
  CHECK(seed_conv5.choice() == ConvChoice{ConvAlgorithm::winograd, 3});
  Conv2D<float> conv1(64, 5, Activation::relu);  // the seed model's conv1: 25 inputs per output
  conv1.build(Shape{1, 48, 48}, rng);
  CHECK(conv1.algorithm() == ConvAlgorithm::direct);
  CHECK_THROWS_WITH(conv5.set_algorithm(ConvAlgorithm::direct), Catch::Contains("at most 32 inputs per output"));
  Conv2D<float> strided(8, 3, Activation::linear, 2);
  strided.set_algorithm(ConvAlgorithm::winograd);
  CHECK_THROWS_WITH(strided.build(Shape{2, 9, 9}, rng), Catch::Contains("not 3x3 at stride 2x2"));
}

TEST_CASE("Conv2D forward matches a direct convolution", "[conv2d]") {
  for (const auto& c : kCases) {
    for (const ConvChoice choice : algorithms_for(c)) SECTION(std::string(c.name) + ", " + choice.to_string()) {
      Conv2D<double> conv(c.filters, c.kernel, c.activation, c.stride, c.padding);
      conv.set_algorithm(choice.algorithm, choice.winograd_tile);
      Rng rng(3);
      conv.build(Shape{c.channels, c.height, c.width}, rng);
      REQUIRE(conv.choice() == choice);
      for (auto& b : conv.parameters()[1]->value) b = rng.uniform(-0.5, 0.5);
      Tensor<double> x(c.batch, conv.input_shape());
      test::fill_uniform(x, rng);
      Tensor<double> y;
      conv.forward(x, y, Mode::inference);
      const auto expected = direct_conv(x, conv.parameters()[0]->value, conv.parameters()[1]->value,
                                        conv.geometry(), c.filters, c.activation);
      REQUIRE(y.shape() == expected.shape());
      for (std::size_t i = 0; i < y.size(); ++i) REQUIRE(y[i] == Approx(expected[i]).margin(1e-12));
      // im2col and the direct forward also run sample by sample (inference chains).
      const bool per_sample = choice.algorithm != ConvAlgorithm::winograd;
      REQUIRE(conv.has_sample_forward(c.batch) == per_sample);
      if (per_sample) {
        const auto by_samples = test::forward_by_samples<double>(conv, x);
        for (std::size_t i = 0; i < y.size(); ++i) REQUIRE(by_samples[i] == Approx(expected[i]).margin(1e-12));
      }
    }
  }
}

TEST_CASE("Conv2D gradients match finite differences", "[conv2d][gradient]") {
  for (const auto& c : kCases) {
    for (const ConvChoice choice : algorithms_for(c)) SECTION(std::string(c.name) + ", " + choice.to_string()) {
      Conv2D<double> conv(c.filters, c.kernel, c.activation, c.stride, c.padding);
      conv.set_algorithm(choice.algorithm, choice.winograd_tile);
      Rng rng(5);
      conv.build(Shape{c.channels, c.height, c.width}, rng);
      REQUIRE(conv.choice() == choice);
      const auto errors = test::check_layer_gradients(conv, c.batch);
      CHECK(errors.input < 1e-7);
      CHECK(errors.parameters < 1e-7);
    }
  }
}

TEST_CASE("Conv2D in float agrees with the double computation", "[conv2d]") {
  // The second shape splits the float column matrix into channel blocks of 2 + 2 + 1 channels
  // (25 x 900 floats = 90 KB per channel, 256 KB per block) and the double one into 5 blocks.
  struct FloatCase { int channels, size, filters, kernel; };
  for (const FloatCase& c : {FloatCase{8, 12, 16, 3}, FloatCase{5, 34, 6, 5}}) {
    Conv2D<float> conv_f(c.filters, c.kernel, Activation::relu);
    Conv2D<double> conv_d(c.filters, c.kernel, Activation::relu);
    Rng rf(9), rd(9);
    conv_f.build(Shape{c.channels, c.size, c.size}, rf);
    conv_d.build(Shape{c.channels, c.size, c.size}, rd);
    Tensor<float> xf(5, conv_f.input_shape());
    Tensor<double> xd(5, conv_d.input_shape());
    Rng rng(2);
    for (std::size_t i = 0; i < xf.size(); ++i) xd[i] = xf[i] = static_cast<float>(rng.uniform(-1, 1));
    Tensor<float> yf;
    Tensor<double> yd;
    conv_f.forward(xf, yf, Mode::train);
    conv_d.forward(xd, yd, Mode::train);
    // The double result is itself checked against the direct convolution above.
    const auto expected = direct_conv(xd, conv_d.parameters()[0]->value, conv_d.parameters()[1]->value,
                                      conv_d.geometry(), c.filters, Activation::relu);
    for (std::size_t i = 0; i < yf.size(); ++i) {
      REQUIRE(yd[i] == Approx(expected[i]).margin(1e-12));
      REQUIRE(yf[i] == Approx(yd[i]).margin(1e-4));
    }
    Tensor<float> gf(5, conv_f.output_shape()), dxf;
    Tensor<double> gd(5, conv_d.output_shape()), dxd;
    for (std::size_t i = 0; i < gf.size(); ++i) gd[i] = gf[i] = static_cast<float>(rng.uniform(-1, 1));
    conv_f.backward(xf, yf, gf, &dxf);
    conv_d.backward(xd, yd, gd, &dxd);
    for (std::size_t i = 0; i < dxf.size(); ++i) REQUIRE(dxf[i] == Approx(dxd[i]).margin(1e-4));
    const auto& wf = conv_f.parameters()[0]->grad;
    const auto& wd = conv_d.parameters()[0]->grad;
    for (std::size_t i = 0; i < wf.size(); ++i) REQUIRE(wf[i] == Approx(wd[i]).margin(1e-3));
  }
}

TEST_CASE("Conv2D rejects an input of the wrong shape, naming both shapes", "[conv2d]") {
  Conv2D<float> conv(4, 3);
  Rng rng(1);
  conv.build(Shape{1, 8, 8}, rng);
  Tensor<float> x(2, Shape{1, 9, 8}), y;
  CHECK_THROWS_WITH(conv.forward(x, y, Mode::inference),
                    Catch::Contains("(1, 9, 8)") && Catch::Contains("(1, 8, 8)") && Catch::Contains("Conv2D"));
}

TEST_CASE("Winograd groups the samples as documented", "[conv2d]") {
  // The shapes above rely on these group sizes to cover several groups and a short last one.
  auto group = [](int size, int batch) {
    ConvGeometry g{1, size, size, 3, 3, 1, 1, 0, 0, size - 2, size - 2};
    return WinogradConv<double>(g, 1).group_size(batch);
  };
  CHECK(group(10, 5) == 4);
  CHECK(group(5, 41) == 16);
  CHECK(group(20, 256) == 1);   // seed conv2: 81 tiles per sample
  CHECK(group(5, 3) == 3);      // never more than the batch
}

TEST_CASE("Conv2D without bias has only its kernel, computes the bias-free convolution, and its gradients check",
          "[conv2d]") {
  const std::vector<double> zeros(8, 0.0);
  for (const Padding padding : {Padding::valid, Padding::same}) {
    for (const ConvAlgorithm algorithm : {ConvAlgorithm::im2col, ConvAlgorithm::winograd}) {
      Conv2D<double> conv(4, 3, Activation::relu, 1, padding, /*use_bias=*/false);
      conv.set_algorithm(algorithm);
      Rng rng(6);
      conv.build(Shape{3, 7, 6}, rng);
      REQUIRE(conv.parameters().size() == 1);
      CHECK(conv.parameter_count() == 4 * 3 * 3 * 3);  // Keras: filters * channels * kh * kw
      CHECK(conv.parameter_count_for(Shape{3, 7, 6}) == conv.parameter_count());
      CHECK_THAT(conv.describe(), Catch::Contains("no bias"));
      Tensor<double> x(2, conv.input_shape()), y;
      test::fill_uniform(x, rng);
      conv.forward(x, y, Mode::inference);
      AlignedVector<double> no_bias(4, 0.0);
      const auto expected = direct_conv(x, conv.parameters()[0]->value, no_bias, conv.geometry(), 4, Activation::relu);
      for (std::size_t i = 0; i < y.size(); ++i) REQUIRE(y[i] == Approx(expected[i]).margin(1e-12));
      const auto errors = test::check_layer_gradients(conv, 2);
      CHECK(errors.input < 1e-7);
      CHECK(errors.parameters < 1e-7);
    }
  }
  // Its model-file config round-trips (the padding field's no-bias flag), and a code outside
  // the flags is refused.
  Conv2D<float> conv(2, 3, Activation::linear, 2, Padding::same, false);
  BinaryWriter out;
  conv.write_config(out);
  BinaryReader in(out.bytes().data(), out.bytes().size(), "config");
  auto back = Conv2D<float>::read_config(in);
  CHECK(back->describe() == conv.describe());
  std::string bytes = out.bytes();
  const std::int32_t bad = 4;
  std::memcpy(&bytes[20], &bad, sizeof bad);
  BinaryReader bad_in(bytes.data(), bytes.size(), "config");
  CHECK_THROWS_WITH(Conv2D<float>::read_config(bad_in), Catch::Contains("Conv2D padding code 4 is invalid"));
}
