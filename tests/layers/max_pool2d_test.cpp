#include <catch2/catch.hpp>

#include <algorithm>
#include <limits>
#include <vector>

#include "minidnn/layers/max_pool2d.hpp"
#include "support/gradient_check.hpp"

using namespace minidnn;

TEST_CASE("MaxPool2D output size follows Keras: floor((in - pool) / stride) + 1", "[maxpool]") {
  Rng rng(1);
  CHECK(MaxPool2D<float>(5, 2).build(Shape{64, 44, 44}, rng) == Shape{64, 20, 20});
  CHECK(MaxPool2D<float>(2).build(Shape{3, 7, 9}, rng) == Shape{3, 3, 4});
  CHECK(MaxPool2D<float>(Size2(3, 2), Size2(1, 2)).build(Shape{1, 5, 5}, rng) == Shape{1, 3, 2});
  CHECK_THROWS_WITH(MaxPool2D<float>(5).build(Shape{1, 4, 8}, rng), Catch::Contains("larger than its input"));
}

TEST_CASE("MaxPool2D forward takes each window's maximum", "[maxpool]") {
  struct Case { Size2 pool, stride; int c, h, w; };
  for (const Case& k : {Case{5, 2, 2, 11, 12}, Case{2, 2, 3, 7, 7}, Case{Size2(3, 2), Size2(1, 2), 1, 6, 7}}) {
    MaxPool2D<double> pool(k.pool, k.stride);
    Rng rng(2);
    const Shape out = pool.build(Shape{k.c, k.h, k.w}, rng);
    Tensor<double> x(2, pool.input_shape()), y;
    test::fill_uniform(x, rng);
    pool.forward(x, y, Mode::inference);
    for (int n = 0; n < 2; ++n)
      for (int c = 0; c < k.c; ++c)
        for (int oy = 0; oy < out.height(); ++oy)
          for (int ox = 0; ox < out.width(); ++ox) {
            double best = -1e300;
            for (int i = 0; i < k.pool.h; ++i)
              for (int j = 0; j < k.pool.w; ++j)
                best = std::max(best, x.sample(n)[(c * k.h + oy * k.stride.h + i) * k.w + ox * k.stride.w + j]);
            REQUIRE(y.sample(n)[(c * out.height() + oy) * out.width() + ox] == best);
          }
  }
}

TEST_CASE("MaxPool2D float inference takes each window's maximum, also sample by sample", "[maxpool]") {
  // Float inference runs the separable vector kernel for strides 1 and 2 (output rows in chunks
  // of 64, pools up to 128 wide) and the windowed one otherwise; both against the definition.
  struct Case { Size2 pool, stride; int c, h, w; };
  for (const Case& k : {Case{5, 2, 3, 44, 44}, Case{Size2(1, 7), Size2(3, 1), 1, 10, 150},
                        Case{Size2(4, 1), Size2(1, 2), 2, 9, 161}, Case{Size2(2, 130), 1, 1, 3, 200},
                        Case{3, 3, 2, 10, 40}, Case{Size2(2, 33), Size2(1, 2), 1, 4, 300}}) {
    MaxPool2D<float> pool(k.pool, k.stride);
    Rng rng(6);
    const Shape out = pool.build(Shape{k.c, k.h, k.w}, rng);
    Tensor<float> x(2, pool.input_shape()), y;
    for (auto& v : x) v = static_cast<float>(rng.uniform(-1.0, 1.0));
    pool.forward(x, y, Mode::inference);
    REQUIRE(pool.has_sample_forward(2));
    std::vector<float> one(out.size());
    for (int n = 0; n < 2; ++n) {
      pool.forward_sample(x.sample(n), one.data(), nullptr);
      for (int c = 0; c < k.c; ++c)
        for (int oy = 0; oy < out.height(); ++oy)
          for (int ox = 0; ox < out.width(); ++ox) {
            float best = -2.0f;
            for (int i = 0; i < k.pool.h; ++i)
              for (int j = 0; j < k.pool.w; ++j)
                best = std::max(best, x.sample(n)[(c * k.h + oy * k.stride.h + i) * k.w + ox * k.stride.w + j]);
            const std::size_t o = (static_cast<std::size_t>(c) * out.height() + oy) * out.width() + ox;
            INFO("pool " << k.pool.to_string() << " stride " << k.stride.to_string() << " output " << o);
            REQUIRE(y.sample(n)[o] == best);
            REQUIRE(one[o] == best);
          }
    }
  }
}

TEST_CASE("MaxPool2D gradients match finite differences", "[maxpool][gradient]") {
  SECTION("overlapping 5x5 windows, stride 2 (the seed model's)") {
    MaxPool2D<double> pool(5, 2);
    Rng rng(3);
    pool.build(Shape{2, 12, 13}, rng);
    CHECK(test::check_layer_gradients(pool, 3).input < 1e-7);
  }
  SECTION("2x2 windows that leave the last row and column uncovered") {
    MaxPool2D<double> pool(2);
    Rng rng(3);
    pool.build(Shape{3, 7, 9}, rng);
    CHECK(test::check_layer_gradients(pool, 2).input < 1e-7);
  }
  SECTION("non-square pool and stride") {
    MaxPool2D<double> pool(Size2(3, 2), Size2(2, 1));
    Rng rng(3);
    pool.build(Shape{2, 8, 6}, rng);
    CHECK(test::check_layer_gradients(pool, 2).input < 1e-7);
  }
}

TEST_CASE("MaxPool2D routes each gradient to the first maximum of its window, in row-major order",
          "[maxpool]") {
  // Few distinct values make ties in almost every window. Float training runs the separable
  // kernel with winners for strides 1 and 2, at most 8 x 32 windows and 64 output columns (the
  // seed model's pool and three more), the windowed kernel for the rest: wider outputs, stride 3
  // (its run-time-stride path), a window 9 rows high.
  struct Case { Size2 pool, stride; int c, h, w; };
  for (const Case& k : {Case{5, 2, 2, 11, 12}, Case{5, 2, 1, 9, 150}, Case{2, 1, 1, 4, 70},
                        Case{Size2(3, 4), Size2(2, 3), 2, 9, 200}, Case{5, 2, 2, 44, 44},
                        Case{Size2(3, 2), Size2(2, 1), 1, 9, 40}, Case{Size2(9, 3), Size2(1, 2), 1, 12, 30},
                        Case{Size2(2, 5), Size2(3, 2), 1, 11, 40}}) {
    MaxPool2D<float> pool(k.pool, k.stride);
    Rng rng(5);
    const Shape out = pool.build(Shape{k.c, k.h, k.w}, rng);
    Tensor<float> x(2, pool.input_shape()), y, dx;
    for (auto& v : x) v = static_cast<float>(static_cast<int>(rng.uniform(0.0, 3.0)));
    Tensor<float> y_inference;  // inference skips the winners: the maxima must not change
    pool.forward(x, y_inference, Mode::inference);
    pool.forward(x, y, Mode::train);
    for (std::size_t i = 0; i < y.size(); ++i) REQUIRE(y_inference[i] == y[i]);
    Tensor<float> dy(2, out);
    for (std::size_t i = 0; i < dy.size(); ++i) dy.data()[i] = static_cast<float>(1 + i % 7);
    Tensor<float> dy_copy = dy;
    pool.backward(x, y, dy_copy, &dx);

    std::vector<float> expected(x.size(), 0.0f);
    const int ih = k.h, iw = k.w, oh = out.height(), ow = out.width();
    for (int plane = 0; plane < 2 * k.c; ++plane)
      for (int oy = 0; oy < oh; ++oy)
        for (int ox = 0; ox < ow; ++ox) {
          const float* p = x.data() + static_cast<std::size_t>(plane) * ih * iw;
          int best = (oy * k.stride.h) * iw + ox * k.stride.w;
          for (int i = 0; i < k.pool.h; ++i)
            for (int j = 0; j < k.pool.w; ++j) {
              const int at = (oy * k.stride.h + i) * iw + ox * k.stride.w + j;
              if (p[at] > p[best]) best = at;
            }
          const std::size_t o = (static_cast<std::size_t>(plane) * oh + oy) * ow + ox;
          REQUIRE(y.data()[o] == p[best]);
          expected[static_cast<std::size_t>(plane) * ih * iw + best] += dy.data()[o];
        }
    for (std::size_t i = 0; i < x.size(); ++i) REQUIRE(dx.data()[i] == expected[i]);
  }
}

TEST_CASE("MaxPool2D outputs NaN for every window that holds a NaN, wherever it sits", "[maxpool]") {
  // Only the windows over the NaN turn NaN (the first pixel of a window, a later one, on a
  // vector's tail); the rest keep their maxima. Float runs the vector kernel, double the scalar loop.
  auto check = [](auto zero) {
    using T = decltype(zero);
    MaxPool2D<T> pool(3, 2);
    Rng rng(2);
    const Shape out = pool.build(Shape{1, 9, 41}, rng);  // 4 x 20 outputs
    for (const Mode mode : {Mode::train, Mode::inference})  // with and without winners
    for (const int nan_at : {0, 2 * 41 + 2, 3 * 41 + 17, 8 * 41 + 40}) {
      Tensor<T> x(1, pool.input_shape()), y;
      for (std::size_t i = 0; i < x.size(); ++i) x[i] = T(std::sin(double(i)));
      x[nan_at] = std::numeric_limits<T>::quiet_NaN();
      pool.forward(x, y, mode);
      const int ny = nan_at / 41, nx = nan_at % 41;
      for (int oy = 0; oy < out.height(); ++oy)
        for (int ox = 0; ox < out.width(); ++ox) {
          const bool covers = ny >= 2 * oy && ny < 2 * oy + 3 && nx >= 2 * ox && nx < 2 * ox + 3;
          INFO("NaN at " << nan_at << ", output (" << oy << ", " << ox << ")");
          REQUIRE(std::isnan(y[oy * out.width() + ox]) == covers);
        }
    }
  };
  check(0.0f);
  check(0.0);
}

namespace {

// Keras's padding="same" by its definition: out = ceil(in / stride), the padding split with the
// extra row/column at the bottom/right, padded cells -infinity; the maximum by a direct loop.
Tensor<double> same_pool_reference(const Tensor<double>& x, Size2 pool, Size2 stride) {
  const int c = x.shape()[0], h = x.shape()[1], w = x.shape()[2];
  const int oh = (h + stride.h - 1) / stride.h, ow = (w + stride.w - 1) / stride.w;
  const int top = std::max((oh - 1) * stride.h + pool.h - h, 0) / 2;
  const int left = std::max((ow - 1) * stride.w + pool.w - w, 0) / 2;
  Tensor<double> y(x.batch(), Shape{c, oh, ow});
  for (int n = 0; n < x.batch(); ++n)
    for (int ch = 0; ch < c; ++ch)
      for (int oy = 0; oy < oh; ++oy)
        for (int ox = 0; ox < ow; ++ox) {
          double best = -std::numeric_limits<double>::infinity();
          for (int i = 0; i < pool.h; ++i)
            for (int j = 0; j < pool.w; ++j) {
              const int r = oy * stride.h - top + i, col = ox * stride.w - left + j;
              if (r >= 0 && r < h && col >= 0 && col < w) best = std::max(best, x.sample(n)[(ch * h + r) * w + col]);
            }
          y.sample(n)[(ch * oh + oy) * ow + ox] = best;
        }
  return y;
}

}  // namespace

TEST_CASE("MaxPool2D same padding follows Keras: ceil(in / stride) outputs, the padding never wins", "[maxpool]") {
  struct Case { Size2 pool, stride; int c, h, w; };
  for (const Case k : {Case{3, 2, 2, 48, 48}, Case{3, 2, 3, 7, 6}, Case{2, 2, 1, 5, 5}, Case{Size2(3, 2), Size2(1, 2), 2, 4, 7},
                       Case{5, 1, 1, 3, 3}}) {
    MaxPool2D<double> pool(k.pool, k.stride, Padding::same);
    Rng rng(4);
    const Shape out = pool.build(Shape{k.c, k.h, k.w}, rng);
    CHECK(out == Shape{k.c, (k.h + k.stride.h - 1) / k.stride.h, (k.w + k.stride.w - 1) / k.stride.w});
    CHECK(pool.describe() == k.pool.to_string() + ", stride " + k.stride.to_string() + ", same");
    Tensor<double> x(2, pool.input_shape()), y;
    test::fill_uniform(x, rng);
    for (auto& v : x) v -= 2.0;  // all negative: a zero-padded pool would be caught
    pool.forward(x, y, Mode::inference);
    const auto expected = same_pool_reference(x, k.pool, k.stride);
    REQUIRE(y.size() == expected.size());
    for (std::size_t i = 0; i < y.size(); ++i) REQUIRE(y[i] == expected[i]);
    // One sample at a time gives the same.
    std::vector<double> one(pool.output_shape().size());
    pool.forward_sample(x.sample(1), one.data(), nullptr);
    for (std::size_t i = 0; i < one.size(); ++i) REQUIRE(one[i] == y.sample(1)[i]);
  }
  Rng rng(1);
  CHECK(MaxPool2D<float>(3, 2, Padding::same).build(Shape{8, 48, 48}, rng) == Shape{8, 24, 24});
}

// The float path (the vector kernel for the inner windows, the clipped loop for the border) at
// mini-Xception's pool shapes and odd ones: values against the direct loop, and the gradient
// routed to each window's first maximum, found by a direct loop too.
TEST_CASE("MaxPool2D<float> same padding: inner windows on the vector kernel, border clipped", "[maxpool]") {
  struct Case { Size2 pool, stride; int c, h, w; };
  for (const Case k : {Case{3, 2, 2, 44, 44}, Case{3, 2, 3, 22, 22}, Case{3, 2, 2, 11, 11}, Case{3, 2, 2, 6, 6},
                       Case{3, 2, 2, 45, 37}, Case{Size2(3, 2), Size2(1, 2), 2, 9, 40}, Case{5, 1, 1, 3, 3},
                       Case{2, 2, 1, 33, 33}, Case{3, 2, 1, 130, 130} /* too large to pad on the stack */}) {
    MaxPool2D<float> pool(k.pool, k.stride, Padding::same);
    Rng rng(6);
    const Shape out = pool.build(Shape{k.c, k.h, k.w}, rng);
    Tensor<float> x(2, pool.input_shape()), y;
    Tensor<double> xd(2, pool.input_shape());
    for (std::size_t i = 0; i < x.size(); ++i) xd[i] = x[i] = float(rng.uniform()) - 2.0f;  // all negative
    // -infinity in the top left corner of the first plane and along the top row of the second:
    // their windows' winners are inputs, never the padding (which holds -infinity too).
    const float inf = std::numeric_limits<float>::infinity();
    for (int r = 0; r < std::min(k.h, 3); ++r)
      for (int c = 0; c < std::min(k.w, 3); ++c) xd[r * k.w + c] = x[r * k.w + c] = -inf;
    for (int c = 0; c < k.w; ++c) xd[k.h * k.w + c] = x[k.h * k.w + c] = -inf;
    pool.forward(x, y, Mode::train);
    const auto expected = same_pool_reference(xd, k.pool, k.stride);
    REQUIRE(y.size() == expected.size());
    for (std::size_t i = 0; i < y.size(); ++i) REQUIRE(y[i] == float(expected[i]));
    Tensor<float> dy(2, out), dx;
    for (std::size_t i = 0; i < dy.size(); ++i) dy[i] = float(i % 13) + 1.0f;
    pool.backward(x, y, dy, &dx);
    std::vector<float> dx_expected(x.size(), 0.0f);
    const int oh = out.height(), ow = out.width();
    const int top = std::max((oh - 1) * k.stride.h + k.pool.h - k.h, 0) / 2;
    const int left = std::max((ow - 1) * k.stride.w + k.pool.w - k.w, 0) / 2;
    for (int p = 0; p < 2 * k.c; ++p)
      for (int oy = 0; oy < oh; ++oy)
        for (int ox = 0; ox < ow; ++ox) {
          int best = -1;
          for (int i = 0; i < k.pool.h; ++i)
            for (int j = 0; j < k.pool.w; ++j) {
              const int r = oy * k.stride.h - top + i, col = ox * k.stride.w - left + j;
              if (r < 0 || r >= k.h || col < 0 || col >= k.w) continue;
              const int at = p * k.h * k.w + r * k.w + col;
              if (best < 0 || x[at] > x[best]) best = at;  // the first maximum: -inf ties keep the first
            }
          dx_expected[best] += dy[(p * oh + oy) * ow + ox];
        }
    for (std::size_t i = 0; i < dx.size(); ++i) REQUIRE(dx[i] == dx_expected[i]);
  }
}

TEST_CASE("MaxPool2D same-padding gradients match finite differences", "[maxpool][gradient]") {
  MaxPool2D<double> pool(3, 2, Padding::same);
  Rng rng(3);
  pool.build(Shape{2, 7, 8}, rng);
  CHECK(test::check_layer_gradients(pool, 2).input < 1e-7);
}
