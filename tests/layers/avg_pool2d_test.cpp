#include <catch2/catch.hpp>

#include "minidnn/layers/avg_pool2d.hpp"
#include "support/gradient_check.hpp"

using namespace minidnn;

TEST_CASE("AvgPool2D output size follows Keras", "[avgpool]") {
  Rng rng(1);
  CHECK(AvgPool2D<float>(3, 2).build(Shape{64, 16, 16}, rng) == Shape{64, 7, 7});
  CHECK(AvgPool2D<float>(3, 2).build(Shape{128, 3, 3}, rng) == Shape{128, 1, 1});
}

TEST_CASE("AvgPool2D forward averages each full window", "[avgpool]") {
  AvgPool2D<double> pool(3, 2);
  Rng rng(2);
  const Shape out = pool.build(Shape{2, 8, 9}, rng);
  Tensor<double> x(2, pool.input_shape()), y;
  test::fill_uniform(x, rng);
  pool.forward(x, y, Mode::inference);
  for (int n = 0; n < 2; ++n)
    for (int c = 0; c < 2; ++c)
      for (int oy = 0; oy < out.height(); ++oy)
        for (int ox = 0; ox < out.width(); ++ox) {
          double sum = 0;
          for (int i = 0; i < 3; ++i)
            for (int j = 0; j < 3; ++j) sum += x.sample(n)[(c * 8 + oy * 2 + i) * 9 + ox * 2 + j];
          REQUIRE(y.sample(n)[(c * out.height() + oy) * out.width() + ox] == Approx(sum / 9).epsilon(1e-14));
        }
  REQUIRE(pool.has_sample_forward(2));
  std::vector<double> one(out.size());
  for (int n = 0; n < 2; ++n) {
    pool.forward_sample(x.sample(n), one.data(), nullptr);
    for (std::size_t i = 0; i < one.size(); ++i) REQUIRE(one[i] == y.sample(n)[i]);
  }
}

TEST_CASE("AvgPool2D float forward (the separable vector sums) averages each window", "[avgpool]") {
  // Strides 1 and 2 take the separable kernel (output rows in chunks of 64, pools up to 128
  // wide), the others the window loop; the reference sums in double.
  struct Case { Size2 pool, stride; int c, h, w; };
  for (const Case& k : {Case{3, 2, 3, 16, 16}, Case{3, 2, 2, 3, 3}, Case{Size2(1, 7), Size2(3, 1), 1, 10, 150},
                        Case{Size2(4, 2), Size2(1, 2), 2, 9, 161}, Case{Size2(2, 130), 1, 1, 3, 200},
                        Case{3, 3, 2, 10, 40}}) {
    AvgPool2D<float> pool(k.pool, k.stride);
    Rng rng(6);
    const Shape out = pool.build(Shape{k.c, k.h, k.w}, rng);
    Tensor<float> x(2, pool.input_shape()), y;
    for (auto& v : x) v = static_cast<float>(rng.uniform(-1.0, 1.0));
    pool.forward(x, y, Mode::inference);
    std::vector<float> one(out.size());
    for (int n = 0; n < 2; ++n) {
      pool.forward_sample(x.sample(n), one.data(), nullptr);
      for (int c = 0; c < k.c; ++c)
        for (int oy = 0; oy < out.height(); ++oy)
          for (int ox = 0; ox < out.width(); ++ox) {
            double sum = 0;
            for (int i = 0; i < k.pool.h; ++i)
              for (int j = 0; j < k.pool.w; ++j)
                sum += x.sample(n)[(c * k.h + oy * k.stride.h + i) * k.w + ox * k.stride.w + j];
            const double mean = sum / (k.pool.h * k.pool.w);
            const std::size_t o = (static_cast<std::size_t>(c) * out.height() + oy) * out.width() + ox;
            INFO("pool " << k.pool.to_string() << " stride " << k.stride.to_string() << " output " << o);
            REQUIRE(y.sample(n)[o] == Approx(mean).margin(1e-6));
            REQUIRE(one[o] == y.sample(n)[o]);
          }
    }
  }
}

TEST_CASE("AvgPool2D gradients match finite differences", "[avgpool][gradient]") {
  SECTION("overlapping 3x3 windows, stride 2, not covering the input exactly") {
    AvgPool2D<double> pool(3, 2);
    Rng rng(3);
    pool.build(Shape{2, 8, 9}, rng);
    CHECK(test::check_layer_gradients(pool, 3).input < 1e-8);
  }
  SECTION("non-square pool") {
    AvgPool2D<double> pool(Size2(2, 3), Size2(1, 2));
    Rng rng(3);
    pool.build(Shape{1, 5, 8}, rng);
    CHECK(test::check_layer_gradients(pool, 2).input < 1e-8);
  }
}
