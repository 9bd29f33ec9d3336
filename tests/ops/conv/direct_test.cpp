#include <catch2/catch.hpp>

#include <vector>

#include "minidnn/core/random.hpp"
#include "minidnn/ops/conv/direct.hpp"

using namespace minidnn;

namespace {

// The textbook loops, as the independent reference: y[f][oy][ox] = relu(b[f] + sum x * w).
template <typename T>
std::vector<T> reference(const ConvGeometry& g, int filters, const std::vector<T>& x, const std::vector<T>& w,
                         const std::vector<T>& b, Activation activation) {
  std::vector<T> y(std::size_t(filters) * g.out_h * g.out_w);
  for (int f = 0; f < filters; ++f)
    for (int oy = 0; oy < g.out_h; ++oy)
      for (int ox = 0; ox < g.out_w; ++ox) {
        double s = b[f];
        for (int c = 0; c < g.channels; ++c)
          for (int i = 0; i < g.kernel_h; ++i)
            for (int j = 0; j < g.kernel_w; ++j)
              s += double(w[((f * g.channels + c) * g.kernel_h + i) * g.kernel_w + j]) *
                   x[(c * g.height + oy + i) * g.width + ox + j];
        if (activation == Activation::relu && s < 0) s = 0;
        y[(f * g.out_h + oy) * g.out_w + ox] = T(s);
      }
  return y;
}

template <typename T>
void check(int channels, int height, int width, int kh, int kw, int filters, Activation activation, double tolerance) {
  const ConvGeometry g{channels, height, width, kh, kw, 1, 1, 0, 0, height - kh + 1, width - kw + 1};
  REQUIRE(direct_conv_applies(g));
  Rng rng(channels * 100 + width);
  auto random = [&](std::size_t n) {
    std::vector<T> v(n);
    for (T& e : v) e = T(rng.uniform(-1, 1));
    return v;
  };
  const auto x = random(std::size_t(channels) * height * width);
  const auto w = random(std::size_t(filters) * channels * kh * kw);
  const auto b = random(filters);
  // One guard value past the output: a tile's masked store must not reach it.
  const std::size_t out_size = std::size_t(filters) * g.out_h * g.out_w;
  std::vector<T> y(out_size + 1, T(-7));
  direct_conv_forward(g, filters, x.data(), w.data(), b.data(), activation, y.data());
  const auto expected = reference(g, filters, x, w, b, activation);
  for (std::size_t i = 0; i < out_size; ++i) REQUIRE(y[i] == Approx(expected[i]).margin(tolerance));
  CHECK(y[out_size] == T(-7));
}

}  // namespace

TEST_CASE("direct_conv_forward matches the textbook loops at every tile remainder", "[direct_conv]") {
  // Register tiles are 8 filters x 3 vectors on AVX-512 (48 floats, 24 doubles), 4 x 3 on AVX2:
  // filter counts 1, 8, 11 and output widths 1, 16, 44 (the seed conv1), 56 cover full and
  // partial tiles both ways.
  for (const int filters : {1, 8, 11})
    for (const int width : {5, 20, 48, 60}) {
      INFO(filters << " filters, input width " << width);
      check<float>(1, 7, width, 5, 5, filters, Activation::relu, 1e-5);
      check<double>(1, 7, width, 5, 5, filters, Activation::linear, 1e-12);
    }
  check<float>(2, 6, 9, 3, 3, 5, Activation::relu, 1e-5);  // several channels
  check<double>(3, 5, 30, 3, 2, 9, Activation::relu, 1e-12);  // non-square kernel
}

TEST_CASE("direct_conv_applies only to stride 1, no padding and few inputs per output", "[direct_conv]") {
  ConvGeometry g{1, 48, 48, 5, 5, 1, 1, 0, 0, 44, 44};
  CHECK(direct_conv_applies(g));  // seed conv1: 25 inputs per output
  ConvGeometry strided = g;
  strided.stride_w = 2;
  CHECK_FALSE(direct_conv_applies(strided));
  ConvGeometry padded = g;
  padded.pad_h = 1;
  CHECK_FALSE(direct_conv_applies(padded));
  ConvGeometry deep = g;
  deep.channels = 2;  // 50 inputs per output: im2col + GEMM is faster
  CHECK_FALSE(direct_conv_applies(deep));
}
