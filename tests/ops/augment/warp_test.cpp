#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "minidnn/core/random.hpp"
#include "minidnn/ops/augment/warp.hpp"

using namespace minidnn;

namespace {
std::vector<float> random_plane(int h, int w, std::uint64_t seed) {
  Rng rng(seed);
  std::vector<float> p(static_cast<std::size_t>(h) * w);
  for (float& v : p) v = static_cast<float>(rng.uniform());
  return p;
}
}  // namespace

TEST_CASE("warp_plane: rotation 0 at scale 1 is the identity", "[augment][warp]") {
  const auto plane = random_plane(7, 9, 1);
  std::vector<float> out(plane.size());
  warp_plane(plane.data(), 7, 9, Warp{0.0, 1.0}, out.data());
  for (std::size_t i = 0; i < plane.size(); ++i) REQUIRE(out[i] == plane[i]);
}

TEST_CASE("warp_plane: 90 degrees of a square image is the direct loop out[y][x] = in[x][n-1-y]", "[augment][warp]") {
  for (int n : {6, 7}) {  // even and odd sides: the centre between pixels and on one
    const auto plane = random_plane(n, n, 2);
    std::vector<float> out(plane.size());
    warp_plane(plane.data(), n, n, Warp{90.0, 1.0}, out.data());
    // Counter-clockwise on screen: the top-right corner comes to the top-left.
    for (int y = 0; y < n; ++y)
      for (int x = 0; x < n; ++x) REQUIRE(out[y * n + x] == Approx(plane[x * n + (n - 1 - y)]).margin(1e-6));
  }
}

TEST_CASE("warp_plane: -90 then +90 degrees give back the image; 180 degrees reverses both axes", "[augment][warp]") {
  const int n = 8;
  const auto plane = random_plane(n, n, 3);
  std::vector<float> turned(plane.size()), back(plane.size()), half(plane.size());
  warp_plane(plane.data(), n, n, Warp{-90.0, 1.0}, turned.data());
  warp_plane(turned.data(), n, n, Warp{90.0, 1.0}, back.data());
  warp_plane(plane.data(), n, n, Warp{180.0, 1.0}, half.data());
  for (int y = 0; y < n; ++y)
    for (int x = 0; x < n; ++x) {
      REQUIRE(back[y * n + x] == Approx(plane[y * n + x]).margin(1e-6));
      REQUIRE(half[y * n + x] == Approx(plane[(n - 1 - y) * n + (n - 1 - x)]).margin(1e-6));
    }
}

TEST_CASE("warp_plane: scale 2 about the centre samples halfway positions bilinearly", "[augment][warp]") {
  // Source (y, x) of output (y, x) is centre + (p - centre) / 2; on a ramp f = 3y + x the
  // bilinear value is exact, so the output is the ramp at the source position.
  const int h = 5, w = 7;
  std::vector<float> ramp(h * w), out(h * w);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) ramp[y * w + x] = float(3 * y + x);
  warp_plane(ramp.data(), h, w, Warp{0.0, 2.0}, out.data());
  const double cy = 2.0, cx = 3.0;
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      REQUIRE(out[y * w + x] == Approx(3 * (cy + (y - cy) / 2) + (cx + (x - cx) / 2)).margin(1e-5));
}

TEST_CASE("warp_plane: shrinking repeats the edge pixels outside the image (no black border)", "[augment][warp]") {
  const int n = 9;
  std::vector<float> plane(n * n, 0.5f), out(n * n);
  warp_plane(plane.data(), n, n, Warp{17.0, 0.7}, out.data());
  for (float v : out) REQUIRE(v == Approx(0.5f));
}
