#pragma once
/// \file
/// Winograd convolution F(2x2, 3x3) for 3x3, stride-1 convolutions: forward, input gradient and
/// kernel gradient, with 16 multiplications per 2x2 output tile and input channel instead of 36.
///
/// Lavin & Gray's algorithm. The output is cut into 2x2 tiles; tile t reads a 4x4 input patch d.
/// With U = G g G^T (a 3x3 kernel g made 4x4) and V = B^T d B (a patch made 4x4),
///     y_tile (2x2) = A^T [ sum over input channels  U (.) V ] A          (.) element-wise
/// For each of the 16 positions xi of the 4x4 transform domain the channel sum is one GEMM,
///     M_xi (F x tiles) = U_xi (F x C) * V_xi (C x tiles),
/// so the arithmetic lands in the same GEMM kernel as every other product, over tiles of several
/// samples at once. The backward pass uses the adjoints of the same linear maps (exact, no
/// second algorithm to trust): with dM = A dy_tile A^T (2x2 made 4x4),
///     dU_xi (F x C)     = sum over tiles  dM_xi * V_xi^T        dg = G^T dU G
///     dV_xi (C x tiles) = U_xi^T * dM_xi                        dd = B dV B^T, added onto the
///                                                               patch each tile read
/// In float the transforms of F(2x2, 3x3) lose little (their coefficients are 0, +-1 and 1/2);
/// tests compare against the direct definition in double and float.
///
/// F(3x3, 3x3) and F(4x4, 3x3) (LaneTiles, below) are the same algorithm with 5x5 and 6x6 patches
/// and 3x3 and 4x4 output tiles: fewer multiplications, more additions per value transformed.
///
/// The transforms are compiled once per instruction set (ops/conv/winograd-inl.hpp); the tile
/// policies below (F2x2, F3x3, F4x4) call the active set's copy, once per plane.
///
/// Tiles at the right and bottom edges may reach past the input (a padded or odd-sized output):
/// they read zeros there and their outputs past the edge are dropped, and in backward those
/// outputs' gradients count as zero.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "minidnn/ops/gemm.hpp"
#include "minidnn/core/aligned_vector.hpp"
#include "minidnn/core/parallel.hpp"
#include "minidnn/core/tensor.hpp"
#include "minidnn/ops/activation.hpp"
#include "minidnn/cpu/simd.hpp"
#include "minidnn/ops/conv/geometry.hpp"
#include "minidnn/ops/row_sums.hpp"

namespace minidnn {

namespace winograd {

/// Positions of the 4x4 transform domain.
inline constexpr int kPositions = 16;

/// Tiling of one sample: m x m output tiles (m = 2, or 4 for F(4x4, 3x3)) over an out_h x out_w
/// output, and the zero-padded copy of an input plane whose (m + 2) x (m + 2) patches the tiles
/// read (patch of tile (ty, tx) at row m*ty, column m*tx of the padded plane).
struct Tiling {
  int tiles_h = 0, tiles_w = 0;
  int padded_h = 0, padded_w = 0;
  int tiles() const { return tiles_h * tiles_w; }

  explicit Tiling(const ConvGeometry& g, int m = 2)
      : tiles_h((g.out_h + m - 1) / m), tiles_w((g.out_w + m - 1) / m),
        padded_h(m * tiles_h + 2), padded_w(m * tiles_w + 2) {}
  Tiling() = default;
};

/// Copies plane (H x W) into `padded` at offset (pad_h, pad_w), zeros elsewhere.
template <typename T>
void pad_plane(const ConvGeometry& g, const Tiling& t, const T* plane, T* padded) {
  std::fill(padded, padded + static_cast<std::size_t>(t.padded_h) * t.padded_w, T(0));
  const int rows = std::min(g.height, t.padded_h - g.pad_h);
  const int cols = std::min(g.width, t.padded_w - g.pad_w);
  for (int y = 0; y < rows; ++y)
    std::copy(plane + static_cast<std::size_t>(y) * g.width, plane + static_cast<std::size_t>(y) * g.width + cols,
              padded + static_cast<std::size_t>(y + g.pad_h) * t.padded_w + g.pad_w);
}

}  // namespace winograd
}  // namespace minidnn

#define MINIDNN_PER_ISA_FILE "minidnn/ops/conv/winograd-inl.hpp"
#include "minidnn/cpu/for_each_isa.hpp"

namespace minidnn {
namespace winograd {

// A tile policy for WinogradConv: output tile side m, patch side m + 2, and the transforms of
// the active instruction set's copy of cpu::<isa>::winograd::Name.
#define MINIDNN_WINOGRAD_TILE(Name, M)                                                            \
  struct Name {                                                                                   \
    static constexpr int m = M, patch = M + 2;                                                    \
    template <typename T>                                                                         \
    static void transform_kernel(const T* k, T* u, std::ptrdiff_t s) {                            \
      MINIDNN_DISPATCH(winograd::Name::transform_kernel<T>(k, u, s));                             \
    }                                                                                             \
    template <typename T>                                                                         \
    static void kernel_gradient(const T* du, std::ptrdiff_t s, T* dk) {                           \
      MINIDNN_DISPATCH(winograd::Name::kernel_gradient<T>(du, s, dk));                            \
    }                                                                                             \
    template <typename T>                                                                         \
    static void transform_input(const Tiling& t, const T* p, T* v, std::ptrdiff_t s) {            \
      MINIDNN_DISPATCH(winograd::Name::transform_input<T>(t, p, v, s));                           \
    }                                                                                             \
    template <typename T>                                                                         \
    static void transform_input_adjoint(const Tiling& t, const T* dv, std::ptrdiff_t s, T* p) {   \
      MINIDNN_DISPATCH(winograd::Name::transform_input_adjoint<T>(t, dv, s, p));                  \
    }                                                                                             \
    template <typename T>                                                                         \
    static void transform_output(const ConvGeometry& g, const Tiling& t, const T* mm,             \
                                 std::ptrdiff_t s, T bias, Activation a, T* y) {                  \
      MINIDNN_DISPATCH(winograd::Name::transform_output<T>(g, t, mm, s, bias, a, y));             \
    }                                                                                             \
    template <typename T>                                                                         \
    static void transform_output_adjoint(const ConvGeometry& g, const Tiling& t, const T* dy,     \
                                         T* dm, std::ptrdiff_t s) {                               \
      MINIDNN_DISPATCH(winograd::Name::transform_output_adjoint<T>(g, t, dy, dm, s));             \
    }                                                                                             \
  };
MINIDNN_WINOGRAD_TILE(F2x2, 2)
MINIDNN_WINOGRAD_TILE(F3x3, 3)
MINIDNN_WINOGRAD_TILE(F4x4, 4)
#undef MINIDNN_WINOGRAD_TILE

}  // namespace winograd

/// True when Winograd F(2x2, 3x3) computes this convolution: a 3x3 kernel at stride 1.
inline bool winograd_applies(const ConvGeometry& g) {
  return g.kernel_h == 3 && g.kernel_w == 3 && g.stride_h == 1 && g.stride_w == 1;
}

/// A 3x3, stride-1 convolution layer's arithmetic by Winograd F(2x2, 3x3) or, with Tile =
/// winograd::F4x4, F(4x4, 3x3) (see the file comment; P = 16 or 36 transform positions), with its
/// workspaces: sized on first use, then reused.
///
/// Samples are processed in groups whose tiles together make about kTargetColumns GEMM columns
/// (late layers have few tiles per sample: conv5 of the seed model has 4); groups are spread
/// over OpenMP threads. Kernel gradients are summed per thread, then in thread order.
template <typename T, typename Tile = winograd::F2x2>
class WinogradConv {
 public:
  /// GEMM columns (tiles) a group of samples aims at. Measured on the seed model (64 to 400):
  /// conv2/conv3 (81 and 64 tiles per sample) do not care; conv4/conv5 (9 and 4 tiles) are
  /// fastest with small groups, whose transformed tiles stay in L2.
  static constexpr int kTargetColumns = 64;

  WinogradConv() = default;
  WinogradConv(const ConvGeometry& g, int filters) : g_(g), tiling_(g, Tile::m), filters_(filters) {}
  /// Positions of the transform domain: (m + 2)^2.
  static constexpr int kPositions = Tile::patch * Tile::patch;

  /// Samples per group, for a batch of `batch`.
  int group_size(int batch) const {
    const int tiles = tiling_.tiles();
    return std::clamp((kTargetColumns + tiles - 1) / tiles, 1, std::max(batch, 1));
  }

  /// y = activation(conv(x, kernel) + bias). kernel: (F, C, 3, 3); y sized by the caller.
  void forward(const Tensor<T>& x, const T* kernel, const T* bias, Activation activation, Tensor<T>& y) {
    const int batch = x.batch();
    const int group = group_size(batch);
    const int groups = (batch + group - 1) / group;
    transform_kernels(kernel);
    reserve(group, /*backward=*/false);
    const int c = g_.channels, f = filters_, tiles = tiling_.tiles();
#pragma omp parallel for schedule(static) if (groups > 1)
    for (int gi = 0; gi < groups; ++gi) {
      Workspace& ws = workspaces_[thread_index()];
      const int s0 = gi * group, count = std::min(group, batch - s0), n = count * tiles;
      transform_group_input(x, s0, count, n, ws);
      const std::ptrdiff_t v_stride = position_stride(c, n), m_stride = position_stride(f, n);
      for (int xi = 0; xi < kPositions; ++xi)
        gemm<T>(Transpose::no, Transpose::no, f, n, c, T(1), u_.data() + xi * std::ptrdiff_t(f) * c, c,
                ws.v.data() + xi * v_stride, n, T(0), ws.m.data() + xi * m_stride, n);
      for (int s = 0; s < count; ++s)
        for (int fi = 0; fi < f; ++fi)
          Tile::transform_output(g_, tiling_, ws.m.data() + std::ptrdiff_t(fi) * n + s * tiles, m_stride,
                                     bias[fi], activation,
                                     y.sample(s0 + s) + std::ptrdiff_t(fi) * g_.out_h * g_.out_w);
    }
  }

  /// From dy (gradient of the activated output y; masked in place by `activation`'s derivative
  /// at y): dkernel and dbias overwritten; dx overwritten unless null.
  void backward(const Tensor<T>& x, const Tensor<T>& y, Activation activation, const T* kernel,
                Tensor<T>& dy, T* dkernel, T* dbias, Tensor<T>* dx) {
    const int batch = x.batch();
    const int group = group_size(batch);
    const int groups = (batch + group - 1) / group;
    transform_kernels(kernel);
    reserve(group, /*backward=*/true);
    const int c = g_.channels, f = filters_, tiles = tiling_.tiles();
    const std::size_t out_plane = std::size_t(g_.out_h) * g_.out_w;
    const std::size_t in_plane = std::size_t(g_.height) * g_.width;
    int team = 1;
#pragma omp parallel if (groups > 1)
    {
      Workspace& ws = workspaces_[thread_index()];
#pragma omp single nowait
      team = team_size();
      std::fill(ws.du.begin(), ws.du.end(), T(0));
      std::fill(ws.dbias.begin(), ws.dbias.end(), T(0));
#pragma omp for schedule(static)
      for (int gi = 0; gi < groups; ++gi) {
        const int s0 = gi * group, count = std::min(group, batch - s0), n = count * tiles;
        const std::ptrdiff_t v_stride = position_stride(c, n), m_stride = position_stride(f, n);
        transform_group_input(x, s0, count, n, ws);
        for (int s = 0; s < count; ++s)
          for (int fi = 0; fi < f; ++fi) {
            T* plane = dy.sample(s0 + s) + fi * out_plane;
            activation_backward(activation, y.sample(s0 + s) + fi * out_plane, plane, out_plane);
            ws.dbias[fi] += sum_of(plane, out_plane);
            Tile::transform_output_adjoint(g_, tiling_, plane, ws.m.data() + std::ptrdiff_t(fi) * n + s * tiles,
                                               m_stride);
          }
        for (int xi = 0; xi < kPositions; ++xi) {
          const T* dm = ws.m.data() + xi * m_stride;
          gemm<T>(Transpose::no, Transpose::yes, f, c, n, T(1), dm, n, ws.v.data() + xi * v_stride, n, T(1),
                  ws.du.data() + xi * std::ptrdiff_t(f) * c, c);
          if (dx)
            gemm<T>(Transpose::yes, Transpose::no, c, n, f, T(1), u_.data() + xi * std::ptrdiff_t(f) * c, c, dm, n,
                    T(0), ws.dv.data() + xi * v_stride, n);
        }
        if (!dx) continue;
        const bool in_place = plane_is_padded();
        for (int s = 0; s < count; ++s)
          for (int ci = 0; ci < c; ++ci) {
            T* plane = dx->sample(s0 + s) + ci * in_plane;
            T* padded = in_place ? plane : ws.padded.data();
            std::fill(padded, padded + std::size_t(tiling_.padded_h) * tiling_.padded_w, T(0));
            Tile::transform_input_adjoint(tiling_, ws.dv.data() + std::ptrdiff_t(ci) * n + s * tiles, v_stride,
                                              padded);
            if (!in_place) unpad_plane(padded, plane);
          }
      }
    }
    // Sum the per-thread transformed gradients in thread order (deterministic for a thread
    // count), then bring them back from the transform domain.
    const std::size_t du_size = std::size_t(kPositions) * f * c;
    for (int t = 1; t < team; ++t) {
      const T* part = workspaces_[t].du.data();
      T* total = workspaces_[0].du.data();
      for (std::size_t i = 0; i < du_size; ++i) total[i] += part[i];
      for (int fi = 0; fi < f; ++fi) workspaces_[0].dbias[fi] += workspaces_[t].dbias[fi];
    }
    const std::ptrdiff_t stride = std::ptrdiff_t(f) * c;
    for (int fi = 0; fi < f; ++fi)
      for (int ci = 0; ci < c; ++ci)
        Tile::kernel_gradient(workspaces_[0].du.data() + std::ptrdiff_t(fi) * c + ci, stride,
                                  dkernel + (std::ptrdiff_t(fi) * c + ci) * 9);
    std::copy(workspaces_[0].dbias.begin(), workspaces_[0].dbias.begin() + f, dbias);
  }

 private:
  struct Workspace {
    AlignedVector<T> v;       // (P, C, tiles of the group): transformed input patches
    AlignedVector<T> m;       // (P, F, tiles): products, then (backward) transformed dy
    AlignedVector<T> dv;      // (P, C, tiles): transformed input gradient (backward)
    AlignedVector<T> du;      // (P, F, C): this thread's transformed kernel gradient (backward)
    AlignedVector<T> dbias;   // (F)
    AlignedVector<T> padded;  // one zero-padded input plane
  };

  // U for `kernel`, unless U already holds the transform of these exact values: inference calls
  // forward again and again with unchanged weights, and at batch 1 transforming them would cost
  // more than the convolution (conv5 of the seed model: 16,384 kernels for 4 tiles).
  void transform_kernels(const T* kernel) {
    const int c = g_.channels, f = filters_;
    const std::size_t count = std::size_t(f) * c * 9;
    if (transformed_.size() == count && std::equal(kernel, kernel + count, transformed_.begin())) return;
    const std::size_t size = std::size_t(kPositions) * f * c;
    if (u_.size() < size) u_.resize(size);
    const std::ptrdiff_t stride = std::ptrdiff_t(f) * c;  // U_xi is (F x C), row-major
    for (int fi = 0; fi < f; ++fi)
      for (int ci = 0; ci < c; ++ci)
        Tile::transform_kernel(kernel + (std::ptrdiff_t(fi) * c + ci) * 9,
                                   u_.data() + std::ptrdiff_t(fi) * c + ci, stride);
    transformed_.assign(kernel, kernel + count);
  }

  // V of samples [s0, s0 + count) into ws.v: (P, C, n) with the samples' tiles side by side.
  void transform_group_input(const Tensor<T>& x, int s0, int count, int n, Workspace& ws) const {
    const int c = g_.channels, tiles = tiling_.tiles();
    const std::size_t in_plane = std::size_t(g_.height) * g_.width;
    const std::ptrdiff_t v_stride = position_stride(c, n);
    const bool in_place = plane_is_padded();
    for (int s = 0; s < count; ++s)
      for (int ci = 0; ci < c; ++ci) {
        const T* plane = x.sample(s0 + s) + ci * in_plane;
        if (!in_place) winograd::pad_plane(g_, tiling_, plane, ws.padded.data());
        Tile::transform_input(tiling_, in_place ? plane : ws.padded.data(),
                                  ws.v.data() + std::ptrdiff_t(ci) * n + s * tiles, v_stride);
      }
  }

  // True when an input plane is its own padded plane: no padding, and the tiles read exactly
  // its rows and columns (a valid convolution with an even output, as conv2/conv3 of the seed
  // model). The copy in and out of the padded plane is then skipped.
  bool plane_is_padded() const {
    return g_.pad_h == 0 && g_.pad_w == 0 && tiling_.padded_h == g_.height && tiling_.padded_w == g_.width;
  }

  // The (H x W) window of a padded plane at (pad_h, pad_w): what reached real input pixels.
  void unpad_plane(const T* padded, T* plane) const {
    for (int y = 0; y < g_.height; ++y) {
      T* row = plane + std::size_t(y) * g_.width;
      const int py = y + g_.pad_h;
      if (py >= tiling_.padded_h) {  // rows no tile reads (a valid conv's unused bottom rows)
        std::fill(row, row + g_.width, T(0));
        continue;
      }
      const T* src = padded + std::size_t(py) * tiling_.padded_w + g_.pad_w;
      const int cols = std::min(g_.width, tiling_.padded_w - g_.pad_w);
      std::copy(src, src + cols, row);
      std::fill(row + cols, row + g_.width, T(0));
    }
  }

  // Distance between the (rows x n) matrices of consecutive transform positions. One cache line
  // more than the matrix: the transforms touch all P positions at once, and with a stride of a
  // multiple of 4 KB (conv3 of the seed model: 64 x 64 floats) those P streams would all fall
  // into one L1 set and evict each other.
  static std::ptrdiff_t position_stride(int rows, std::size_t n) {
    return std::ptrdiff_t(rows) * std::ptrdiff_t(n) + kLinePad;
  }
  static constexpr int kLinePad = 64 / sizeof(T) < 1 ? 1 : 64 / sizeof(T);

  void reserve(int group, bool backward) {
    const int threads = max_threads();
    if (workspaces_.size() < static_cast<std::size_t>(threads)) workspaces_.resize(threads);
    const std::size_t n = std::size_t(group) * tiling_.tiles();
    const std::size_t positions = kPositions;
    auto grow = [](AlignedVector<T>& b, std::size_t size) {
      if (b.size() < size) b.resize(size);
    };
    for (Workspace& ws : workspaces_) {
      grow(ws.v, positions * position_stride(g_.channels, n));
      grow(ws.m, positions * position_stride(filters_, n));
      grow(ws.padded, std::size_t(tiling_.padded_h) * tiling_.padded_w);
      if (backward) {
        grow(ws.dv, positions * position_stride(g_.channels, n));
        grow(ws.du, positions * filters_ * g_.channels);
        grow(ws.dbias, filters_);
      }
    }
  }

  ConvGeometry g_{};
  winograd::Tiling tiling_;
  int filters_ = 0;
  AlignedVector<T> u_;            // (P, F, C): the transformed kernels
  std::vector<T> transformed_;    // the kernel values u_ was computed from
  std::vector<Workspace> workspaces_;
};

}  // namespace minidnn
