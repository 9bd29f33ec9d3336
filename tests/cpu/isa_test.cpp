// cpu/isa.hpp: which instruction set the kernels run on, and that MINIDNN_DISPATCH reaches the
// copy compiled for it.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "minidnn/cpu/isa.hpp"
#include "minidnn/cpu/simd.hpp"
#include "minidnn/ops/gemm.hpp"

using namespace minidnn;
using cpu::Isa;

namespace {

// The CPU's feature flags as the kernel reports them, read independently of __builtin_cpu_supports.
std::set<std::string> cpuinfo_flags() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  std::set<std::string> flags;
  while (std::getline(in, line))
    if (line.rfind("flags", 0) == 0) {
      std::istringstream words(line.substr(line.find(':') + 1));
      for (std::string w; words >> w;) flags.insert(w);
      break;
    }
  return flags;
}

// Restores the active set when a test case ends.
struct IsaGuard {
  Isa saved = cpu::active_isa();
  ~IsaGuard() { cpu::set_isa(saved); }
};

std::vector<Isa> supported_isas() {
  std::vector<Isa> out;
  for (Isa isa : {Isa::avx512, Isa::avx2, Isa::baseline})
    if (cpu::supports(isa)) out.push_back(isa);
  return out;
}

}  // namespace

TEST_CASE("Instruction-set names parse, and unknown ones are an error naming the choices", "[isa]") {
  for (Isa isa : {Isa::avx512, Isa::avx2, Isa::baseline}) CHECK(cpu::parse_isa(cpu::isa_name(isa)) == isa);
  CHECK_THROWS_WITH(cpu::parse_isa("sse9"), Catch::Contains("'sse9'") && Catch::Contains("avx512, avx2 or baseline"));
  CHECK_THROWS_AS(cpu::isa_from_environment("AVX512"), Error);
  CHECK(cpu::isa_from_environment(nullptr) == cpu::best_isa());
  CHECK(cpu::isa_from_environment("") == cpu::best_isa());
}

TEST_CASE("The best instruction set is what /proc/cpuinfo lists", "[isa]") {
  CHECK(cpu::supports(Isa::baseline));
#if MINIDNN_X86 && defined(__linux__)
  const auto flags = cpuinfo_flags();
  REQUIRE(!flags.empty());
  const bool avx512 = flags.count("avx512f") && flags.count("avx512bw") && flags.count("avx512dq") &&
                      flags.count("avx512vl");
  const bool avx2 = flags.count("avx2") && flags.count("fma");
  CHECK(cpu::supports(Isa::avx512) == avx512);
  CHECK(cpu::supports(Isa::avx2) == avx2);
  CHECK(cpu::best_isa() == (avx512 ? Isa::avx512 : avx2 ? Isa::avx2 : Isa::baseline));
#else
  CHECK(cpu::best_isa() == Isa::baseline);
#endif
}

TEST_CASE("The active set is MINIDNN_ISA's, or the best one without it", "[isa]") {
  const char* env = std::getenv("MINIDNN_ISA");
  CHECK(cpu::active_isa() == (env && *env ? cpu::parse_isa(env) : cpu::best_isa()));
  INFO("MINIDNN_ISA=" << (env ? env : "(unset)") << ", active " << cpu::isa_name(cpu::active_isa()));
}

TEST_CASE("set_isa forces a supported set and refuses one the CPU lacks", "[isa]") {
  IsaGuard guard;
  for (Isa isa : {Isa::avx512, Isa::avx2, Isa::baseline}) {
    if (cpu::supports(isa)) {
      cpu::set_isa(isa);
      CHECK(cpu::active_isa() == isa);
    } else {
      CHECK_THROWS_WITH(cpu::set_isa(isa), Catch::Contains(cpu::isa_name(isa)) && Catch::Contains("cannot run"));
      CHECK_THROWS_WITH(cpu::isa_from_environment(cpu::isa_name(isa)), Catch::Contains("MINIDNN_ISA"));
    }
  }
}

namespace {
// Which copy MINIDNN_DISPATCH called: each namespace's Simd<float> names its set.
const char* simd_name() { MINIDNN_DISPATCH(Simd<float>::name); }
int simd_width() { MINIDNN_DISPATCH(Simd<float>::width); }
}  // namespace

TEST_CASE("MINIDNN_DISPATCH reaches the copy compiled for the active set", "[isa]") {
  IsaGuard guard;
  for (Isa isa : supported_isas()) {
    cpu::set_isa(isa);
    CHECK(std::string(simd_name()) == (isa == Isa::baseline ? "scalar" : cpu::isa_name(isa)));
    CHECK(simd_width() == (isa == Isa::avx512 ? 16 : isa == Isa::avx2 ? 8 : 1));
  }
}

TEST_CASE("Every set's GEMM gives the product of a direct loop", "[isa]") {
  IsaGuard guard;
  const int m = 37, n = 53, k = 29;  // edge tiles in every direction on every set
  std::vector<float> a(m * k), b(k * n), c(m * n);
  for (int i = 0; i < m * k; ++i) a[i] = float((i * 7) % 13) - 6.0f;
  for (int i = 0; i < k * n; ++i) b[i] = float((i * 5) % 11) - 5.0f;
  for (Isa isa : supported_isas()) {
    cpu::set_isa(isa);
    INFO(cpu::isa_name(isa));
    gemm<float>(Transpose::no, Transpose::yes, m, n, k, 1.0f, a.data(), k, b.data(), k, 0.0f, c.data(), n);
    for (int i = 0; i < m; ++i)
      for (int j = 0; j < n; ++j) {
        double sum = 0;  // small integers: exact in float
        for (int p = 0; p < k; ++p) sum += double(a[i * k + p]) * b[j * k + p];
        REQUIRE(c[i * n + j] == float(sum));
      }
  }
}
