// No include guard: compiled once per instruction set by ops/pool/avg_pool.hpp.
/// \file
/// Average pooling of one plane, for the instruction set being compiled.

namespace minidnn::cpu::MINIDNN_ISA_NS {

/// y (oh x ow) = the mean of each (ph x pw) window of plane x (rows iw apart) at strides (sh, sw).
template <typename T>
void avg_pool_plane(const T* x, T* y, int iw, int oh, int ow, int ph, int pw, int sh, int sw) {
  const T scale = T(1) / T(ph * pw);
#if !MINIDNN_ISA_BASELINE
  if constexpr (std::is_same_v<T, float>)
    if (separable_pool_plane<WindowSum>(x, y, iw, oh, ow, ph, pw, sh, sw, scale)) return;
#endif
  for (int oy = 0; oy < oh; ++oy) {
    for (int ox = 0; ox < ow; ++ox) {
      T sum = T(0);
      for (int i = 0; i < ph; ++i) {
        const T* row = x + (oy * sh + i) * iw + ox * sw;
        for (int j = 0; j < pw; ++j) sum += row[j];
      }
      y[oy * ow + ox] = sum * scale;
    }
  }
}

}  // namespace minidnn::cpu::MINIDNN_ISA_NS
