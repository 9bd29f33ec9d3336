#pragma once
// Launchers for the SGEMM kernel in sgemm_kernel.cu. Plain C++ over the CUDA runtime API, so
// the host side of the backend (cuda_gemm.cpp) compiles with g++ and never sees kernel syntax.
#include <cuda_runtime_api.h>

namespace minidnn::cuda::detail {

/// C (m x n) = alpha op(A) op(B) + beta C on the device, row-major, leading dimensions in
/// floats; with beta == 0, C is never read. Enqueues on `stream` and returns the launch status.
cudaError_t launch_sgemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha,
                         const float* a, int lda, const float* b, int ldb, float beta, float* c,
                         int ldc, cudaStream_t stream);

/// cudaSuccess when the current device can run the kernels (the build holds machine code or
/// PTX for its architecture); otherwise the error that a launch would report.
cudaError_t check_kernel_image();

}  // namespace minidnn::cuda::detail
