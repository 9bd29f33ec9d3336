#pragma once
/// \file
/// Average pooling of one plane, the kernel behind AvgPool2D: the window loop (the reference)
/// and, for AVX-512 and AVX2 floats, the separable sum (ops/pool/separable.hpp), equal to rounding;
/// compiled per instruction set.
#include <type_traits>

#include "minidnn/cpu/simd.hpp"
#include "minidnn/ops/pool/separable.hpp"

#define MINIDNN_PER_ISA_FILE "minidnn/ops/pool/avg_pool-inl.hpp"
#include "minidnn/cpu/for_each_isa.hpp"

namespace minidnn {

/// y (oh x ow) = the mean of each (ph x pw) window of plane x (rows iw apart) at strides (sh, sw).
template <typename T>
void avg_pool_plane(const T* x, T* y, int iw, int oh, int ow, int ph, int pw, int sh, int sw) {
  MINIDNN_DISPATCH(avg_pool_plane<T>(x, y, iw, oh, ow, ph, pw, sh, sw));
}

}  // namespace minidnn
