#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "support/torch_fixtures.hpp"
#include "minidnn/models/vgg_bn.hpp"
#include "minidnn/optim/adam.hpp"

using namespace minidnn;

TEST_CASE("The VGG-style network has the parameter counts of the same network built in PyTorch", "[vgg_bn]") {
  // tests/fixtures/make_torch_fixtures.py builds it with torch.nn and counts its parameters.
  auto model = models::vgg_bn_model<float>(1);
  CHECK(model.input_shape() == Shape{1, 44, 44});
  CHECK(model.output_shape() == Shape{7});
  CHECK(long(model.parameter_count()) == fixtures::vgg_bn_trainable_params);
  CHECK(long(model.non_trainable_parameter_count()) == fixtures::vgg_bn_non_trainable_params);
  CHECK_THAT(model.summary(), Catch::Contains("Trainable params: 1,436,839"));
}

TEST_CASE("The VGG-style network fits a small batch of 44x44 crops", "[vgg_bn]") {
  auto model = models::vgg_bn_model<float>(5);
  model.compile(Adam<float>(1e-3f));
  Rng rng(6);
  Tensor<float> x(4, model.input_shape());
  for (auto& v : x) v = float(rng.uniform(0.0, 1.0));
  const std::vector<int> labels = {1, 4, 6, 2};
  // Training-mode losses: after 20 steps the moving statistics still hold mostly their initial
  // values, so an inference-mode loss would not say whether the network learns.
  const double first = model.train_on_batch(x, labels).loss;
  double later = first;
  for (int step = 0; step < 20; ++step) later = model.train_on_batch(x, labels).loss;
  INFO("loss " << first << " -> " << later);
  CHECK(std::isfinite(later));
  CHECK(later < 0.5 * first);
}
