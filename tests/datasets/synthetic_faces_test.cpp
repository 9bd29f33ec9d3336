#include "minidnn/datasets/synthetic_faces.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <set>

#include "support/paths.hpp"

namespace faces = minidnn::synthetic_faces;
namespace fer = minidnn::fer2013;

namespace {

bool same_images(const minidnn::Tensor<float>& a, int a_first, const minidnn::Tensor<float>& b, int b_first, int count) {
  return std::equal(a.sample(a_first), a.sample(a_first) + count * 2304, b.sample(b_first));
}

double mean(const float* image) {
  double s = 0;
  for (int i = 0; i < 2304; ++i) s += image[i];
  return s / 2304;
}

}  // namespace

TEST_CASE("synthetic faces are deterministic per seed and independent of the set size") {
  const fer::Split a = faces::generate(40, 11);
  const fer::Split b = faces::generate(40, 11);
  const fer::Split c = faces::generate(40, 12);
  const fer::Split tail = faces::generate(15, 11, 25);
  REQUIRE(a.images.shape() == minidnn::Shape{1, 48, 48});
  REQUIRE(a.images.batch() == 40);
  CHECK(same_images(a.images, 0, b.images, 0, 40));
  CHECK(a.labels == b.labels);
  CHECK(same_images(a.images, 25, tail.images, 0, 15));
  CHECK(std::equal(tail.labels.begin(), tail.labels.end(), a.labels.begin() + 25));
  int same = 0;
  for (int n = 0; n < 40; ++n) same += same_images(a.images, n, c.images, n, 1);
  CHECK(same == 0);
}

TEST_CASE("synthetic faces are class-balanced, in [0, 1], and every image is different") {
  const fer::Split set = faces::generate(700, 5);
  std::array<int, 7> per_class{};
  for (int label : set.labels) ++per_class[label];
  CHECK(per_class == std::array<int, 7>{100, 100, 100, 100, 100, 100, 100});
  const auto [low, high] = std::minmax_element(set.images.begin(), set.images.end());
  CHECK(*low >= 0.0f);
  CHECK(*high <= 1.0f);
  std::set<std::vector<float>> distinct;
  for (int n = 0; n < set.size(); ++n) {
    const float* image = set.images.sample(n);
    distinct.emplace(image, image + 2304);
    // Not flat: a face on a background spans a real range of grey.
    const auto [lo, hi] = std::minmax_element(image, image + 2304);
    CHECK(*hi - *lo > 0.2f);
  }
  CHECK(distinct.size() == 700);
}

TEST_CASE("synthetic faces: mean brightness alone does not tell the classes apart") {
  // Nearest class mean of the image mean, fitted on one set, scored on another: close to chance
  // (1/7 = 14%) if brightness is no shortcut.
  const fer::Split fit = faces::generate(1400, 1);
  const fer::Split held_out = faces::generate(700, 2);
  std::array<double, 7> class_mean{};
  for (int n = 0; n < fit.size(); ++n) class_mean[fit.labels[n]] += mean(fit.images.sample(n)) / 200;
  int correct = 0;
  for (int n = 0; n < held_out.size(); ++n) {
    const double m = mean(held_out.images.sample(n));
    int best = 0;
    for (int c = 1; c < 7; ++c)
      if (std::abs(m - class_mean[c]) < std::abs(m - class_mean[best])) best = c;
    correct += best == held_out.labels[n];
  }
  CHECK(correct / 700.0 < 0.25);
}

TEST_CASE("synthetic faces written as FER2013 CSV read back identically, split by Usage") {
  const auto dir = minidnn::test::scratch_dir("synthetic_faces_csv");
  for (const char* name : {"synth.csv", "synth.csv.gz"}) {
    const std::string path = (dir / name).string();
    faces::write_csv(path, 60, 9, 0.2, 0.1);
    const fer::Dataset loaded = fer::load(path);
    const fer::Split expected = faces::generate(60, 9);
    // 60 rows: 42 Training, then 12 PublicTest, then 6 PrivateTest.
    REQUIRE(loaded.training.size() == 42);
    REQUIRE(loaded.public_test.size() == 12);
    REQUIRE(loaded.private_test.size() == 6);
    CHECK(same_images(loaded.training.images, 0, expected.images, 0, 42));
    CHECK(same_images(loaded.public_test.images, 0, expected.images, 42, 12));
    CHECK(same_images(loaded.private_test.images, 0, expected.images, 54, 6));
    CHECK(std::equal(loaded.training.labels.begin(), loaded.training.labels.end(), expected.labels.begin()));
    CHECK(std::equal(loaded.private_test.labels.begin(), loaded.private_test.labels.end(), expected.labels.begin() + 54));
  }
  CHECK_THROWS_WITH(faces::write_csv((dir / "bad.csv").string(), 10, 1, 0.7, 0.5), Catch::Contains("fractions"));
  minidnn::Rng rng(1);
  std::uint8_t out[2304];
  CHECK_THROWS_WITH(faces::render(7, rng, out), Catch::Contains("expression 7"));
}
