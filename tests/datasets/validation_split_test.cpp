#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <vector>

#include "minidnn/datasets/validation_split.hpp"

using namespace minidnn;

namespace {
// FER2013's Training class counts, scaled down: Disgust is rare.
std::vector<int> labels_with_counts(const std::vector<int>& counts) {
  std::vector<int> labels;
  for (std::size_t c = 0; c < counts.size(); ++c)
    for (int i = 0; i < counts[c]; ++i) labels.push_back(static_cast<int>(c));
  Rng rng(99);  // interleaved, as in the file
  for (std::size_t i = labels.size(); i > 1; --i) std::swap(labels[i - 1], labels[rng.below(i)]);
  return labels;
}
const std::vector<int> kCounts = {399, 44, 410, 722, 483, 317, 497};
}  // namespace

TEST_CASE("stratified_split: each class holds out round(fraction * its count)", "[split]") {
  const auto labels = labels_with_counts(kCounts);
  const SplitIndices split = stratified_split(labels, 0.1, 1);
  std::vector<int> held(7, 0), kept(7, 0);
  for (int i : split.validation) ++held[labels[i]];
  for (int i : split.train) ++kept[labels[i]];
  // Hand-computed: 39.9 -> 40, 4.4 -> 4, 41 -> 41, 72.2 -> 72, 48.3 -> 48, 31.7 -> 32, 49.7 -> 50.
  const std::vector<int> expected = {40, 4, 41, 72, 48, 32, 50};
  for (int c = 0; c < 7; ++c) {
    CHECK(held[c] == expected[c]);
    CHECK(kept[c] == kCounts[c] - expected[c]);
  }
}

TEST_CASE("stratified_split: the parts are disjoint, cover every row, and are sorted", "[split]") {
  const auto labels = labels_with_counts(kCounts);
  const SplitIndices split = stratified_split(labels, 0.25, 3);
  std::vector<int> seen(labels.size(), 0);
  for (int i : split.train) ++seen[i];
  for (int i : split.validation) ++seen[i];
  for (int s : seen) REQUIRE(s == 1);
  CHECK(std::is_sorted(split.train.begin(), split.train.end()));
  CHECK(std::is_sorted(split.validation.begin(), split.validation.end()));
}

TEST_CASE("stratified_split: seeded: the same seed the same rows, another seed others", "[split]") {
  const auto labels = labels_with_counts(kCounts);
  const SplitIndices a = stratified_split(labels, 0.1, 7), b = stratified_split(labels, 0.1, 7);
  const SplitIndices c = stratified_split(labels, 0.1, 8);
  CHECK(a.validation == b.validation);
  CHECK(a.train == b.train);
  CHECK(a.validation != c.validation);
  // Not simply the first rows of each class.
  CHECK(a.validation.back() > static_cast<int>(labels.size()) / 2);
}

TEST_CASE("stratified_split: bad fractions and labels are refused", "[split]") {
  const std::vector<int> labels = {0, 1, 1, 0};
  CHECK_THROWS_WITH(stratified_split(labels, 0.0, 1), Catch::Contains("fraction"));
  CHECK_THROWS_WITH(stratified_split(labels, 1.0, 1), Catch::Contains("fraction"));
  CHECK_THROWS_WITH(stratified_split({0, -1}, 0.5, 1), Catch::Contains("negative"));
}

TEST_CASE("gather_rows: copies the named rows and their labels in order", "[split]") {
  Tensor<float> x(5, Shape{1, 2, 2});
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = float(i);
  const std::vector<int> labels = {10, 11, 12, 13, 14};
  Tensor<float> out;
  std::vector<int> out_labels;
  gather_rows(x, labels, {4, 1, 3}, out, out_labels);
  REQUIRE(out.batch() == 3);
  CHECK(out_labels == std::vector<int>{14, 11, 13});
  for (int k = 0; k < 4; ++k) {
    CHECK(out.sample(0)[k] == float(16 + k));
    CHECK(out.sample(1)[k] == float(4 + k));
    CHECK(out.sample(2)[k] == float(12 + k));
  }
  CHECK_THROWS_WITH(gather_rows(x, labels, {5}, out, out_labels), Catch::Contains("outside"));
}
