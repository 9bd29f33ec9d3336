#include "minidnn/viz/bar_chart.hpp"

#include <catch2/catch.hpp>

#include "viz/chart_test_support.hpp"

using namespace minidnn::viz;

namespace {

// Height in pixels of the run of `colour` in column x (the bar), scanning the whole column.
int bar_height(const minidnn::test::Decoded& d, int x, Rgb colour) {
  int best = 0, run = 0;
  for (int y = 0; y < d.height; ++y) {
    const auto [r, g, b] = d.at(x, y);
    run = (r == colour.r && g == colour.g && b == colour.b) ? run + 1 : 0;
    best = std::max(best, run);
  }
  return best;
}

}  // namespace

TEST_CASE("bar_chart: bars proportional to the values, highlight in its own colour, text present") {
  const auto font = minidnn::test::font_or_skip();
  if (!font) return;
  BarChart chart;
  chart.title = "Images per class";
  chart.x_label = "emotion";
  chart.y_label = "images";
  chart.categories = {"Angry", "Disgust", "Fear", "Happy", "Sad", "Surprise", "Neutral"};
  chart.values = {3995, 436, 4097, 7215, 4830, 3171, 4965};
  chart.value_format = "%.0f";
  chart.highlight = 3;
  chart.width = 700;
  chart.height = 420;
  Canvas canvas = bar_chart(chart, *font);
  const auto d = minidnn::test::save_and_decode(canvas, "bar_chart");
  REQUIRE(d.width == 700);
  REQUIRE(d.height == 420);
  CHECK(minidnn::test::distinct_colours(d) > 20);   // anti-aliased text, bars, grid
  CHECK(minidnn::test::dark_grey_pixels(d) > 500);  // title, labels, value labels

  // Find each bar's centre column: the middle of each run of bar colour along a row near the
  // bottom of the plot, where every bar is present.
  std::vector<int> centres;
  int y_probe = 0;  // two rows above the lowest bar pixel, where even the smallest bar is
  for (int y = 0; y < d.height; ++y)
    for (int x = 0; x < d.width; ++x) {
      const auto [r, g, b] = d.at(x, y);
      if (r == chart.color.r && g == chart.color.g && b == chart.color.b) y_probe = y - 2;
    }
  int run_start = -1;
  for (int x = 0; x <= d.width; ++x) {
    bool in_bar = false;
    if (x < d.width) {
      const auto [r, g, b] = d.at(x, y_probe);
      in_bar = (r == chart.color.r && g == chart.color.g && b == chart.color.b) ||
               (r == chart.highlight_color.r && g == chart.highlight_color.g && b == chart.highlight_color.b);
    }
    if (in_bar && run_start < 0) run_start = x;
    if (!in_bar && run_start >= 0) centres.push_back((run_start + x) / 2), run_start = -1;
  }
  REQUIRE(centres.size() == 7);
  const int happy = bar_height(d, centres[3], chart.highlight_color);
  REQUIRE(happy > 150);
  for (int i = 0; i < 7; ++i) {
    const int h = bar_height(d, centres[i], i == 3 ? chart.highlight_color : chart.color);
    CHECK(h == Approx(happy * chart.values[i] / 7215.0).margin(2));
  }
}

TEST_CASE("bar_chart: probabilities on a fixed 0-1 axis; bad input is an error") {
  const auto font = minidnn::test::font_or_skip();
  if (!font) return;
  BarChart chart;
  chart.categories = {"a", "b"};
  chart.values = {0.25, 0.75};
  chart.y_max = 1;
  Canvas canvas = bar_chart(chart, *font);
  CHECK(canvas.width() == 800);
  chart.values = {0.5};
  CHECK_THROWS_WITH(bar_chart(chart, *font), Catch::Contains("2 categories but 1 values"));
  chart.values = {0.5, -1};
  CHECK_THROWS_WITH(bar_chart(chart, *font), Catch::Contains(">= 0"));
}
