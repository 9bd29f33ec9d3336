// fer as a new user meets it: a bad --out fails before any work, --resume refuses flags that
// disagree with its checkpoint, a file-size limit gives a message instead of SIGXFSZ, runs without
// validation rows leave the val_ columns empty, and the messages name the file and the reason.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "minidnn/sequential.hpp"
#include "support/files.hpp"
#include "support/paths.hpp"
#include "support/shell.hpp"

namespace fs = std::filesystem;

namespace {

using Run = minidnn::test::ShellRun;

// Runs `fer ARGUMENTS` through the shell in `cwd` on the synthetic set (FER2013_CSV unset);
// `prefix` runs first in the same shell (e.g. a ulimit).
Run fer(const std::string& arguments, const fs::path& cwd, const std::string& prefix = "") {
  return minidnn::test::run_shell("unset FER2013_CSV && " + prefix + " '" FER_BINARY "' " + arguments, cwd);
}

const std::string kQuick = "--epochs 1 --train-rows 128 --val-rows 32 --threads 1";

std::vector<std::string> lines_of(const fs::path& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

}  // namespace

TEST_CASE("fer train checks --out before loading data or training", "[fer][cli]") {
  const auto dir = minidnn::test::scratch_dir("fer_out_checks");
  fs::create_directory(dir / "taken");
  minidnn::test::write_file(dir / "afile", "x");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"''", "--out is empty"},
      {"sub/", "names a folder"},
      {"taken", "is an existing folder"},
      {"afile/m.mdnn", "cannot create folder afile"},
  };
  for (const auto& [out, expected] : cases) {
    const Run r = fer("train " + kQuick + " --out " + out, dir);
    INFO(r.output);
    CHECK(r.exit_code != 0);
    CHECK_THAT(r.output, Catch::Contains(expected));
    CHECK_THAT(r.output, !Catch::Contains("Loading") && !Catch::Contains("Epoch 1/"));
  }
  // An unwritable folder is found by a probe file (root may write anywhere: then not exercised).
  fs::create_directory(dir / "readonly");
  fs::permissions(dir / "readonly", fs::perms::owner_read | fs::perms::owner_exec);
  if (::access((dir / "readonly").c_str(), W_OK) != 0) {
    const Run r = fer("train " + kQuick + " --out readonly/m.mdnn", dir);
    INFO(r.output);
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.output, Catch::Contains("cannot write in folder readonly") && Catch::Contains("Permission denied"));
    CHECK_THAT(r.output, !Catch::Contains("Loading"));
  } else {
    WARN("running as root: the read-only folder case is not exercised");
  }
  fs::permissions(dir / "readonly", fs::perms::owner_all);
}

TEST_CASE("fer train under a file-size limit fails with a message and leaves no temporary file", "[fer][faults]") {
  const auto dir = minidnn::test::scratch_dir("fer_fsize");
  // dash and bash both accept `ulimit -f`; 64 blocks is 32-64 KiB, less than the checkpoint.
  const Run r = fer("train " + kQuick + " --out m.mdnn", dir, "ulimit -f 64 &&");
  INFO(r.output);
  CHECK(r.exit_code == 1);  // was 153: killed by SIGXFSZ, no message
  CHECK_THAT(r.output, Catch::Contains("m.mdnn.ckpt") && Catch::Contains("File too large") &&
                           Catch::Contains("epoch 1 finished but its checkpoint could not be saved"));
  for (const auto& entry : fs::directory_iterator(dir))
    CHECK_THAT(entry.path().filename().string(), !Catch::Contains(".tmp-"));
}

TEST_CASE("fer train --resume refuses flags that disagree with the checkpoint and prints only what it wrote",
          "[fer][cli]") {
  const auto dir = minidnn::test::scratch_dir("fer_resume_flags");
  Run r = fer("train " + kQuick + " --batch 64 --out m.mdnn", dir);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  r = fer("train --resume m.mdnn.ckpt --batch 32 --lr 0.5 --model seed --augment --out n.mdnn", dir);
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Catch::Contains("--batch 32 (the checkpoint's: 64)") && Catch::Contains("--lr 0.5") &&
                           Catch::Contains("--model seed (the checkpoint's: small)") && Catch::Contains("--augment"));
  CHECK_FALSE(fs::exists(dir / "n.mdnn"));
  // Agreeing values are fine; nothing left to train writes the model and says only that.
  r = fer("train --resume m.mdnn.ckpt --batch 64 --model small --out n.mdnn", dir);
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::Contains("Nothing to train") && Catch::Contains("Model written to n.mdnn"));
  CHECK_THAT(r.output, !Catch::Contains("History:") && !Catch::Contains("n.mdnn.ckpt"));
  CHECK(fs::exists(dir / "n.mdnn"));
  CHECK_FALSE(fs::exists(dir / "n.history.csv"));
  CHECK_FALSE(fs::exists(dir / "n.mdnn.ckpt"));

  SECTION("a damaged checkpoint's metadata names the key and the file") {
    std::string metadata;
    auto model = minidnn::Model<float>::load(dir / "m.mdnn.ckpt", &metadata);
    const auto at = metadata.find("batch=64");
    REQUIRE(at != std::string::npos);
    metadata.replace(at, 8, "batch=6x");
    model.save(dir / "bad.ckpt", /*with_optimizer=*/true, metadata);
    r = fer("train --resume bad.ckpt --out o.mdnn", dir);
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.output, Catch::Contains("bad.ckpt: checkpoint metadata: batch=6x: expected an integer"));
    CHECK_THAT(r.output, !Catch::Contains("stoi"));
  }
}

TEST_CASE("fer train without validation rows leaves the val_ columns empty, also after --resume", "[fer]") {
  const auto dir = minidnn::test::scratch_dir("fer_no_validation");
  Run r = fer("synth --out all.csv --count 350", dir);
  REQUIRE(r.exit_code == 0);
  {
    std::ofstream training(dir / "train_only.csv");
    for (const auto& line : lines_of(dir / "all.csv"))
      if (line.find("PublicTest") == std::string::npos) training << line << "\n";
  }
  r = fer("train --data train_only.csv --model small --epochs 1 --batch 64 --threads 1 --out m.mdnn", dir);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  r = fer("train --resume m.mdnn.ckpt --epochs 2 --threads 1 --out m.mdnn", dir);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const auto history = lines_of(dir / "m.history.csv");
  REQUIRE(history.size() == 3);
  for (int row = 1; row <= 2; ++row) {
    INFO(history[row]);
    CHECK(history[row].find(",,,") != std::string::npos);  // loss,accuracy,,,seconds
    CHECK(history[row].find("0.000000,0.000000") == std::string::npos);
  }
}

TEST_CASE("fer: --version, help COMMAND, empty --data, and messages that name the problem", "[fer][cli]") {
  const auto dir = minidnn::test::scratch_dir("fer_messages");
  Run r = fer("--version", dir);
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::StartsWith("fer 0.") || Catch::StartsWith("fer 1."));
  r = fer("help train", dir);
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::StartsWith("usage: fer train"));
  r = fer("train --data ''", dir);
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Catch::Contains("--data is empty") && !Catch::Contains("SYNTHETIC"));
  r = fer("train --lr 0", dir);
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Catch::Contains("--lr must be a number greater than 0"));
  r = fer("train --device gpu", dir);
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Catch::Contains("fer train: --device must be cpu, cuda or auto"));
  r = fer("train --model big", dir);
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Catch::Contains("fer train: --model: unknown model 'big'"));
  fs::create_directory(dir / "folder");
  r = fer("stats --data folder", dir);
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.output, Catch::Contains("folder: cannot read: it is a directory"));
  r = fer("eval --model folder", dir);
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.output, Catch::Contains("folder: it is a directory"));
  CHECK_THAT(r.output, !Catch::Contains("basic_filebuf"));
  r = fer("synth --help", dir);
  CHECK_THAT(r.output, Catch::Contains("gzip-compressed when FILE ends in .gz") && !Catch::Contains("not compressed"));
  minidnn::test::write_file(dir / "afile", "x");
  r = fer("predict --model no_such.mdnn --out afile photo.jpg", dir);  // the folder is checked first
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.output, Catch::Contains("afile (for --out 'afile')"));
}

// Photos with the same stem used to overwrite each other's pictures; a file name with bytes that
// are not UTF-8 made --json print invalid JSON; faces had no numbers to match picture and table.
TEST_CASE("fer predict: unique picture names, numbered faces in reading order, valid JSON for any file name",
          "[fer][faces]") {
  const auto photo = minidnn::test::shared_dir() / "data" / "faces" / "bbt4.jpg";
  REQUIRE(fs::exists(photo));
  const auto dir = minidnn::test::scratch_dir("fer_predict_names");
  Run r = fer("train " + kQuick + " --out m.mdnn", dir);
  REQUIRE(r.exit_code == 0);
  fs::create_directories(dir / "a");
  fs::create_directories(dir / "b");
  fs::copy_file(photo, dir / "a" / "photo.jpg");
  fs::copy_file(photo, dir / "b" / "photo.jpg");
  const std::string latin1 = "caf\xe9.jpg";  // "café" in Latin-1: not UTF-8
  fs::copy_file(photo, dir / latin1);

  r = fer("predict --model m.mdnn --json --out p a/photo.jpg b/photo.jpg '" + latin1 + "'", dir);
  REQUIRE(r.exit_code == 0);
  const auto start = r.output.find("[\n");  // after the notes on stderr
  REQUIRE(start != std::string::npos);
  nlohmann::json photos;
  REQUIRE_NOTHROW(photos = nlohmann::json::parse(r.output.substr(start)));  // strict, UTF-8 checked
  REQUIRE(photos.size() == 3);
  CHECK(photos[0]["annotated"] == "p/photo_annotated.png");
  CHECK(photos[1]["annotated"] == "p/photo-2_annotated.png");
  CHECK(photos[2]["image"] == "caf\xef\xbf\xbd.jpg");  // the stray byte shown as U+FFFD
  CHECK(fs::exists(dir / "p" / "photo_annotated.png"));
  CHECK(fs::exists(dir / "p" / "photo-2_annotated.png"));
  CHECK(fs::exists(dir / "p" / "photo-2_face6.png"));
  const auto& faces = photos[0]["faces"];
  REQUIRE(faces.size() == 6);
  for (std::size_t k = 0; k < faces.size(); ++k) {
    CHECK(faces[k]["face"] == k + 1);
    CHECK(faces[k]["chart"] == "p/photo_face" + std::to_string(k + 1) + ".png");
  }
  // Reading order: each face starts right of the previous one in its row, or lower down.
  for (std::size_t k = 1; k < faces.size(); ++k) {
    const int x0 = faces[k - 1]["box"][0], y0 = faces[k - 1]["box"][1], h0 = faces[k - 1]["box"][3];
    const int x1 = faces[k]["box"][0], y1 = faces[k]["box"][1];
    CHECK((x1 > x0 || y1 > y0 + h0 / 2));
  }

  r = fer("predict --model m.mdnn --out p a/photo.jpg b/photo.jpg", dir);
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::Contains("b/photo.jpg: another photo is named 'photo' too: its pictures are photo-2_*.png"));
  CHECK_THAT(r.output, Catch::Contains("  #") && Catch::Contains("\n    1 ") && Catch::Contains("\n    6 "));
}

// Off a terminal, a long epoch used to print nothing until it ended.
TEST_CASE("fer train off a terminal prints a progress line within an epoch", "[fer]") {
  const auto dir = minidnn::test::scratch_dir("fer_progress_lines");
  const Run r = fer("train " + kQuick + " --batch 16 --progress-every 0 --out p.mdnn", dir);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::Contains("Epoch 1/1  batch 1/8  ETA ") && Catch::Contains("batch 7/8"));
  CHECK_THAT(r.output, !Catch::Contains("\r"));  // plain lines, no bar redrawn in place
}

TEST_CASE("fer eval --split evaluates one split and reports macro and weighted averages", "[fer]") {
  const auto dir = minidnn::test::scratch_dir("fer_eval_split");
  Run r = fer("train " + kQuick + " --out m.mdnn", dir);
  REQUIRE(r.exit_code == 0);
  r = fer("eval --model m.mdnn --split PublicTest --out-dir e", dir);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::Contains("PublicTest (1400 images)"));
  CHECK_THAT(r.output, !Catch::Contains("Training (") && !Catch::Contains("PrivateTest ("));
  CHECK(fs::exists(dir / "e" / "confusion_PublicTest.png"));
  CHECK_FALSE(fs::exists(dir / "e" / "confusion_Training.png"));
  // The averages, recomputed from the printed per-class rows (3 decimals each).
  std::istringstream lines(r.output);
  double sums[3] = {0, 0, 0}, weighted[3] = {0, 0, 0}, support_total = 0;
  double printed_macro[3] = {-1, -1, -1}, printed_weighted[3] = {-1, -1, -1};
  int classes = 0;
  for (std::string line; std::getline(lines, line);) {
    std::istringstream fields(line);
    std::string name;
    fields >> name;
    double v[4];
    if (name == "macro") {
      std::string avg;
      fields >> avg >> printed_macro[0] >> printed_macro[1] >> printed_macro[2];
    } else if (name == "weighted") {
      fields >> printed_weighted[0] >> printed_weighted[1] >> printed_weighted[2];
    } else if (fields >> v[0] >> v[1] >> v[2] >> v[3] && line.find("  ") == 0 && classes < 7) {
      for (int k = 0; k < 3; ++k) sums[k] += v[k], weighted[k] += v[k] * v[3];
      support_total += v[3];
      ++classes;
    }
  }
  REQUIRE(classes == 7);
  CHECK(support_total == 1400);
  for (int k = 0; k < 3; ++k) {
    CHECK(printed_macro[k] == Approx(sums[k] / 7).margin(0.001));
    CHECK(printed_weighted[k] == Approx(weighted[k] / support_total).margin(0.001));
  }
  r = fer("eval --model m.mdnn --split Validation", dir);
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Catch::Contains("--split must be Training, PublicTest, PrivateTest or all, got 'Validation'"));
}
