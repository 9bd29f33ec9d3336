// The fer tool from the outside, as a user runs it: exit codes, messages, files written.
#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <stb_image.h>
#include <stb_image_write.h>

#include "support/files.hpp"
#include "support/json_check.hpp"
#include "support/paths.hpp"
#include "support/shell.hpp"
#include "minidnn/model/functional.hpp"
#include "minidnn/optim/sgd.hpp"

namespace fs = std::filesystem;

namespace {

using Run = minidnn::test::ShellRun;

Run fer(const std::string& arguments, const fs::path& cwd) {
  return minidnn::test::run_shell("'" FER_BINARY "' " + arguments, cwd);
}

// Runs fer with `arguments` and checks that it refuses them: exit code `exit_code` (2: a usage
// error, 1: a file or data error) and a message containing `message`.
void expect_error(const std::string& arguments, const fs::path& cwd, int exit_code,
                  const std::string& message) {
  const Run r = fer(arguments, cwd);
  INFO("fer " << arguments << "\n" << r.output);
  CHECK(r.exit_code == exit_code);
  CHECK_THAT(r.output, Catch::Contains(message));
}
void expect_usage_error(const std::string& arguments, const fs::path& cwd,
                        const std::string& message) {
  expect_error(arguments, cwd, 2, message);
}

// Decodes a PNG and checks it is a real picture: expected size, several colours.
void check_png(const fs::path& path, int min_width, int min_height) {
  int w = 0, h = 0, c = 0;
  unsigned char* pixels = stbi_load(path.c_str(), &w, &h, &c, 3);
  REQUIRE(pixels != nullptr);
  CHECK(w >= min_width);
  CHECK(h >= min_height);
  int distinct = 0;
  for (int i = 3; i < w * h * 3 && distinct < 50; i += 3 * 97) distinct += pixels[i] != pixels[0];
  stbi_image_free(pixels);
  CHECK(distinct > 10);
}

fs::path trained_small_model() {
  static const fs::path dir = minidnn::test::scratch_dir("fer_model");
  static bool trained = false;
  if (!trained) {
    const Run r = fer("train --model small --epochs 1 --batch 64 --train-rows 700 --val-rows 140 --out m.mdnn", dir);
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    trained = true;
  }
  return dir / "m.mdnn";
}

}  // namespace

TEST_CASE("fer: --help, unknown commands and flags", "[fer][cli]") {
  const auto dir = minidnn::test::scratch_dir("fer_cli");
  Run r = fer("--help", dir);
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::Contains("predict"));
  for (const char* command : {"stats", "train", "eval", "predict", "synth"}) {
    r = fer(std::string(command) + " --help", dir);
    CHECK(r.exit_code == 0);
    CHECK_THAT(r.output, Catch::Contains("usage: fer " + std::string(command)));
  }
  expect_usage_error("frobnicate", dir, "unknown command 'frobnicate'");
  expect_usage_error("train --epoch 3", dir, "unknown option '--epoch'");
  expect_usage_error("train --epochs many", dir, "--epochs must be an integer");
  expect_usage_error("train --batch", dir, "needs a value");
  expect_usage_error("train --augment --shift 99", dir, "--shift");
  expect_usage_error("train --lr-schedule linear", dir,
                     "--lr-schedule must be constant, cosine or one-cycle, got 'linear'");
}

TEST_CASE("fer: missing and wrong files give a message naming them and a non-zero exit", "[fer][cli]") {
  const auto dir = minidnn::test::scratch_dir("fer_files");
  expect_error("train --data no_such.csv", dir, 1, "no_such.csv");
  expect_error("eval --model no_such.mdnn", dir, 1, "no_such.mdnn");
  std::ofstream(dir / "fake.mdnn") << "emotion,pixels,Usage\n";
  const Run r = fer("predict --model fake.mdnn x.png", dir);
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.output, Catch::Contains("fake.mdnn") && Catch::Contains("not a minidnn model file"));
  std::ofstream(dir / "bad.csv") << "emotion,pixels,Usage\n9,1 2 3,Training\n";
  expect_error("eval --model " + trained_small_model().string() + " --data bad.csv", dir, 1,
               "bad.csv:2");
}

TEST_CASE("fer synth and stats: a FER2013-format file and its class chart", "[fer]") {
  const auto dir = minidnn::test::scratch_dir("fer_synth");
  Run r = fer("synth --out faces.csv --count 700", dir);
  REQUIRE(r.exit_code == 0);
  r = fer("stats --data faces.csv --out dist.png", dir);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::Contains("total"));
  CHECK_THAT(r.output, Catch::Contains("700"));
  check_png(dir / "dist.png", 400, 200);
}

TEST_CASE("fer train, eval: model, history, curves and confusion matrix are written", "[fer]") {
  const auto model = trained_small_model();
  const auto dir = model.parent_path();
  CHECK(fs::exists(dir / "m.history.csv"));
  CHECK(fs::exists(dir / "m.mdnn.ckpt"));
  check_png(dir / "m.curves.png", 400, 200);
  std::ifstream history(dir / "m.history.csv");
  std::string header;
  std::getline(history, header);
  CHECK(header == "epoch,loss,accuracy,val_loss,val_accuracy,seconds");
  const Run r = fer("eval --model m.mdnn --out-dir eval", dir);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::Contains("PublicTest") && Catch::Contains("precision"));
  check_png(dir / "eval" / "confusion_PublicTest.png", 400, 300);
}

TEST_CASE("fer train --resume continues from the checkpoint", "[fer]") {
  const auto dir = minidnn::test::scratch_dir("fer_resume");
  Run r = fer("train --model small --epochs 1 --batch 64 --train-rows 300 --val-rows 70 --out r.mdnn", dir);
  REQUIRE(r.exit_code == 0);
  r = fer("train --resume r.mdnn.ckpt --epochs 2 --train-rows 300 --val-rows 70 --out r.mdnn", dir);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::Contains("Resuming") && Catch::Contains("Epoch 2/2"));
  expect_error("train --resume r.mdnn --out x.mdnn", dir, 1, "not a fer training checkpoint");
}

TEST_CASE("fer train --model mini-xception: a graph model that evaluates and resumes exactly", "[fer]") {
  // Two epochs straight, and one epoch then --resume for the second: the same final file, byte for
  // byte (one thread; the checkpoint carries Adam's state and BatchNorm's moving statistics).
  const auto dir = minidnn::test::scratch_dir("fer_mini_xception");
  const std::string recipe = "train --model mini-xception --batch 32 --train-rows 96 --val-rows 32 --threads 1";
  Run r = fer(recipe + " --epochs 2 --out straight.mdnn", dir);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::Contains("Connected to"));  // the summary of a graph
  r = fer(recipe + " --epochs 1 --out split.mdnn", dir);
  REQUIRE(r.exit_code == 0);
  r = fer("train --resume split.mdnn.ckpt --epochs 2 --threads 1 --out split.mdnn", dir);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::Contains("Resuming"));
  const std::string straight = minidnn::test::read_file(dir / "straight.mdnn");
  CHECK(straight.size() > 50000 * 4);  // about 58k parameters, 4 bytes each
  CHECK((straight == minidnn::test::read_file(dir / "split.mdnn")));
  r = fer("eval --model straight.mdnn --split PublicTest --out-dir eval", dir);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::Contains("PublicTest"));
}

TEST_CASE("fer predict on a real photo: six faces, an annotated PNG and valid JSON", "[fer][faces]") {
  const auto photo = minidnn::test::shared_dir() / "data" / "faces" / "bbt4.jpg";
  REQUIRE(fs::exists(photo));
  const auto dir = minidnn::test::scratch_dir("fer_predict");
  Run r = fer("predict --model " + trained_small_model().string() + " --json --out pictures '" + photo.string() + "'", dir);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const auto start = r.output.find('[');
  REQUIRE(start != std::string::npos);
  const std::string json = r.output.substr(start);
  CHECK(minidnn::test::is_valid_json(json));
  std::size_t faces = 0;
  for (std::size_t at = json.find("\"box\""); at != std::string::npos; at = json.find("\"box\"", at + 1)) ++faces;
  CHECK(faces == 6);
  check_png(dir / "pictures" / "bbt4_annotated.png", 700, 400);
  check_png(dir / "pictures" / "bbt4_face1.png", 400, 200);

  r = fer("predict --model " + trained_small_model().string() + " --out pictures '" +
              (minidnn::test::shared_dir() / "data" / "faces" / "camera.png").string() + "' not_there.jpg",
          dir);
  CHECK(r.exit_code == 1);  // the missing file is an error ...
  CHECK_THAT(r.output, Catch::Contains("no face found"));  // ... but the other photo was processed
  CHECK_THAT(r.output, Catch::Contains("not_there.jpg"));
}

TEST_CASE("fer predict --face-crops classifies whole images of any size, grey or colour", "[fer]") {
  const auto dir = minidnn::test::scratch_dir("fer_crops");
  // A 60x50 colour image and a 48x48 grey one.
  std::vector<unsigned char> colour(60 * 50 * 3), grey(48 * 48);
  for (std::size_t i = 0; i < colour.size(); ++i) colour[i] = static_cast<unsigned char>(i * 7 % 251);
  for (std::size_t i = 0; i < grey.size(); ++i) grey[i] = static_cast<unsigned char>(i % 256);
  REQUIRE(stbi_write_png((dir / "colour.png").c_str(), 60, 50, 3, colour.data(), 60 * 3));
  REQUIRE(stbi_write_bmp((dir / "grey.bmp").c_str(), 48, 48, 1, grey.data()));
  const Run r = fer("predict --model " + trained_small_model().string() + " --face-crops --out p colour.png grey.bmp", dir);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::Contains("colour.png: 1 face") && Catch::Contains("grey.bmp: 1 face"));
  check_png(dir / "p" / "colour_face1.png", 400, 200);
}

TEST_CASE("fer train's training tools: label smoothing, class weights, early stopping, plateau; kept for --resume",
          "[fer]") {
  const auto dir = minidnn::test::scratch_dir("fer_training_tools");
  const std::string rows = " --model small --batch 64 --train-rows 300 --val-rows 70";
  Run r = fer("train" + rows + " --epochs 2 --label-smoothing 0.1 --class-weights balanced --early-stopping 3"
              " --reduce-lr-on-plateau 1 --out t.mdnn", dir);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  std::ifstream file(dir / "t.mdnn.ckpt", std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  for (const char* line : {"label_smoothing=0.1", "class_weights=balanced\n", "early_stopping=3\n",
                           "reduce_lr_on_plateau=1\n", "early_stopping_state=wait=", "plateau_state=wait="})
    CHECK(bytes.find(line) != std::string::npos);
  expect_usage_error("train --resume t.mdnn.ckpt --epochs 3 --label-smoothing 0.2 --out t.mdnn",
                     dir, "--label-smoothing 0.2 (the checkpoint's: 0.1");
  r = fer("train --resume t.mdnn.ckpt --epochs 3 --out t.mdnn", dir);
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::Contains("Epoch 3/3"));
  expect_usage_error("train" + rows + " --class-weights uniform --out u.mdnn", dir,
                     "--class-weights must be none or balanced");
  expect_usage_error("train" + rows + " --reduce-lr-on-plateau 2 --lr-schedule cosine --out u.mdnn",
                     dir, "use it with --lr-schedule constant");
}

TEST_CASE("fer train --optimizer sgd --nesterov --weight-decay with --lr-schedule one-cycle; kept for --resume", "[fer]") {
  const auto dir = minidnn::test::scratch_dir("fer_optimizers");
  const std::string rows = " --model small --batch 64 --train-rows 300 --val-rows 70";
  // 300 rows in batches of 64: 5 batches an epoch, 10 steps in 2 epochs.
  Run r = fer("train" + rows + " --epochs 2 --optimizer sgd --momentum 0.8 --nesterov --weight-decay 5e-4"
              " --lr 0.05 --lr-schedule one-cycle --warmup 0.2 --out o.mdnn", dir);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  auto model = minidnn::Model<float>::load(dir / "o.mdnn.ckpt");
  REQUIRE(model.optimizer() != nullptr);
  const auto* sgd = dynamic_cast<const minidnn::SGD<float>*>(model.optimizer());
  REQUIRE(sgd != nullptr);
  CHECK(sgd->momentum() == Approx(0.8));
  CHECK(sgd->nesterov());
  CHECK(sgd->weight_decay() == Approx(5e-4));
  // The last of the 10 steps runs at torch's OneCycleLR final rate: 0.05 / 25 / 1e4.
  CHECK(sgd->learning_rate() == Approx(0.05 / 25 / 1e4).epsilon(1e-6));
  expect_usage_error("train --resume o.mdnn.ckpt --epochs 3 --optimizer adam --out o.mdnn", dir,
                     "--optimizer adam (the checkpoint's: sgd");
  expect_usage_error("train" + rows + " --weight-decay 0.01 --out u.mdnn", dir,
                     "use --optimizer adamw");
  expect_usage_error("train" + rows + " --nesterov --out u.mdnn", dir,
                     "--momentum and --nesterov are sgd's");
  expect_usage_error("train" + rows + " --optimizer rmsprop --out u.mdnn", dir,
                     "--optimizer must be adam, adamw or sgd");
}
