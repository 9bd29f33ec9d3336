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

#include <cstring>

#include "fixtures/torch_training_fixtures.hpp"

TEST_CASE("AdamW (decoupled weight decay) matches a direct loop and torch.optim.AdamW", "[adam]") {
  AdamW<double> adamw(0.01, /*weight_decay=*/0.1, 0.9, 0.999, /*epsilon=*/1e-12);
  CHECK(adamw.type() == "AdamW");
  Parameter<double> p("w", {6});
  std::memcpy(p.value.data(), fixtures::opt_w0, 6 * sizeof(double));
  std::vector<double> w(fixtures::opt_w0, fixtures::opt_w0 + 6), m(6, 0.0), v(6, 0.0);
  for (int t = 1; t <= 5; ++t) {
    const double* g = fixtures::opt_grads + 6 * (t - 1);
    for (int i = 0; i < 6; ++i) {  // PyTorch's formulation: decay first, then Adam with corrected moments
      w[i] *= 1 - 0.01 * 0.1;
      m[i] = 0.9 * m[i] + 0.1 * g[i];
      v[i] = 0.999 * v[i] + 0.001 * g[i] * g[i];
      const double m_hat = m[i] / (1 - std::pow(0.9, t)), v_hat = v[i] / (1 - std::pow(0.999, t));
      w[i] -= 0.01 * m_hat / (std::sqrt(v_hat) + 1e-12);
    }
    std::memcpy(p.grad.data(), g, 6 * sizeof(double));
    adamw.step({&p});
    for (int i = 0; i < 6; ++i) {
      REQUIRE(p.value[i] == Approx(w[i]).epsilon(1e-10));
      REQUIRE(p.value[i] == Approx(fixtures::adamw[6 * (t - 1) + i]).epsilon(1e-10));
    }
  }
}

TEST_CASE("AdamW's decay shrinks a weight with zero gradient by lr * decay per step", "[adam]") {
  AdamW<double> adamw(0.1, 0.5);
  Parameter<double> p("w", {1});
  p.value = {2.0};
  p.grad = {0.0};
  adamw.step({&p});
  CHECK(p.value[0] == Approx(2.0 * 0.95).epsilon(1e-12));
}

TEST_CASE("Adam's clip norm and AdamW come back from a checkpoint; plain Adam keeps its layout", "[adam]") {
  CHECK(Adam<float>().type() == "Adam");
  Adam<float> clipped;
  clipped.set_clip_norm(1.0);
  CHECK(clipped.type() == "Adam/2");
  AdamW<double> adamw(0.01, 0.2);
  adamw.set_clip_norm(3.0);
  BinaryWriter out;
  adamw.write_config(out);
  auto restored = Adam<double>::for_stored_type("AdamW");
  REQUIRE(restored);
  BinaryReader in(out.bytes().data(), out.bytes().size(), "config");
  restored->read_config(in);
  CHECK(in.remaining() == 0);
  CHECK(restored->type() == "AdamW");
  CHECK(restored->clip_norm() == 3.0);
  CHECK(dynamic_cast<Adam<double>&>(*restored).weight_decay() == 0.2);
  CHECK(Adam<double>::for_stored_type("SGD") == nullptr);
  CHECK_THROWS_WITH(AdamW<float>(1e-3, -0.1), Catch::Contains("weight decay"));
}
