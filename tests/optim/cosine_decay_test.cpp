#include <catch2/catch.hpp>

#include "minidnn/optim/cosine_decay.hpp"

using namespace minidnn;

// Reference values: base * (1 + cos(pi e / E)) / 2 worked out by hand at the angles whose cosine
// is exact (0, pi/3, pi/2, 2pi/3), not with the code under test.
TEST_CASE("CosineDecay falls from the base rate along half a cosine", "[cosine_decay]") {
  const CosineDecay schedule{0.3, 6};
  CHECK(schedule(0) == Approx(0.3));
  CHECK(schedule(2) == Approx(0.3 * 0.75));  // cos(pi/3) = 1/2
  CHECK(schedule(3) == Approx(0.15));        // cos(pi/2) = 0: half way, half the rate
  CHECK(schedule(4) == Approx(0.3 * 0.25));  // cos(2pi/3) = -1/2
  CHECK(schedule(6) == 0.0);
  CHECK(schedule(9) == 0.0);
  for (int e = 0; e < 6; ++e) {
    CHECK(schedule(e) > 0.0);  // every epoch of the run still learns
    CHECK(schedule(e + 1) < schedule(e));
  }
  CHECK_THROWS_WITH(CosineDecay({0.0, 6})(1), Catch::Matchers::Contains("positive base rate"));
  CHECK_THROWS_WITH(CosineDecay({0.1, 0})(1), Catch::Matchers::Contains("epochs >= 1"));
  CHECK_THROWS_WITH(schedule(-1), Catch::Matchers::Contains("epoch >= 0"));
}
