#include <catch2/catch.hpp>

#include "minidnn/optim/step_decay.hpp"

using namespace minidnn;

TEST_CASE("StepDecay multiplies the rate by its factor every N epochs", "[step_decay]") {
  const StepDecay schedule{0.2, 0.5, 3};
  const double expected[] = {0.2, 0.2, 0.2, 0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025};  // by hand
  for (int e = 0; e < 10; ++e) CHECK(schedule(e) == Approx(expected[e]).epsilon(1e-15));
  CHECK_THROWS_WITH((StepDecay{0.1, 1.5, 3}(0)), Catch::Contains("factor in (0, 1]"));
  CHECK_THROWS_WITH((StepDecay{0.1, 0.5, 0}(0)), Catch::Contains("every >= 1"));
}
