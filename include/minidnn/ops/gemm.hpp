#pragma once
/// \file
/// The library's single GEMM entry point. Every matrix product in minidnn (convolution via
/// im2col, dense layers, their gradients) calls minidnn::gemm, so an accelerator backend plugged
/// in here serves the whole library.
///
/// Matrices are row-major: element (i, j) of A lives at a[i * lda + j].
///
///     C (m x n) = alpha * op(A) (m x k) * op(B) (k x n) + beta * C
///     op(X) = X or X^T as requested; with beta == 0, C is overwritten and never read.
///
/// Threading: called outside a parallel region, the CPU kernel uses all OpenMP threads; called
/// inside one (e.g. a layer looping over samples in parallel), it runs on the calling thread.
#include <atomic>
#include <type_traits>

#include "minidnn/ops/gemm/cpu_gemm.hpp"
#include "minidnn/core/error.hpp"

namespace minidnn {

enum class Transpose { no, yes };

/// A GEMM implementation for float that can take over from the CPU kernel at run time (the CUDA
/// add-on is one). It may decline a call (e.g. a product too small to pay for a transfer) by
/// returning false, and the CPU kernel runs instead.
class GemmBackend {
 public:
  virtual ~GemmBackend() = default;
  virtual const char* name() const = 0;
  virtual bool sgemm(Transpose trans_a, Transpose trans_b, int m, int n, int k, float alpha,
                     const float* a, int lda, const float* b, int ldb, float beta, float* c,
                     int ldc) = 0;
};

namespace detail {
inline std::atomic<GemmBackend*>& gemm_backend_slot() {
  static std::atomic<GemmBackend*> slot{nullptr};
  return slot;
}
}  // namespace detail

/// Routes float GEMMs to `backend` (not owned; must outlive its use). nullptr restores the CPU.
inline void set_gemm_backend(GemmBackend* backend) { detail::gemm_backend_slot().store(backend); }
/// The backend in use, or nullptr for the built-in CPU kernel.
inline GemmBackend* gemm_backend() { return detail::gemm_backend_slot().load(std::memory_order_relaxed); }

template <typename T>
void gemm(Transpose trans_a, Transpose trans_b, int m, int n, int k, T alpha, const T* a, int lda,
          const T* b, int ldb, T beta, T* c, int ldc) {
  if (m < 0 || n < 0 || k < 0) fail("gemm: negative dimension m=", m, " n=", n, " k=", k);
  if (m == 0 || n == 0) return;
  if constexpr (std::is_same_v<T, float>) {
    if (GemmBackend* backend = gemm_backend())
      if (backend->sgemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)) return;
  }
  cpu::gemm(trans_a == Transpose::yes, trans_b == Transpose::yes, m, n, k, alpha, a, lda, b, ldb,
            beta, c, ldc);
}

}  // namespace minidnn
