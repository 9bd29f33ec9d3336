#include "minidnn/viz/line_chart.hpp"

#include <catch2/catch.hpp>

#include <cmath>

#include "viz/chart_test_support.hpp"

using namespace minidnn::viz;

namespace {

LinePanel panel(const std::string& title, double sign) {
  LinePanel p;
  p.title = title;
  p.y_label = title;
  Series train{"train", {}, palette(0)}, validation{"validation", {}, palette(1)};
  for (int e = 1; e <= 12; ++e) {
    train.values.push_back(1 + sign * (1 - std::exp(-e / 4.0)));
    validation.values.push_back(1.1 + sign * 0.7 * (1 - std::exp(-e / 4.0)));
  }
  p.series = {train, validation};
  return p;
}

}  // namespace

TEST_CASE("line_chart: two panels, every series drawn in its colour in its own panel, legend and text") {
  const auto font = minidnn::test::font_or_skip();
  if (!font) return;
  Canvas canvas = line_chart({panel("loss", -1), panel("accuracy", +1)}, *font, "Training curves", 900, 400);
  const auto d = minidnn::test::save_and_decode(canvas, "line_chart");
  REQUIRE(d.width == 900);
  REQUIRE(d.height == 400);
  CHECK(minidnn::test::distinct_colours(d) > 50);
  CHECK(minidnn::test::dark_grey_pixels(d) > 500);
  for (Rgb colour : {palette(0), palette(1)}) {
    std::size_t left = 0, right = 0;
    for (int y = 0; y < d.height; ++y)
      for (int x = 0; x < d.width; ++x) {
        const auto [r, g, b] = d.at(x, y);
        if (r == colour.r && g == colour.g && b == colour.b) (x < 450 ? left : right) += 1;
      }
    CHECK(left > 300);
    CHECK(right > 300);
  }
}

TEST_CASE("line_chart: the loss curve falls from left to right on the image") {
  const auto font = minidnn::test::font_or_skip();
  if (!font) return;
  LinePanel p = panel("loss", -1);
  p.series.resize(1);
  Canvas canvas = line_chart({p}, *font, "", 600, 400);
  const auto d = minidnn::test::save_and_decode(canvas, "line_chart_falling");
  // Mean row of the curve's pixels in the left and right thirds of the image (the legend sits
  // in the top right and is excluded by only looking below its band... it holds few pixels).
  double left_y = 0, right_y = 0;
  int left_n = 0, right_n = 0;
  for (int y = 0; y < d.height; ++y)
    for (int x = 0; x < d.width; ++x) {
      const auto [r, g, b] = d.at(x, y);
      if (!(r == palette(0).r && g == palette(0).g && b == palette(0).b)) continue;
      if (x < 200) left_y += y, ++left_n;
      if (x > 400) right_y += y, ++right_n;
    }
  REQUIRE(left_n > 50);
  REQUIRE(right_n > 50);
  CHECK(left_y / left_n + 50 < right_y / right_n);  // higher values are higher up (smaller y)
}

TEST_CASE("line_chart: empty input is an error") {
  const auto font = minidnn::test::font_or_skip();
  if (!font) return;
  CHECK_THROWS_WITH(line_chart({}, *font), Catch::Contains("no panels"));
  LinePanel empty;
  empty.title = "loss";
  CHECK_THROWS_WITH(line_chart({empty}, *font), Catch::Contains("'loss' has no values"));
}
