#pragma once
/// \file
/// Which instruction set the kernels run on, chosen once at start-up from the CPU's features.
///
/// Every hot kernel is compiled several times in the same translation unit, once per instruction
/// set, each copy in its own namespace (cpu::avx512, cpu::avx2, cpu::baseline) and with its own
/// target attributes (cpu/for_each_isa.hpp), so a program built with no -march flag still runs
/// AVX-512 code on a CPU that has it. MINIDNN_DISPATCH calls the copy of the active set.
///
/// The active set is the best the CPU supports, unless the environment variable
/// MINIDNN_ISA=avx512|avx2|baseline forces one (read once, at the first kernel call) or
/// set_isa() does. Asking for a set the CPU lacks is an error.
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "minidnn/core/error.hpp"

#if defined(__x86_64__) || defined(__i386__) || defined(_M_X64)
#define MINIDNN_X86 1
#else
#define MINIDNN_X86 0
#endif

namespace minidnn::cpu {

/// The instruction sets a kernel is compiled for. baseline is portable C++ (on x86-64 the
/// SSE2 every such CPU has; elsewhere whatever the compiler targets by default).
enum class Isa { baseline, avx2, avx512 };

inline const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::avx512: return "avx512";
    case Isa::avx2: return "avx2";
    default: return "baseline";
  }
}

/// Parses "avx512", "avx2" or "baseline"; throws Error naming the accepted values otherwise.
inline Isa parse_isa(const std::string& name) {
  if (name == "avx512") return Isa::avx512;
  if (name == "avx2") return Isa::avx2;
  if (name == "baseline") return Isa::baseline;
  fail("unknown instruction set '", name, "': expected avx512, avx2 or baseline");
}

/// True when this CPU (and its operating system) can run the kernels compiled for `isa`:
/// avx512 needs AVX-512 F, BW, DQ and VL; avx2 needs AVX2 and FMA.
inline bool supports(Isa isa) {
#if MINIDNN_X86 && (defined(__GNUC__) || defined(__clang__))
  switch (isa) {
    case Isa::avx512:
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
             __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case Isa::avx2: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    default: return true;
  }
#else
  return isa == Isa::baseline;
#endif
}

/// The fastest instruction set this CPU supports.
inline Isa best_isa() {
  for (Isa isa : {Isa::avx512, Isa::avx2})
    if (supports(isa)) return isa;
  return Isa::baseline;
}

/// The set named by `env_value` (MINIDNN_ISA's value; null or empty: the best one). Throws Error
/// for an unknown name or a set this CPU lacks.
inline Isa isa_from_environment(const char* env_value) {
  if (!env_value || !*env_value) return best_isa();
  const Isa isa = parse_isa(env_value);
  if (!supports(isa))
    fail("MINIDNN_ISA=", env_value, " asks for ", isa_name(isa), " kernels, which this CPU cannot run (best: ",
         isa_name(best_isa()), ")");
  return isa;
}

namespace detail {
// The active set. Read at every kernel call: one relaxed load, no lock.
inline std::atomic<Isa>& isa_slot() {
  static std::atomic<Isa> slot{[] {
    try {
      return isa_from_environment(std::getenv("MINIDNN_ISA"));
    } catch (const Error& e) {
      // The first kernel call may sit inside an OpenMP region, where an exception cannot pass.
      std::fprintf(stderr, "minidnn: %s\n", e.what());
      std::exit(EXIT_FAILURE);
    }
  }()};
  return slot;
}
}  // namespace detail

/// The instruction set the kernels run on now.
inline Isa active_isa() { return detail::isa_slot().load(std::memory_order_relaxed); }

/// Forces the kernels onto `isa` (for tests and benchmarks); throws Error if the CPU lacks it.
/// Call it while no kernel runs.
inline void set_isa(Isa isa) {
  if (!supports(isa))
    fail("set_isa: this CPU cannot run ", isa_name(isa), " kernels (best: ", isa_name(best_isa()), ")");
  detail::isa_slot().store(isa, std::memory_order_relaxed);
}

}  // namespace minidnn::cpu

/// `return`s the call `...` (a name and arguments, e.g. `foo<T>(x, n)`) made on the active
/// instruction set's copy: cpu::avx512::foo<T>(x, n) and so on. Use it once per kernel call
/// (a plane, a sample, a block), never per vector.
#if MINIDNN_X86
#define MINIDNN_DISPATCH(...)                                                   \
  switch (::minidnn::cpu::active_isa()) {                                       \
    case ::minidnn::cpu::Isa::avx512: return ::minidnn::cpu::avx512::__VA_ARGS__; \
    case ::minidnn::cpu::Isa::avx2: return ::minidnn::cpu::avx2::__VA_ARGS__;     \
    default: return ::minidnn::cpu::baseline::__VA_ARGS__;                      \
  }
#else
#define MINIDNN_DISPATCH(...) return ::minidnn::cpu::baseline::__VA_ARGS__;
#endif
