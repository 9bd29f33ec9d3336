#include "minidnn/viz/heatmap.hpp"

#include <catch2/catch.hpp>

#include <cmath>

#include "viz/chart_test_support.hpp"

using namespace minidnn::viz;

TEST_CASE("heatmap: a diagonal confusion matrix has its dark cells on the diagonal") {
  const auto font = minidnn::test::font_or_skip();
  if (!font) return;
  Heatmap map;
  map.title = "Confusion matrix";
  map.row_labels = map.column_labels = {"Angry", "Disgust", "Fear", "Happy", "Sad", "Surprise", "Neutral"};
  map.values.assign(7, std::vector<double>(7, 0));
  for (int i = 0; i < 7; ++i) map.values[i][i] = 10 + 100 * i;  // all rows 100% on the diagonal
  Canvas canvas = heatmap(map, *font);
  const auto d = minidnn::test::save_and_decode(canvas, "heatmap");
  REQUIRE(d.width == map.width);
  REQUIRE(d.height == map.height);
  CHECK(minidnn::test::distinct_colours(d) > 50);
  CHECK(minidnn::test::dark_grey_pixels(d) > 300);

  const Rgb full = blues(1.0);
  // The colour bar also reaches full colour at its top; skip the rightmost strip where it lives.
  const int limit_x = d.width - 120;
  int x_min = d.width, x_max = 0, y_min = d.height, y_max = 0;
  std::vector<std::pair<int, int>> dark;
  for (int y = 0; y < d.height; ++y)
    for (int x = 0; x < limit_x; ++x) {
      const auto [r, g, b] = d.at(x, y);
      if (r == full.r && g == full.g && b == full.b) {
        dark.emplace_back(x, y);
        x_min = std::min(x_min, x), x_max = std::max(x_max, x), y_min = std::min(y_min, y), y_max = std::max(y_max, y);
      }
    }
  REQUIRE(dark.size() > 7 * 500);
  int off_diagonal = 0;
  for (auto [x, y] : dark) {
    const double u = static_cast<double>(x - x_min) / (x_max - x_min), v = static_cast<double>(y - y_min) / (y_max - y_min);
    off_diagonal += std::abs(u - v) > 1.0 / 7 + 0.02;
  }
  CHECK(off_diagonal == 0);
  CHECK(x_max - x_min > 300);  // the diagonal spans the matrix
}

TEST_CASE("heatmap: shape mismatches are errors") {
  const auto font = minidnn::test::font_or_skip();
  if (!font) return;
  Heatmap map;
  map.row_labels = {"a", "b"};
  map.column_labels = {"a", "b"};
  map.values = {{1, 2}, {3}};
  CHECK_THROWS_WITH(heatmap(map, *font), Catch::Contains("rows of different lengths"));
  map.values = {{1, 2}};
  CHECK_THROWS_WITH(heatmap(map, *font), Catch::Contains("1 rows but 2 row labels"));
}
