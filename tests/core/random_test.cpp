#include <catch2/catch.hpp>

#include "minidnn/core/random.hpp"

using namespace minidnn;

TEST_CASE("Rng: the same seed gives the same sequence, another seed another", "[rng]") {
  Rng a(42), b(42), c(43);
  for (int i = 0; i < 100; ++i) {
    const auto x = a.next_u64();
    REQUIRE(x == b.next_u64());
    REQUIRE(x != c.next_u64());
  }
}

TEST_CASE("Rng: uniform() lies in [0, 1) with mean 1/2; below(n) covers [0, n)", "[rng]") {
  Rng rng(1);
  double sum = 0;
  for (int i = 0; i < 100000; ++i) {
    const double u = rng.uniform();
    REQUIRE(u >= 0.0);
    REQUIRE(u < 1.0);
    sum += u;
  }
  CHECK(sum / 100000 == Approx(0.5).margin(0.005));
  int counts[7] = {};
  for (int i = 0; i < 70000; ++i) ++counts[rng.below(7)];
  for (int c : counts) CHECK(std::abs(c - 10000) < 500);
}

TEST_CASE("Rng: state can be saved and restored", "[rng]") {
  Rng rng(5);
  rng.next_u64();
  std::uint64_t saved[4];
  for (int i = 0; i < 4; ++i) saved[i] = rng.state()[i];
  const auto next = rng.next_u64();
  Rng other(99);
  other.set_state(saved);
  CHECK(other.next_u64() == next);
}
