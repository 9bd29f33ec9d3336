// No include guard: included once per kernel file, which it compiles once per instruction set.
/// \file
/// Compiles the per-ISA kernel file named by MINIDNN_PER_ISA_FILE once for each instruction set
/// (cpu/isa.hpp): inside namespace minidnn::cpu::MINIDNN_ISA_NS (avx512, avx2, baseline) under
/// that set's target attributes, with exactly one of MINIDNN_ISA_AVX512, MINIDNN_ISA_AVX2,
/// MINIDNN_ISA_BASELINE set to 1. (Not __AVX512F__ and friends: clang does not define them
/// under a target attribute.)
///
/// Rules for a per-ISA file (name-inl.hpp): no include guard, no #include (its public header
/// includes what it needs first), everything inside `namespace minidnn::cpu::MINIDNN_ISA_NS`,
/// and no OpenMP pragmas (clang compiles outlined parallel regions for the default target).
#ifndef MINIDNN_PER_ISA_FILE
#error "define MINIDNN_PER_ISA_FILE before including minidnn/cpu/for_each_isa.hpp"
#endif

#if MINIDNN_X86

#define MINIDNN_ISA_NS avx512
#define MINIDNN_ISA_AVX512 1
#define MINIDNN_ISA_AVX2 0
#define MINIDNN_ISA_BASELINE 0
#if defined(__clang__)
// A kernel file may hold nothing for a set (an AVX-512-only kernel's AVX2 copy is empty).
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wpragma-clang-attribute"
#pragma clang attribute push(__attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma,bmi,bmi2,f16c,popcnt,lzcnt"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma,bmi,bmi2,f16c,popcnt,lzcnt")
// At the user's -O2, GCC 12 vectorises and unrolls the kernels' plain loops far less: a program
// built against the installed package at -O2 ran the seed model at 0.41x the -O3 build
// (docs/performance.md, "A user's build"). The vector copies are compiled at O3 whatever the level
// (MINIDNN_KERNELS_AT_BUILD_LEVEL keeps the build's level: the sanitizer build, at -O1 to compile fast).
#ifndef MINIDNN_KERNELS_AT_BUILD_LEVEL
#pragma GCC optimize("O3")
#endif
// GCC 12's AVX-512 intrinsics build their "undefined" operands by self-initialisation, which
// -W(maybe-)uninitialized flags once inlined; the other copies of the same code still warn.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include MINIDNN_PER_ISA_FILE
#if defined(__clang__)
#pragma clang attribute pop
#pragma clang diagnostic pop
#else
#pragma GCC diagnostic pop
#pragma GCC pop_options
#endif
#undef MINIDNN_ISA_NS
#undef MINIDNN_ISA_AVX512
#undef MINIDNN_ISA_AVX2
#undef MINIDNN_ISA_BASELINE

#define MINIDNN_ISA_NS avx2
#define MINIDNN_ISA_AVX512 0
#define MINIDNN_ISA_AVX2 1
#define MINIDNN_ISA_BASELINE 0
#if defined(__clang__)
// A kernel file may hold nothing for a set (an AVX-512-only kernel's AVX2 copy is empty).
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wpragma-clang-attribute"
#pragma clang attribute push(__attribute__((target("avx2,fma,bmi,bmi2,f16c,popcnt,lzcnt"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma,bmi,bmi2,f16c,popcnt,lzcnt")
#ifndef MINIDNN_KERNELS_AT_BUILD_LEVEL
#pragma GCC optimize("O3")
#endif
#endif
#include MINIDNN_PER_ISA_FILE
#if defined(__clang__)
#pragma clang attribute pop
#pragma clang diagnostic pop
#else
#pragma GCC pop_options
#endif
#undef MINIDNN_ISA_NS
#undef MINIDNN_ISA_AVX512
#undef MINIDNN_ISA_AVX2
#undef MINIDNN_ISA_BASELINE

#endif  // MINIDNN_X86

#define MINIDNN_ISA_NS baseline
#define MINIDNN_ISA_AVX512 0
#define MINIDNN_ISA_AVX2 0
#define MINIDNN_ISA_BASELINE 1
#include MINIDNN_PER_ISA_FILE
#undef MINIDNN_ISA_NS
#undef MINIDNN_ISA_AVX512
#undef MINIDNN_ISA_AVX2
#undef MINIDNN_ISA_BASELINE

#undef MINIDNN_PER_ISA_FILE
