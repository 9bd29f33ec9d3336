#include <catch2/catch.hpp>

#include "minidnn/ops/augment/crop.hpp"

using namespace minidnn;

namespace {
Tensor<float> numbered(int n, int c, int h, int w) {
  Tensor<float> t(n, Shape{c, h, w});
  for (std::size_t i = 0; i < t.size(); ++i) t[i] = float(i);
  return t;
}
// Element (n, c, y, x) of an NCHW tensor, by the layout's definition.
float at(const Tensor<float>& t, int n, int c, int y, int x) {
  const Shape& s = t.shape();
  return t[((static_cast<std::size_t>(n) * s.channels() + c) * s.height() + y) * s.width() + x];
}
}  // namespace

TEST_CASE("crop_images: the output is the window, element by element", "[augment][crop]") {
  const Tensor<float> images = numbered(2, 2, 7, 9);
  Tensor<float> out;
  crop_images(images, CropWindow{2, 3, 4, 5, false}, out);
  REQUIRE(out.batch() == 2);
  REQUIRE(out.shape() == Shape{2, 4, 5});
  for (int n = 0; n < 2; ++n)
    for (int c = 0; c < 2; ++c)
      for (int y = 0; y < 4; ++y)
        for (int x = 0; x < 5; ++x) REQUIRE(at(out, n, c, y, x) == at(images, n, c, 2 + y, 3 + x));
}

TEST_CASE("crop_images: a mirrored window reverses each row of the window", "[augment][crop]") {
  const Tensor<float> images = numbered(1, 3, 6, 6);
  Tensor<float> out;
  crop_images(images, CropWindow{1, 0, 5, 4, true}, out);
  for (int c = 0; c < 3; ++c)
    for (int y = 0; y < 5; ++y)
      for (int x = 0; x < 4; ++x) REQUIRE(at(out, 0, c, y, x) == at(images, 0, c, 1 + y, 3 - x));
}

TEST_CASE("crop_images: the full window is the identity; a window outside the image is refused", "[augment][crop]") {
  const Tensor<float> images = numbered(2, 1, 5, 5);
  Tensor<float> out;
  crop_images(images, CropWindow{0, 0, 5, 5, false}, out);
  for (std::size_t i = 0; i < images.size(); ++i) REQUIRE(out[i] == images[i]);
  CHECK_THROWS_WITH(crop_images(images, CropWindow{1, 0, 5, 5, false}, out), Catch::Contains("does not fit"));
  CHECK_THROWS(crop_images(images, CropWindow{0, -1, 2, 2, false}, out));
}

TEST_CASE("center_crop_images: 44x44 of 48x48 starts at (2, 2); odd margins put the extra pixel after", "[augment][crop]") {
  const Tensor<float> images = numbered(1, 1, 48, 48);
  const Tensor<float> out = center_crop_images(images, 44, 44);
  REQUIRE(out.shape() == Shape{1, 44, 44});
  for (int y = 0; y < 44; ++y)
    for (int x = 0; x < 44; ++x) REQUIRE(at(out, 0, 0, y, x) == at(images, 0, 0, y + 2, x + 2));
  const CropWindow odd = center_window(7, 8, 4, 5);  // margins 3 and 3: 1 before, 2 after
  CHECK(odd.top == 1);
  CHECK(odd.left == 1);
}

TEST_CASE("ten_crop_windows: four corners and the centre, then the same mirrored", "[augment][crop]") {
  const auto w = ten_crop_windows(48, 48, 44, 44);
  const int expected[5][2] = {{0, 0}, {0, 4}, {4, 0}, {4, 4}, {2, 2}};
  for (int i = 0; i < 10; ++i) {
    CHECK(w[i].top == expected[i % 5][0]);
    CHECK(w[i].left == expected[i % 5][1]);
    CHECK(w[i].height == 44);
    CHECK(w[i].width == 44);
    CHECK(w[i].mirrored == (i >= 5));
  }
}
