#include "minidnn/viz/png.hpp"

#include <catch2/catch.hpp>

#include <filesystem>

#include "viz/chart_test_support.hpp"

using namespace minidnn::viz;

TEST_CASE("save_png writes a PNG that decodes to the same pixels, with no temporary left") {
  Canvas canvas(7, 5);
  for (int y = 0; y < 5; ++y)
    for (int x = 0; x < 7; ++x)
      fill_rect(canvas.view(), x, y, x + 1, y + 1,
                {static_cast<std::uint8_t>(x * 30), static_cast<std::uint8_t>(y * 50), static_cast<std::uint8_t>(x * y)});
  const auto decoded = minidnn::test::save_and_decode(canvas, "png_roundtrip");
  REQUIRE(decoded.width == 7);
  REQUIRE(decoded.height == 5);
  CHECK(decoded.rgb == canvas.pixels());
  const auto dir = minidnn::test::scratch_dir("viz_png_roundtrip_tmp");
  save_png((dir / "a.png").string(), canvas);
  CHECK(std::filesystem::exists(dir / "a.png"));
  CHECK_FALSE(std::filesystem::exists(dir / "a.png.tmp"));
}

TEST_CASE("save_png writes a view with a row stride (part of a larger buffer)") {
  Canvas canvas(6, 6);
  fill_rect(canvas.view(), 2, 2, 4, 4, {0, 0, 255});
  RgbView inner = canvas.view();
  inner.pixels = inner.at(2, 2);
  inner.width = inner.height = 2;
  const auto dir = minidnn::test::scratch_dir("viz_png_stride");
  save_png((dir / "inner.png").string(), inner);
  int w, h, c;
  unsigned char* p = stbi_load((dir / "inner.png").string().c_str(), &w, &h, &c, 3);
  REQUIRE(p);
  CHECK(w == 2);
  CHECK(h == 2);
  for (int i = 0; i < 4; ++i) CHECK((p[3 * i] == 0 && p[3 * i + 1] == 0 && p[3 * i + 2] == 255));
  stbi_image_free(p);
}

TEST_CASE("save_png into a missing folder is an error naming the path") {
  Canvas canvas(2, 2);
  CHECK_THROWS_WITH(save_png("/nonexistent-folder/x.png", canvas), Catch::Contains("/nonexistent-folder/x.png"));
}
