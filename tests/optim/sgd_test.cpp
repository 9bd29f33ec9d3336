#include <catch2/catch.hpp>

#include "minidnn/optim/sgd.hpp"

using namespace minidnn;

TEST_CASE("SGD without momentum steps against the gradient", "[sgd]") {
  Parameter<double> p("w", {2});
  p.value = {1.0, 2.0};
  p.grad = {0.5, -1.0};
  SGD<double> sgd(0.1);
  sgd.step({&p});
  CHECK(p.value[0] == Approx(0.95));
  CHECK(p.value[1] == Approx(2.1));
}

TEST_CASE("SGD with momentum accumulates velocity: v = mu v - lr g; w += v", "[sgd]") {
  Parameter<double> p("w", {1});
  p.value = {0.0};
  SGD<double> sgd(0.1, 0.9);
  p.grad = {1.0};
  sgd.step({&p});  // v = -0.1, w = -0.1
  CHECK(p.value[0] == Approx(-0.1));
  p.grad = {1.0};
  sgd.step({&p});  // v = -0.09 - 0.1 = -0.19, w = -0.29
  CHECK(p.value[0] == Approx(-0.29));
  p.grad = {-2.0};
  sgd.step({&p});  // v = -0.171 + 0.2 = 0.029, w = -0.261
  CHECK(p.value[0] == Approx(-0.261));
}
