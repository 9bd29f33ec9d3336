// Format versions of the model file (io/model_file.hpp): version 2 saves the layers of issue #16
// with BatchNormalization's moving statistics; files written in version 1 still load.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>

#include "minidnn/core/float16.hpp"
#include "minidnn/sequential.hpp"
#include "support/models.hpp"
#include "support/paths.hpp"

using namespace minidnn;
namespace fs = std::filesystem;

namespace {

// Every layer format 2 adds, in two models (a chain ends in one global pooling).
Sequential<float> new_layers_model(bool max_pooling) {
  Sequential<float> model;
  model.add(Conv2D<float>(4, 3));
  model.add(BatchNormalization<float>());
  model.add(ActivationLayer<float>("relu"));
  model.add(DepthwiseConv2D<float>(3, 2, Padding::same, 2));
  model.add(SeparableConv2D<float>(6, 3, 1, Padding::same, 1, Activation::relu, false));
  model.add(BatchNormalization<float>(0.9, 1e-2));
  if (max_pooling) model.add(GlobalMaxPooling2D<float>());
  else model.add(GlobalAveragePooling2D<float>());
  model.add(Dense<float>(5));
  model.add(BatchNormalization<float>());
  model.add(ActivationLayer<float>("tanh"));
  model.add(Dense<float>(3));
  model.add(Softmax<float>());
  model.build(Shape{1, 12, 12}, 7);
  return model;
}

// new_layers_model after two epochs of Adam on `x`, so its moving statistics have moved.
Sequential<float> trained_new_layers_model(bool max_pooling, const Tensor<float>& x, const std::vector<int>& y) {
  auto model = new_layers_model(max_pooling);
  model.compile(Adam<float>(0.01f));
  FitOptions<float> options;
  options.epochs = 2;
  options.batch_size = 16;
  model.fit(x, y, options);
  return model;
}

std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}
void write_all(const fs::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << bytes;
}

}  // namespace

TEST_CASE("Models with every format-2 layer save and load with their moving statistics", "[model_file]") {
  const auto dir = test::scratch_dir("model_file_v2_roundtrip");
  Tensor<float> x;
  std::vector<int> y;
  test::bar_images(64, 3, 3, x, y);
  for (const bool max_pooling : {false, true}) {
    CAPTURE(max_pooling);
    auto model = trained_new_layers_model(max_pooling, x, y);
    // Training moved the statistics away from their initial values, so a loader that dropped
    // them would predict differently.
    auto& bn = model.layer(1);
    REQUIRE(bn.type() == "BatchNormalization");
    CHECK(bn.non_trainable_parameters()[0]->value[0] != 0.0f);
    CHECK(bn.non_trainable_parameters()[1]->value[0] != 1.0f);
    const auto expected = model.predict(x);
    model.save(dir / "m.mdnn", true);
    auto loaded = Sequential<float>::load(dir / "m.mdnn");
    REQUIRE(loaded.size() == model.size());
    for (std::size_t i = 0; i < model.size(); ++i) {
      CHECK(loaded.layer(i).type() == model.layer(i).type());
      CHECK(loaded.layer(i).describe() == model.layer(i).describe());
    }
    CHECK(loaded.parameter_count() == model.parameter_count());
    const auto got = loaded.predict(x);
    for (std::size_t i = 0; i < got.size(); ++i) REQUIRE(got[i] == expected[i]);
    CHECK_THAT(loaded.summary(), Catch::Contains("Non-trainable params: 30"));  // 2 * (4 + 6 + 5)
    // A Sequential writes format version 2 (a chain), which the functional Model reads too.
    std::uint32_t version = 0;
    std::memcpy(&version, read_all(dir / "m.mdnn").data() + 4, 4);
    CHECK(version == 2);
    auto graph = Model<float>::load(dir / "m.mdnn");
    CHECK(graph.size() == model.size() + 1);
    REQUIRE(graph.optimizer() != nullptr);
    const auto from_graph = graph.predict(x);
    for (std::size_t i = 0; i < from_graph.size(); ++i) REQUIRE(from_graph[i] == expected[i]);
  }
}

TEST_CASE("A BatchNormalization in a file that says version 1 is refused", "[model_file]") {
  const auto dir = test::scratch_dir("model_file_v2_as_v1");
  // BatchNormalization first: in a true version-1 file its parameters would be followed by the
  // next layer, where version 2 has the non-trainable block.
  Sequential<float> model;
  model.add(BatchNormalization<float>());
  model.add(Flatten<float>());
  model.add(Dense<float>(2));
  model.build(Shape{2, 3, 3}, 1);
  model.save(dir / "m.mdnn");
  std::string bytes = read_all(dir / "m.mdnn");
  const std::uint32_t one = 1;
  std::memcpy(&bytes[4], &one, sizeof one);  // the version field; the CRC covers only the payload
  write_all(dir / "v1.mdnn", bytes);
  CHECK_THROWS_WITH(Sequential<float>::load(dir / "v1.mdnn"),
                    Catch::Contains("layer 0 (BatchNormalization): this layer needs format version 2"));
  const std::uint32_t four = 4;
  std::memcpy(&bytes[4], &four, sizeof four);
  write_all(dir / "v4.mdnn", bytes);
  CHECK_THROWS_WITH(Sequential<float>::load(dir / "v4.mdnn"), Catch::Contains("unsupported format version 4"));
}

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

TEST_CASE("A model saved as float16 loads with every weight the nearest half, at half the size", "[model_file]") {
  const auto dir = test::scratch_dir("model_file_float16");
  Tensor<float> x;
  std::vector<int> y;
  test::bar_images(64, 3, 3, x, y);
  auto model = trained_new_layers_model(false, x, y).into_model();
  const auto expected = model.predict(x);
  model.save(dir / "full.mdnn");
  model.save_float16(dir / "half.mdnn", "note=float16");

  const std::string half_bytes = read_all(dir / "half.mdnn");
  std::uint32_t scalar_size = 0;
  std::memcpy(&scalar_size, half_bytes.data() + 8, 4);
  CHECK(scalar_size == 2);
  // The weights are nearly all of the file: it shrinks to a little over half.
  const double ratio = double(half_bytes.size()) / double(read_all(dir / "full.mdnn").size());
  CHECK(ratio < 0.75);

  std::string metadata;
  auto loaded = Model<float>::load(dir / "half.mdnn", &metadata);
  CHECK(metadata == "note=float16");
  CHECK(loaded.optimizer() == nullptr);
  CHECK(loaded.summary() == model.summary());
  const auto before = model.parameters(), after = loaded.parameters();
  const auto before_nt = model.non_trainable_parameters(), after_nt = loaded.non_trainable_parameters();
  auto check_rounded = [](const std::vector<Parameter<float>*>& a, const std::vector<Parameter<float>*>& b) {
    REQUIRE(a.size() == b.size());
    for (std::size_t k = 0; k < a.size(); ++k)
      for (std::size_t i = 0; i < a[k]->size(); ++i) {
        const float original = a[k]->value[i], stored = b[k]->value[i];
        // A half keeps 11 significant bits: within half a unit of the last place, 2^-11 relative
        // (absolute 2^-25 among the subnormals).
        REQUIRE(std::fabs(stored - original) <= std::max(std::fabs(original) * 0x1p-11f, 0x1p-25f));
        REQUIRE(stored == half_bits_to_float(float_to_half_bits(original)));
      }
  };
  check_rounded(before, after);
  check_rounded(before_nt, after_nt);
  // Predictions move by the rounding only.
  const auto got = loaded.predict(x);
  float worst = 0;
  for (std::size_t i = 0; i < got.size(); ++i) worst = std::max(worst, std::fabs(got[i] - expected[i]));
  CHECK(worst < 2e-2f);
  CHECK(worst > 0.0f);
  // Into a double model as well.
  auto as_double = Model<double>::load(dir / "half.mdnn");
  const auto doubles = as_double.parameters();
  for (std::size_t k = 0; k < after.size(); ++k)
    for (std::size_t i = 0; i < after[k]->size(); ++i) REQUIRE(doubles[k]->value[i] == double(after[k]->value[i]));
}

TEST_CASE("float16 storage refuses a weight beyond the half range and leaves no file", "[model_file]") {
  const auto dir = test::scratch_dir("model_file_float16_range");
  auto model = new_layers_model(false).into_model();
  model.parameters()[1]->value[0] = 70000.0f;  // the first Conv2D's bias
  CHECK_THROWS_WITH(model.save_float16(dir / "half.mdnn"),
                    Catch::Contains("float16") && Catch::Contains("70000") && Catch::Contains("parameter '"));
  CHECK_FALSE(fs::exists(dir / "half.mdnn"));
}
