#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>

#include "fixtures/torch_training_fixtures.hpp"
#include "minidnn/optim/optimizer.hpp"
#include "minidnn/optim/sgd.hpp"

using namespace minidnn;

namespace {

void load_fixture_grads(Parameter<double>& a, Parameter<double>& b) {
  std::memcpy(a.grad.data(), fixtures::clip_a, 4 * sizeof(double));
  std::memcpy(b.grad.data(), fixtures::clip_b, 6 * sizeof(double));
}

}  // namespace

TEST_CASE("clip_by_global_norm matches a direct loop and torch's clip_grad_norm_", "[optimizer]") {
  for (double limit : {1.5, 1e3}) {
    Parameter<double> a("a", {4}), b("b", {2, 3});
    load_fixture_grads(a, b);
    double sum = 0;
    for (double g : fixtures::clip_a) sum += g * g;
    for (double g : fixtures::clip_b) sum += g * g;
    const double norm = std::sqrt(sum), scale = std::min(1.0, limit / (norm + 1e-6));
    CHECK(clip_by_global_norm<double>({&a, &b}, limit) == Approx(norm).epsilon(1e-14));
    const double* torch_a = limit < 10 ? fixtures::clip_above_a : fixtures::clip_below_a;
    const double* torch_b = limit < 10 ? fixtures::clip_above_b : fixtures::clip_below_b;
    CHECK(norm == Approx(fixtures::clip_above_norm[0]).epsilon(1e-14));
    for (int i = 0; i < 4; ++i) {
      CHECK(a.grad[i] == Approx(fixtures::clip_a[i] * scale).epsilon(1e-14));
      CHECK(a.grad[i] == Approx(torch_a[i]).epsilon(1e-12));
    }
    for (int i = 0; i < 6; ++i) CHECK(b.grad[i] == Approx(torch_b[i]).epsilon(1e-12));
  }
}

TEST_CASE("An optimizer with a clip norm steps with the clipped gradients", "[optimizer]") {
  Parameter<double> a("a", {4}), b("b", {2, 3}), a2("a", {4}), b2("b", {2, 3});
  load_fixture_grads(a, b);
  load_fixture_grads(a2, b2);
  SGD<double> clipped(0.1, {0.0, false, 0.0, /*clip_norm=*/1.5});
  clipped.step({&a, &b});
  clip_by_global_norm<double>({&a2, &b2}, 1.5);
  SGD<double>(0.1).step({&a2, &b2});
  for (int i = 0; i < 4; ++i) CHECK(a.value[i] == Approx(-0.1 * fixtures::clip_above_a[i]).epsilon(1e-12));
  for (int i = 0; i < 6; ++i) CHECK(b.value[i] == b2.value[i]);
  Optimizer<double>& base = clipped;
  CHECK_THROWS_WITH(base.set_clip_norm(-1), Catch::Contains("clip norm"));
}
