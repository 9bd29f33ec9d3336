// Host side of the CUDA GEMM backend: device checks, the buffer pool, copies and error
// handling. Plain C++ over the CUDA runtime API; the kernel itself is in sgemm_kernel.cu.
#include "minidnn/backend/cuda_gemm.hpp"

#include <cuda_runtime_api.h>

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>

#include "minidnn/core/error.hpp"
#include "sgemm_kernel.hpp"

#ifndef MINIDNN_CUDA_ARCHITECTURES
#define MINIDNN_CUDA_ARCHITECTURES "unknown"
#endif

namespace minidnn::cuda {
namespace {

void check(cudaError_t status, const char* what) {
  if (status != cudaSuccess)
    fail("CUDA GEMM backend: ", what, " failed: ", cudaGetErrorString(status), " (",
         cudaGetErrorName(status), ")");
}

std::size_t round_up(std::size_t value, std::size_t multiple) {
  return (value + multiple - 1) / multiple * multiple;
}

// Every matrix in the pool starts on a 256-byte boundary (64 floats).
constexpr std::size_t kPoolAlignFloats = 64;
// The pool grows in whole MiB so that slightly larger products do not reallocate each time.
constexpr std::size_t kPoolGranuleFloats = (1u << 20) / sizeof(float);

// A row-major matrix as stored on the host and its packed copy in the pool. The device row
// pitch is the column count rounded up to 4 floats, so the kernel can always use float4 loads.
struct Operand {
  int rows = 0;
  int cols = 0;
  std::size_t pitch = 0;   // floats between device rows
  std::size_t floats = 0;  // pool space, rounded to kPoolAlignFloats

  Operand(int rows_, int cols_) : rows(rows_), cols(cols_) {
    pitch = round_up(static_cast<std::size_t>(cols), 4);
    floats = round_up(static_cast<std::size_t>(rows) * pitch, kPoolAlignFloats);
  }
  bool empty() const { return rows == 0 || cols == 0; }
};

void check_leading_dimension(const char* name, int ld, int cols) {
  const int minimum = cols > 1 ? cols : 1;
  if (ld < minimum)
    fail("CUDA GEMM backend: ", name, "=", ld, " is smaller than the row length ", minimum);
}

}  // namespace

bool device_available(std::string* why) {
  auto unavailable = [why](std::string reason) {
    if (why) *why = std::move(reason);
    cudaGetLastError();  // clear the thread's error state for later CUDA calls
    return false;
  };
  int count = 0;
  cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess)
    return unavailable(std::string("cudaGetDeviceCount: ") + cudaGetErrorString(status));
  if (count == 0) return unavailable("no CUDA device found");
  int device = 0;
  status = cudaGetDevice(&device);
  if (status != cudaSuccess)
    return unavailable(std::string("cudaGetDevice: ") + cudaGetErrorString(status));
  status = detail::check_kernel_image();
  if (status != cudaSuccess) {
    cudaDeviceProp properties{};
    std::string name = "unknown";
    if (cudaGetDeviceProperties(&properties, device) == cudaSuccess)
      name = minidnn::detail::concat(properties.name, ", sm_", properties.major, properties.minor);
    return unavailable(minidnn::detail::concat("device ", device, " (", name,
                                      ") cannot run kernels built for CUDA architectures ",
                                      MINIDNN_CUDA_ARCHITECTURES, ": ",
                                      cudaGetErrorString(status)));
  }
  if (why) why->clear();
  return true;
}

struct CudaGemmBackend::State {
  // Serializes all device work (pool, stream, copies): several OpenMP threads may call sgemm
  // at once, and they share one pool and one stream.
  std::mutex mutex;
  int device = 0;
  long long min_work = 0;
  cudaStream_t stream = nullptr;
  float* pool = nullptr;        // device memory: pool_floats floats, grow-only
  std::size_t pool_floats = 0;
  std::atomic<long long> products{0};
  std::atomic<long long> allocations{0};

  // Makes the pool hold at least `floats` floats. Called with the mutex held and no work
  // pending on the stream.
  void reserve(std::size_t floats) {
    if (floats <= pool_floats) return;
    const std::size_t grown = round_up(floats, kPoolGranuleFloats);
    if (pool) {
      float* old = pool;
      pool = nullptr;
      pool_floats = 0;
      check(cudaFree(old), "cudaFree (pool growth)");
    }
    void* memory = nullptr;
    check(cudaMalloc(&memory, grown * sizeof(float)), "cudaMalloc (GEMM buffer pool)");
    pool = static_cast<float*>(memory);
    pool_floats = grown;
    ++allocations;
  }
};

CudaGemmBackend::CudaGemmBackend() : CudaGemmBackend(Options{}) {}

CudaGemmBackend::CudaGemmBackend(const Options& options) : state_(std::make_unique<State>()) {
  std::string why;
  if (!device_available(&why)) fail("CUDA GEMM backend: no usable device: ", why);
  int device = options.device;
  if (device < 0) check(cudaGetDevice(&device), "cudaGetDevice");
  check(cudaSetDevice(device), "cudaSetDevice");
  check(detail::check_kernel_image(), "kernel image check on the chosen device");
  state_->device = device;
  state_->min_work = options.min_work;
  check(cudaStreamCreateWithFlags(&state_->stream, cudaStreamNonBlocking), "cudaStreamCreate");
}

CudaGemmBackend::~CudaGemmBackend() {
  // Errors are ignored here: a destructor must not throw, and at process exit the CUDA
  // runtime may already be shutting down.
  if (!state_) return;
  cudaSetDevice(state_->device);
  if (state_->stream) cudaStreamSynchronize(state_->stream);
  if (state_->pool) cudaFree(state_->pool);
  if (state_->stream) cudaStreamDestroy(state_->stream);
  cudaGetLastError();
}

long long CudaGemmBackend::products_run() const { return state_->products.load(); }
long long CudaGemmBackend::device_allocations() const { return state_->allocations.load(); }
std::size_t CudaGemmBackend::pool_bytes() const {
  std::lock_guard<std::mutex> lock(state_->mutex);
  return state_->pool_floats * sizeof(float);
}

bool CudaGemmBackend::sgemm(Transpose trans_a, Transpose trans_b, int m, int n, int k,
                            float alpha, const float* a, int lda, const float* b, int ldb,
                            float beta, float* c, int ldc) {
  if (m < 0 || n < 0 || k < 0)
    fail("CUDA GEMM backend: negative dimension m=", m, " n=", n, " k=", k);
  if (m == 0 || n == 0) return true;
  if (static_cast<long long>(m) * n * k < state_->min_work) return false;

  const bool ta = trans_a == Transpose::yes;
  const bool tb = trans_b == Transpose::yes;
  const Operand op_a(ta ? k : m, ta ? m : k);  // A as stored: m x k, or k x m when transposed
  const Operand op_b(tb ? n : k, tb ? k : n);  // B as stored: k x n, or n x k when transposed
  const Operand op_c(m, n);
  check_leading_dimension("lda", lda, op_a.cols);
  check_leading_dimension("ldb", ldb, op_b.cols);
  check_leading_dimension("ldc", ldc, op_c.cols);
  if (k > 0 && (a == nullptr || b == nullptr)) fail("CUDA GEMM backend: null A or B");
  if (c == nullptr) fail("CUDA GEMM backend: null C");

  std::lock_guard<std::mutex> lock(state_->mutex);
  check(cudaSetDevice(state_->device), "cudaSetDevice");
  state_->reserve(op_a.floats + op_b.floats + op_c.floats);
  float* device_a = state_->pool;                 // op_a.rows x op_a.pitch
  float* device_b = device_a + op_a.floats;       // op_b.rows x op_b.pitch
  float* device_c = device_b + op_b.floats;       // m x op_c.pitch
  cudaStream_t stream = state_->stream;

  if (!op_a.empty())
    check(cudaMemcpy2DAsync(device_a, op_a.pitch * sizeof(float), a, lda * sizeof(float),
                            op_a.cols * sizeof(float), op_a.rows, cudaMemcpyHostToDevice, stream),
          "copy of A to the device");
  if (!op_b.empty())
    check(cudaMemcpy2DAsync(device_b, op_b.pitch * sizeof(float), b, ldb * sizeof(float),
                            op_b.cols * sizeof(float), op_b.rows, cudaMemcpyHostToDevice, stream),
          "copy of B to the device");
  if (beta != 0.f)  // beta == 0: C is write-only, never copied up
    check(cudaMemcpy2DAsync(device_c, op_c.pitch * sizeof(float), c, ldc * sizeof(float),
                            op_c.cols * sizeof(float), op_c.rows, cudaMemcpyHostToDevice, stream),
          "copy of C to the device");
  check(detail::launch_sgemm(ta, tb, m, n, k, alpha, device_a, static_cast<int>(op_a.pitch),
                             device_b, static_cast<int>(op_b.pitch), beta, device_c,
                             static_cast<int>(op_c.pitch), stream),
        "SGEMM kernel launch");
  // A 2-D copy back touches only the m x n elements, never the padding between rows of C.
  check(cudaMemcpy2DAsync(c, ldc * sizeof(float), device_c, op_c.pitch * sizeof(float),
                          op_c.cols * sizeof(float), op_c.rows, cudaMemcpyDeviceToHost, stream),
        "copy of C to the host");
  check(cudaStreamSynchronize(stream), "SGEMM (stream synchronize)");
  ++state_->products;
  return true;
}

std::unique_ptr<GemmBackend> make_gemm_backend() { return std::make_unique<CudaGemmBackend>(); }

void sgemm_on_device(Transpose trans_a, Transpose trans_b, int m, int n, int k, float alpha,
                     const float* a, int lda, const float* b, int ldb, float beta, float* c,
                     int ldc, void* stream) {
  if (m < 0 || n < 0 || k < 0)
    fail("sgemm_on_device: negative dimension m=", m, " n=", n, " k=", k);
  const bool ta = trans_a == Transpose::yes;
  const bool tb = trans_b == Transpose::yes;
  check_leading_dimension("lda", lda, ta ? m : k);
  check_leading_dimension("ldb", ldb, tb ? k : n);
  check_leading_dimension("ldc", ldc, n);
  check(detail::launch_sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc,
                             static_cast<cudaStream_t>(stream)),
        "SGEMM kernel launch");
}

}  // namespace minidnn::cuda
