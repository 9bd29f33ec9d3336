#include <catch2/catch.hpp>

#include "minidnn/core/random.hpp"
#include "minidnn/ops/conv/im2col.hpp"

#include <vector>

using namespace minidnn;

namespace {
ConvGeometry geometry(int c, int h, int w, int kh, int kw, int sh, int sw, int ph, int pw, int oh, int ow) {
  return ConvGeometry{c, h, w, kh, kw, sh, sw, ph, pw, oh, ow};
}
}  // namespace

TEST_CASE("im2col and col2im are adjoint: <im2col(x), y> == <x, col2im(y)>", "[im2col]") {
  const ConvGeometry cases[] = {
      geometry(2, 7, 6, 3, 3, 1, 1, 0, 0, 5, 4),
      geometry(3, 9, 8, 5, 5, 2, 2, 0, 0, 3, 2),    // windows that do not cover the input
      geometry(2, 6, 5, 3, 3, 1, 1, 1, 1, 6, 5),    // same padding
      geometry(1, 7, 8, 4, 2, 2, 2, 1, 0, 4, 4),    // even kernel, asymmetric padding
      geometry(2, 5, 9, 2, 3, 1, 3, 0, 1, 4, 3),    // non-square kernel and stride
  };
  Rng rng(11);
  for (const auto& g : cases) {
    std::vector<double> x(g.channels * g.height * g.width), y(g.col_rows() * g.col_cols());
    for (auto& v : x) v = rng.uniform(-1, 1);
    for (auto& v : y) v = rng.uniform(-1, 1);
    std::vector<double> col(y.size()), back(x.size(), 0.0);
    im2col(g, x.data(), col.data());
    col2im_add(g, y.data(), back.data());
    double lhs = 0, rhs = 0;
    for (std::size_t i = 0; i < y.size(); ++i) lhs += col[i] * y[i];
    for (std::size_t i = 0; i < x.size(); ++i) rhs += x[i] * back[i];
    CHECK(lhs == Approx(rhs).epsilon(1e-12));
  }
}

TEST_CASE("im2col places each pixel by the definition, zeros in the padding", "[im2col]") {
  const ConvGeometry g = geometry(2, 5, 4, 3, 2, 2, 1, 1, 1, 3, 5);
  std::vector<float> x(2 * 5 * 4);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = float(i + 1);
  std::vector<float> col(g.col_rows() * g.col_cols(), -1.0f);
  im2col(g, x.data(), col.data());
  for (int c = 0; c < 2; ++c)
    for (int i = 0; i < 3; ++i)
      for (int j = 0; j < 2; ++j)
        for (int oy = 0; oy < 3; ++oy)
          for (int ox = 0; ox < 5; ++ox) {
            const int iy = oy * 2 - 1 + i, ix = ox - 1 + j;
            const float expected =
                (iy < 0 || iy >= 5 || ix < 0 || ix >= 4) ? 0.0f : x[(c * 5 + iy) * 4 + ix];
            REQUIRE(col[((c * 3 + i) * 2 + j) * 15 + oy * 5 + ox] == expected);
          }
}
