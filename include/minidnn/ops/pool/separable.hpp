#pragma once
/// \file
/// Separable pooling of one plane (AVX-512 and AVX2 floats; see ops/pool/separable-inl.hpp), for the
/// per-ISA plane kernels of ops/pool/max_pool.hpp and ops/pool/avg_pool.hpp.
#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "minidnn/cpu/simd.hpp"

#define MINIDNN_PER_ISA_FILE "minidnn/ops/pool/separable-inl.hpp"
#include "minidnn/cpu/for_each_isa.hpp"
