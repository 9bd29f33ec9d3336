#pragma once
/// \file
/// The optional CUDA GEMM backend. Unlike the rest of minidnn this header is not header-only:
/// it declares the compiled add-on library `minidnn::cuda` (built with -DMINIDNN_WITH_CUDA=ON,
/// see docs/cuda.md), which defines MINIDNN_HAVE_CUDA for the code that links it. The header
/// itself is plain C++ and needs no CUDA headers.
///
/// Typical use:
///
///     std::string why;
///     std::unique_ptr<minidnn::GemmBackend> gpu;
///     if (minidnn::cuda::device_available(&why)) {
///       gpu = minidnn::cuda::make_gemm_backend();
///       minidnn::set_gemm_backend(gpu.get());   // every float GEMM now goes to the GPU
///     } else {
///       std::cerr << "running on the CPU: " << why << '\n';
///     }
///     ...
///     minidnn::set_gemm_backend(nullptr);       // before `gpu` is destroyed
#include <cstddef>
#include <memory>
#include <string>

#include "minidnn/ops/gemm.hpp"

namespace minidnn::cuda {

/// True when a CUDA device can run this build's kernels. Otherwise false, with the reason
/// (no driver, no device, GPU architecture not compiled in, ...) written to `*why` if given.
bool device_available(std::string* why = nullptr);

/// Runs minidnn's float GEMMs on a CUDA device with a hand-written SGEMM kernel.
///
/// Each call copies op(A), op(B) (and C when beta != 0) from host to device, runs the kernel and
/// copies C back: the library hands gemm host pointers. Device buffers come from a grow-only
/// pool owned by the backend, so once warmed a call allocates nothing. One mutex serializes the
/// device work of concurrent callers (OpenMP threads in a layer), so calls from several threads
/// are safe but do not overlap on the GPU. CUDA failures throw minidnn::Error with CUDA's message.
class CudaGemmBackend : public GemmBackend {
 public:
  struct Options {
    /// Products with m*n*k below this are declined (the CPU runs them): the copies cost more
    /// than the arithmetic. 0 sends everything to the GPU.
    long long min_work = 64LL * 64 * 64;
    /// CUDA device ordinal; -1 takes the calling thread's current device.
    int device = -1;
  };

  /// Throws minidnn::Error when no usable device is present (see device_available).
  CudaGemmBackend();
  explicit CudaGemmBackend(const Options& options);
  ~CudaGemmBackend() override;
  CudaGemmBackend(const CudaGemmBackend&) = delete;
  CudaGemmBackend& operator=(const CudaGemmBackend&) = delete;

  const char* name() const override { return "cuda"; }
  bool sgemm(Transpose trans_a, Transpose trans_b, int m, int n, int k, float alpha,
             const float* a, int lda, const float* b, int ldb, float beta, float* c,
             int ldc) override;

  /// Number of products this backend ran on the device (declined calls not counted).
  long long products_run() const;
  /// Number of device allocations made so far: stays put once the pool is large enough.
  long long device_allocations() const;
  /// Current size of the device buffer pool in bytes.
  std::size_t pool_bytes() const;

 private:
  struct State;  // CUDA handles, pool and mutex; defined in src/cuda/cuda_gemm.cpp
  std::unique_ptr<State> state_;
};

/// A CudaGemmBackend with default options; throws minidnn::Error when no usable device exists.
std::unique_ptr<GemmBackend> make_gemm_backend();

/// The raw kernel on device memory, for benchmarks and later device-resident layers:
/// C = alpha op(A) op(B) + beta C, row-major, all pointers on the device. `stream` is a
/// cudaStream_t (nullptr: the default stream). Asynchronous; throws minidnn::Error when the
/// launch fails.
void sgemm_on_device(Transpose trans_a, Transpose trans_b, int m, int n, int k, float alpha,
                     const float* a, int lda, const float* b, int ldb, float beta, float* c,
                     int ldc, void* stream = nullptr);

}  // namespace minidnn::cuda
