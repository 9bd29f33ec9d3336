#pragma once
/// \file
/// Global pooling: each (S = H*W)-value plane of an (N, C, S) batch reduced to one value, y (N, C).
///
///   average:  y[n,c] = sum_k x[n,c,k] / S            backward: dx[n,c,k] = dy[n,c] / S
///   max:      y[n,c] = x[n,c,argmax]                 backward: dx[n,c,argmax] = dy[n,c], 0 elsewhere
/// The max keeps the first largest value's index (argmax, N*C ints) for the backward; a NaN in
/// the plane wins, so a diverged model reaches the loss as NaN.
#include <cstddef>

namespace minidnn::ops {

template <typename T>
void global_average_pool_forward(const T* x, std::ptrdiff_t planes, std::ptrdiff_t s, T* y) {
  for (std::ptrdiff_t p = 0; p < planes; ++p) {
    const T* xs = x + p * s;
    T sum = 0;
    for (std::ptrdiff_t k = 0; k < s; ++k) sum += xs[k];
    y[p] = sum / T(s);
  }
}

template <typename T>
void global_average_pool_backward(const T* dy, std::ptrdiff_t planes, std::ptrdiff_t s, T* dx) {
  for (std::ptrdiff_t p = 0; p < planes; ++p) {
    const T g = dy[p] / T(s);
    T* dxs = dx + p * s;
    for (std::ptrdiff_t k = 0; k < s; ++k) dxs[k] = g;
  }
}

template <typename T>
void global_max_pool_forward(const T* x, std::ptrdiff_t planes, std::ptrdiff_t s, T* y, int* argmax) {
  for (std::ptrdiff_t p = 0; p < planes; ++p) {
    const T* xs = x + p * s;
    std::ptrdiff_t best = 0;
    for (std::ptrdiff_t k = 1; k < s; ++k)
      if (xs[k] > xs[best] || (xs[k] != xs[k] && xs[best] == xs[best])) best = k;
    y[p] = xs[best];
    argmax[p] = static_cast<int>(best);
  }
}

template <typename T>
void global_max_pool_backward(const T* dy, const int* argmax, std::ptrdiff_t planes, std::ptrdiff_t s, T* dx) {
  for (std::ptrdiff_t p = 0; p < planes; ++p) {
    T* dxs = dx + p * s;
    for (std::ptrdiff_t k = 0; k < s; ++k) dxs[k] = T(0);
    dxs[argmax[p]] = dy[p];
  }
}

}  // namespace minidnn::ops
