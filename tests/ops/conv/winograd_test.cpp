#include <catch2/catch.hpp>

#include "minidnn/core/random.hpp"
#include "minidnn/core/tensor.hpp"
#include "minidnn/ops/conv/winograd.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

using namespace minidnn;

namespace {

// ---------------------------------------------------------------------------------------------
// An independent reference: Lavin & Gray's matrices typed in here, applied by plain matrix
// products. Nothing below takes a coefficient from the code under test.
// ---------------------------------------------------------------------------------------------

using Mat = std::vector<std::vector<double>>;

const Mat kBt = {{1, 0, -1, 0}, {0, 1, 1, 0}, {0, -1, 1, 0}, {0, 1, 0, -1}};
const Mat kG = {{1, 0, 0}, {.5, .5, .5}, {.5, -.5, .5}, {0, 0, 1}};
const Mat kAt = {{1, 1, 1, 0}, {0, 1, -1, -1}};

Mat zeros(std::size_t rows, std::size_t cols) { return Mat(rows, std::vector<double>(cols, 0.0)); }

Mat transpose(const Mat& a) {
  Mat t = zeros(a[0].size(), a.size());
  for (std::size_t i = 0; i < a.size(); ++i)
    for (std::size_t j = 0; j < a[0].size(); ++j) t[j][i] = a[i][j];
  return t;
}

Mat operator*(const Mat& a, const Mat& b) {
  Mat c = zeros(a.size(), b[0].size());
  for (std::size_t i = 0; i < a.size(); ++i)
    for (std::size_t j = 0; j < b[0].size(); ++j)
      for (std::size_t k = 0; k < b.size(); ++k) c[i][j] += a[i][k] * b[k][j];
  return c;
}

Mat hadamard(const Mat& a, const Mat& b) {
  Mat c = a;
  for (std::size_t i = 0; i < a.size(); ++i)
    for (std::size_t j = 0; j < a[0].size(); ++j) c[i][j] *= b[i][j];
  return c;
}

Mat random_mat(Rng& rng, std::size_t rows, std::size_t cols) {
  Mat m = zeros(rows, cols);
  for (auto& row : m)
    for (double& v : row) v = rng.uniform(-1, 1);
  return m;
}

std::vector<double> random_vector(Rng& rng, std::size_t n) {
  std::vector<double> v(n);
  for (double& x : v) x = rng.uniform(-1, 1);
  return v;
}

// Equal up to rounding: the reference and the code add the same terms in different orders.
bool close(double actual, double expected) {
  return std::abs(actual - expected) <= 1e-13 * std::max(1.0, std::abs(expected));
}

double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (std::size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

// A 3x3, stride-1 convolution geometry with the full output for padding `pad` on every side.
ConvGeometry conv3x3(int channels, int height, int width, int pad) {
  return ConvGeometry{channels, height, width, 3, 3, 1, 1, pad, pad, height + 2 * pad - 2, width + 2 * pad - 2};
}

// Geometries for the per-plane transforms: odd and even output sides, padding 0, 1 ('same') and 2.
const ConvGeometry kPlaneCases[] = {
    conv3x3(1, 7, 6, 0),  // 5x4 output: the bottom tiles reach past the input
    conv3x3(1, 6, 5, 0),  // 4x3 output: the right tiles reach past the input
    conv3x3(1, 5, 7, 1),  // 'same', 5x7: odd on both sides
    conv3x3(1, 6, 8, 1),  // 'same', 6x8: every tile whole
    conv3x3(1, 4, 4, 0),  // a single tile
    conv3x3(1, 3, 4, 2),  // 'full' 5x6 output: two rows/columns of zeros around the input
    // Rows of more than 32 tiles: the transforms work on a row of tiles in chunks of 32.
    conv3x3(1, 4, 68, 0),  // 2x66 output: 33 tiles, a second chunk of one whole tile
    conv3x3(1, 5, 69, 0),  // 3x67 output: 34 tiles, the last one half past the edge
    conv3x3(1, 3, 65, 1),  // 'same', 3x65: 33 tiles, the second chunk a single half tile
};

// The 4x4 patch tile (ty, tx) reads, taken from the unpadded plane by the definition: row
// 2ty + r - pad_h, column 2tx + c - pad_w, zero outside the input.
Mat patch_of(const ConvGeometry& g, const std::vector<double>& plane, int ty, int tx) {
  Mat d = zeros(4, 4);
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c) {
      const int y = 2 * ty + r - g.pad_h, x = 2 * tx + c - g.pad_w;
      if (y >= 0 && y < g.height && x >= 0 && x < g.width) d[r][c] = plane[std::size_t(y) * g.width + x];
    }
  return d;
}

// Reads the 4x4 matrix at positions xi = 4i + k of a transform-domain buffer, xi at xi * stride.
Mat read_positions(const double* buffer, std::ptrdiff_t stride) {
  Mat m = zeros(4, 4);
  for (int i = 0; i < 4; ++i)
    for (int k = 0; k < 4; ++k) m[i][k] = buffer[(4 * i + k) * stride];
  return m;
}

constexpr double kSentinel = 12345.0;  // in cells that must not be written

}  // namespace

// ---------------------------------------------------------------------------------------------
// The typed-in matrices themselves
// ---------------------------------------------------------------------------------------------

TEST_CASE("The typed-in matrices turn Winograd into the 2x2 direct correlation", "[winograd]") {
  // A^T [(G g G^T) .* (B^T d B)] A must equal the direct definition y[a][b] = sum_ij
  // d[a+i][b+j] g[i][j]. If a matrix above were mistyped, every comparison against it would be
  // meaningless; this checks the matrices themselves.
  Rng rng(1);
  for (int trial = 0; trial < 20; ++trial) {
    const Mat g = random_mat(rng, 3, 3), d = random_mat(rng, 4, 4);
    const Mat u = kG * g * transpose(kG), v = kBt * d * transpose(kBt);
    const Mat y = kAt * hadamard(u, v) * transpose(kAt);
    for (int a = 0; a < 2; ++a)
      for (int b = 0; b < 2; ++b) {
        double direct = 0;
        for (int i = 0; i < 3; ++i)
          for (int j = 0; j < 3; ++j) direct += d[a + i][b + j] * g[i][j];
        CHECK(y[a][b] == Approx(direct).margin(1e-13));
      }
  }
}

// ---------------------------------------------------------------------------------------------
// Kernel transform and its adjoint
// ---------------------------------------------------------------------------------------------

TEST_CASE("transform_kernel computes G g G^T at the given stride", "[winograd]") {
  Rng rng(2);
  const std::ptrdiff_t stride = 5;  // > 1: positions must land at xi * stride, nothing between
  for (int trial = 0; trial < 10; ++trial) {
    const Mat g = random_mat(rng, 3, 3);
    std::vector<double> flat;
    for (const auto& row : g) flat.insert(flat.end(), row.begin(), row.end());
    std::vector<double> u(16 * stride, kSentinel);
    winograd::F2x2::transform_kernel(flat.data(), u.data(), stride);

    const Mat expected = kG * g * transpose(kG);
    const Mat actual = read_positions(u.data(), stride);
    for (int i = 0; i < 4; ++i)
      for (int k = 0; k < 4; ++k) CHECK(close(actual[i][k], expected[i][k]));
    for (std::size_t p = 0; p < u.size(); ++p)
      if (p % stride != 0) REQUIRE(u[p] == kSentinel);
  }
}

TEST_CASE("kernel_gradient computes G^T dU G reading dU at the given stride", "[winograd]") {
  Rng rng(3);
  const std::ptrdiff_t stride = 3;
  for (int trial = 0; trial < 10; ++trial) {
    // Values between the positions are garbage the function must not read.
    std::vector<double> du(16 * stride, 1e6);
    const Mat dU = random_mat(rng, 4, 4);
    for (int i = 0; i < 4; ++i)
      for (int k = 0; k < 4; ++k) du[(4 * i + k) * stride] = dU[i][k];
    double dg[9];
    winograd::F2x2::kernel_gradient(du.data(), stride, dg);

    const Mat expected = transpose(kG) * dU * kG;
    for (int i = 0; i < 3; ++i)
      for (int j = 0; j < 3; ++j) CHECK(close(dg[3 * i + j], expected[i][j]));
  }
}

// ---------------------------------------------------------------------------------------------
// Input transform (with Tiling and pad_plane) and its adjoint
// ---------------------------------------------------------------------------------------------

TEST_CASE("Tiling covers the output with 2x2 tiles and a padded plane for their patches", "[winograd]") {
  const winograd::Tiling odd(conv3x3(1, 7, 6, 0));  // 5x4 output
  CHECK(odd.tiles_h == 3);
  CHECK(odd.tiles_w == 2);
  CHECK(odd.tiles() == 6);
  CHECK(odd.padded_h == 8);  // the last tile's patch starts at row 4 and reads 4 rows
  CHECK(odd.padded_w == 6);
  const winograd::Tiling same(conv3x3(1, 5, 7, 1));  // 5x7 output
  CHECK(same.tiles_h == 3);
  CHECK(same.tiles_w == 4);
  CHECK(same.padded_h == 8);
  CHECK(same.padded_w == 10);
}

TEST_CASE("pad_plane + transform_input give B^T d B of every tile's patch", "[winograd]") {
  Rng rng(4);
  for (const ConvGeometry& g : kPlaneCases) {
    INFO("input " << g.height << "x" << g.width << ", pad " << g.pad_h);
    const winograd::Tiling t(g);
    const std::vector<double> plane = random_vector(rng, std::size_t(g.height) * g.width);
    std::vector<double> padded(std::size_t(t.padded_h) * t.padded_w, kSentinel);
    winograd::pad_plane(g, t, plane.data(), padded.data());

    // A stride larger than the tile count: the gap after each position must stay untouched.
    const std::ptrdiff_t stride = t.tiles() + 3;
    std::vector<double> v(16 * stride, kSentinel);
    winograd::F2x2::transform_input(t, padded.data(), v.data(), stride);

    for (int ty = 0; ty < t.tiles_h; ++ty)
      for (int tx = 0; tx < t.tiles_w; ++tx) {
        const Mat expected = kBt * patch_of(g, plane, ty, tx) * transpose(kBt);
        const Mat actual = read_positions(v.data() + ty * t.tiles_w + tx, stride);
        for (int i = 0; i < 4; ++i)
          for (int k = 0; k < 4; ++k) CHECK(close(actual[i][k], expected[i][k]));
      }
    for (std::ptrdiff_t p = 0; p < std::ptrdiff_t(v.size()); ++p)
      if (p % stride >= t.tiles()) REQUIRE(v[p] == kSentinel);
  }
}

TEST_CASE("transform_input_adjoint is the adjoint of transform_input and adds onto the plane",
          "[winograd]") {
  Rng rng(5);
  for (const ConvGeometry& g : kPlaneCases) {
    INFO("input " << g.height << "x" << g.width << ", pad " << g.pad_h);
    const winograd::Tiling t(g);
    const std::size_t plane_size = std::size_t(t.padded_h) * t.padded_w;
    const std::ptrdiff_t stride = t.tiles() + 2;
    const std::vector<double> x = random_vector(rng, plane_size);  // any padded plane
    const std::vector<double> dv = random_vector(rng, 16 * stride);

    std::vector<double> tx(16 * stride, 0.0);
    winograd::F2x2::transform_input(t, x.data(), tx.data(), stride);
    std::vector<double> ty(plane_size, 0.0);
    winograd::F2x2::transform_input_adjoint(t, dv.data(), stride, ty.data());

    // <T x, dv> over the positions and tiles T writes (the gaps of the stride are no part of it).
    double lhs = 0;
    for (int xi = 0; xi < 16; ++xi)
      for (int tile = 0; tile < t.tiles(); ++tile) lhs += tx[xi * stride + tile] * dv[xi * stride + tile];
    CHECK(lhs == Approx(dot(x, ty)).epsilon(1e-12));

    // It accumulates: starting from `base` gives base + T^T dv.
    const std::vector<double> base = random_vector(rng, plane_size);
    std::vector<double> sum = base;
    winograd::F2x2::transform_input_adjoint(t, dv.data(), stride, sum.data());
    for (std::size_t i = 0; i < plane_size; ++i) REQUIRE(close(sum[i], base[i] + ty[i]));
  }
}

// ---------------------------------------------------------------------------------------------
// Output transform and its adjoint
// ---------------------------------------------------------------------------------------------

TEST_CASE("transform_output gives activation(A^T M A + bias) only inside the output", "[winograd]") {
  Rng rng(6);
  for (const ConvGeometry& g : kPlaneCases)
    for (const Activation activation : {Activation::linear, Activation::relu}) {
      INFO("output " << g.out_h << "x" << g.out_w << ", " << to_string(activation));
      const winograd::Tiling t(g);
      const std::ptrdiff_t stride = t.tiles() + 1;
      const std::vector<double> m = random_vector(rng, 16 * stride);
      const double bias = -0.25;  // shifts some outputs below zero for the ReLU
      const std::size_t plane = std::size_t(g.out_h) * g.out_w;
      // The plane and 8 cells beyond it, all sentinels: every plane cell must be overwritten,
      // the ones beyond must not be (the dropped outputs of edge tiles would land there or in
      // the next row, where they would overwrite a correct value).
      std::vector<double> y(plane + 8, kSentinel);
      winograd::F2x2::transform_output(g, t, m.data(), stride, bias, activation, y.data());

      int clamped = 0;
      for (int ty = 0; ty < t.tiles_h; ++ty)
        for (int tx = 0; tx < t.tiles_w; ++tx) {
          const Mat M = read_positions(m.data() + ty * t.tiles_w + tx, stride);
          const Mat out = kAt * M * transpose(kAt);
          for (int a = 0; a < 2; ++a)
            for (int b = 0; b < 2; ++b) {
              const int oy = 2 * ty + a, ox = 2 * tx + b;
              if (oy >= g.out_h || ox >= g.out_w) continue;  // dropped
              double expected = out[a][b] + bias;
              if (activation == Activation::relu && expected < 0) expected = 0, ++clamped;
              CHECK(close(y[std::size_t(oy) * g.out_w + ox], expected));
            }
        }
      if (activation == Activation::relu) CHECK(clamped > 0);  // the ReLU was exercised
      for (std::size_t i = plane; i < y.size(); ++i) REQUIRE(y[i] == kSentinel);
    }
}

TEST_CASE("transform_output_adjoint is the adjoint of the linear transform_output", "[winograd]") {
  // transform_output with bias 0 and no activation is linear, m -> y, and drops the outputs
  // past the edge; its adjoint therefore sees only the gradients of the outputs it kept, so the
  // inner products are over the valid out_h x out_w outputs.
  Rng rng(7);
  for (const ConvGeometry& g : kPlaneCases) {
    INFO("output " << g.out_h << "x" << g.out_w);
    const winograd::Tiling t(g);
    const std::ptrdiff_t stride = t.tiles() + 2;
    const std::size_t plane = std::size_t(g.out_h) * g.out_w;
    const std::vector<double> m = random_vector(rng, 16 * stride);
    const std::vector<double> dy = random_vector(rng, plane);

    std::vector<double> y(plane, 0.0);
    winograd::F2x2::transform_output(g, t, m.data(), stride, 0.0, Activation::linear, y.data());
    std::vector<double> dm(16 * stride, 0.0);
    winograd::F2x2::transform_output_adjoint(g, t, dy.data(), dm.data(), stride);

    double rhs = 0;
    for (int xi = 0; xi < 16; ++xi)
      for (int tile = 0; tile < t.tiles(); ++tile) rhs += m[xi * stride + tile] * dm[xi * stride + tile];
    CHECK(dot(y, dy) == Approx(rhs).epsilon(1e-12));
  }
}

// ---------------------------------------------------------------------------------------------
// WinogradConv against the direct convolution
// ---------------------------------------------------------------------------------------------

namespace {

struct ConvProblem {
  ConvGeometry g;
  int filters, batch;
  std::vector<double> x, kernel, bias, upstream;  // upstream: R, the gradient of the output
};

ConvProblem random_problem(const ConvGeometry& g, int filters, int batch, Rng& rng) {
  ConvProblem p{g, filters, batch, {}, {}, {}, {}};
  p.x = random_vector(rng, std::size_t(batch) * g.channels * g.height * g.width);
  p.kernel = random_vector(rng, std::size_t(filters) * g.channels * 9);
  p.bias = random_vector(rng, filters);
  p.upstream = random_vector(rng, std::size_t(batch) * filters * g.out_h * g.out_w);
  return p;
}

std::size_t x_index(const ConvGeometry& g, int n, int c, int iy, int ix) {
  return ((std::size_t(n) * g.channels + c) * g.height + iy) * g.width + ix;
}
std::size_t w_index(const ConvGeometry& g, int f, int c, int i, int j) {
  return ((std::size_t(f) * g.channels + c) * 3 + i) * 3 + j;
}
std::size_t y_index(const ConvGeometry& g, int filters, int n, int f, int oy, int ox) {
  return ((std::size_t(n) * filters + f) * g.out_h + oy) * g.out_w + ox;
}

// Calls body(n, f, oy, ox, c, i, j, iy, ix) for every term of the convolution sum that reads a
// real input pixel (the 7 loops of the definition; padding contributes zeros).
template <typename Body>
void for_each_term(const ConvProblem& p, Body body) {
  const ConvGeometry& g = p.g;
  for (int n = 0; n < p.batch; ++n)
    for (int f = 0; f < p.filters; ++f)
      for (int oy = 0; oy < g.out_h; ++oy)
        for (int ox = 0; ox < g.out_w; ++ox)
          for (int c = 0; c < g.channels; ++c)
            for (int i = 0; i < 3; ++i)
              for (int j = 0; j < 3; ++j) {
                const int iy = oy - g.pad_h + i, ix = ox - g.pad_w + j;
                if (iy >= 0 && iy < g.height && ix >= 0 && ix < g.width) body(n, f, oy, ox, c, i, j, iy, ix);
              }
}

// y = conv(x, kernel) + bias, before any activation.
std::vector<double> direct_forward(const ConvProblem& p) {
  const ConvGeometry& g = p.g;
  std::vector<double> y(p.upstream.size());
  for (int n = 0; n < p.batch; ++n)
    for (int f = 0; f < p.filters; ++f)
      for (int oy = 0; oy < g.out_h; ++oy)
        for (int ox = 0; ox < g.out_w; ++ox) y[y_index(g, p.filters, n, f, oy, ox)] = p.bias[f];
  for_each_term(p, [&](int n, int f, int oy, int ox, int c, int i, int j, int iy, int ix) {
    y[y_index(g, p.filters, n, f, oy, ox)] += p.kernel[w_index(g, f, c, i, j)] * p.x[x_index(g, n, c, iy, ix)];
  });
  return y;
}

struct Gradients {
  std::vector<double> dkernel, dbias, dx;
};

// The gradients of sum(R .* y) for the linear convolution, written out by hand:
//   db[f] = sum R,  dW[f,c,i,j] = sum R[n,f,oy,ox] x[n,c,iy,ix],  dx[n,c,iy,ix] = sum R w.
Gradients direct_backward(const ConvProblem& p, const std::vector<double>& r) {
  const ConvGeometry& g = p.g;
  Gradients d{std::vector<double>(p.kernel.size(), 0.0), std::vector<double>(p.filters, 0.0),
              std::vector<double>(p.x.size(), 0.0)};
  for (int n = 0; n < p.batch; ++n)
    for (int f = 0; f < p.filters; ++f)
      for (int oy = 0; oy < g.out_h; ++oy)
        for (int ox = 0; ox < g.out_w; ++ox) d.dbias[f] += r[y_index(g, p.filters, n, f, oy, ox)];
  for_each_term(p, [&](int n, int f, int oy, int ox, int c, int i, int j, int iy, int ix) {
    const double rv = r[y_index(g, p.filters, n, f, oy, ox)];
    d.dkernel[w_index(g, f, c, i, j)] += rv * p.x[x_index(g, n, c, iy, ix)];
    d.dx[x_index(g, n, c, iy, ix)] += rv * p.kernel[w_index(g, f, c, i, j)];
  });
  return d;
}

// What WinogradConv<T> produced for a problem: forward output and the backward results.
struct WinogradResult {
  std::vector<double> y;
  Gradients grads;
};

template <typename T>
std::vector<T> cast(const std::vector<double>& v) {
  return std::vector<T>(v.begin(), v.end());
}
template <typename T>
void copy_into(const std::vector<double>& v, Tensor<T>& t) {
  std::copy(v.begin(), v.end(), t.begin());
}

// Runs forward then backward (with upstream R) through one WinogradConv<T>. Backward is run
// twice, the second result kept: the per-thread accumulators must start from zero each call.
// The outputs are pre-filled with sentinels: they must be overwritten, not added onto.
template <typename T, typename Tile = winograd::F2x2>
WinogradResult run_winograd(const ConvProblem& p, Activation activation, bool want_dx = true) {
  const ConvGeometry& g = p.g;
  WinogradConv<T, Tile> conv(g, p.filters);
  Tensor<T> x(p.batch, Shape{g.channels, g.height, g.width});
  Tensor<T> y(p.batch, Shape{p.filters, g.out_h, g.out_w});
  Tensor<T> dy(p.batch, Shape{p.filters, g.out_h, g.out_w});
  Tensor<T> dx(p.batch, Shape{g.channels, g.height, g.width});
  copy_into(p.x, x);
  y.fill(T(kSentinel));
  const std::vector<T> kernel = cast<T>(p.kernel), bias = cast<T>(p.bias);
  conv.forward(x, kernel.data(), bias.data(), activation, y);

  std::vector<T> dkernel(kernel.size()), dbias(bias.size());
  for (int call = 0; call < 2; ++call) {
    copy_into(p.upstream, dy);  // backward masks dy in place
    dx.fill(T(kSentinel));
    std::fill(dkernel.begin(), dkernel.end(), T(kSentinel));
    std::fill(dbias.begin(), dbias.end(), T(kSentinel));
    conv.backward(x, y, activation, kernel.data(), dy, dkernel.data(), dbias.data(), want_dx ? &dx : nullptr);
  }
  WinogradResult r;
  r.y.assign(y.begin(), y.end());
  r.grads.dkernel.assign(dkernel.begin(), dkernel.end());
  r.grads.dbias.assign(dbias.begin(), dbias.end());
  if (want_dx) r.grads.dx.assign(dx.begin(), dx.end());
  return r;
}

// max |actual - expected|, relative to the largest |expected| (at least 1): the entries are
// sums of many products, and some cancel to near zero, where a pure relative test is unfair.
double scaled_error(const std::vector<double>& actual, const std::vector<double>& expected) {
  REQUIRE(actual.size() == expected.size());
  double err = 0, scale = 1;
  for (std::size_t i = 0; i < actual.size(); ++i) {
    err = std::max(err, std::abs(actual[i] - expected[i]));
    scale = std::max(scale, std::abs(expected[i]));
  }
  return std::isnan(err) ? HUGE_VAL : err / scale;
}

struct ConvCase {
  const char* name;
  ConvGeometry g;
  int filters, batch;
};

// Batches that group_size() splits into several groups with a short last one: a 9x7 output has
// 5x4 = 20 tiles, so ceil(64 / 20) = 4 samples per group, and batch 5 = 4 + 1.
const ConvCase kConvCases[] = {
    {"valid, 7x6 input, 5x4 output (one group)", conv3x3(3, 7, 6, 0), 4, 5},
    {"valid, 11x9 input, odd 9x7 output, groups of 4 + 1", conv3x3(3, 11, 9, 0), 4, 5},
    {"'same', 9x7 input, groups of 4 + 1", conv3x3(3, 9, 7, 1), 4, 5},
    {"'full' padding 2, 5x4 input", conv3x3(2, 5, 4, 2), 3, 3},
    // 2 x 34 = 68 tiles per sample: groups of one sample, rows of tiles longer than one chunk.
    {"'same', 3x67 input, odd rows of 34 tiles", conv3x3(2, 3, 67, 1), 2, 3},
    // 6x9: F(3x3, 3x3) tiles cover it exactly, so its input planes are used in place.
    {"valid, 8x11 input, 6x9 output", conv3x3(3, 8, 11, 0), 4, 3},
    // The seed model's conv5 shape: one F(3x3, 3x3) tile per sample.
    {"valid, 5x5 input, 3x3 output", conv3x3(3, 5, 5, 0), 5, 3},
};

}  // namespace

TEST_CASE("The test batches are split into several sample groups with a short last one", "[winograd]") {
  // The multi-group claim of kConvCases; if group_size changes, these cases must be re-chosen.
  for (int k : {1, 2}) {
    const ConvCase& c = kConvCases[k];
    INFO(c.name);
    const int group = WinogradConv<double>(c.g, c.filters).group_size(c.batch);
    CHECK(group == 4);
    CHECK(c.batch % group != 0);
  }
}

TEST_CASE("WinogradConv<double> forward matches the direct convolution", "[winograd]") {
  Rng rng(8);
  for (const ConvCase& c : kConvCases) {
    INFO(c.name);
    const ConvProblem p = random_problem(c.g, c.filters, c.batch, rng);
    const std::vector<double> linear = direct_forward(p);
    std::vector<double> relu = linear;
    for (double& v : relu) v = std::max(v, 0.0);

    CHECK(scaled_error(run_winograd<double>(p, Activation::linear).y, linear) < 1e-12);
    CHECK(scaled_error(run_winograd<double>(p, Activation::relu).y, relu) < 1e-12);
    // F(4x4, 3x3): its coefficients reach 8 and 1/24, still exact to double rounding.
    CHECK(scaled_error(run_winograd<double, winograd::F4x4>(p, Activation::linear).y, linear) < 1e-12);
    CHECK(scaled_error(run_winograd<double, winograd::F4x4>(p, Activation::relu).y, relu) < 1e-12);
    CHECK(scaled_error(run_winograd<double, winograd::F3x3>(p, Activation::linear).y, linear) < 1e-12);
    CHECK(scaled_error(run_winograd<double, winograd::F3x3>(p, Activation::relu).y, relu) < 1e-12);
  }
}

TEST_CASE("WinogradConv<double> backward matches the hand-written gradients", "[winograd]") {
  Rng rng(9);
  for (const ConvCase& c : kConvCases) {
    INFO(c.name);
    const ConvProblem p = random_problem(c.g, c.filters, c.batch, rng);

    // Linear: the hand-written gradients of sum(R .* y) as they are.
    const Gradients linear = direct_backward(p, p.upstream);
    const WinogradResult w = run_winograd<double>(p, Activation::linear);
    CHECK(scaled_error(w.grads.dkernel, linear.dkernel) < 1e-12);
    CHECK(scaled_error(w.grads.dbias, linear.dbias) < 1e-12);
    CHECK(scaled_error(w.grads.dx, linear.dx) < 1e-12);

    // Without dx the kernel and bias gradients are the same.
    const WinogradResult no_dx = run_winograd<double>(p, Activation::linear, /*want_dx=*/false);
    CHECK(scaled_error(no_dx.grads.dkernel, linear.dkernel) < 1e-12);
    CHECK(scaled_error(no_dx.grads.dbias, linear.dbias) < 1e-12);

    // ReLU: the same with R masked where the output is not positive.
    const std::vector<double> pre = direct_forward(p);
    std::vector<double> masked = p.upstream;
    for (std::size_t i = 0; i < masked.size(); ++i)
      if (pre[i] <= 0) masked[i] = 0;
    const Gradients relu = direct_backward(p, masked);
    const WinogradResult wr = run_winograd<double>(p, Activation::relu);
    CHECK(scaled_error(wr.grads.dkernel, relu.dkernel) < 1e-12);
    CHECK(scaled_error(wr.grads.dbias, relu.dbias) < 1e-12);
    CHECK(scaled_error(wr.grads.dx, relu.dx) < 1e-12);

    // F(4x4, 3x3) and F(3x3, 3x3), the same checks.
    const auto check_tile = [&](auto tile) {
      using Tile = decltype(tile);
      const WinogradResult wl = run_winograd<double, Tile>(p, Activation::linear);
      CHECK(scaled_error(wl.grads.dkernel, linear.dkernel) < 1e-12);
      CHECK(scaled_error(wl.grads.dbias, linear.dbias) < 1e-12);
      CHECK(scaled_error(wl.grads.dx, linear.dx) < 1e-12);
      const WinogradResult wr2 = run_winograd<double, Tile>(p, Activation::relu);
      CHECK(scaled_error(wr2.grads.dkernel, relu.dkernel) < 1e-12);
      CHECK(scaled_error(wr2.grads.dx, relu.dx) < 1e-12);
    };
    check_tile(winograd::F4x4{});
    check_tile(winograd::F3x3{});
  }
}

TEST_CASE("WinogradConv<float> agrees with WinogradConv<double>", "[winograd]") {
  Rng rng(10);
  for (const ConvCase& c : kConvCases) {
    INFO(c.name);
    ConvProblem p = random_problem(c.g, c.filters, c.batch, rng);
    // Both runs see the same (float-representable) data; only the arithmetic differs.
    for (auto* v : {&p.x, &p.kernel, &p.bias, &p.upstream})
      for (double& e : *v) e = double(float(e));

    const WinogradResult d = run_winograd<double>(p, Activation::linear);
    const WinogradResult f = run_winograd<float>(p, Activation::linear);
    CHECK(scaled_error(f.y, d.y) < 1e-4);
    CHECK(scaled_error(f.grads.dkernel, d.grads.dkernel) < 1e-4);
    CHECK(scaled_error(f.grads.dbias, d.grads.dbias) < 1e-4);
    CHECK(scaled_error(f.grads.dx, d.grads.dx) < 1e-4);
    const WinogradResult f4 = run_winograd<float, winograd::F4x4>(p, Activation::linear);
    CHECK(scaled_error(f4.y, d.y) < 1e-4);
    CHECK(scaled_error(f4.grads.dkernel, d.grads.dkernel) < 1e-4);
    CHECK(scaled_error(f4.grads.dx, d.grads.dx) < 1e-4);
    const WinogradResult f3 = run_winograd<float, winograd::F3x3>(p, Activation::linear);
    CHECK(scaled_error(f3.y, d.y) < 1e-4);
    CHECK(scaled_error(f3.grads.dkernel, d.grads.dkernel) < 1e-4);
    CHECK(scaled_error(f3.grads.dx, d.grads.dx) < 1e-4);
  }
}

TEST_CASE("WinogradConv uses the kernel values of every call even when changed in place", "[winograd]") {
  // forward and backward transform the kernel they are given; a cached transform must not
  // outlive a change of the values behind the same pointer (an optimizer step does that).
  Rng rng(11);
  const ConvCase& c = kConvCases[1];
  ConvProblem p = random_problem(c.g, c.filters, c.batch, rng);
  WinogradConv<double> conv(c.g, c.filters);
  Tensor<double> x(p.batch, Shape{c.g.channels, c.g.height, c.g.width});
  Tensor<double> y(p.batch, Shape{c.filters, c.g.out_h, c.g.out_w}), dy = y, dx = x;
  copy_into(p.x, x);
  conv.forward(x, p.kernel.data(), p.bias.data(), Activation::linear, y);
  CHECK(scaled_error(std::vector<double>(y.begin(), y.end()), direct_forward(p)) < 1e-12);

  p.kernel[0] += 1.0;  // same buffer, new values
  p.kernel[p.kernel.size() - 1] -= 0.5;
  conv.forward(x, p.kernel.data(), p.bias.data(), Activation::linear, y);
  CHECK(scaled_error(std::vector<double>(y.begin(), y.end()), direct_forward(p)) < 1e-12);

  p.kernel[1] *= -3.0;  // and again, before a backward pass (dx depends on the kernel)
  copy_into(p.upstream, dy);
  std::vector<double> dkernel(p.kernel.size()), dbias(p.bias.size());
  conv.backward(x, y, Activation::linear, p.kernel.data(), dy, dkernel.data(), dbias.data(), &dx);
  CHECK(scaled_error(std::vector<double>(dx.begin(), dx.end()), direct_backward(p, p.upstream).dx) < 1e-12);
}
