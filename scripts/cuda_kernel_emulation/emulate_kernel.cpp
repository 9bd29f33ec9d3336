// Runs the SGEMM kernel of src/cuda/sgemm_kernel.cu on the CPU, without a GPU: one std::thread
// per CUDA thread, std::barrier for __syncthreads(), static arrays for shared memory. It checks
// the kernel's index arithmetic (tile loads for every transposition, float4 and scalar paths,
// edge handling, write-back) against a naive loop on integer inputs, where results are exact.
// It says nothing about real GPU behaviour (memory model, alignment faults, speed): that needs
// scripts/gpu_check.sh on a GPU. Run through run.sh, which extracts the kernel from the .cu file.
#include <cuda_runtime_api.h>
#include <barrier>
#include <thread>
#include <vector>
#include <cmath>
#include <cstdio>
#include <random>
#undef __global__
#undef __device__
#undef __forceinline__
#undef __launch_bounds__
#undef __shared__
#undef __align__
#define __global__
#define __device__
#define __forceinline__ inline
#define __launch_bounds__(x)
#define __shared__ static
#define __align__(n) __attribute__((aligned(n)))
inline float4 make_float4(float a, float b, float c, float d) { float4 r; r.x=a; r.y=b; r.z=c; r.w=d; return r; }
thread_local dim3 threadIdx, blockIdx;
std::barrier<>* g_barrier;
inline void __syncthreads() { g_barrier->arrive_and_wait(); }
#include "kernel_body.inc"

using namespace minidnn::cuda::detail;
template <bool TA, bool TB>
void launch(int m, int n, int k, float alpha, const float* a, int lda, const float* b, int ldb, float beta, float* c, int ldc, bool va, bool vb) {
  int gx = (n + 127) / 128, gy = (m + 127) / 128;
  for (int by = 0; by < gy; ++by)
    for (int bx = 0; bx < gx; ++bx) {
      std::barrier<> bar(256);
      g_barrier = &bar;
      std::vector<std::thread> threads;
      for (int t = 0; t < 256; ++t)
        threads.emplace_back([=] {
          threadIdx = dim3(t); blockIdx = dim3(bx, by);
          sgemm_kernel<TA, TB>(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, va, vb);
        });
      for (auto& th : threads) th.join();
    }
}

int main() {
  std::mt19937 rng(1);
  std::uniform_int_distribution<int> small(-2, 2);
  int failures = 0, cases = 0;
  struct P { int m, n, k, pad, off; };
  std::vector<P> ps = {{1,1,1,0,0},{130,129,13,0,0},{130,129,13,1,1},{5,3,8,0,0},{128,128,8,0,0},{129,257,17,3,0},{7,130,9,0,1},{200,33,40,0,0}};
  for (int ta = 0; ta < 2; ++ta) for (int tb = 0; tb < 2; ++tb) for (auto p : ps) for (int beta_i = 0; beta_i < 2; ++beta_i) {
    const int ar = ta ? p.k : p.m, ac = ta ? p.m : p.k, br = tb ? p.n : p.k, bc = tb ? p.k : p.n;
    const int lda = ac + p.pad, ldb = bc + p.pad, ldc = p.n + p.pad;
    std::vector<float> A(p.off + ar * lda + 4, 777.f), B(p.off + br * ldb + 4, 777.f), C(p.off + p.m * ldc + 4, 555.f);
    for (int r = 0; r < ar; ++r) for (int c = 0; c < ac; ++c) A[p.off + r * lda + c] = small(rng);
    for (int r = 0; r < br; ++r) for (int c = 0; c < bc; ++c) B[p.off + r * ldb + c] = small(rng);
    const float beta = beta_i ? 3.f : 0.f, alpha = -2.f;
    for (int r = 0; r < p.m; ++r) for (int c = 0; c < p.n; ++c) C[p.off + r * ldc + c] = beta_i ? small(rng) : NAN;
    std::vector<float> C0 = C;
    const float *a = A.data() + p.off, *b = B.data() + p.off; float* c = C.data() + p.off;
    bool va = (reinterpret_cast<uintptr_t>(a) % 16 == 0) && lda % 4 == 0;
    bool vb = (reinterpret_cast<uintptr_t>(b) % 16 == 0) && ldb % 4 == 0;
    if (!ta && !tb) launch<false,false>(p.m,p.n,p.k,alpha,a,lda,b,ldb,beta,c,ldc,va,vb);
    if (!ta && tb) launch<false,true>(p.m,p.n,p.k,alpha,a,lda,b,ldb,beta,c,ldc,va,vb);
    if (ta && !tb) launch<true,false>(p.m,p.n,p.k,alpha,a,lda,b,ldb,beta,c,ldc,va,vb);
    if (ta && tb) launch<true,true>(p.m,p.n,p.k,alpha,a,lda,b,ldb,beta,c,ldc,va,vb);
    int bad = 0;
    for (size_t idx = 0; idx < C.size(); ++idx) {
      long rel = long(idx) - p.off; int r = rel >= 0 ? rel / ldc : -1, cc = rel >= 0 ? rel % ldc : -1;
      if (rel >= 0 && r < p.m && cc < p.n) {
        double s = 0;
        for (int kk = 0; kk < p.k; ++kk) s += double(ta ? A[p.off + kk*lda + r] : A[p.off + r*lda + kk]) * (tb ? B[p.off + cc*ldb + kk] : B[p.off + kk*ldb + cc]);
        double e = alpha * s + (beta_i ? beta * C0[idx] : 0.0);
        if (C[idx] != e) ++bad;
      } else if (C[idx] != 555.f) ++bad;
    }
    ++cases;
    if (bad) { ++failures; std::printf("FAIL ta=%d tb=%d m=%d n=%d k=%d pad=%d off=%d beta=%g va=%d vb=%d bad=%d\n", ta, tb, p.m, p.n, p.k, p.pad, p.off, beta, va, vb, bad); }
  }
  std::printf("%d cases, %d failures\n", cases, failures);
  return failures != 0;
}
