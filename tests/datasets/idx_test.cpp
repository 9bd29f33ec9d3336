#include "minidnn/datasets/idx.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <string>
#include <vector>

#include "support/files.hpp"
#include "support/paths.hpp"

namespace idx = minidnn::idx;
using namespace minidnn::test;

namespace {

std::string big_endian(std::uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8), static_cast<char>(v)};
}

// An IDX header for unsigned bytes with the given dimensions.
std::string header(const std::vector<std::uint32_t>& dims, char type = 0x08) {
  std::string h = {0, 0, type, static_cast<char>(dims.size())};
  for (std::uint32_t d : dims) h += big_endian(d);
  return h;
}

std::string image_bytes(int count, int rows, int cols) {
  std::string data;
  for (int n = 0; n < count; ++n)
    for (int i = 0; i < rows * cols; ++i) data += static_cast<char>((n * 50 + i * 3) % 256);
  return data;
}

}  // namespace

TEST_CASE("idx reads images and labels, plain and gzip alike") {
  const auto dir = scratch_dir("idx_small");
  const std::string images = header({3, 4, 5}) + image_bytes(3, 4, 5);
  const std::string labels = header({3}) + std::string{7, 0, 9};
  write_file(dir / "images", images);
  write_file(dir / "images.gz", gzip_bytes(images));
  write_file(dir / "labels.gz", gzip_bytes(labels));
  for (const char* name : {"images", "images.gz"}) {
    const minidnn::Tensor<float> t = idx::read_images((dir / name).string());
    REQUIRE(t.batch() == 3);
    REQUIRE(t.shape() == minidnn::Shape{1, 4, 5});
    for (int n = 0; n < 3; ++n)
      for (int i = 0; i < 20; ++i) CHECK(t.sample(n)[i] == static_cast<float>((n * 50 + i * 3) % 256) / 255.0f);
  }
  CHECK(idx::read_labels((dir / "labels.gz").string()) == std::vector<int>{7, 0, 9});
  CHECK_THROWS_WITH(idx::read_labels((dir / "labels.gz").string(), 8),
                    Catch::Contains("labels.gz") && Catch::Contains("label 2") && Catch::Contains("is 9"));
}

TEST_CASE("idx rejects bad magic, wrong rank, zero dimensions, truncation and trailing bytes") {
  const auto dir = scratch_dir("idx_bad");
  struct Case {
    const char* name;
    std::string bytes;
    std::vector<std::string> parts;
  };
  const std::vector<Case> cases = {
      {"pgm", "P5\n4 5\n255\n" + image_bytes(1, 4, 5), {"pgm", "not an IDX file"}},
      {"floats", header({2, 2, 2}, 0x0D) + std::string(32, '\0'), {"floats", "element type 0xd", "not supported"}},
      {"rank2", header({2, 10}) + std::string(20, '\0'), {"rank2", "rank (byte 3) is 2", "expected 3"}},
      {"zero_dim", header({2, 0, 5}), {"zero_dim", "dimension 1", "is 0"}},
      {"short_header", std::string{0, 0, 8, 3} + big_endian(2), {"short_header", "dimension sizes"}},
      {"short_data", header({3, 4, 5}) + image_bytes(2, 4, 5), {"short_data", "the IDX data", "found 40"}},
      // Found by fuzzing: a header promising gigabytes used to be allocated before reading.
      {"huge_claim", header({100000, 300, 300}) + image_bytes(1, 4, 5), {"huge_claim", "promises 9000000000", "found 20"}},
      {"extra", header({1, 4, 5}) + image_bytes(1, 4, 5) + "x", {"extra", "unexpected bytes", "offset 36"}},
      {"empty", "", {"empty", "magic"}},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    write_file(dir / c.name, c.bytes);
    CHECK_THROWS_WITH(idx::read_images((dir / c.name).string()),
                      Catch::Contains(c.parts[0]) && Catch::Contains(c.parts[1]) &&
                          Catch::Contains(c.parts.size() > 2 ? c.parts[2] : c.parts[1]));
  }
  const std::string images = gzip_bytes(header({3, 4, 5}) + image_bytes(3, 4, 5));
  write_file(dir / "cut.gz", images.substr(0, images.size() - 10));
  CHECK_THROWS_WITH(idx::read_images((dir / "cut.gz").string()), Catch::Contains("cut.gz") && Catch::Contains("truncated"));
}

TEST_CASE("idx reads Debian's Fashion-MNIST files when installed") {
  const std::filesystem::path dir = "/usr/share/datasets/fashion-mnist";
  if (!std::filesystem::exists(dir / "t10k-labels-idx1-ubyte.gz")) {
    WARN("skipped: dataset-fashion-mnist is not installed");
    return;
  }
  const auto test_images = idx::read_images((dir / "t10k-images-idx3-ubyte.gz").string());
  const auto test_labels = idx::read_labels((dir / "t10k-labels-idx1-ubyte.gz").string(), 10);
  const auto train_labels = idx::read_labels((dir / "train-labels-idx1-ubyte.gz").string(), 10);
  CHECK(test_images.batch() == 10000);
  CHECK(test_images.shape() == minidnn::Shape{1, 28, 28});
  CHECK(test_labels.size() == 10000);
  CHECK(train_labels.size() == 60000);
  std::vector<int> per_class(10);
  for (int label : train_labels) ++per_class[label];
  CHECK(per_class == std::vector<int>(10, 6000));  // Fashion-MNIST is exactly balanced
  const auto train_images = idx::read_images((dir / "train-images-idx3-ubyte.gz").string());
  CHECK(train_images.batch() == 60000);
}
