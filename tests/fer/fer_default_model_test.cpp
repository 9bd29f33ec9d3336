// The trained model shipped in the repository (models/fer_default.mdnn, docs/results.md): it loads,
// it is the documented VGG-style network, it is small, and fer uses it when --model is not given,
// scoring at least 60% on FER2013's PublicTest rows: a broken file or a broken loader cannot land.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>

#include "minidnn/model/functional.hpp"
#include "minidnn/models/vgg_bn.hpp"
#include "support/paths.hpp"
#include "support/shell.hpp"

namespace fs = std::filesystem;

namespace {

minidnn::test::ShellRun fer(const std::string& arguments, const fs::path& cwd) {
  // FER_MODEL unset: the built-in default is what is under test.
  return minidnn::test::run_shell("env -u FER_MODEL '" FER_BINARY "' " + arguments, cwd);
}

}  // namespace

TEST_CASE("The default model is the documented VGG-BN network for 44x44 faces, stored in float16", "[fer][default]") {
  REQUIRE(fs::exists(FER_DEFAULT_MODEL));
  CHECK(fs::file_size(FER_DEFAULT_MODEL) <= 4u << 20);
  std::ifstream file(FER_DEFAULT_MODEL, std::ios::binary);
  char header[12];
  file.read(header, sizeof header);
  std::uint32_t scalar_size = 0;
  std::memcpy(&scalar_size, header + 8, 4);
  CHECK(scalar_size == 2);

  std::string metadata;
  auto model = minidnn::Model<float>::load(FER_DEFAULT_MODEL, &metadata);
  auto documented = minidnn::models::vgg_bn_model<float>(1, 7, minidnn::Shape{1, 44, 44});
  CHECK(model.summary() == documented.summary());
  CHECK(model.parameter_count() == 1436839);
  CHECK(model.optimizer() == nullptr);
  // Its training history travels with it (fer serve shows the last epoch).
  CHECK_THAT(metadata, Catch::Contains("history="));
}

TEST_CASE("fer eval without --model evaluates the default model: at least 60% on PublicTest", "[fer][default][fer2013]") {
  const fs::path csv = minidnn::test::shared_dir() / "data" / "fer2013" / "fer2013.csv.gz";
  REQUIRE(fs::exists(csv));
  const fs::path dir = minidnn::test::scratch_dir("fer_default_eval");
  const auto r = fer("eval --split PublicTest --data '" + csv.string() + "' --out-dir .", dir);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::Contains("no --model: using the default model"));
  std::smatch m;
  REQUIRE(std::regex_search(r.output, m, std::regex(R"(PublicTest \(3589 images\): loss ([0-9.]+), accuracy ([0-9.]+))")));
  const double accuracy = std::stod(m[2]);
  CHECK(accuracy >= 0.60);
  CHECK(fs::exists(dir / "confusion_PublicTest.png"));
}

TEST_CASE("fer predict without --model finds and classifies the faces of a photo", "[fer][default]") {
  const fs::path photo = minidnn::test::shared_dir() / "data" / "faces" / "bbt4.jpg";
  REQUIRE(fs::exists(photo));
  const fs::path dir = minidnn::test::scratch_dir("fer_default_predict");
  const auto r = fer("predict --json --out pics '" + photo.string() + "'", dir);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::Contains("\"emotion\"") && Catch::Contains("\"probabilities\""));
  CHECK(fs::exists(dir / "pics" / "bbt4_annotated.png"));
}

TEST_CASE("Without --model and with a missing $FER_MODEL, fer says which file is missing", "[fer][default]") {
  const fs::path dir = minidnn::test::scratch_dir("fer_default_missing");
  const auto r = minidnn::test::run_shell("FER_MODEL=absent.mdnn '" FER_BINARY "' eval --split PublicTest", dir);
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.output, Catch::Contains("$FER_MODEL absent.mdnn does not exist") && Catch::Contains("--model"));
}
