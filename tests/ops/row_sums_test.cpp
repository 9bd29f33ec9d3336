#include <catch2/catch.hpp>

#include "minidnn/core/random.hpp"
#include "minidnn/ops/row_sums.hpp"

#include <cmath>
#include <cstddef>
#include <limits>
#include <vector>

using namespace minidnn;

namespace {

// Around the 16 lanes of sum_of: empty, a tail only, exactly one block, a block and a tail,
// two blocks and a tail, many blocks.
const std::size_t kLengths[] = {0, 1, 15, 16, 17, 33, 1000};

// A value that would dominate any sum it slipped into: placed right after the n values, so a
// read past the end shows.
constexpr double kPoison = 1e30;

template <typename T>
std::vector<T> random_values(Rng& rng, std::size_t n) {
  std::vector<T> v(n + 1);
  for (std::size_t i = 0; i < n; ++i) v[i] = T(rng.uniform(-1, 1));
  v[n] = T(kPoison);
  return v;
}

// The plain left-to-right loop in double.
template <typename T>
double plain_sum(const T* values, std::size_t n) {
  double s = 0;
  for (std::size_t i = 0; i < n; ++i) s += double(values[i]);
  return s;
}

template <typename T>
double abs_sum(const T* values, std::size_t n) {
  double s = 0;
  for (std::size_t i = 0; i < n; ++i) s += std::abs(double(values[i]));
  return s;
}

// Any order of summing n values is within (n - 1) * u * sum |v| of the exact sum (u the unit
// roundoff of T), so that bound holds for sum_of whatever its order.
template <typename T>
double order_bound(const T* values, std::size_t n) {
  const double u = std::numeric_limits<T>::epsilon() / 2;
  return double(n) * u * abs_sum(values, n);
}

}  // namespace

TEST_CASE("sum_of counts every value exactly once", "[row_sums]") {
  // Distinct integers: every partial sum is exact in double and (below 2^24) in float, so any
  // order gives the exact total; a value dropped or counted twice changes it.
  for (const std::size_t n : kLengths) {
    INFO("n = " << n);
    std::vector<double> d(n + 1);
    std::vector<float> f(n + 1);
    for (std::size_t i = 0; i < n; ++i) d[i] = f[i] = float(i + 1);
    d[n] = f[n] = float(kPoison);
    const double exact = double(n) * double(n + 1) / 2;
    CHECK(sum_of(d.data(), n) == exact);
    CHECK(double(sum_of(f.data(), n)) == exact);
  }
}

TEST_CASE("sum_of in double matches a plain loop", "[row_sums]") {
  Rng rng(1);
  for (const std::size_t n : kLengths) {
    INFO("n = " << n);
    const std::vector<double> v = random_values<double>(rng, n);
    const double expected = plain_sum(v.data(), n);
    // Both are within the order bound of the exact sum, hence of each other within twice it.
    CHECK(std::abs(sum_of(v.data(), n) - expected) <= 2 * order_bound(v.data(), n));
    if (n <= 1) CHECK(sum_of(v.data(), n) == expected);  // nothing to reorder
  }
}

TEST_CASE("sum_of in float is within rounding of a double accumulation", "[row_sums]") {
  Rng rng(2);
  for (const std::size_t n : kLengths) {
    INFO("n = " << n);
    const std::vector<float> v = random_values<float>(rng, n);
    const double expected = plain_sum(v.data(), n);  // double: essentially exact for these n
    const double tolerance = order_bound(v.data(), n) + 1e-12;
    CHECK(std::abs(double(sum_of(v.data(), n)) - expected) <= tolerance);
  }
}

TEST_CASE("add_row_sums adds each row sum onto the existing sums with rows a stride apart", "[row_sums]") {
  Rng rng(3);
  const int rows = 3;
  for (const std::size_t n : {std::size_t(0), std::size_t(17), std::size_t(40)}) {
    INFO("n = " << n);
    const std::size_t stride = n + 5;  // larger than n: the gaps between rows are not summed
    std::vector<double> data(rows * stride, kPoison);
    for (int r = 0; r < rows; ++r)
      for (std::size_t i = 0; i < n; ++i) data[r * stride + i] = rng.uniform(-1, 1);

    // Existing sums to add onto, and one cell past the last row that must stay as it is.
    std::vector<double> sums = {0.5, -2.0, 3.25, kPoison};
    const std::vector<double> before = sums;
    add_row_sums(data.data(), rows, n, stride, sums.data());

    for (int r = 0; r < rows; ++r) {
      const double* row = data.data() + r * stride;
      CHECK(std::abs(sums[r] - (before[r] + plain_sum(row, n))) <= 2 * order_bound(row, n));
    }
    CHECK(sums[rows] == kPoison);
  }

  // No rows: nothing changes.
  std::vector<double> sums = {1.0};
  const double data[] = {2.0};
  add_row_sums(data, 0, 1, 1, sums.data());
  CHECK(sums[0] == 1.0);
}
