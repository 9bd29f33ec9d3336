#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <vector>

#include "minidnn/ops/augment.hpp"
#include "support/allocation_counter.hpp"

using namespace minidnn;

namespace {
AugmentOptions flips_and_shifts(double flip_probability, int max_shift) {
  AugmentOptions options;
  options.flip_probability = flip_probability;
  options.max_shift = max_shift;
  return options;
}
}  // namespace

TEST_CASE("augment_images: no flip and no shift leaves images unchanged", "[augment]") {
  Tensor<float> batch(2, Shape{1, 5, 6});
  for (std::size_t i = 0; i < batch.size(); ++i) batch[i] = float(i);
  const Tensor<float> original = batch;
  Rng rng(1);
  augment_images(batch, rng, flips_and_shifts(0.0, 0));
  for (std::size_t i = 0; i < batch.size(); ++i) REQUIRE(batch[i] == original[i]);
}

TEST_CASE("augment_images: a certain flip mirrors each row", "[augment]") {
  Tensor<float> batch(1, Shape{2, 3, 4});
  for (std::size_t i = 0; i < batch.size(); ++i) batch[i] = float(i);
  const Tensor<float> original = batch;
  Rng rng(1);
  augment_images(batch, rng, flips_and_shifts(1.0, 0));
  for (int c = 0; c < 2; ++c)
    for (int y = 0; y < 3; ++y)
      for (int x = 0; x < 4; ++x) REQUIRE(batch[(c * 3 + y) * 4 + x] == original[(c * 3 + y) * 4 + (3 - x)]);
}

TEST_CASE("augment_images: shifts move content by at most max_shift, edges repeated", "[augment]") {
  Tensor<float> batch(200, Shape{1, 9, 9});
  batch.fill(0.0f);
  for (int n = 0; n < 200; ++n) batch.sample(n)[4 * 9 + 4] = 1.0f;  // one bright centre pixel
  Rng rng(3);
  augment_images(batch, rng, flips_and_shifts(0.0, 2));
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

namespace {
Tensor<float> random_batch(int n, int c, int h, int w, std::uint64_t seed) {
  Tensor<float> t(n, Shape{c, h, w});
  Rng rng(seed);
  for (std::size_t i = 0; i < t.size(); ++i) t[i] = static_cast<float>(rng.uniform());
  return t;
}
}  // namespace

TEST_CASE("Augmenter: a random crop is one of the image's windows, all positions reached", "[augment]") {
  const Tensor<float> original = random_batch(300, 2, 8, 8, 11);
  Tensor<float> batch = original;
  AugmentOptions options{0.0, 0};
  options.crop_height = 5, options.crop_width = 6;
  Augmenter<float> augment(options);
  Rng rng(4);
  augment(batch, rng);
  REQUIRE(batch.shape() == Shape{2, 5, 6});
  bool seen[4][3] = {};
  for (int n = 0; n < 300; ++n) {
    // Find the window (direct definition) this crop equals.
    int found = 0;
    for (int top = 0; top <= 3; ++top)
      for (int left = 0; left <= 2; ++left) {
        bool same = true;
        for (int c = 0; c < 2 && same; ++c)
          for (int y = 0; y < 5 && same; ++y)
            for (int x = 0; x < 6 && same; ++x)
              same = batch.sample(n)[(c * 5 + y) * 6 + x] == original.sample(n)[(c * 8 + top + y) * 8 + left + x];
        if (same) ++found, seen[top][left] = true;
      }
    REQUIRE(found == 1);
  }
  for (auto& row : seen)
    for (bool s : row) CHECK(s);
}

TEST_CASE("Augmenter: with every transform off the batch is unchanged", "[augment]") {
  const Tensor<float> original = random_batch(4, 1, 9, 9, 12);
  Tensor<float> batch = original;
  Augmenter<float> augment(flips_and_shifts(0.0, 0));
  Rng rng(1);
  augment(batch, rng);
  REQUIRE(batch.shape() == original.shape());
  for (std::size_t i = 0; i < batch.size(); ++i) REQUIRE(batch[i] == original[i]);
}

TEST_CASE("Augmenter: seeded: the same seed gives the same batch, another seed another", "[augment]") {
  AugmentOptions options;
  options.max_shift = 2;
  options.max_rotation = 10;
  options.max_scale = 0.1;
  options.crop_height = options.crop_width = 44;
  options.erase.probability = 0.5;
  const Tensor<float> original = random_batch(16, 1, 48, 48, 13);
  Augmenter<float> augment(options);
  Tensor<float> a = original, b = original, c = original;
  Rng ra(9), rb(9), rc(10);
  augment(a, ra);
  augment(b, rb);
  augment(c, rc);
  REQUIRE(a.shape() == Shape{1, 44, 44});
  bool differs = false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    REQUIRE(a[i] == b[i]);
    differs |= a[i] != c[i];
  }
  CHECK(differs);
}

TEST_CASE("Augmenter: flips and shifts alone match augment_images's draws", "[augment]") {
  // The combined augmenter keeps the earlier flip-and-shift stream: seeds of earlier runs
  // still give the same batches. Direct definition: out[y][x] = in[clamp(y-dy)][w-1-clamp(x-dx)].
  const Tensor<float> original = random_batch(50, 1, 6, 7, 14);
  Tensor<float> batch = original;
  Rng rng(21), draws(21);
  augment_images(batch, rng, flips_and_shifts(0.5, 2));
  for (int n = 0; n < 50; ++n) {
    const bool flip = draws.uniform() < 0.5;
    const int dy = static_cast<int>(draws.below(5)) - 2, dx = static_cast<int>(draws.below(5)) - 2;
    for (int y = 0; y < 6; ++y)
      for (int x = 0; x < 7; ++x) {
        int sx = std::clamp(x - dx, 0, 6);
        if (flip) sx = 6 - sx;
        REQUIRE(batch.sample(n)[y * 7 + x] == original.sample(n)[std::clamp(y - dy, 0, 5) * 7 + sx]);
      }
  }
}

TEST_CASE("Augmenter: erasing touches only the drawn rectangle of the crop", "[augment]") {
  AugmentOptions options{0.0, 0};
  options.crop_height = options.crop_width = 10;
  options.erase.probability = 1.0;
  options.erase.value = -5.0f;
  const Tensor<float> original = random_batch(40, 1, 12, 12, 15);
  Tensor<float> batch = original;
  Augmenter<float> augment(options);
  Rng rng(3), draws(3);
  augment(batch, rng);
  for (int n = 0; n < 40; ++n) {
    draws.uniform(), draws.below(1), draws.below(1);  // flip and shift draws (probability 0, span 1)
    const int top = static_cast<int>(draws.below(3)), left = static_cast<int>(draws.below(3));
    const EraseBox box = draw_erase_box(10, 10, draws, options.erase);
    for (int y = 0; y < 10; ++y)
      for (int x = 0; x < 10; ++x) {
        const bool inside = y >= box.top && y < box.top + box.height && x >= box.left && x < box.left + box.width;
        REQUIRE(batch.sample(n)[y * 10 + x] == (inside ? -5.0f : original.sample(n)[(top + y) * 12 + left + x]));
      }
  }
}

TEST_CASE("Augmenter: bad options are refused by name", "[augment]") {
  AugmentOptions options;
  options.max_scale = 1.0;
  CHECK_THROWS_WITH(Augmenter<float>(options), Catch::Contains("max_scale"));
  options = {};
  options.crop_height = 4;
  CHECK_THROWS_WITH(Augmenter<float>(options), Catch::Contains("crop_height"));
  options = {};
  options.crop_height = options.crop_width = 50;
  Augmenter<float> augment(options);
  Tensor<float> batch(1, Shape{1, 48, 48});
  Rng rng(1);
  CHECK_THROWS_WITH(augment(batch, rng), Catch::Contains("larger than the images"));
}

TEST_CASE("Augmenter: rotation and scale are warp_plane with the drawn angle and factor, per channel", "[augment]") {
  AugmentOptions options = flips_and_shifts(0.0, 0);
  options.max_rotation = 15;
  options.max_scale = 0.1;
  const Tensor<float> original = random_batch(20, 2, 9, 11, 16);
  Tensor<float> batch = original;
  Augmenter<float> augment(options);
  Rng rng(8), draws(8);
  augment(batch, rng);
  std::vector<float> expected(9 * 11);
  bool turned = false;
  for (int n = 0; n < 20; ++n) {
    draws.uniform(), draws.below(1), draws.below(1);
    Warp warp;
    warp.degrees = draws.uniform(-15.0, 15.0);
    warp.scale = draws.uniform(0.9, 1.1);
    REQUIRE(std::abs(warp.degrees) <= 15.0);
    turned |= std::abs(warp.degrees) > 5;
    for (int c = 0; c < 2; ++c) {
      warp_plane(original.sample(n) + c * 99, 9, 11, warp, expected.data());
      for (int i = 0; i < 99; ++i) REQUIRE(batch.sample(n)[c * 99 + i] == expected[i]);
    }
  }
  CHECK(turned);
}

TEST_CASE("Augmenter: after the first batch of a size, a batch allocates nothing; a new size is redone", "[augment]") {
  AugmentOptions options;  // flips, shifts, rotation, scale and erasing: every transform but a crop
  options.max_shift = 2;
  options.max_rotation = 10;
  options.max_scale = 0.1;
  options.erase.probability = 0.5;
  Augmenter<float> augment(options);
  Rng rng(3);
  Tensor<float> batch = random_batch(8, 2, 12, 12, 17);
  augment(batch, rng);  // makes the buffers
  test::allocation_counter::min_plain_bytes = 0;  // every allocation, a Shape's few ints too
  test::allocation_counter::counting = true;
  for (int step = 0; step < 3; ++step) augment(batch, rng);
  test::allocation_counter::counting = false;
  CHECK(test::allocation_counter::allocations.load() == 0);

  // Another batch and image size: augmented as by a new Augmenter with the same draws.
  const Tensor<float> other = random_batch(5, 1, 9, 7, 18);
  Tensor<float> reused = other, fresh = other;
  Rng reused_rng(4), fresh_rng(4);
  augment(reused, reused_rng);
  Augmenter<float> new_augment(options);
  new_augment(fresh, fresh_rng);
  REQUIRE(reused.shape() == Shape{1, 9, 7});
  REQUIRE(reused.batch() == 5);
  for (std::size_t i = 0; i < fresh.size(); ++i) REQUIRE(reused[i] == fresh[i]);
}
