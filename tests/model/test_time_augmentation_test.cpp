#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <vector>

#include "minidnn/model/test_time_augmentation.hpp"
#include "minidnn/sequential.hpp"

using namespace minidnn;

namespace {

// Pointwise features (1x1 convolution + ReLU) averaged over the image: the output depends only
// on the multiset of pixel values a crop contains, never on where they are.
Sequential<double> position_free_model(int side) {
  Sequential<double> model;
  model.add(Conv2D<double>(6, 1, Activation::relu));
  model.add(GlobalAveragePooling2D<double>());
  model.add(Dense<double>(4));
  model.add(Softmax<double>());
  model.build(Shape{1, side, side}, 5);
  return model;
}

// A model that sees where things are (3x3 convolutions, flattened): it tells a face from its
// mirror image.
Sequential<double> positional_model(int side) {
  Sequential<double> model;
  model.add(Conv2D<double>(3, 3, Activation::relu));
  model.add(Flatten<double>());
  model.add(Dense<double>(4));
  model.add(Softmax<double>());
  model.build(Shape{1, side, side}, 6);
  return model;
}

Tensor<double> random_images(int n, int side, std::uint64_t seed) {
  Tensor<double> x(n, Shape{1, side, side});
  Rng rng(seed);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = rng.uniform();
  return x;
}

// The window (top, left, mirrored) of one image, by the direct definition.
Tensor<double> window_of(const Tensor<double>& x, int top, int left, int side, bool mirrored) {
  const int w = x.shape().width();
  Tensor<double> out(x.batch(), Shape{1, side, side});
  for (int n = 0; n < x.batch(); ++n)
    for (int y = 0; y < side; ++y)
      for (int c = 0; c < side; ++c)
        out.sample(n)[y * side + c] = x.sample(n)[(top + y) * w + left + (mirrored ? side - 1 - c : c)];
  return out;
}

}  // namespace

TEST_CASE("TTA: ten-crop on a model blind to position equals plain prediction on the centre crop", "[tta]") {
  // Every 10x10 window at an even offset of a 2x2-periodic 12x12 image, mirrored or not, holds the
  // same pixel values, so all ten crops give the same probabilities.
  auto model = position_free_model(10);
  Tensor<double> x(3, Shape{1, 12, 12});
  Rng rng(1);
  for (int n = 0; n < 3; ++n) {
    const double cell[2][2] = {{rng.uniform(), rng.uniform()}, {rng.uniform(), rng.uniform()}};
    for (int y = 0; y < 12; ++y)
      for (int c = 0; c < 12; ++c) x.sample(n)[y * 12 + c] = cell[y % 2][c % 2];
  }
  const Tensor<double> plain = model.predict(window_of(x, 1, 1, 10, false));
  for (auto tta : {TestTimeAugmentation::none, TestTimeAugmentation::flip, TestTimeAugmentation::ten_crop}) {
    const Tensor<double> p = predict_with_tta(model, x, tta);
    REQUIRE(p.shape() == Shape{4});
    for (std::size_t k = 0; k < p.size(); ++k) REQUIRE(p[k] == Approx(plain[k]).margin(1e-12));
  }
}

TEST_CASE("TTA: flip of a left-right symmetric input equals plain prediction", "[tta]") {
  auto model = positional_model(8);
  Tensor<double> x = random_images(4, 8, 2);
  for (int n = 0; n < 4; ++n)
    for (int y = 0; y < 8; ++y)
      for (int c = 0; c < 4; ++c) x.sample(n)[y * 8 + 7 - c] = x.sample(n)[y * 8 + c];
  const Tensor<double> plain = model.predict(x);
  const Tensor<double> flipped = predict_with_tta(model, x, TestTimeAugmentation::flip);
  for (std::size_t k = 0; k < plain.size(); ++k) REQUIRE(flipped[k] == Approx(plain[k]).margin(1e-12));
  // ...while an asymmetric input's mirror image gives other probabilities (the test can fail).
  const Tensor<double> y = random_images(4, 8, 3);
  const Tensor<double> a = model.predict(y), b = predict_with_tta(model, y, TestTimeAugmentation::flip);
  double largest = 0;
  for (std::size_t k = 0; k < a.size(); ++k) largest = std::max(largest, std::abs(a[k] - b[k]));
  CHECK(largest > 1e-6);
}

TEST_CASE("TTA: ten-crop is the mean of the model on the ten windows of the direct definition", "[tta]") {
  auto model = positional_model(7);
  const Tensor<double> x = random_images(5, 10, 4);
  const int corners[5][2] = {{0, 0}, {0, 3}, {3, 0}, {3, 3}, {1, 1}};  // centre of 10 - 7 = 3: 1 before, 2 after
  Tensor<double> expected(5, Shape{4});
  expected.fill(0.0);
  for (bool mirrored : {false, true})
    for (const auto& corner : corners) {
      const Tensor<double> p = model.predict(window_of(x, corner[0], corner[1], 7, mirrored));
      for (std::size_t k = 0; k < p.size(); ++k) expected[k] += p[k] / 10;
    }
  const Tensor<double> got = predict_with_tta(model, x, TestTimeAugmentation::ten_crop);
  for (std::size_t k = 0; k < got.size(); ++k) REQUIRE(got[k] == Approx(expected[k]).margin(1e-12));
  const Tensor<double> centre = predict_with_tta(model, x, TestTimeAugmentation::none);
  const Tensor<double> direct = model.predict(window_of(x, 1, 1, 7, false));
  for (std::size_t k = 0; k < centre.size(); ++k) REQUIRE(centre[k] == Approx(direct[k]).margin(1e-12));
}

TEST_CASE("TTA: names parse; images smaller than the model are refused", "[tta]") {
  CHECK(parse_test_time_augmentation("ten-crop") == TestTimeAugmentation::ten_crop);
  CHECK(std::string(test_time_augmentation_name(TestTimeAugmentation::flip)) == "flip");
  CHECK_THROWS_WITH(parse_test_time_augmentation("tencrop"), Catch::Contains("none, flip or ten-crop"));
  auto model = positional_model(8);
  CHECK_THROWS_WITH(predict_with_tta(model, random_images(1, 6, 1), TestTimeAugmentation::none),
                    Catch::Contains("cannot be cropped"));
}
