// Built against an *installed* minidnn with find_package(minidnn) and default flags (-O2, no
// -march): checks that the kernels run the best instruction set this CPU has (read from
// /proc/cpuinfo here, independently of the library), then trains a tiny network on an XOR-like
// problem and checks it learned.
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include <minidnn/sequential.hpp>

// The instruction set the library should pick on this CPU, from the kernel's feature flags.
static minidnn::cpu::Isa expected_isa() {
  std::ifstream in("/proc/cpuinfo");
  std::string line, flags;
  while (std::getline(in, line))
    if (line.rfind("flags", 0) == 0) {
      flags = " " + line.substr(line.find(':') + 1) + " ";
      break;
    }
  [[maybe_unused]] const auto has = [&](const char* f) { return flags.find(std::string(" ") + f + " ") != std::string::npos; };
#if defined(__x86_64__)
  if (has("avx512f") && has("avx512bw") && has("avx512dq") && has("avx512vl")) return minidnn::cpu::Isa::avx512;
  if (has("avx2") && has("fma")) return minidnn::cpu::Isa::avx2;
#endif
  return minidnn::cpu::Isa::baseline;
}

int main() {
  using namespace minidnn;
#if defined(__AVX2__) || defined(__AVX512F__)
  std::printf("consumer: built with -march flags; this check needs default flags\n");
  return 1;
#endif
  const cpu::Isa active = cpu::active_isa(), expected = expected_isa();
  std::printf("consumer: kernels run %s (this CPU's best: %s)\n", cpu::isa_name(active), cpu::isa_name(expected));
  if (active != expected) return 1;
  Tensor<float> x(400, Shape{2});
  std::vector<int> y(400);
  Rng rng(1);
  for (int n = 0; n < 400; ++n) {
    const float a = static_cast<float>(rng.uniform(-1, 1)), b = static_cast<float>(rng.uniform(-1, 1));
    x.sample(n)[0] = a;
    x.sample(n)[1] = b;
    y[n] = (a > 0) != (b > 0);
  }
  Sequential<float> model;
  model.add(Dense<float>(16, Activation::relu));
  model.add(Dense<float>(2));
  model.add(Softmax<float>());
  model.build(Shape{2});
  model.compile(Adam<float>(0.01));
  FitOptions<float> options;
  options.epochs = 60;
  options.batch_size = 20;
  model.fit(x, y, options);
  const double acc = model.evaluate(x, y).accuracy;
  std::printf("consumer: accuracy %.3f\n", acc);
  return acc > 0.9 ? 0 : 1;
}
