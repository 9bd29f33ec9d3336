#include <catch2/catch.hpp>

#include "minidnn/layers/softmax.hpp"
#include "support/gradient_check.hpp"

using namespace minidnn;

TEST_CASE("Softmax gives probabilities, stable for large scores", "[softmax]") {
  Softmax<double> softmax;
  Rng rng(1);
  softmax.build(Shape{3}, rng);
  Tensor<double> z(2, Shape{3}), p;
  const double scores[] = {1.0, 2.0, 3.0, 1000.0, 1001.0, 1002.0};
  std::copy(scores, scores + 6, z.data());
  softmax.forward(z, p, Mode::inference);
  const double e1 = std::exp(1.0), e2 = std::exp(2.0), e3 = std::exp(3.0), s = e1 + e2 + e3;
  for (int n = 0; n < 2; ++n) {
    CHECK(p.sample(n)[0] == Approx(e1 / s));
    CHECK(p.sample(n)[1] == Approx(e2 / s));
    CHECK(p.sample(n)[2] == Approx(e3 / s));
  }
}

TEST_CASE("Softmax gradients match finite differences", "[softmax][gradient]") {
  Softmax<double> softmax;
  Rng rng(2);
  softmax.build(Shape{7}, rng);
  CHECK(test::check_layer_gradients(softmax, 4).input < 1e-8);
}
