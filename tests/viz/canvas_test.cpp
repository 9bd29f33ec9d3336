#include "minidnn/viz/canvas.hpp"

#include <catch2/catch.hpp>

#include <cmath>

using namespace minidnn::viz;

namespace {
bool is(Rgb a, Rgb b) { return a.r == b.r && a.g == b.g && a.b == b.b; }
const Rgb kWhite{255, 255, 255}, kRed{255, 0, 0};
}  // namespace

TEST_CASE("Canvas starts filled with its background; bad sizes are errors") {
  Canvas canvas(5, 4, {10, 20, 30});
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 5; ++x) CHECK(is(canvas.pixel(x, y), {10, 20, 30}));
  CHECK_THROWS_WITH(Canvas(0, 10), Catch::Contains("0x10"));
}

TEST_CASE("fill_rect fills exactly [x0, x1) x [y0, y1), clipped to the image") {
  Canvas canvas(10, 8);
  fill_rect(canvas.view(), -3, 2, 4, 5, kRed);
  fill_rect(canvas.view(), 8, 6, 20, 20, kRed);
  for (int y = 0; y < 8; ++y)
    for (int x = 0; x < 10; ++x) {
      const bool inside = (x < 4 && y >= 2 && y < 5) || (x >= 8 && y >= 6);
      CHECK(is(canvas.pixel(x, y), inside ? kRed : kWhite));
    }
}

TEST_CASE("fill_rect with alpha blends with what is there") {
  Canvas canvas(2, 1, {0, 0, 0});
  fill_rect(canvas.view(), 0, 0, 1, 1, {200, 100, 50}, 0.5);
  CHECK(is(canvas.pixel(0, 0), {100, 50, 25}));
  CHECK(is(canvas.pixel(1, 0), {0, 0, 0}));
}

TEST_CASE("draw_rect draws only the border, inwards") {
  Canvas canvas(9, 9);
  draw_rect(canvas.view(), 1, 1, 8, 8, kRed, 2);
  for (int y = 0; y < 9; ++y)
    for (int x = 0; x < 9; ++x) {
      const bool in_outer = x >= 1 && x < 8 && y >= 1 && y < 8;
      const bool in_inner = x >= 3 && x < 6 && y >= 3 && y < 6;
      CHECK(is(canvas.pixel(x, y), in_outer && !in_inner ? kRed : kWhite));
    }
}

TEST_CASE("draw_line: a thick horizontal line covers its rows fully, a diagonal is anti-aliased") {
  Canvas canvas(40, 40);
  // Centre line y = 10 (pixel rows 9 and 10 are each fully inside a 2-pixel-thick line).
  draw_line(canvas.view(), {5, 10}, {35, 10}, kRed, 2.0);
  for (int x = 6; x < 34; ++x) {
    CHECK(is(canvas.pixel(x, 9), kRed));
    CHECK(is(canvas.pixel(x, 10), kRed));
    CHECK(is(canvas.pixel(x, 7), kWhite));
    CHECK(is(canvas.pixel(x, 12), kWhite));
  }
  draw_line(canvas.view(), {5, 20}, {35, 35}, kRed, 1.5);
  int partial = 0, full = 0;
  for (int y = 18; y < 38; ++y)
    for (int x = 3; x < 38; ++x) {
      const Rgb p = canvas.pixel(x, y);
      partial += p.g > 0 && p.g < 255;
      full += is(p, kRed);
    }
  CHECK(partial > 20);  // soft edges
  CHECK(full > 10);     // and a solid core
  CHECK(is(canvas.pixel(35, 20), kWhite));
}

TEST_CASE("fill_disc covers its centre and nothing beyond its radius") {
  Canvas canvas(21, 21);
  fill_disc(canvas.view(), {10.5, 10.5}, 5, kRed);
  CHECK(is(canvas.pixel(10, 10), kRed));
  CHECK(is(canvas.pixel(13, 13), kRed));  // ~3.5 px from the centre
  for (int y = 0; y < 21; ++y)
    for (int x = 0; x < 21; ++x)
      if (std::hypot(x + 0.5 - 10.5, y + 0.5 - 10.5) > 6.0) CHECK(is(canvas.pixel(x, y), kWhite));
}
