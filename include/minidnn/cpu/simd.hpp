#pragma once
/// \file
/// cpu::<isa>::Simd<T>: the vector type of each instruction set (cpu/simd-inl.hpp), for the
/// per-ISA kernels under ops/.
#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "minidnn/cpu/isa.hpp"

#if MINIDNN_X86
#include <immintrin.h>
#endif

#define MINIDNN_PER_ISA_FILE "minidnn/cpu/simd-inl.hpp"
#include "minidnn/cpu/for_each_isa.hpp"
