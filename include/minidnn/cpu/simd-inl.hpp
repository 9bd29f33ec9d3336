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

// The element-wise operations every vector specialisation spells the same way, only the
// intrinsics' prefix (_mm512, _mm256) and type suffix (ps, pd) differ.
#define MINIDNN_SIMD_ELEMENTWISE(prefix, type)                                         \
  static Vec zero() { return prefix##_setzero_##type(); }                               \
  static Vec set1(Scalar x) { return prefix##_set1_##type(x); }                         \
  static Vec load(const Scalar* p) { return prefix##_loadu_##type(p); }                 \
  static void store(Scalar* p, Vec v) { prefix##_storeu_##type(p, v); }                 \
  static Vec fmadd(Vec a, Vec b, Vec c) { return prefix##_fmadd_##type(a, b, c); }      \
  static Vec mul(Vec a, Vec b) { return prefix##_mul_##type(a, b); }                    \
  static Vec add(Vec a, Vec b) { return prefix##_add_##type(a, b); }                    \
  static Vec sub(Vec a, Vec b) { return prefix##_sub_##type(a, b); }                    \
  static Vec max(Vec a, Vec b) { return prefix##_max_##type(a, b); }                    \
  static Vec min(Vec a, Vec b) { return prefix##_min_##type(a, b); }

// Beyond the GEMM's operations, the float vectors also give what the pooling, packing and
// Winograd kernels need, so that each of them is written once for both widths:
//   load_first(p, n), store_first(p, v, n)   the first n lanes (a row's ragged end)
//   is_nan(v), mask_or(a, b), any(m), no_lanes()   NaN tracking (masks as first_lanes makes them)
//   mask_andnot(a, b)              the lanes of b not in a (float only)
//   deinterleave(a, b, even, odd)  the even / odd lanes of the 2*width values a, b
//   transpose(rows)                rows[r] lane c becomes rows[c] lane r (width x width)
//   greater(a, b), select(m, a, b)  a > b (false for NaN), m ? a : b lane by lane
//   Index: 32-bit integer lanes (plane positions): lane_indices() (0, 1, ...), index_set1,
//     index_add, index_select, load_index, store_index, store_index_first
//   gather(base, index, m)         lane l = base[index[l]] where m holds, 0 elsewhere

#if MINIDNN_ISA_AVX512

// 32 zmm registers: 8 x 3 = 24 accumulators, 3 B vectors, 1 broadcast. 8 x 48 floats per tile
// keeps 24 FMAs in flight per k step against 3 vector loads and 8 broadcasts.
template <>
struct Simd<float> {
  using Scalar = float;
  using Vec = __m512;
  using Mask = __mmask16;
  using Index = __m512i;
  static constexpr int width = 16;
  static constexpr int rows = 8;
  static constexpr int vectors = 3;
  static constexpr const char* name = "avx512";
  MINIDNN_SIMD_ELEMENTWISE(_mm512, ps)
  /// The first n lanes (none for n <= 0, all for n >= 16).
  static Mask first_lanes(int n) { return n >= 16 ? Mask(0xFFFF) : Mask((1u << std::max(n, 0)) - 1u); }
  static Vec load(const float* p, Mask m) { return _mm512_maskz_loadu_ps(m, p); }
  static void store(float* p, Vec v, Mask m) { _mm512_mask_storeu_ps(p, m, v); }
  static Vec broadcast(const float* p) { return _mm512_set1_ps(*p); }
  /// The first n lanes of p, the rest 0 / stored to p: plain when n >= width, masked below.
  static Vec load_first(const float* p, int n) { return n >= width ? load(p) : load(p, first_lanes(n)); }
  static void store_first(float* p, Vec v, int n) {
    if (n >= width) store(p, v);
    else store(p, v, first_lanes(n));
  }
  static Mask no_lanes() { return 0; }
  static Mask is_nan(Vec v) { return _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q); }
  static Mask mask_or(Mask a, Mask b) { return Mask(a | b); }
  static Mask mask_andnot(Mask a, Mask b) { return Mask(~a & b); }
  static bool any(Mask m) { return m != 0; }
  static void deinterleave(Vec a, Vec b, Vec& even, Vec& odd) {
    const __m512i even_lanes = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    even = _mm512_permutex2var_ps(a, even_lanes, b);
    odd = _mm512_permutex2var_ps(a, _mm512_add_epi32(even_lanes, _mm512_set1_epi32(1)), b);
  }
  static Index load_index(const std::int32_t* p) { return _mm512_loadu_si512(p); }
  static Mask greater(Vec a, Vec b) { return _mm512_cmp_ps_mask(a, b, _CMP_GT_OQ); }
  static Vec select(Mask m, Vec a, Vec b) { return _mm512_mask_mov_ps(b, m, a); }
  static Index lane_indices() { return _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15); }
  static Index index_set1(std::int32_t i) { return _mm512_set1_epi32(i); }
  static Index index_add(Index a, Index b) { return _mm512_add_epi32(a, b); }
  static Index index_select(Mask m, Index a, Index b) { return _mm512_mask_mov_epi32(b, m, a); }
  static void store_index(std::int32_t* p, Index v) { _mm512_storeu_si512(p, v); }
  static void store_index_first(std::int32_t* p, Index v, int n) {
    if (n >= width) store_index(p, v);
    else _mm512_mask_storeu_epi32(p, first_lanes(n), v);
  }
  static Vec gather(const float* base, Index index, Mask m) {
    return _mm512_mask_i32gather_ps(_mm512_setzero_ps(), m, index, base, 4);
  }
  static void transpose(Vec rows[16]) {
    __m512 t[16];
    for (int i = 0; i < 8; ++i) {
      t[2 * i] = _mm512_unpacklo_ps(rows[2 * i], rows[2 * i + 1]);
      t[2 * i + 1] = _mm512_unpackhi_ps(rows[2 * i], rows[2 * i + 1]);
    }
    // u[4j + q], 128-bit lane L: column 4L + q of rows 4j .. 4j + 3.
    __m512 u[16];
    for (int j = 0; j < 4; ++j) {
      const __m512d t0 = _mm512_castps_pd(t[4 * j]), t1 = _mm512_castps_pd(t[4 * j + 1]);
      const __m512d t2 = _mm512_castps_pd(t[4 * j + 2]), t3 = _mm512_castps_pd(t[4 * j + 3]);
      u[4 * j + 0] = _mm512_castpd_ps(_mm512_unpacklo_pd(t0, t2));
      u[4 * j + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(t0, t2));
      u[4 * j + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(t1, t3));
      u[4 * j + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(t1, t3));
    }
    for (int q = 0; q < 4; ++q) {
      const __m512 v1 = _mm512_shuffle_f32x4(u[q], u[4 + q], 0x44);
      const __m512 v2 = _mm512_shuffle_f32x4(u[q], u[4 + q], 0xEE);
      const __m512 w1 = _mm512_shuffle_f32x4(u[8 + q], u[12 + q], 0x44);
      const __m512 w2 = _mm512_shuffle_f32x4(u[8 + q], u[12 + q], 0xEE);
      rows[q] = _mm512_shuffle_f32x4(v1, w1, 0x88);
      rows[4 + q] = _mm512_shuffle_f32x4(v1, w1, 0xDD);
      rows[8 + q] = _mm512_shuffle_f32x4(v2, w2, 0x88);
      rows[12 + q] = _mm512_shuffle_f32x4(v2, w2, 0xDD);
    }
  }
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
  MINIDNN_SIMD_ELEMENTWISE(_mm512, pd)
  static Mask first_lanes(int n) { return n >= 8 ? Mask(0xFF) : Mask((1u << std::max(n, 0)) - 1u); }
  static Vec load(const double* p, Mask m) { return _mm512_maskz_loadu_pd(m, p); }
  static void store(double* p, Vec v, Mask m) { _mm512_mask_storeu_pd(p, m, v); }
  static Vec broadcast(const double* p) { return _mm512_set1_pd(*p); }
};

#elif MINIDNN_ISA_AVX2

// 16 ymm registers: 6 x 2 = 12 accumulators, 2 B vectors, 1 broadcast.
template <>
struct Simd<float> {
  using Scalar = float;
  using Vec = __m256;
  using Mask = __m256i;  // a lane is used when its sign bit is set (vmaskmovps)
  using Index = __m256i;
  static constexpr int width = 8;
  static constexpr int rows = 6;
  static constexpr int vectors = 2;
  static constexpr const char* name = "avx2";
  MINIDNN_SIMD_ELEMENTWISE(_mm256, ps)
  static Mask first_lanes(int n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
  static Vec load(const float* p, Mask m) { return _mm256_maskload_ps(p, m); }
  static void store(float* p, Vec v, Mask m) { _mm256_maskstore_ps(p, m, v); }
  static Vec broadcast(const float* p) { return _mm256_broadcast_ss(p); }
  /// The first n lanes of p, the rest 0 / stored to p: plain when n >= width, masked below.
  static Vec load_first(const float* p, int n) { return n >= width ? load(p) : load(p, first_lanes(n)); }
  static void store_first(float* p, Vec v, int n) {
    if (n >= width) store(p, v);
    else store(p, v, first_lanes(n));
  }
  static Mask no_lanes() { return _mm256_setzero_si256(); }
  static Mask is_nan(Vec v) { return _mm256_castps_si256(_mm256_cmp_ps(v, v, _CMP_UNORD_Q)); }
  static Mask mask_or(Mask a, Mask b) { return _mm256_or_si256(a, b); }
  static Mask mask_andnot(Mask a, Mask b) { return _mm256_andnot_si256(a, b); }
  static bool any(Mask m) { return !_mm256_testz_si256(m, m); }
  static void deinterleave(Vec a, Vec b, Vec& even, Vec& odd) {
    // Per 128-bit half: a0 a2 b0 b2 | a4 a6 b4 b6; then the 64-bit quarters reordered.
    even = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(a, b, 0x88)), 0xD8));
    odd = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(a, b, 0xDD)), 0xD8));
  }
  static Index load_index(const std::int32_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }
  static Mask greater(Vec a, Vec b) { return _mm256_castps_si256(_mm256_cmp_ps(a, b, _CMP_GT_OQ)); }
  static Vec select(Mask m, Vec a, Vec b) { return _mm256_blendv_ps(b, a, _mm256_castsi256_ps(m)); }
  static Index lane_indices() { return _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7); }
  static Index index_set1(std::int32_t i) { return _mm256_set1_epi32(i); }
  static Index index_add(Index a, Index b) { return _mm256_add_epi32(a, b); }
  static Index index_select(Mask m, Index a, Index b) { return _mm256_blendv_epi8(b, a, m); }
  static void store_index(std::int32_t* p, Index v) { _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), v); }
  static void store_index_first(std::int32_t* p, Index v, int n) {
    if (n >= width) store_index(p, v);
    else _mm256_maskstore_epi32(p, first_lanes(n), v);
  }
  static Vec gather(const float* base, Index index, Mask m) {
    return _mm256_mask_i32gather_ps(_mm256_setzero_ps(), base, index, _mm256_castsi256_ps(m), 4);
  }
  static void transpose(Vec rows[8]) {
    __m256 t[8], s[8];
    for (int i = 0; i < 4; ++i) {
      t[2 * i] = _mm256_unpacklo_ps(rows[2 * i], rows[2 * i + 1]);
      t[2 * i + 1] = _mm256_unpackhi_ps(rows[2 * i], rows[2 * i + 1]);
    }
    // s[4h + q], 128-bit half H: column 4H + q of rows 4h .. 4h + 3.
    for (int h = 0; h < 2; ++h) {
      s[4 * h + 0] = _mm256_shuffle_ps(t[4 * h], t[4 * h + 2], 0x44);
      s[4 * h + 1] = _mm256_shuffle_ps(t[4 * h], t[4 * h + 2], 0xEE);
      s[4 * h + 2] = _mm256_shuffle_ps(t[4 * h + 1], t[4 * h + 3], 0x44);
      s[4 * h + 3] = _mm256_shuffle_ps(t[4 * h + 1], t[4 * h + 3], 0xEE);
    }
    for (int q = 0; q < 4; ++q) {
      rows[q] = _mm256_permute2f128_ps(s[q], s[4 + q], 0x20);
      rows[4 + q] = _mm256_permute2f128_ps(s[q], s[4 + q], 0x31);
    }
  }
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
  MINIDNN_SIMD_ELEMENTWISE(_mm256, pd)
  static Mask first_lanes(int n) {
    return _mm256_cmpgt_epi64(_mm256_set1_epi64x(n), _mm256_setr_epi64x(0, 1, 2, 3));
  }
  static Vec load(const double* p, Mask m) { return _mm256_maskload_pd(p, m); }
  static void store(double* p, Vec v, Mask m) { _mm256_maskstore_pd(p, m, v); }
  static Vec broadcast(const double* p) { return _mm256_broadcast_sd(p); }
};

#endif

#undef MINIDNN_SIMD_ELEMENTWISE

}  // namespace minidnn::cpu::MINIDNN_ISA_NS
