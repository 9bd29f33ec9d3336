// The seed model end to end: a training step (forward + backward + Adam) at batch 256, and
// inference at batch 256 and 1. Reports images/s. Thread count: OMP_NUM_THREADS.
#include <benchmark/benchmark.h>

#include "minidnn/models/fer_tutorial.hpp"

using namespace minidnn;

namespace {

Tensor<float> random_faces(int batch) {
  Tensor<float> x(batch, Shape{1, 48, 48});
  Rng rng(1);
  for (auto& v : x) v = static_cast<float>(rng.uniform());
  return x;
}

void BM_SeedModelTrainStep(benchmark::State& state) {
  const int batch = static_cast<int>(state.range(0));
  auto model = models::fer_tutorial_model<float>(1);
  model.compile(Adam<float>());
  const auto x = random_faces(batch);
  std::vector<int> labels(batch);
  for (int i = 0; i < batch; ++i) labels[i] = i % 7;
  model.train_on_batch(x, labels);  // sizes every buffer once
  for (auto _ : state) benchmark::DoNotOptimize(model.train_on_batch(x, labels));
  state.counters["images/s"] = benchmark::Counter(double(batch), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_SeedModelTrainStep)->Arg(256)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_SeedModelInference(benchmark::State& state) {
  const int batch = static_cast<int>(state.range(0));
  auto model = models::fer_tutorial_model<float>(1);
  const auto x = random_faces(batch);
  model.forward(x);
  for (auto _ : state) benchmark::DoNotOptimize(model.forward(x).data());
  state.counters["images/s"] = benchmark::Counter(double(batch), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_SeedModelInference)->Arg(256)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
