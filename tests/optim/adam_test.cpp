#include <catch2/catch.hpp>

#include <cmath>

#include "minidnn/optim/adam.hpp"

using namespace minidnn;

TEST_CASE("Adam's first step moves each weight by about lr against its gradient's sign", "[adam]") {
  // With m = (1-b1) g and v = (1-b2) g^2, bias correction makes the first step
  // lr * g / (|g| + eps / sqrt(1 - b2)) ~= lr * sign(g).
  Parameter<double> p("kernel", {3});
  p.value = {1.0, -2.0, 0.5};
  p.grad = {0.3, -4.0, 1e-3};
  Adam<double> adam(0.01);
  adam.step({&p});
  const double eps_hat = 1e-7 / std::sqrt(1 - 0.999);
  CHECK(p.value[0] == Approx(1.0 - 0.01 * 0.3 / (0.3 + eps_hat)).epsilon(1e-12));
  CHECK(p.value[1] == Approx(-2.0 + 0.01 * 4.0 / (4.0 + eps_hat)).epsilon(1e-12));
  CHECK(p.value[2] == Approx(0.5 - 0.01 * 1e-3 / (1e-3 + eps_hat)).epsilon(1e-12));
  CHECK(adam.iterations() == 1);
}

TEST_CASE("Adam on f(w) = (w - 3)^2 for 3 steps, against hand-expanded moments", "[adam]") {
  Parameter<double> p("w", {1});
  p.value = {0.0};
  Adam<double> adam(0.1, 0.9, 0.999, 1e-7);
  // Independent expansion of the moment recurrences for three steps.
  double w = 0.0, m = 0.0, v = 0.0;
  for (int t = 1; t <= 3; ++t) {
    const double g = 2 * (w - 3);
    m = 0.9 * m + 0.1 * g;
    v = 0.999 * v + 0.001 * g * g;
    const double m_hat = m / (1 - std::pow(0.9, t));
    const double v_hat = v / (1 - std::pow(0.999, t));
    // Keras applies epsilon to the un-corrected v: eps_hat = eps * sqrt(1 - b2^t).
    w -= 0.1 * m_hat / (std::sqrt(v_hat) + 1e-7 / std::sqrt(1 - std::pow(0.999, t)));
    p.grad = {2 * (p.value[0] - 3)};
    adam.step({&p});
    REQUIRE(p.value[0] == Approx(w).epsilon(1e-12));
  }
  CHECK(p.optimizer_slots.size() == 2);
  CHECK(p.optimizer_slots[0][0] == Approx(m));
  CHECK(p.optimizer_slots[1][0] == Approx(v));
}

TEST_CASE("Adam uses Keras's defaults", "[adam]") {
  Adam<float> adam;
  CHECK(adam.learning_rate() == Approx(1e-3));
  BinaryWriter out;
  adam.write_config(out);
  BinaryReader in(out.bytes().data(), out.bytes().size(), "config");
  CHECK(in.read<std::int64_t>("t") == 0);
  CHECK(in.read<double>("lr") == 1e-3);
  CHECK(in.read<double>("b1") == 0.9);
  CHECK(in.read<double>("b2") == 0.999);
  CHECK(in.read<double>("eps") == 1e-7);
}
