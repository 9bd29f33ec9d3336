// fer train's augmentation and validation-split flags, fer eval's and fer predict's --tta, and a
// model trained on crops going through eval and predict, from the outside as a user runs them.
#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>
#include <regex>
#include <string>

#include "support/paths.hpp"
#include "support/shell.hpp"

namespace fs = std::filesystem;

namespace {

using Run = minidnn::test::ShellRun;

Run fer(const std::string& arguments, const fs::path& cwd) {
  return minidnn::test::run_shell("'" FER_BINARY "' " + arguments, cwd);
}

// The number after `label` in `text` ("accuracy 0.1429" -> 0.1429); -1 if absent.
double number_after(const std::string& text, const std::string& label) {
  const auto at = text.find(label);
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + label.size()));
}

}  // namespace

TEST_CASE("fer train: augmentation and split flags are in the help; bad values name the flag", "[fer][augment]") {
  const auto dir = minidnn::test::scratch_dir("fer_augment_flags");
  Run r = fer("train --help", dir);
  CHECK(r.exit_code == 0);
  for (const char* flag : {"--crop N", "--rotate DEGREES", "--scale FRACTION", "--erase PROBABILITY",
                           "--validation-split FRACTION"})
    CHECK_THAT(r.output, Catch::Contains(flag));
  CHECK_THAT(r.output, Catch::Contains("PublicTest is the test set"));
  // fer serve exists where fer was built with cpp-httplib.
  const bool has_serve = fer("--help", dir).output.find("\n  serve ") != std::string::npos;
  for (const char* command : {"eval", "predict", "serve"}) {
    if (std::string(command) == "serve" && !has_serve) continue;
    r = fer(std::string(command) + " --help", dir);
    CHECK_THAT(r.output, Catch::Contains("--tta MODE") && Catch::Contains("ten-crop"));
  }
  const std::pair<const char*, const char*> bad[] = {
      {"train --crop 3", "--crop"},           {"train --crop 49", "--crop"},
      {"train --crop x", "--crop"},           {"train --rotate 90", "--rotate"},
      {"train --scale 0.5", "--scale"},       {"train --erase -0.1", "--erase"},
      {"train --validation-split 0.5", "--validation-split"},
      {"train --validation-split 1e-9", "--validation-split"},
      {"train --model seed --crop 20", "--crop 20"},  // the tutorial's pools do not fit 20x20
      {"eval --model m.mdnn --tta tencrop", "--tta"},  {"predict --model m.mdnn --tta 10 x.png", "--tta"},
      {"serve --model m.mdnn --port 0 --tta both", "--tta"}};
  for (const auto& [arguments, flag] : bad) {
    if (std::string(arguments).rfind("serve", 0) == 0 && !has_serve) continue;
    r = fer(arguments, dir);
    INFO(arguments << "\n" << r.output);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.output, Catch::Contains(flag));
  }
}

TEST_CASE("fer train --crop --validation-split: the crop model validates on held-out Training, tests on PublicTest, "
          "evaluates with TTA, resumes", "[fer][augment]") {
  const auto dir = minidnn::test::scratch_dir("fer_augment_crop");
  // 1120 Training, 140 PublicTest rows: eval's ten crops stay quick.
  Run r = fer("synth --out faces.csv --count 1400", dir);
  REQUIRE(r.exit_code == 0);
  r = fer("train --data faces.csv --model small --crop 40 --augment --rotate 8 --scale 0.1 --erase 0.3 --validation-split 0.1 "
              "--epochs 1 --batch 64 --train-rows 400 --val-rows 140 --out crop.mdnn",
              dir);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::Contains("input 40x40x1"));
  CHECK_THAT(r.output, Catch::Contains("Augmentation: flips, shifts up to 1 px, random 40x40 crops (centre crop to "
                                       "validate), rotations up to 8 degrees, scaling by up to 0.1, random erasing "
                                       "with probability 0.3"));
  std::smatch counts;
  REQUIRE(std::regex_search(r.output, counts,
                            std::regex("Training on (\\d+) images, validating on (\\d+) \\(of Training, stratified\\), "
                                       "testing on 140 \\(PublicTest\\)")));
  const int train = std::stoi(counts[1]), validation = std::stoi(counts[2]);
  CHECK(train + validation == 400);
  CHECK(validation >= 35);  // about 10% of each class, rounded per class
  CHECK(validation <= 45);
  const double test_accuracy = number_after(r.output, "Test (PublicTest, 140 images, centre crop) accuracy: ");
  CHECK(test_accuracy >= 0.0);
  CHECK_THAT(r.output, Catch::Contains("Final validation accuracy"));

  // eval: the centre crop without TTA, and ten-crop; the plain line of a TTA run is the plain run.
  Run plain = fer("eval --data faces.csv --model crop.mdnn --split PublicTest", dir);
  INFO(plain.output);
  REQUIRE(plain.exit_code == 0);
  CHECK_THAT(plain.output, Catch::Contains("macro-F1") && Catch::Contains("recall: Angry"));
  Run ten = fer("eval --data faces.csv --model crop.mdnn --split PublicTest --tta ten-crop", dir);
  INFO(ten.output);
  REQUIRE(ten.exit_code == 0);
  CHECK_THAT(ten.output, Catch::Contains("TTA ten-crop") && Catch::Contains("without TTA:") &&
                             Catch::Contains("with TTA ten-crop:"));
  REQUIRE(plain.output.find("summary:") != std::string::npos);
  REQUIRE(ten.output.find("without TTA:") != std::string::npos);
  const auto line = plain.output.substr(plain.output.find("summary:"));
  const auto ten_line = ten.output.substr(ten.output.find("without TTA:"));
  CHECK(number_after(line, "accuracy ") == number_after(ten_line, "accuracy "));
  CHECK(number_after(line, "macro-F1 ") == number_after(ten_line, "macro-F1 "));

  // predict: the 48x48 face is centre-cropped for the 40x40 model, with and without TTA.
  const auto photo = minidnn::test::shared_dir() / "data" / "faces" / "bbt1.jpg";
  r = fer("predict --model crop.mdnn --tta ten-crop --out p '" + photo.string() + "'", dir);
  INFO(r.output);
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::Contains("4 faces"));

  // The checkpoint keeps the recipe: a resumed run goes on with it, a different crop is refused.
  r = fer("train --resume crop.mdnn.ckpt --epochs 2 --out crop.mdnn", dir);  // its data: faces.csv
  INFO(r.output);
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::Contains("validating on " + std::to_string(validation) + " (of Training, stratified)"));
  r = fer("train --resume crop.mdnn.ckpt --epochs 3 --crop 44 --out crop.mdnn", dir);
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Catch::Contains("--crop 44 (the checkpoint's: 40)"));
}
