#include <catch2/catch.hpp>

#include <cstdint>

#include "minidnn/core/tensor.hpp"

using namespace minidnn;

TEST_CASE("Tensor lays out samples contiguously, NCHW", "[tensor]") {
  Tensor<float> t(3, Shape{2, 4, 5});
  CHECK(t.size() == 120);
  CHECK(t.sample_size() == 40);
  CHECK(t.sample(2) - t.data() == 80);
  CHECK(reinterpret_cast<std::uintptr_t>(t.data()) % 64 == 0);
}

TEST_CASE("Tensor resize keeps its storage when it is large enough", "[tensor]") {
  Tensor<float> t(8, Shape{10});
  const float* before = t.data();
  t.resize(4, Shape{10});
  CHECK(t.data() == before);
  CHECK(t.size() == 40);
  t.resize(8, Shape{10});
  CHECK(t.data() == before);
}

TEST_CASE("Shape rejects non-positive dimensions and prints itself", "[shape]") {
  CHECK_THROWS_AS(Shape({3, 0, 2}), Error);
  CHECK(Shape({64, 44, 44}).to_string() == "(64, 44, 44)");
  CHECK(Shape({7}).to_string() == "(7,)");
  CHECK(Shape({64, 44, 44}).size() == 123904);
}
