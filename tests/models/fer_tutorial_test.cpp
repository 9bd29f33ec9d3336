#include <catch2/catch.hpp>

#include "minidnn/models/fer_tutorial.hpp"

using namespace minidnn;

TEST_CASE("The tutorial model: every output shape and 1,485,831 parameters, as Keras prints them", "[models][seed]") {
  auto model = models::fer_tutorial_model<float>();
  // Keras's summary, (H, W, C) per layer.
  const std::vector<Shape> expected = {
      {64, 44, 44}, {64, 20, 20}, {64, 18, 18}, {64, 16, 16}, {64, 7, 7}, {128, 5, 5}, {128, 3, 3},
      {128, 1, 1},  {128},        {1024},       {1024},       {1024},     {1024},      {7},         {7}};
  REQUIRE(model.size() == expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) CHECK(model.layer(i).output_shape() == expected[i]);
  // Keras, layer by layer: conv 1664, 36928, 36928, 73856, 147584; dense 132096, 1049600, 7175.
  CHECK(model.parameter_count() == 1664 + 36928 + 36928 + 73856 + 147584 + 132096 + 1049600 + 7175);
  CHECK(model.parameter_count() == 1485831);
  const std::string summary = model.summary();
  CHECK_THAT(summary, Catch::Contains("Total params: 1,485,831"));
  CHECK_THAT(summary, Catch::Contains("44x44x64"));
  CHECK_THAT(summary, Catch::Contains("1x1x128"));
}

TEST_CASE("The tutorial model trains a step on 48x48 input", "[models]") {
  auto model = models::fer_tutorial_model<float>(3);
  model.compile(Adam<float>());
  Tensor<float> x(4, Shape{1, 48, 48});
  Rng rng(1);
  for (auto& v : x) v = static_cast<float>(rng.uniform());
  const auto result = model.train_on_batch(x, {0, 3, 6, 2});
  CHECK(result.loss == Approx(std::log(7.0)).epsilon(0.1));
}
