// Times HaarCascade::detect on bbt1.jpg (1366x768) with haarcascade_frontalface_alt.xml, one
// thread, scaleFactor 1.1, minNeighbors 3 — the same work bench/haar_opencv_reference.py times
// with OpenCV. Grey conversion and file loading are outside the timed region.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "minidnn/vision/haar_cascade.hpp"

namespace {
std::filesystem::path shared_faces() {
  if (const char* env = std::getenv("MINIDNN_SHARED_DIR"); env && *env)
    return std::filesystem::path(env) / "data" / "faces";
  return std::filesystem::path(MINIDNN_BENCH_SHARED_DIR) / "data" / "faces";
}

void BM_HaarDetectBbt1(benchmark::State& state) {
  using namespace minidnn::vision;
  const auto cascade = HaarCascade::load("/usr/share/opencv4/haarcascades/haarcascade_frontalface_alt.xml");
  const GreyImage grey = load_grey((shared_faces() / "bbt1.jpg").string());
  std::size_t faces = 0;
  for (auto _ : state) {
    auto boxes = cascade.detect(grey, DetectOptions{1.1, 3, {}, {}});
    faces = boxes.size();
    benchmark::DoNotOptimize(boxes.data());
  }
  state.counters["faces"] = static_cast<double>(faces);
  state.SetLabel(std::to_string(grey.width) + "x" + std::to_string(grey.height));
}
BENCHMARK(BM_HaarDetectBbt1)->Unit(benchmark::kMillisecond)->MinTime(2.0);
}  // namespace

BENCHMARK_MAIN();
