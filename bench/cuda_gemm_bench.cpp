// The CUDA SGEMM kernel (minidnn::cuda) against cuBLAS on the seed model's GEMM shapes, side by
// side in one run on one device. Four views of each product:
//   kernel/<shape>   our kernel on device-resident data (GPU time from CUDA events), with
//                    pct_of_cublas = cuBLAS time / our time * 100, both timed the same way
//   cublas/<shape>   cublasSgemm (FP32, no TF32) on the same device-resident data
//   backend/<shape>  CudaGemmBackend::sgemm on host data: copies in and out included, which is
//                    what the library pays today
//   cpu/<shape>      minidnn::cpu::gemm on host data, all OpenMP threads
// Every benchmark reports GFLOP/s (2 m n k per product). Without a device it prints why and
// exits 0; without cuBLAS the cuBLAS rows and the percentage are left out.
#include <benchmark/benchmark.h>

#include <cstdio>

#ifndef MINIDNN_HAVE_CUDA

int main() {
  std::printf("SKIPPED: built without CUDA (configure with -DMINIDNN_WITH_CUDA=ON)\n");
  return 0;
}

#else

#include <cuda_runtime_api.h>
#ifdef MINIDNN_BENCH_HAVE_CUBLAS
#include <cublas_v2.h>
#endif

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "minidnn/ops/gemm/cpu_gemm.hpp"
#include "minidnn/backend/cuda_gemm.hpp"
#include "minidnn/core/error.hpp"
#include "minidnn/core/random.hpp"

namespace {

using minidnn::Transpose;

struct Shape {
  std::string name;
  Transpose trans_a, trans_b;
  int m, n, k;
  double flops() const { return 2.0 * m * n * k; }
};

// The seed model's products (see tests/backend/cuda_gemm_test.cpp for their meaning) plus
// square ones that show the kernel's peak.
std::vector<Shape> shapes() {
  const Transpose no = Transpose::no, yes = Transpose::yes;
  std::vector<Shape> list;
  struct Conv { int f, ckk, p; };
  for (const Conv& c : {Conv{64, 25, 1936}, Conv{64, 576, 324}, Conv{64, 576, 256},
                        Conv{128, 576, 25}, Conv{128, 1152, 9}}) {
    const std::string tag = minidnn::detail::concat("conv_F", c.f, "_CKK", c.ckk, "_P", c.p);
    list.push_back({tag + "/fwd_NN", no, no, c.f, c.p, c.ckk});
    list.push_back({tag + "/dW_NT", no, yes, c.f, c.ckk, c.p});
    list.push_back({tag + "/dX_TN", yes, no, c.ckk, c.p, c.f});
  }
  struct Dense { int b, o, i; };
  for (const Dense& d : {Dense{256, 1024, 128}, Dense{256, 1024, 1024}, Dense{256, 7, 1024}}) {
    const std::string tag = minidnn::detail::concat("dense_B", d.b, "_O", d.o, "_I", d.i);
    list.push_back({tag + "/fwd_NT", no, yes, d.b, d.o, d.i});
    list.push_back({tag + "/dX_NN", no, no, d.b, d.i, d.o});
    list.push_back({tag + "/dW_TN", yes, no, d.o, d.i, d.b});
  }
  for (int size : {1024, 2048, 4096})
    list.push_back({minidnn::detail::concat("square_", size, "/NN"), no, no, size, size, size});
  return list;
}

void check_cuda(cudaError_t status, const char* what) {
  if (status != cudaSuccess) minidnn::fail(what, ": ", cudaGetErrorString(status));
}

// Host copies of A (stored), B (stored) and C for a shape, tightly packed, random in [-1, 1).
struct HostProblem {
  int lda, ldb, ldc;
  std::vector<float> a, b, c;
  explicit HostProblem(const Shape& s) {
    const bool ta = s.trans_a == Transpose::yes, tb = s.trans_b == Transpose::yes;
    lda = ta ? s.m : s.k;  // A stored m x k, or k x m
    ldb = tb ? s.k : s.n;  // B stored k x n, or n x k
    ldc = s.n;
    a.resize(static_cast<std::size_t>(s.m) * s.k);
    b.resize(static_cast<std::size_t>(s.k) * s.n);
    c.resize(static_cast<std::size_t>(s.m) * s.n);
    minidnn::Rng rng(42);
    for (float& v : a) v = static_cast<float>(rng.uniform(-1.0, 1.0));
    for (float& v : b) v = static_cast<float>(rng.uniform(-1.0, 1.0));
  }
};

float* device_floats(std::size_t count) {
  void* memory = nullptr;
  check_cuda(cudaMalloc(&memory, count * sizeof(float)), "cudaMalloc");
  return static_cast<float*>(memory);
}

// The same problem in device memory.
struct DeviceProblem {
  HostProblem host;
  float* a = nullptr;
  float* b = nullptr;
  float* c = nullptr;
  explicit DeviceProblem(const Shape& s) : host(s) {
    a = device_floats(host.a.size());
    b = device_floats(host.b.size());
    c = device_floats(host.c.size());
    check_cuda(cudaMemcpy(a, host.a.data(), host.a.size() * sizeof(float),
                          cudaMemcpyHostToDevice), "copy A");
    check_cuda(cudaMemcpy(b, host.b.data(), host.b.size() * sizeof(float),
                          cudaMemcpyHostToDevice), "copy B");
  }
  ~DeviceProblem() {
    cudaFree(a);
    cudaFree(b);
    cudaFree(c);
  }
  DeviceProblem(const DeviceProblem&) = delete;
  DeviceProblem& operator=(const DeviceProblem&) = delete;
};

void run_ours(const Shape& s, DeviceProblem& p) {
  minidnn::cuda::sgemm_on_device(s.trans_a, s.trans_b, s.m, s.n, s.k, 1.f, p.a, p.host.lda, p.b,
                                 p.host.ldb, 0.f, p.c, p.host.ldc);
}

#ifdef MINIDNN_BENCH_HAVE_CUBLAS
cublasHandle_t cublas() {
  static cublasHandle_t handle = [] {
    cublasHandle_t h = nullptr;
    if (cublasCreate(&h) != CUBLAS_STATUS_SUCCESS) minidnn::fail("cublasCreate failed");
    cublasSetMathMode(h, CUBLAS_DEFAULT_MATH);  // plain FP32, like our kernel: no TF32
    return h;
  }();
  return handle;
}

// cuBLAS is column-major: a row-major m x n C is a column-major n x m C^T, and
// C^T = op(B)^T op(A)^T, so the operands swap places and keep their own transpose flags.
void run_cublas(const Shape& s, DeviceProblem& p) {
  const float alpha = 1.f, beta = 0.f;
  const cublasOperation_t op_a = s.trans_a == Transpose::yes ? CUBLAS_OP_T : CUBLAS_OP_N;
  const cublasOperation_t op_b = s.trans_b == Transpose::yes ? CUBLAS_OP_T : CUBLAS_OP_N;
  if (cublasSgemm(cublas(), op_b, op_a, s.n, s.m, s.k, &alpha, p.b, p.host.ldb, p.a, p.host.lda,
                  &beta, p.c, p.host.ldc) != CUBLAS_STATUS_SUCCESS)
    minidnn::fail("cublasSgemm failed for ", s.name);
}
#endif

// Mean GPU seconds per launch over `reps` back-to-back launches, after one warm-up launch.
template <typename Launch>
double gpu_seconds(Launch launch, int reps) {
  cudaEvent_t start, stop;
  check_cuda(cudaEventCreate(&start), "cudaEventCreate");
  check_cuda(cudaEventCreate(&stop), "cudaEventCreate");
  launch();
  check_cuda(cudaEventRecord(start), "cudaEventRecord");
  for (int i = 0; i < reps; ++i) launch();
  check_cuda(cudaEventRecord(stop), "cudaEventRecord");
  check_cuda(cudaEventSynchronize(stop), "cudaEventSynchronize");
  float ms = 0;
  check_cuda(cudaEventElapsedTime(&ms, start, stop), "cudaEventElapsedTime");
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  return ms * 1e-3 / reps;
}

// Times each iteration's launch with CUDA events and reports GFLOP/s.
template <typename Launch>
void time_device_loop(benchmark::State& state, const Shape& s, Launch launch) {
  cudaEvent_t start, stop;
  check_cuda(cudaEventCreate(&start), "cudaEventCreate");
  check_cuda(cudaEventCreate(&stop), "cudaEventCreate");
  launch();  // warm-up
  double total_seconds = 0;
  for (auto _ : state) {
    cudaEventRecord(start);
    launch();
    cudaEventRecord(stop);
    check_cuda(cudaEventSynchronize(stop), "cudaEventSynchronize");
    float ms = 0;
    cudaEventElapsedTime(&ms, start, stop);
    state.SetIterationTime(ms * 1e-3);
    total_seconds += ms * 1e-3;
  }
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  state.counters["GFLOP/s"] = s.flops() * state.iterations() / total_seconds * 1e-9;
}

// Times each iteration on the host clock (for calls that include copies or run on the CPU).
template <typename Call>
void time_host_loop(benchmark::State& state, const Shape& s, Call call) {
  call();  // warm-up (and, for the backend, growing its pool)
  double total_seconds = 0;
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    call();
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    state.SetIterationTime(seconds);
    total_seconds += seconds;
  }
  state.counters["GFLOP/s"] = s.flops() * state.iterations() / total_seconds * 1e-9;
}

void bm_kernel(benchmark::State& state, Shape s) {
  DeviceProblem p(s);
#ifdef MINIDNN_BENCH_HAVE_CUBLAS
  // Both timed the same way, back to back, so the ratio is like for like.
  const int reps = 20;
  const double ours = gpu_seconds([&] { run_ours(s, p); }, reps);
  const double theirs = gpu_seconds([&] { run_cublas(s, p); }, reps);
  state.counters["pct_of_cublas"] = 100.0 * theirs / ours;
#endif
  time_device_loop(state, s, [&] { run_ours(s, p); });
}

#ifdef MINIDNN_BENCH_HAVE_CUBLAS
void bm_cublas(benchmark::State& state, Shape s) {
  DeviceProblem p(s);
  time_device_loop(state, s, [&] { run_cublas(s, p); });
}
#endif

void bm_backend(benchmark::State& state, Shape s) {
  minidnn::cuda::CudaGemmBackend::Options options;
  options.min_work = 0;
  minidnn::cuda::CudaGemmBackend backend(options);
  HostProblem p(s);
  time_host_loop(state, s, [&] {
    backend.sgemm(s.trans_a, s.trans_b, s.m, s.n, s.k, 1.f, p.a.data(), p.lda, p.b.data(), p.ldb,
                  0.f, p.c.data(), p.ldc);
  });
}

void bm_cpu(benchmark::State& state, Shape s) {
  HostProblem p(s);
  time_host_loop(state, s, [&] {
    minidnn::cpu::gemm(s.trans_a == Transpose::yes, s.trans_b == Transpose::yes, s.m, s.n, s.k,
                       1.f, p.a.data(), p.lda, p.b.data(), p.ldb, 0.f, p.c.data(), p.ldc);
  });
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  std::string why;
  if (!minidnn::cuda::device_available(&why)) {
    std::printf("SKIPPED: no CUDA device (%s)\n", why.c_str());
    return 0;
  }
  int device = 0;
  cudaDeviceProp properties{};
  if (cudaGetDevice(&device) == cudaSuccess &&
      cudaGetDeviceProperties(&properties, device) == cudaSuccess)
    benchmark::AddCustomContext(
        "cuda_device", minidnn::detail::concat(properties.name, " (sm_", properties.major,
                                               properties.minor, ")"));

  for (const Shape& s : shapes()) {
    benchmark::RegisterBenchmark(("kernel/" + s.name).c_str(), bm_kernel, s)
        ->UseManualTime()->Unit(benchmark::kMicrosecond);
#ifdef MINIDNN_BENCH_HAVE_CUBLAS
    benchmark::RegisterBenchmark(("cublas/" + s.name).c_str(), bm_cublas, s)
        ->UseManualTime()->Unit(benchmark::kMicrosecond);
#endif
    benchmark::RegisterBenchmark(("backend/" + s.name).c_str(), bm_backend, s)
        ->UseManualTime()->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark(("cpu/" + s.name).c_str(), bm_cpu, s)
        ->UseManualTime()->Unit(benchmark::kMicrosecond);
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

#endif  // MINIDNN_HAVE_CUDA
