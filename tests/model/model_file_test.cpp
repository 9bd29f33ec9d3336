#include <catch2/catch.hpp>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sys/stat.h>

#include "minidnn/sequential.hpp"
#include "support/files.hpp"
#include "support/memory_limit.hpp"
#include "support/models.hpp"
#include "support/paths.hpp"

using namespace minidnn;
namespace fs = std::filesystem;

namespace {

Sequential<float> small_model(std::uint64_t seed) {
  Sequential<float> model;
  model.add(Conv2D<float>(4, 3, Activation::relu, 1, Padding::same));
  model.add(MaxPool2D<float>(2));
  model.add(AvgPool2D<float>(3, 2));
  model.add(Flatten<float>());
  model.add(Dense<float>(8, Activation::relu));
  model.add(Dropout<float>(0.25));
  model.add(ReLU<float>());
  model.add(Dense<float>(3));
  model.add(Softmax<float>());
  model.build(Shape{1, 12, 12}, seed);
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

TEST_CASE("A saved model loads back with identical predictions", "[model_file]") {
  const auto dir = test::scratch_dir("model_file_roundtrip");
  auto model = small_model(3);
  Tensor<float> x;
  std::vector<int> y;
  test::bar_images(64, 3, 1, x, y);
  model.compile(Adam<float>());
  FitOptions<float> options;
  options.epochs = 1;
  model.fit(x, y, options);
  const auto expected = model.predict(x);
  model.save(dir / "m.mdnn");
  auto loaded = Sequential<float>::load(dir / "m.mdnn");
  CHECK(loaded.size() == model.size());
  CHECK(loaded.parameter_count() == model.parameter_count());
  CHECK(loaded.optimizer() == nullptr);
  const auto got = loaded.predict(x);
  for (std::size_t i = 0; i < got.size(); ++i) REQUIRE(got[i] == expected[i]);
  // No temporary files are left beside it.
  int files = 0;
  for (auto& entry : fs::directory_iterator(dir)) files += entry.is_regular_file();
  CHECK(files == 1);
}

TEST_CASE("A checkpoint resumes training exactly where it stopped", "[model_file]") {
  const auto dir = test::scratch_dir("model_file_checkpoint");
  set_num_threads(1);
  Tensor<float> x;
  std::vector<int> y;
  test::bar_images(128, 3, 2, x, y);
  FitOptions<float> options;
  options.epochs = 2;
  options.batch_size = 16;

  auto uninterrupted = small_model(5);
  uninterrupted.compile(Adam<float>());
  uninterrupted.fit(x, y, options);

  auto first = small_model(5);
  first.compile(Adam<float>());
  FitOptions<float> stop_early = options;
  stop_early.on_batch_end = [](const BatchLogs& l) { return !(l.epoch == 0 && l.batch == 3); };
  const History h = first.fit(x, y, stop_early);
  REQUIRE(h.stopped);
  first.save(dir / "ckpt.mdnn", /*with_optimizer=*/true, "next_batch=" + std::to_string(h.next_batch));

  std::string metadata;
  auto resumed = Sequential<float>::load(dir / "ckpt.mdnn", &metadata);
  CHECK(metadata == "next_batch=4");
  REQUIRE(resumed.optimizer() != nullptr);
  CHECK(resumed.optimizer()->iterations() == 4);
  FitOptions<float> rest = options;
  rest.initial_epoch = h.next_epoch;
  rest.initial_batch = h.next_batch;
  resumed.fit(x, y, rest);

  const auto a = uninterrupted.parameters(), b = resumed.parameters();
  for (std::size_t k = 0; k < a.size(); ++k)
    for (std::size_t i = 0; i < a[k]->size(); ++i) REQUIRE(a[k]->value[i] == b[k]->value[i]);
  set_num_threads(max_threads());
}

TEST_CASE("Truncated, corrupt and foreign files are rejected with a clear message", "[model_file]") {
  const auto dir = test::scratch_dir("model_file_bad");
  auto model = small_model(1);
  model.save(dir / "good.mdnn");
  const std::string good = read_all(dir / "good.mdnn");

  SECTION("truncated") {
    for (std::size_t keep : {std::size_t(2), std::size_t(10), good.size() / 2, good.size() - 1}) {
      write_all(dir / "t.mdnn", good.substr(0, keep));
      CHECK_THROWS_WITH(Sequential<float>::load(dir / "t.mdnn"),
                        Catch::Contains("t.mdnn") && (Catch::Contains("truncated") || Catch::Contains("magic")));
    }
  }
  SECTION("a flipped byte in the weights") {
    std::string bad = good;
    bad[good.size() / 2] ^= 0x40;
    write_all(dir / "c.mdnn", bad);
    CHECK_THROWS_WITH(Sequential<float>::load(dir / "c.mdnn"), Catch::Contains("checksum mismatch"));
  }
  SECTION("not a model file") {
    write_all(dir / "n.mdnn", "emotion,pixels,Usage\n0,1 2 3,Training\n");
    CHECK_THROWS_WITH(Sequential<float>::load(dir / "n.mdnn"), Catch::Contains("not a minidnn model file"));
  }
  SECTION("a future format version") {
    std::string bad = good;
    bad[4] = 9;
    write_all(dir / "v.mdnn", bad);
    CHECK_THROWS_WITH(Sequential<float>::load(dir / "v.mdnn"), Catch::Contains("unsupported format version 9"));
  }
  SECTION("trailing garbage") {
    write_all(dir / "g.mdnn", good + "xyz");
    CHECK_THROWS_WITH(Sequential<float>::load(dir / "g.mdnn"), Catch::Contains("unexpected bytes"));
  }
  SECTION("missing file") {
    CHECK_THROWS_WITH(Sequential<float>::load(dir / "absent.mdnn"), Catch::Contains("cannot open model file"));
  }
}

TEST_CASE("A failed save leaves the previous file untouched", "[model_file]") {
  const auto dir = test::scratch_dir("model_file_failed_save");
  auto model = small_model(1);
  SECTION("the target is a directory") {
    fs::create_directory(dir / "taken.mdnn");
    CHECK_THROWS_WITH(model.save(dir / "taken.mdnn"), Catch::Contains("directory"));
  }
  SECTION("the directory is read-only") {
    model.save(dir / "m.mdnn");
    const std::string before = read_all(dir / "m.mdnn");
    auto other = small_model(2);
    ::chmod(dir.c_str(), 0555);
    const bool writable_anyway = ::access(dir.c_str(), W_OK) == 0;  // root ignores permissions
    if (!writable_anyway) {
      CHECK_THROWS_WITH(other.save(dir / "m.mdnn"), Catch::Contains("cannot save"));
      CHECK(read_all(dir / "m.mdnn") == before);
    }
    ::chmod(dir.c_str(), 0755);
    if (writable_anyway) WARN("running as root: read-only directory case not exercised");
  }
}

TEST_CASE("A model saved in float loads into a double model", "[model_file]") {
  const auto dir = test::scratch_dir("model_file_convert");
  auto model = small_model(4);
  model.save(dir / "f.mdnn");
  auto as_double = Sequential<double>::load(dir / "f.mdnn");
  const auto a = model.parameters();
  const auto b = as_double.parameters();
  for (std::size_t k = 0; k < a.size(); ++k)
    for (std::size_t i = 0; i < a[k]->size(); ++i) REQUIRE(double(a[k]->value[i]) == b[k]->value[i]);
}

// Corrupt fields behind a valid checksum (as a buggy writer or a deliberate edit would produce),
// found by fuzzing (fuzz/regressions/model_file/): refused before any allocation they imply.
TEST_CASE("Implausible sizes behind a valid checksum are refused with a clear message", "[model_file]") {
  const auto dir = test::scratch_dir("model_file_implausible");
  auto model = small_model(1);
  model.save(dir / "good.mdnn");
  const std::string good = read_all(dir / "good.mdnn");
  const std::size_t conv = good.find("Conv2D") + 6;  // filters, kernel h, w, stride h, w follow
  REQUIRE(conv > 6);
  auto patched = [&](std::size_t offset, std::int32_t value) {
    std::string bytes = good;
    std::memcpy(&bytes[offset], &value, sizeof value);
    const std::size_t payload = bytes.size() - model_file::kHeaderSize - 4;
    const std::uint32_t crc = crc32(bytes.data() + model_file::kHeaderSize, payload);
    std::memcpy(&bytes[bytes.size() - 4], &crc, sizeof crc);
    write_all(dir / "bad.mdnn", bytes);
    return dir / "bad.mdnn";
  };
  CHECK_THROWS_WITH(Sequential<float>::load(patched(conv + 12, 0x7fffffff)),
                    Catch::Contains("bad.mdnn") && Catch::Contains("layer 0 (Conv2D)") &&
                        Catch::Contains("strides must be 1 to 65536"));
  CHECK_THROWS_WITH(Sequential<float>::load(patched(conv, 1 << 30)),
                    Catch::Contains("bad.mdnn") && Catch::Contains("implausible layer 0 (Conv2D) output shape"));
  const std::size_t dense = good.find("Dense") + 5;  // units follow
  CHECK_THROWS_WITH(Sequential<float>::load(patched(dense, 1 << 20)),
                    Catch::Contains("bad.mdnn") && Catch::Contains("needs 17825792 parameter values") &&
                        Catch::Contains("truncated or corrupt"));
  // The input shape (1, 12, 12) starts the payload: rank, then the dimensions.
  CHECK_THROWS_WITH(Sequential<float>::load(patched(model_file::kHeaderSize + 8, 1 << 30)),
                    Catch::Contains("bad.mdnn") && Catch::Contains("implausible input shape"));
}

// Without the header-first check the loader read the whole file first: 3.9 GB for a 2 GB sparse
// file, std::bad_alloc for /dev/zero, and an unnamed basic_filebuf error for a directory.
TEST_CASE("Hostile model files are refused from the header, in bounded memory", "[model_file]") {
  const auto dir = test::scratch_dir("model_file_hostile");
  auto model = small_model(1);
  model.save(dir / "good.mdnn");
  const std::string good = read_all(dir / "good.mdnn");
  test::write_sparse_file(dir / "sparse.mdnn", std::uintmax_t(2) << 30);
  // A true header that claims a 2 GiB payload, in a sparse file of that size whose payload is
  // missing (a regular file) and in a short file.
  std::string claim = good.substr(0, model_file::kHeaderSize);
  const std::uint64_t two_gib = std::uint64_t(2) << 30;
  std::memcpy(&claim[12], &two_gib, sizeof two_gib);
  write_all(dir / "claims.mdnn", claim + "abc");
  fs::create_directory(dir / "folder.mdnn");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {(dir / "sparse.mdnn").string(), "bad magic number"},
      {"/dev/zero", "bad magic number"},
      {(dir / "claims.mdnn").string(), "truncated: expected 2147483652 bytes after the header, found 3"},
      {(dir / "folder.mdnn").string(), "it is a directory"},
  };
  for (const auto& [path, expected] : cases) {
    INFO(path);
    const auto run = test::run_with_memory_limit(std::size_t(256) << 20, [&] { Sequential<float>::load(path); });
    CHECK(run.outcome == test::LimitedRun::error);
    CHECK_THAT(run.message, Catch::Contains(path) && Catch::Contains(expected));
  }
  fs::remove_all(dir);
}

// A NaN or infinity behind a valid checksum used to load: `fer eval` printed "loss nan" and every
// face came out Angry.
TEST_CASE("Non-finite weights are refused at load, naming the layer and parameter", "[model_file]") {
  const auto dir = test::scratch_dir("model_file_nonfinite");
  for (const float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()}) {
    auto model = small_model(1);
    auto params = model.parameters();
    params[2]->value[3] = bad;  // the first Dense layer's kernel (after Conv2D kernel and bias)
    model.save(dir / "nan.mdnn");
    CHECK_THROWS_WITH(Sequential<float>::load(dir / "nan.mdnn"),
                      Catch::Contains("nan.mdnn") && Catch::Contains("layer 4 (Dense)") &&
                          Catch::Contains("parameter '" + params[2]->name + "'") && Catch::Contains("non-finite") &&
                          Catch::Contains("index 3"));
  }
}
