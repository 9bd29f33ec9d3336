#include "minidnn/viz/label.hpp"

#include <catch2/catch.hpp>

#include "viz/chart_test_support.hpp"

using namespace minidnn::viz;

TEST_CASE("draw_label sits above the given corner, filled, with white text inside") {
  const auto font = minidnn::test::font_or_skip();
  if (!font) return;
  // A caller's own RGB buffer, not a Canvas: 120x80 grey photo.
  std::vector<std::uint8_t> photo(120 * 80 * 3, 128);
  RgbView view(photo.data(), 120, 80);
  LabelStyle style;
  style.background = {0, 150, 0};
  const auto box = draw_label(view, *font, "Happy", 10, 50, style);
  CHECK(box[3] == 50);  // bottom edge on the face box's top
  CHECK(box[0] == 10);
  int green = 0, white = 0;
  for (int y = box[1]; y < box[3]; ++y)
    for (int x = box[0]; x < box[2]; ++x) {
      const std::uint8_t* p = view.at(x, y);
      green += p[0] == 0 && p[1] == 150 && p[2] == 0;
      white += p[0] > 200 && p[1] > 200 && p[2] > 200;  // glyph cores, nearly white
    }
  CHECK(green > (box[2] - box[0]) * (box[3] - box[1]) / 2);
  CHECK(white > 10);
  CHECK(view.at(box[0], box[3])[0] == 128);  // nothing below the tag
}

TEST_CASE("draw_label stays inside the image at the top and right edges") {
  const auto font = minidnn::test::font_or_skip();
  if (!font) return;
  Canvas canvas(100, 60);
  const auto box = draw_label(canvas.view(), *font, "Surprise 0.55", 90, 2);
  CHECK(box[1] == 2);  // no room above: goes below the corner
  CHECK(box[2] <= 100);
  CHECK(box[0] >= 0);
}
