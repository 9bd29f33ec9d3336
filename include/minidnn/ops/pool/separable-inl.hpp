// No include guard: compiled once per instruction set by ops/pool/separable.hpp.
/// \file
/// Pooling windows reduced separably, for MaxPool2D's inference and AvgPool2D's forward: the
/// maximum (or sum) of a window is the maximum (sum) over its columns of the column maxima (sums)
/// over its rows. For each output row the column reductions over the window's ph input rows are
/// taken once, a vector of adjacent input columns at a time (contiguous loads), and for stride 2
/// split into even and odd columns; each output vector is then the reduction of pw contiguous
/// loads from those. That is ph + pw vector operations per output vector where the window itself
/// would take ph * pw strided loads: the seed model's 5x5 stride-2 max pool runs 3x faster than
/// MaxPool2D's windowed kernel.
///
/// Float only, AVX-512 and AVX2 (the same code on Simd<float>), strides 1 and 2, pools up to
/// kMaxPoolWidth wide; the plane kernels
/// (ops/pool/max_pool.hpp, avg_pool.hpp) keep their general loops for the rest.
namespace minidnn::cpu::MINIDNN_ISA_NS {

#if !MINIDNN_ISA_BASELINE

/// The window maximum. NaN: vmaxps drops a NaN in one operand order, so a plane whose input holds
/// one is not computed here (the caller's windowed kernel places NaN outputs exactly).
struct WindowMax {
  static constexpr bool kRefusesNaN = true;
  static Simd<float>::Vec combine(Simd<float>::Vec a, Simd<float>::Vec b) { return Simd<float>::max(a, b); }
};
/// The window sum (NaN propagates through it by itself).
struct WindowSum {
  static constexpr bool kRefusesNaN = false;
  static Simd<float>::Vec combine(Simd<float>::Vec a, Simd<float>::Vec b) { return Simd<float>::add(a, b); }
};

/// Stores `columns` values, a vector at a time from load(c) (c = 0, width, ...), into `even`, or
/// for stride 2 split: the even columns into `even`, the odd ones into `odd`.
template <typename Load>
inline void split_columns(Load load, int columns, int stride, float* even, float* odd) {
  using S = Simd<float>;
  constexpr int w = S::width;
  if (stride == 1) {
    for (int c = 0; c < columns; c += w) S::store(even + c, load(c));
    return;
  }
  for (int c = 0; c < columns; c += 2 * w) {
    S::Vec e, o;
    S::deinterleave(load(c), load(c + w), e, o);
    S::store(even + c / 2, e);
    S::store(odd + c / 2, o);
  }
}

/// Widest pool window separable_pool_plane takes.
inline constexpr int kMaxPoolWidth = 128;
/// Narrowest output it takes: below, the vector set-up costs more than the plain loop (the seed
/// model's last pool, 3x3 to 1x1 over 32,768 planes a batch: 0.26 ms by the loop, 0.59 ms here
/// with AVX-512).
inline constexpr int kMinOutputWidth = 4;

/// y (oh x ow) = scale * Reduce over each (ph x pw) window of plane x (rows iw floats apart) at
/// strides (sh, sw). Returns false, leaving y unspecified, when it does not compute the plane: a
/// stride above 2, a pool wider than kMaxPoolWidth, an output narrower than kMinOutputWidth, or
/// (WindowMax) a NaN in the input.
template <typename Reduce>
bool separable_pool_plane(const float* x, float* y, int iw, int oh, int ow, int ph, int pw, int sh, int sw,
                          float scale = 1.0f) {
  using S = Simd<float>;
  constexpr int w = S::width;
  constexpr int kChunk = 64;  // output columns per chunk: the column reductions fit a stack buffer
  constexpr int kPhase = kChunk + kMaxPoolWidth;  // floats per phase buffer (stride 1 uses the most)
  if (sw > 2 || pw > kMaxPoolWidth || ow < kMinOutputWidth) return false;
  alignas(64) float phase[2][kPhase];  // column reductions: [0] even columns, [1] odd (stride 2)
  const S::Vec scale_vector = S::set1(scale);
  S::Mask nan = S::no_lanes();
  for (int oy = 0; oy < oh; ++oy) {
    const float* top = x + static_cast<std::ptrdiff_t>(oy) * sh * iw;
    for (int ox0 = 0; ox0 < ow; ox0 += kChunk) {
      const int outputs = std::min(kChunk, ow - ox0);
      const int c0 = ox0 * sw, columns = (outputs - 1) * sw + pw;  // input columns [c0, c0 + columns)
      auto column = [&](int c) {  // a vector of columns from c0 + c, reduced over the window's rows
        S::Vec acc = S::load_first(top + c0 + c, columns - c);
        if constexpr (Reduce::kRefusesNaN) nan = S::mask_or(nan, S::is_nan(acc));
        for (int i = 1; i < ph; ++i) {
          const S::Vec v = S::load_first(top + static_cast<std::ptrdiff_t>(i) * iw + c0 + c, columns - c);
          if constexpr (Reduce::kRefusesNaN) nan = S::mask_or(nan, S::is_nan(v));
          acc = Reduce::combine(acc, v);
        }
        return acc;
      };
      split_columns(column, columns, sw, phase[0], phase[1]);
      // Output ox0 + o takes input columns c0 + o*sw + j, j < pw: phase j % sw, index o + j / sw.
      // (The last vector masked: lanes past the row's end read nothing that was not written.)
      for (int o = 0; o < outputs; o += w) {
        const int lanes = outputs - o;
        S::Vec acc = S::load_first(phase[0] + o, lanes);
        for (int j = 1; j < pw; ++j) acc = Reduce::combine(acc, S::load_first(phase[j % sw] + o + j / sw, lanes));
        if (scale != 1.0f) acc = S::mul(acc, scale_vector);
        S::store_first(y + static_cast<std::ptrdiff_t>(oy) * ow + ox0 + o, acc, lanes);
      }
    }
  }
  return !S::any(nan);
}

/// The window maximum and, for each output, the plane index of its window's first maximum in
/// row-major order (what MaxPool2D's backward routes the gradient to), separably: each input
/// row's maxima over the windows' columns (the first column attaining it: a later one must be
/// strictly greater) are taken once and kept in a ring of the last kRingRows rows; each output
/// is then the maximum over its window's rows (again the first row attaining it). The first row
/// holding the window's maximum, and its first column there, is the row-major first maximum.
/// About half the vector operations of MaxPool2D's windowed kernel on the seed model's pool.
/// Returns false, leaving y and winner unspecified, when it does not compute the plane: a stride
/// above 2, a window over kRingRows x kMaxWinnerPoolWidth, an output row over 64 or under
/// kMinOutputWidth, or a NaN in the input.
inline bool separable_max_pool_plane_with_winners(const float* x, float* y, std::int32_t* winner, int iw, int oh,
                                                  int ow, int ph, int pw, int sh, int sw) {
  using S = Simd<float>;
  constexpr int w = S::width;
  constexpr int kRingRows = 8, kMaxWinnerPoolWidth = 32, kMaxOutputs = 64;
  if (sw > 2 || ph > kRingRows || pw > kMaxWinnerPoolWidth || ow > kMaxOutputs || ow < kMinOutputWidth)
    return false;
  alignas(64) float row_max[kRingRows][kMaxOutputs];            // per input row: the windows' column maxima
  alignas(64) std::int32_t row_argmax[kRingRows][kMaxOutputs];  // ... and the column of each
  alignas(64) float phase[2][kMaxOutputs + kMaxWinnerPoolWidth];  // one input row, split as in separable_pool_plane
  const S::Index lane_start = sw == 1 ? S::lane_indices() : S::index_add(S::lane_indices(), S::lane_indices());
  const int columns = (ow - 1) * sw + pw, vectors = (ow + w - 1) / w;
  S::Mask nan = S::no_lanes();
  int next_row = 0;  // input rows [0, next_row) are in the ring (the last kRingRows of them)
  for (int oy = 0; oy < oh; ++oy) {
    const int r0 = oy * sh;
    for (; next_row < r0 + ph; ++next_row) {
      const float* row = x + static_cast<std::ptrdiff_t>(next_row) * iw;
      auto load = [&](int c) {
        const S::Vec v = S::load_first(row + c, columns - c);
        nan = S::mask_or(nan, S::is_nan(v));
        return v;
      };
      split_columns(load, columns, sw, phase[0], phase[1]);
      float* max_out = row_max[next_row % kRingRows];
      std::int32_t* arg_out = row_argmax[next_row % kRingRows];
      for (int v = 0; v < vectors; ++v) {
        const int o = w * v;
        // Output o + l's window starts at column (o + l) * sw; tap j reads column (o + l) * sw + j.
        const S::Index start = S::index_add(lane_start, S::index_set1(o * sw));
        S::Vec best = S::load_first(phase[0] + o, ow - o);
        S::Index column = start;
        for (int j = 1; j < pw; ++j) {
          const S::Vec candidate = S::load_first(phase[j % sw] + o + j / sw, ow - o);
          const S::Mask better = S::greater(candidate, best);
          best = S::select(better, candidate, best);
          column = S::index_select(better, S::index_add(start, S::index_set1(j)), column);
        }
        S::store(max_out + o, best);
        S::store_index(arg_out + o, column);
      }
    }
    for (int v = 0; v < vectors; ++v) {
      const int o = w * v;
      S::Vec best = S::load(row_max[r0 % kRingRows] + o);
      S::Index where = S::index_add(S::index_set1(r0 * iw), S::load_index(row_argmax[r0 % kRingRows] + o));
      for (int i = 1; i < ph; ++i) {
        const int r = r0 + i;
        const S::Vec candidate = S::load(row_max[r % kRingRows] + o);
        const S::Mask better = S::greater(candidate, best);
        best = S::select(better, candidate, best);
        where = S::index_select(better, S::index_add(S::index_set1(r * iw), S::load_index(row_argmax[r % kRingRows] + o)),
                                where);
      }
      S::store_first(y + static_cast<std::ptrdiff_t>(oy) * ow + o, best, ow - o);
      S::store_index_first(winner + static_cast<std::ptrdiff_t>(oy) * ow + o, where, ow - o);
    }
  }
  return !S::any(nan);
}

#endif

}  // namespace minidnn::cpu::MINIDNN_ISA_NS
