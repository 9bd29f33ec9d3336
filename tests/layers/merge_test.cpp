#include <catch2/catch.hpp>

#include "minidnn/layers/merge.hpp"

using namespace minidnn;

namespace {
Tensor<double> ramp(int batch, const Shape& shape, double start) {
  Tensor<double> t(batch, shape);
  for (std::size_t i = 0; i < t.size(); ++i) t[i] = start + double(i);
  return t;
}
}  // namespace

TEST_CASE("Add sums its inputs and passes the gradient to each", "[merge]") {
  Add<double> add;
  CHECK(add.build({Shape{2, 3, 3}, Shape{2, 3, 3}, Shape{2, 3, 3}}) == Shape{2, 3, 3});
  const auto a = ramp(2, Shape{2, 3, 3}, 0.0), b = ramp(2, Shape{2, 3, 3}, 100.0), c = ramp(2, Shape{2, 3, 3}, -7.5);
  Tensor<double> y;
  add.forward({&a, &b, &c}, y);
  for (std::size_t i = 0; i < y.size(); ++i) REQUIRE(y[i] == a[i] + b[i] + c[i]);
  Tensor<double> dy = ramp(2, Shape{2, 3, 3}, 1.0), da, dc;
  add.backward({&a, &b, &c}, dy, {&da, nullptr, &dc});
  for (std::size_t i = 0; i < dy.size(); ++i) REQUIRE((da[i] == dy[i] && dc[i] == dy[i]));
  Add<double> bad;
  CHECK_THROWS_WITH(bad.build({Shape{2, 3, 3}, Shape{3, 3, 3}}), Catch::Contains("one shape"));
  CHECK_THROWS_WITH(bad.build({Shape{2, 3, 3}}), Catch::Contains("at least two inputs"));
}

TEST_CASE("Concatenate joins channels per sample and splits the gradient back", "[merge]") {
  Concatenate<double> cat;
  CHECK(cat.build({Shape{2, 2, 3}, Shape{1, 2, 3}}) == Shape{3, 2, 3});
  const auto a = ramp(2, Shape{2, 2, 3}, 0.0), b = ramp(2, Shape{1, 2, 3}, 1000.0);
  Tensor<double> y;
  cat.forward({&a, &b}, y);
  // Output (n, c, i) is a's channel c for c < 2, else b's channel c - 2.
  for (int n = 0; n < 2; ++n)
    for (int c = 0; c < 3; ++c)
      for (int i = 0; i < 6; ++i) {
        const double want = c < 2 ? a.sample(n)[c * 6 + i] : b.sample(n)[(c - 2) * 6 + i];
        REQUIRE(y.sample(n)[c * 6 + i] == want);
      }
  Tensor<double> dy = ramp(2, Shape{3, 2, 3}, 0.5), da, db;
  cat.backward({&a, &b}, dy, {&da, &db});
  for (int n = 0; n < 2; ++n)
    for (int i = 0; i < 12; ++i) REQUIRE(da.sample(n)[i] == dy.sample(n)[i]);
  for (int n = 0; n < 2; ++n)
    for (int i = 0; i < 6; ++i) REQUIRE(db.sample(n)[i] == dy.sample(n)[12 + i]);
  CHECK(Concatenate<double>().build({Shape{4}, Shape{2}}) == Shape{6});
  CHECK_THROWS_WITH(Concatenate<double>().build({Shape{2, 2, 3}, Shape{2, 3, 3}}), Catch::Contains("except in channels"));
  const auto wrong = ramp(2, Shape{2, 2, 2}, 0.0);
  CHECK_THROWS_WITH(cat.forward({&a, &wrong}, y), Catch::Contains("input 1 has shape"));
}
