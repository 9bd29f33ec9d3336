// Time to load the whole FER2013 CSV (.gz) into tensors, beside the time to only decompress it
// and split it into lines (the floor any CSV parser on one core pays).
//   FER2013_CSV=/path/to/fer2013.csv.gz ./fer2013_bench
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "minidnn/datasets/fer2013.hpp"
#include "minidnn/io/line_reader.hpp"

namespace {

std::string csv_path() {
  if (const char* env = std::getenv("FER2013_CSV"); env && *env) return env;
  return MINIDNN_DEFAULT_FER2013_CSV;
}

void BM_DecompressAndSplitLines(benchmark::State& state) {
  std::size_t bytes = 0;
  for (auto _ : state) {
    minidnn::LineReader lines(csv_path());
    std::string_view line;
    std::size_t count = 0;
    while (lines.next(line)) {
      ++count;
      bytes += line.size() + 1;
    }
    benchmark::DoNotOptimize(count);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(bytes));
}

void BM_LoadAllSplits(benchmark::State& state) {
  std::size_t rows = 0;
  for (auto _ : state) {
    const minidnn::fer2013::Dataset data = minidnn::fer2013::load(csv_path());
    rows += data.rows_read;
    benchmark::DoNotOptimize(data.training.images.data());
  }
  state.counters["rows"] = benchmark::Counter(static_cast<double>(rows) / static_cast<double>(state.iterations()));
}

void BM_ValidateAndCountOnly(benchmark::State& state) {
  minidnn::fer2013::LoadOptions count_only;
  count_only.training = count_only.public_test = count_only.private_test = false;
  for (auto _ : state) benchmark::DoNotOptimize(minidnn::fer2013::load(csv_path(), count_only).rows_read);
}

BENCHMARK(BM_DecompressAndSplitLines)->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK(BM_LoadAllSplits)->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK(BM_ValidateAndCountOnly)->Unit(benchmark::kMillisecond)->Iterations(3);

}  // namespace

int main(int argc, char** argv) {
  if (!std::filesystem::exists(csv_path())) {
    std::printf("fer2013_bench: skipped, %s not found (set FER2013_CSV)\n", csv_path().c_str());
    return 0;
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
