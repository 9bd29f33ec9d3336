#include "minidnn/vision/integral_image.hpp"

#include <catch2/catch.hpp>

using namespace minidnn;
using namespace minidnn::vision;

namespace {
GreyImage random_image(int w, int h, std::uint64_t seed) {
  GreyImage img(w, h);
  std::uint64_t s = seed;
  for (auto& p : img.pixels) {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    p = static_cast<std::uint8_t>(s >> 56);
  }
  return img;
}
}  // namespace

TEST_CASE("integral and squared integral equal direct sums", "[vision][integral]") {
  GreyImage img = random_image(23, 17, 7);
  IntegralImage ii(img);
  for (int y = 0; y <= 17; y += 3)
    for (int x = 0; x <= 23; x += 2)
      for (int h = 0; y + h <= 17; h += 5)
        for (int w = 0; x + w <= 23; w += 4) {
          std::int64_t sum = 0, sq = 0;
          for (int yy = y; yy < y + h; ++yy)
            for (int xx = x; xx < x + w; ++xx) {
              sum += img.at(xx, yy);
              sq += img.at(xx, yy) * img.at(xx, yy);
            }
          REQUIRE(ii.box_sum(x, y, w, h) == sum);
          REQUIRE(ii.box_squared_sum(x, y, w, h) == static_cast<std::uint32_t>(sq));
        }
  // First row and column are zero.
  for (int x = 0; x <= 23; ++x) CHECK(ii.sum[x] == 0);
  for (int y = 0; y <= 17; ++y) CHECK(ii.sum[y * 24] == 0);
}

TEST_CASE("squared integral differences stay exact when the table wraps", "[vision][integral]") {
  // 300x300 of 255: the full squared sum (5.85e9) overflows 32 bits, window sums must not.
  GreyImage img(300, 300, 255);
  IntegralImage ii(img);
  CHECK(ii.box_squared_sum(250, 250, 50, 50) == 2500u * 255u * 255u);
  CHECK(ii.box_sum(0, 0, 300, 300) == 300LL * 300 * 255);
}

TEST_CASE("tilted integral equals its definition", "[vision][integral]") {
  // T(X, Y) = sum of I(x, y) over y < Y and |x - X + 1| <= Y - 1 - y.
  for (auto [w, h] : {std::pair{13, 9}, {5, 12}, {1, 1}, {2, 7}}) {
    GreyImage img = random_image(w, h, static_cast<std::uint64_t>(w * 100 + h));
    std::vector<std::int32_t> t = tilted_integral(img);
    for (int Y = 0; Y <= h; ++Y)
      for (int X = 0; X <= w; ++X) {
        std::int64_t direct = 0;
        for (int y = 0; y < Y; ++y)
          for (int x = 0; x < w; ++x)
            if (std::abs(x - X + 1) <= Y - 1 - y) direct += img.at(x, y);
        INFO(w << "x" << h << " at " << X << "," << Y);
        REQUIRE(t[static_cast<std::size_t>(Y) * (w + 1) + X] == direct);
      }
  }
}
