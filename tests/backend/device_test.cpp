#include <catch2/catch.hpp>

#include "minidnn/backend/device.hpp"

using namespace minidnn;

namespace {
bool gpu_usable() {
#ifdef MINIDNN_HAVE_CUDA
  return cuda::device_available();
#else
  return false;
#endif
}
}  // namespace

TEST_CASE("select_device: cpu, and unknown names rejected", "[device]") {
  CHECK(select_device("cpu") == "cpu");
  CHECK(gemm_backend() == nullptr);
  CHECK_THROWS_WITH(select_device("tpu"), Catch::Contains("cpu, cuda or auto") && Catch::Contains("tpu"));
}

TEST_CASE("select_device: cuda without a usable GPU is an error, auto falls back to the CPU", "[device]") {
  if (gpu_usable()) {
    CHECK(select_device("cuda") == "cuda");
    CHECK(gemm_backend() != nullptr);
    CHECK(select_device("auto") == "cuda");
  } else {
    CHECK_THROWS_WITH(select_device("cuda"), Catch::Contains("no usable GPU"));
    CHECK(select_device("auto") == "cpu");
    CHECK(gemm_backend() == nullptr);
  }
  select_device("cpu");
}
