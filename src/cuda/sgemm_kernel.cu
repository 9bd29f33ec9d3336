// The hand-written SGEMM kernel behind minidnn::cuda (see docs/cuda.md).
//
// Classic shared-memory tiling: a block of 256 threads computes a 128 x 128 tile of C, walking
// k in steps of 8. Each step loads the 128 x 8 slice of op(A) and the 8 x 128 slice of op(B)
// into shared memory (transposes are resolved here, in the loads), then every thread
// accumulates an 8 x 8 sub-block in registers from outer products of shared-memory fragments.
//
// Row-major throughout: element (r, c) of a matrix with leading dimension ld is at [r * ld + c].
#include <cstdint>

#include "sgemm_kernel.hpp"

namespace minidnn::cuda::detail {
namespace {

constexpr int kTileM = 128;    // rows of C per block
constexpr int kTileN = 128;    // columns of C per block
constexpr int kTileK = 8;      // depth of one shared-memory step
constexpr int kThreads = 256;  // 16 x 16 threads, each owning 8 x 8 outputs
static_assert(kTileM * kTileK == 4 * kThreads, "each thread loads 4 floats of the A slice");
static_assert(kTileN * kTileK == 4 * kThreads, "each thread loads 4 floats of the B slice");

// Loads a tile slice whose source runs contiguously along k: element (outer, kk) of the slice
// is src[(outer0 + outer) * ld + k0 + kk]. Used for op(A) = A (outer = row of A) and for
// op(B) = B^T (outer = row of the stored B). Writes tile[kk][outer]; zero outside the matrix.
//   tile: kTileK x 128, outer_count: rows that exist in the source, k: depth of the product.
__device__ __forceinline__ void load_slice_k_contiguous(float (*tile)[128], const float* src,
                                                        int ld, int outer0, int outer_count,
                                                        int k0, int k, bool vector_ok) {
  const int outer = threadIdx.x / 2;       // 0..127
  const int kk = (threadIdx.x % 2) * 4;    // 0 or 4
  const int g_outer = outer0 + outer;
  const int g_k = k0 + kk;
  float v[4] = {0.f, 0.f, 0.f, 0.f};
  if (g_outer < outer_count) {
    const float* p = src + static_cast<long long>(g_outer) * ld + g_k;
    if (vector_ok && g_k + 3 < k) {
      // Aligned: ld % 4 == 0, src 16-byte aligned and g_k % 4 == 0.
      const float4 q = *reinterpret_cast<const float4*>(p);
      v[0] = q.x; v[1] = q.y; v[2] = q.z; v[3] = q.w;
    } else {
#pragma unroll
      for (int i = 0; i < 4; ++i)
        if (g_k + i < k) v[i] = p[i];
    }
  }
#pragma unroll
  for (int i = 0; i < 4; ++i) tile[kk + i][outer] = v[i];
}

// Loads a tile slice whose source runs contiguously along the outer index: element (outer, kk)
// is src[(k0 + kk) * ld + outer0 + outer]. Used for op(A) = A^T and for op(B) = B.
// Writes tile[kk][outer]; zero outside the matrix.
__device__ __forceinline__ void load_slice_outer_contiguous(float (*tile)[128], const float* src,
                                                            int ld, int outer0, int outer_count,
                                                            int k0, int k, bool vector_ok) {
  const int kk = threadIdx.x / 32;          // 0..7
  const int outer = (threadIdx.x % 32) * 4; // 0..124
  const int g_k = k0 + kk;
  const int g_outer = outer0 + outer;
  float v[4] = {0.f, 0.f, 0.f, 0.f};
  if (g_k < k) {
    const float* p = src + static_cast<long long>(g_k) * ld + g_outer;
    if (vector_ok && g_outer + 3 < outer_count) {
      // Aligned: ld % 4 == 0, src 16-byte aligned and g_outer % 4 == 0.
      const float4 q = *reinterpret_cast<const float4*>(p);
      v[0] = q.x; v[1] = q.y; v[2] = q.z; v[3] = q.w;
    } else {
#pragma unroll
      for (int i = 0; i < 4; ++i)
        if (g_outer + i < outer_count) v[i] = p[i];
    }
  }
  *reinterpret_cast<float4*>(&tile[kk][outer]) = make_float4(v[0], v[1], v[2], v[3]);
}

// Thread (tx, ty) owns rows ty*4 + {0..3} and 64 + ty*4 + {0..3} of the block tile, and the
// same pattern of columns with tx: split in two halves so that a warp's float4 reads of
// shared memory hit consecutive addresses.
__device__ __forceinline__ int owned_offset(int thread_coord, int i) {
  return thread_coord * 4 + (i % 4) + (i / 4) * 64;
}

template <bool kTransA, bool kTransB>
__global__ void __launch_bounds__(kThreads)
    sgemm_kernel(int m, int n, int k, float alpha, const float* __restrict__ a, int lda,
                 const float* __restrict__ b, int ldb, float beta, float* __restrict__ c, int ldc,
                 bool vector_a, bool vector_b) {
  __shared__ __align__(16) float a_tile[kTileK][kTileM];  // a_tile[kk][i] = op(A)(row0+i, k0+kk)
  __shared__ __align__(16) float b_tile[kTileK][kTileN];  // b_tile[kk][j] = op(B)(k0+kk, col0+j)

  const int tx = threadIdx.x % 16;
  const int ty = threadIdx.x / 16;
  const int row0 = blockIdx.y * kTileM;
  const int col0 = blockIdx.x * kTileN;

  float acc[8][8];  // acc[i][j] = sum over k of op(A)(row i) * op(B)(column j), owned outputs
#pragma unroll
  for (int i = 0; i < 8; ++i)
#pragma unroll
    for (int j = 0; j < 8; ++j) acc[i][j] = 0.f;

  for (int k0 = 0; k0 < k; k0 += kTileK) {
    if (kTransA)  // A stored k x m
      load_slice_outer_contiguous(a_tile, a, lda, row0, m, k0, k, vector_a);
    else          // A stored m x k
      load_slice_k_contiguous(a_tile, a, lda, row0, m, k0, k, vector_a);
    if (kTransB)  // B stored n x k
      load_slice_k_contiguous(b_tile, b, ldb, col0, n, k0, k, vector_b);
    else          // B stored k x n
      load_slice_outer_contiguous(b_tile, b, ldb, col0, n, k0, k, vector_b);
    __syncthreads();

#pragma unroll
    for (int kk = 0; kk < kTileK; ++kk) {
      float a_frag[8];  // op(A) at the owned rows, depth kk
      float b_frag[8];  // op(B) at the owned columns, depth kk
      const float4 a_lo = *reinterpret_cast<const float4*>(&a_tile[kk][ty * 4]);
      const float4 a_hi = *reinterpret_cast<const float4*>(&a_tile[kk][64 + ty * 4]);
      const float4 b_lo = *reinterpret_cast<const float4*>(&b_tile[kk][tx * 4]);
      const float4 b_hi = *reinterpret_cast<const float4*>(&b_tile[kk][64 + tx * 4]);
      a_frag[0] = a_lo.x; a_frag[1] = a_lo.y; a_frag[2] = a_lo.z; a_frag[3] = a_lo.w;
      a_frag[4] = a_hi.x; a_frag[5] = a_hi.y; a_frag[6] = a_hi.z; a_frag[7] = a_hi.w;
      b_frag[0] = b_lo.x; b_frag[1] = b_lo.y; b_frag[2] = b_lo.z; b_frag[3] = b_lo.w;
      b_frag[4] = b_hi.x; b_frag[5] = b_hi.y; b_frag[6] = b_hi.z; b_frag[7] = b_hi.w;
#pragma unroll
      for (int i = 0; i < 8; ++i)
#pragma unroll
        for (int j = 0; j < 8; ++j) acc[i][j] = fmaf(a_frag[i], b_frag[j], acc[i][j]);
    }
    __syncthreads();  // the next step overwrites the tiles
  }

#pragma unroll
  for (int i = 0; i < 8; ++i) {
    const int row = row0 + owned_offset(ty, i);
    if (row >= m) continue;
    float* c_row = c + static_cast<long long>(row) * ldc;
#pragma unroll
    for (int j = 0; j < 8; ++j) {
      const int col = col0 + owned_offset(tx, j);
      if (col >= n) continue;
      const float product = alpha * acc[i][j];
      // beta == 0 must not read C: it may hold NaN or uninitialized memory.
      c_row[col] = (beta == 0.f) ? product : product + beta * c_row[col];
    }
  }
}

bool float4_ok(const float* p, int ld) {
  return reinterpret_cast<std::uintptr_t>(p) % 16 == 0 && ld % 4 == 0;
}

}  // namespace

cudaError_t launch_sgemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha,
                         const float* a, int lda, const float* b, int ldb, float beta, float* c,
                         int ldc, cudaStream_t stream) {
  if (m <= 0 || n <= 0) return cudaSuccess;
  const dim3 grid((n + kTileN - 1) / kTileN, (m + kTileM - 1) / kTileM);
  if (grid.y > 65535) return cudaErrorInvalidConfiguration;  // m above 8 million rows
  const dim3 block(kThreads);
  const bool vector_a = float4_ok(a, lda);
  const bool vector_b = float4_ok(b, ldb);
  if (!trans_a && !trans_b)
    sgemm_kernel<false, false><<<grid, block, 0, stream>>>(m, n, k, alpha, a, lda, b, ldb, beta,
                                                           c, ldc, vector_a, vector_b);
  else if (!trans_a && trans_b)
    sgemm_kernel<false, true><<<grid, block, 0, stream>>>(m, n, k, alpha, a, lda, b, ldb, beta,
                                                          c, ldc, vector_a, vector_b);
  else if (trans_a && !trans_b)
    sgemm_kernel<true, false><<<grid, block, 0, stream>>>(m, n, k, alpha, a, lda, b, ldb, beta,
                                                          c, ldc, vector_a, vector_b);
  else
    sgemm_kernel<true, true><<<grid, block, 0, stream>>>(m, n, k, alpha, a, lda, b, ldb, beta,
                                                         c, ldc, vector_a, vector_b);
  return cudaGetLastError();
}

cudaError_t check_kernel_image() {
  cudaFuncAttributes attributes{};
  return cudaFuncGetAttributes(&attributes, sgemm_kernel<false, false>);
}

}  // namespace minidnn::cuda::detail
