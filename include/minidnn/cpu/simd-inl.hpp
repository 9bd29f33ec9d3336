// No include guard: compiled once per instruction set by cpu/simd.hpp (see cpu/for_each_isa.hpp).
/// \file
/// Simd<T>: the few vector operations the kernels need, for the instruction set being compiled
/// (MINIDNN_ISA_NS), in float and double, so that one kernel body serves AVX-512, AVX2+FMA and
/// plain scalar code.
///
/// Each `Simd<T>` also fixes the register tile of the GEMM micro-kernel for that instruction set:
/// `rows` rows of C (broadcast from A) times `vectors` vectors of C (loaded from B), chosen so the
/// accumulators plus the B vectors and one broadcast fill but do not overflow the register file.

namespace minidnn::cpu::MINIDNN_ISA_NS {

/// Vector operations over `width` lanes of T; the primary template is the scalar fallback.
template <typename T>
struct Simd {
  using Scalar = T;
  using Vec = T;
  using Mask = bool;  // a one-lane vector is always either fully used or not used at all
  static constexpr int width = 1;
  static constexpr int rows = 4;     // register tile: 4 x 4 accumulators
  static constexpr int vectors = 4;
  static constexpr const char* name = "scalar";
  static Mask first_lanes(int) { return true; }
  static Vec zero() { return T(0); }
  static Vec set1(T x) { return x; }
  static Vec load(const T* p) { return *p; }
  static Vec load(const T* p, Mask) { return *p; }
  static void store(T* p, Vec v) { *p = v; }
  static void store(T* p, Vec v, Mask) { *p = v; }
  static Vec broadcast(const T* p) { return *p; }
  static Vec fmadd(Vec a, Vec b, Vec c) { return a * b + c; }
  static Vec mul(Vec a, Vec b) { return a * b; }
  static Vec add(Vec a, Vec b) { return a + b; }
  static Vec sub(Vec a, Vec b) { return a - b; }
  // b when either is NaN, as vmaxps / vminps: max(zero, x) passes a NaN x through.
  static Vec max(Vec a, Vec b) { return a > b ? a : b; }
  static Vec min(Vec a, Vec b) { return a < b ? a : b; }
};

#if MINIDNN_ISA_AVX512

// 32 zmm registers: 8 x 3 = 24 accumulators, 3 B vectors, 1 broadcast. 8 x 48 floats per tile
// keeps 24 FMAs in flight per k step against 3 vector loads and 8 broadcasts.
template <>
struct Simd<float> {
  using Scalar = float;
  using Vec = __m512;
  using Mask = __mmask16;
  static constexpr int width = 16;
  static constexpr int rows = 8;
  static constexpr int vectors = 3;
  static constexpr const char* name = "avx512";
  /// The first n lanes (none for n <= 0, all for n >= 16).
  static Mask first_lanes(int n) { return n >= 16 ? Mask(0xFFFF) : Mask((1u << std::max(n, 0)) - 1u); }
  static Vec zero() { return _mm512_setzero_ps(); }
  static Vec set1(float x) { return _mm512_set1_ps(x); }
  static Vec load(const float* p) { return _mm512_loadu_ps(p); }
  static Vec load(const float* p, Mask m) { return _mm512_maskz_loadu_ps(m, p); }
  static void store(float* p, Vec v) { _mm512_storeu_ps(p, v); }
  static void store(float* p, Vec v, Mask m) { _mm512_mask_storeu_ps(p, m, v); }
  static Vec broadcast(const float* p) { return _mm512_set1_ps(*p); }
  static Vec fmadd(Vec a, Vec b, Vec c) { return _mm512_fmadd_ps(a, b, c); }
  static Vec mul(Vec a, Vec b) { return _mm512_mul_ps(a, b); }
  static Vec add(Vec a, Vec b) { return _mm512_add_ps(a, b); }
  static Vec sub(Vec a, Vec b) { return _mm512_sub_ps(a, b); }
  static Vec max(Vec a, Vec b) { return _mm512_max_ps(a, b); }
  static Vec min(Vec a, Vec b) { return _mm512_min_ps(a, b); }
};

template <>
struct Simd<double> {
  using Scalar = double;
  using Vec = __m512d;
  using Mask = __mmask8;
  static constexpr int width = 8;
  static constexpr int rows = 8;
  static constexpr int vectors = 3;
  static constexpr const char* name = "avx512";
  static Mask first_lanes(int n) { return n >= 8 ? Mask(0xFF) : Mask((1u << std::max(n, 0)) - 1u); }
  static Vec zero() { return _mm512_setzero_pd(); }
  static Vec set1(double x) { return _mm512_set1_pd(x); }
  static Vec load(const double* p) { return _mm512_loadu_pd(p); }
  static Vec load(const double* p, Mask m) { return _mm512_maskz_loadu_pd(m, p); }
  static void store(double* p, Vec v) { _mm512_storeu_pd(p, v); }
  static void store(double* p, Vec v, Mask m) { _mm512_mask_storeu_pd(p, m, v); }
  static Vec broadcast(const double* p) { return _mm512_set1_pd(*p); }
  static Vec fmadd(Vec a, Vec b, Vec c) { return _mm512_fmadd_pd(a, b, c); }
  static Vec mul(Vec a, Vec b) { return _mm512_mul_pd(a, b); }
  static Vec add(Vec a, Vec b) { return _mm512_add_pd(a, b); }
  static Vec sub(Vec a, Vec b) { return _mm512_sub_pd(a, b); }
  static Vec max(Vec a, Vec b) { return _mm512_max_pd(a, b); }
  static Vec min(Vec a, Vec b) { return _mm512_min_pd(a, b); }
};

#elif MINIDNN_ISA_AVX2

// 16 ymm registers: 6 x 2 = 12 accumulators, 2 B vectors, 1 broadcast.
template <>
struct Simd<float> {
  using Scalar = float;
  using Vec = __m256;
  using Mask = __m256i;
  static constexpr int width = 8;
  static constexpr int rows = 6;
  static constexpr int vectors = 2;
  static constexpr const char* name = "avx2";
  static Mask first_lanes(int n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
  static Vec zero() { return _mm256_setzero_ps(); }
  static Vec set1(float x) { return _mm256_set1_ps(x); }
  static Vec load(const float* p) { return _mm256_loadu_ps(p); }
  static Vec load(const float* p, Mask m) { return _mm256_maskload_ps(p, m); }
  static void store(float* p, Vec v) { _mm256_storeu_ps(p, v); }
  static void store(float* p, Vec v, Mask m) { _mm256_maskstore_ps(p, m, v); }
  static Vec broadcast(const float* p) { return _mm256_broadcast_ss(p); }
  static Vec fmadd(Vec a, Vec b, Vec c) { return _mm256_fmadd_ps(a, b, c); }
  static Vec mul(Vec a, Vec b) { return _mm256_mul_ps(a, b); }
  static Vec add(Vec a, Vec b) { return _mm256_add_ps(a, b); }
  static Vec sub(Vec a, Vec b) { return _mm256_sub_ps(a, b); }
  static Vec max(Vec a, Vec b) { return _mm256_max_ps(a, b); }
  static Vec min(Vec a, Vec b) { return _mm256_min_ps(a, b); }
};

template <>
struct Simd<double> {
  using Scalar = double;
  using Vec = __m256d;
  using Mask = __m256i;
  static constexpr int width = 4;
  static constexpr int rows = 6;
  static constexpr int vectors = 2;
  static constexpr const char* name = "avx2";
  static Mask first_lanes(int n) {
    return _mm256_cmpgt_epi64(_mm256_set1_epi64x(n), _mm256_setr_epi64x(0, 1, 2, 3));
  }
  static Vec zero() { return _mm256_setzero_pd(); }
  static Vec set1(double x) { return _mm256_set1_pd(x); }
  static Vec load(const double* p) { return _mm256_loadu_pd(p); }
  static Vec load(const double* p, Mask m) { return _mm256_maskload_pd(p, m); }
  static void store(double* p, Vec v) { _mm256_storeu_pd(p, v); }
  static void store(double* p, Vec v, Mask m) { _mm256_maskstore_pd(p, m, v); }
  static Vec broadcast(const double* p) { return _mm256_broadcast_sd(p); }
  static Vec fmadd(Vec a, Vec b, Vec c) { return _mm256_fmadd_pd(a, b, c); }
  static Vec mul(Vec a, Vec b) { return _mm256_mul_pd(a, b); }
  static Vec add(Vec a, Vec b) { return _mm256_add_pd(a, b); }
  static Vec sub(Vec a, Vec b) { return _mm256_sub_pd(a, b); }
  static Vec max(Vec a, Vec b) { return _mm256_max_pd(a, b); }
  static Vec min(Vec a, Vec b) { return _mm256_min_pd(a, b); }
};

#endif

}  // namespace minidnn::cpu::MINIDNN_ISA_NS
