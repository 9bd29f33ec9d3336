#pragma once
/// \file
/// Max pooling of one plane, the kernel behind MaxPool2D: the scalar window loop (the
/// reference) and, for AVX-512 and AVX2 floats, a separable kernel (ops/pool/separable.hpp) with
/// a vectorized window loop for what it does not take; compiled per instruction set.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "minidnn/cpu/simd.hpp"
#include "minidnn/ops/pool/separable.hpp"

#define MINIDNN_PER_ISA_FILE "minidnn/ops/pool/max_pool-inl.hpp"
#include "minidnn/cpu/for_each_isa.hpp"

namespace minidnn {

/// y (oh x ow) = the maximum of each (ph x pw) window of plane x (rows iw apart) at strides
/// (sh, sw); winner (unless null) = the plane index of each window's first maximum in
/// row-major order (where the backward pass routes its gradient). NaN in a window gives NaN.
template <typename T>
void max_pool_plane(const T* x, T* y, std::int32_t* winner, int iw, int oh, int ow, int ph, int pw, int sh,
                    int sw) {
  MINIDNN_DISPATCH(max_pool_plane<T>(x, y, winner, iw, oh, ow, ph, pw, sh, sw));
}

}  // namespace minidnn
