#include "minidnn/viz/font.hpp"

#include <catch2/catch.hpp>

#include "viz/chart_test_support.hpp"

using namespace minidnn::viz;

TEST_CASE("Font: a missing font file is an error naming the file and the package") {
  CHECK_THROWS_WITH(Font("/no/such/font.ttf"), Catch::Contains("/no/such/font.ttf") && Catch::Contains("fonts-dejavu-core"));
  const auto dir = minidnn::test::scratch_dir("viz_font_bad");
  std::ofstream(dir / "bad.ttf") << "not a font";
  CHECK_THROWS_WITH(Font((dir / "bad.ttf").string()), Catch::Contains("bad.ttf") && Catch::Contains("TrueType"));
}

TEST_CASE("draw_text puts ink only inside the box it returns, in the given colour") {
  const auto font = minidnn::test::font_or_skip();
  if (!font) return;
  Canvas canvas(200, 60);
  const auto box = draw_text(canvas.view(), *font, "Happy 0.91", 20, 10, TextStyle{20, {200, 0, 0}});
  CHECK(box[0] == 20);
  CHECK(box[1] == 10);
  CHECK(box[2] - box[0] == font->render("Happy 0.91", 20).width);
  int inked = 0, solid = 0;
  for (int y = 0; y < 60; ++y)
    for (int x = 0; x < 200; ++x) {
      const Rgb p = canvas.pixel(x, y);
      const bool ink = p.g < 255;
      if (ink) {
        ++inked;
        CHECK((x >= box[0] && x < box[2] && y >= box[1] && y < box[3]));
        CHECK(p.r >= 200);  // red over white: only g and b drop
      }
      solid += p.r == 200 && p.g == 0;
    }
  CHECK(inked > 150);
  CHECK(solid > 30);  // glyph cores are fully covered
}

TEST_CASE("text sizes: wider for longer text and larger size; rotated text swaps width and height") {
  const auto font = minidnn::test::font_or_skip();
  if (!font) return;
  CHECK(font->text_width("Surprise", 14) > font->text_width("Sad", 14));
  CHECK(font->text_width("Sad", 28) > 1.8 * font->text_width("Sad", 14));
  Canvas canvas(100, 200);
  TextStyle style{16, {0, 0, 0}, Align::Centre, Align::Centre, true};
  const auto box = draw_text(canvas.view(), *font, "accuracy", 50, 100, style);
  CHECK(box[3] - box[1] > 2 * (box[2] - box[0]));  // tall and narrow
  CHECK(std::abs((box[0] + box[2]) / 2 - 50) <= 1);
  CHECK(std::abs((box[1] + box[3]) / 2 - 100) <= 1);
}

TEST_CASE("draw_text clips at the image border and survives malformed UTF-8") {
  const auto font = minidnn::test::font_or_skip();
  if (!font) return;
  Canvas canvas(30, 10);
  draw_text(canvas.view(), *font, "a long label \xff\xfe cut off", -5, -3, TextStyle{14});
  int inked = 0;
  for (int y = 0; y < 10; ++y)
    for (int x = 0; x < 30; ++x) inked += canvas.pixel(x, y).r < 255;
  CHECK(inked > 0);
}
