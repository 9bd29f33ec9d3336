#pragma once
/// \file
/// The CPU GEMM behind minidnn::gemm (row-major, see backend/gemm.hpp for the contract).
///
/// This first version maps the operands onto Eigen matrices and lets Eigen's blocked kernel do
/// the work; docs/design.md records how it compares with a hand-written kernel.
#include <type_traits>

#include <Eigen/Core>


namespace minidnn::cpu {

template <typename T>
void gemm(bool trans_a, bool trans_b, int m, int n, int k, T alpha, const T* a, int lda, const T* b,
          int ldb, T beta, T* c, int ldc) {
  using RowMajor = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  using Stride = Eigen::OuterStride<>;
  using ConstMap = Eigen::Map<const RowMajor, Eigen::Unaligned, Stride>;
  Eigen::Map<RowMajor, Eigen::Unaligned, Stride> C(c, m, n, Stride(ldc));
  // Stored shapes: op(A) is m x k, so A itself is k x m when transposed.
  ConstMap A(a, trans_a ? k : m, trans_a ? m : k, Stride(lda));
  ConstMap B(b, trans_b ? n : k, trans_b ? k : n, Stride(ldb));

  // Eigen parallelizes large products with OpenMP itself, and stays on the calling thread when
  // it is already inside a parallel region.
  if (k == 0) {
    if (beta == T(0)) C.setZero(); else C *= beta;
    return;
  }
  if (beta == T(0)) {
    C.setZero();
  } else if (beta != T(1)) {
    C *= beta;
  }
  if (!trans_a && !trans_b) C.noalias() += alpha * A * B;
  else if (trans_a && !trans_b) C.noalias() += alpha * A.transpose() * B;
  else if (!trans_a && trans_b) C.noalias() += alpha * A * B.transpose();
  else C.noalias() += alpha * A.transpose() * B.transpose();
}

}  // namespace minidnn::cpu
