#include <catch2/catch.hpp>

#include "minidnn/ops/augment.hpp"

using namespace minidnn;

TEST_CASE("augment_images: no flip and no shift leaves images unchanged", "[augment]") {
  Tensor<float> batch(2, Shape{1, 5, 6});
  for (std::size_t i = 0; i < batch.size(); ++i) batch[i] = float(i);
  const Tensor<float> original = batch;
  Rng rng(1);
  augment_images(batch, rng, AugmentOptions{0.0, 0});
  for (std::size_t i = 0; i < batch.size(); ++i) REQUIRE(batch[i] == original[i]);
}

TEST_CASE("augment_images: a certain flip mirrors each row", "[augment]") {
  Tensor<float> batch(1, Shape{2, 3, 4});
  for (std::size_t i = 0; i < batch.size(); ++i) batch[i] = float(i);
  const Tensor<float> original = batch;
  Rng rng(1);
  augment_images(batch, rng, AugmentOptions{1.0, 0});
  for (int c = 0; c < 2; ++c)
    for (int y = 0; y < 3; ++y)
      for (int x = 0; x < 4; ++x) REQUIRE(batch[(c * 3 + y) * 4 + x] == original[(c * 3 + y) * 4 + (3 - x)]);
}

TEST_CASE("augment_images: shifts move content by at most max_shift, edges repeated", "[augment]") {
  Tensor<float> batch(200, Shape{1, 9, 9});
  batch.fill(0.0f);
  for (int n = 0; n < 200; ++n) batch.sample(n)[4 * 9 + 4] = 1.0f;  // one bright centre pixel
  Rng rng(3);
  augment_images(batch, rng, AugmentOptions{0.0, 2});
  bool moved = false;
  for (int n = 0; n < 200; ++n) {
    int count = 0, where = -1;
    for (int i = 0; i < 81; ++i)
      if (batch.sample(n)[i] == 1.0f) ++count, where = i;
    REQUIRE(count == 1);
    REQUIRE(std::abs(where / 9 - 4) <= 2);
    REQUIRE(std::abs(where % 9 - 4) <= 2);
    moved |= where != 40;
  }
  CHECK(moved);
}
