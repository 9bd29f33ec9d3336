#include <catch2/catch.hpp>

#include <cmath>

#include "fixtures/torch_training_fixtures.hpp"
#include "minidnn/optim/one_cycle.hpp"

using namespace minidnn;

TEST_CASE("OneCycle gives torch's OneCycleLR rate at every step", "[one_cycle]") {
  const OneCycle schedule{0.1, 25, 0.3, 25.0, 1e4};
  for (int s = 0; s < 25; ++s) REQUIRE(schedule(s) == Approx(fixtures::one_cycle_rates[s]).epsilon(1e-12));
  CHECK(schedule(25) == schedule(24));  // past the end: the final rate
  CHECK(schedule(400) == Approx(0.1 / 25 / 1e4));
}

TEST_CASE("OneCycle warms up to its peak, then falls to initial / final_div_factor", "[one_cycle]") {
  // 11 steps, warm-up ends at pct_start * 11 - 1 = 4.5 (between steps 4 and 5).
  const OneCycle schedule{1.0, 11, 5.5 / 11, 10.0, 100.0};
  CHECK(schedule(0) == Approx(0.1));                              // max / div_factor
  CHECK(schedule(10) == Approx(0.001));                           // initial / final_div_factor
  const double pi = std::acos(-1.0);
  CHECK(schedule(3) == Approx(1.0 + (0.1 - 1.0) / 2 * (std::cos(pi * 3 / 4.5) + 1)));
  CHECK(schedule(7) == Approx(0.001 + (1.0 - 0.001) / 2 * (std::cos(pi * 2.5 / 5.5) + 1)));
  for (int s = 0; s < 4; ++s) CHECK(schedule(s + 1) > schedule(s));
  for (int s = 5; s < 10; ++s) CHECK(schedule(s + 1) < schedule(s));
  CHECK_THROWS_WITH((OneCycle{1.0, 1}(0)), Catch::Contains("total_steps >= 2"));
}
