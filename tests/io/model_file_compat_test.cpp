// Model files written by earlier versions of the library still load (io/model_file.hpp).
#include <catch2/catch.hpp>

#include <fstream>

#include "minidnn/sequential.hpp"
#include "support/models.hpp"

using namespace minidnn;

TEST_CASE("A format-version-1 checkpoint written before version 2 loads and predicts as it did", "[model_file]") {
  // tests/fixtures/model_v1.bin and its predictions were written by tests/fixtures/make_v1_model.cpp
  // with the code of commit 1651e40, the last to write version 1.
  const std::string dir = MINIDNN_TEST_FIXTURES;
  std::string metadata;
  auto model = Sequential<float>::load(dir + "/model_v1.bin", &metadata);
  CHECK(metadata == "epoch=2\n");
  REQUIRE(model.size() == 6);
  CHECK(model.layer(0).type() == "Conv2D");
  CHECK(model.layer(3).type() == "Dropout");
  CHECK(model.parameter_count() == 2 * 9 + 2 + 72 * 3 + 3);
  REQUIRE(model.optimizer() != nullptr);
  CHECK(model.optimizer()->type() == "Adam");

  Tensor<float> probe;
  std::vector<int> labels;
  test::bar_images(6, 3, 9, probe, labels);
  const auto p = model.predict(probe);
  std::ifstream expected_file(dir + "/model_v1_predictions.txt");
  REQUIRE(expected_file);
  std::vector<double> expected;
  for (double v; expected_file >> v;) expected.push_back(v);
  REQUIRE(expected.size() == p.size());
  for (std::size_t i = 0; i < p.size(); ++i) CHECK(p[i] == Approx(expected[i]).epsilon(1e-6));

  // Adam's moment estimates came back with the weights.
  for (auto* param : model.parameters()) CHECK(param->optimizer_slots.size() == 2);
}
