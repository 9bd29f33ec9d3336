#include <catch2/catch.hpp>

#include <vector>

#include "minidnn/ops/augment/erase.hpp"

using namespace minidnn;

TEST_CASE("draw_erase_box: boxes fit the image, areas and aspects in range, seeded", "[augment][erase]") {
  EraseOptions options;
  options.probability = 1.0;
  Rng rng(5), again(5);
  int drawn = 0;
  for (int i = 0; i < 2000; ++i) {
    const EraseBox box = draw_erase_box(44, 44, rng, options);
    const EraseBox same = draw_erase_box(44, 44, again, options);
    REQUIRE((box.top == same.top && box.left == same.left && box.height == same.height && box.width == same.width));
    if (box.empty()) continue;
    ++drawn;
    REQUIRE(box.top >= 0);
    REQUIRE(box.left >= 0);
    REQUIRE(box.top + box.height <= 44);
    REQUIRE(box.left + box.width <= 44);
    // Rounding each side to whole pixels moves the area by at most about a side's length.
    const double area = double(box.height) * box.width / (44.0 * 44.0);
    REQUIRE(area >= 0.02 * 0.6);
    REQUIRE(area <= 0.33 * 1.4);
  }
  CHECK(drawn > 1900);  // almost every draw finds a box that fits
}

TEST_CASE("draw_erase_box: probability 0 never erases, 0.5 about half the time", "[augment][erase]") {
  EraseOptions options;
  Rng rng(7);
  for (int i = 0; i < 100; ++i) REQUIRE(draw_erase_box(48, 48, rng, options).empty());
  options.probability = 0.5;
  int erased = 0;
  for (int i = 0; i < 4000; ++i) erased += !draw_erase_box(48, 48, rng, options).empty();
  CHECK(erased > 1800);
  CHECK(erased < 2200);
}

TEST_CASE("erase_box: fills exactly its rectangle in every channel", "[augment][erase]") {
  const int c = 2, h = 6, w = 7;
  std::vector<float> image(c * h * w);
  for (std::size_t i = 0; i < image.size(); ++i) image[i] = float(i + 1);
  const std::vector<float> original = image;
  const EraseBox box{1, 2, 3, 4};
  erase_box(image.data(), c, h, w, box, -1.0f);
  for (int k = 0; k < c; ++k)
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) {
        const std::size_t i = (static_cast<std::size_t>(k) * h + y) * w + x;
        const bool inside = y >= 1 && y < 4 && x >= 2 && x < 6;
        REQUIRE(image[i] == (inside ? -1.0f : original[i]));
      }
}
