#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "minidnn/core/random.hpp"
#include "minidnn/ops/conv/im2col_gemm.hpp"

using namespace minidnn;

namespace {

struct Case {
  const char* name;
  ConvGeometry g;
  int filters, batch;
};

// Output sides from the input, kernel, stride and padding, as Conv2D computes them.
ConvGeometry geometry(int c, int h, int w, int k, int stride, int pad) {
  return {c, h, w, k, k, stride, stride, pad, pad, (h + 2 * pad - k) / stride + 1, (w + 2 * pad - k) / stride + 1};
}

// Input pixel (c, iy, ix) of sample x, 0 outside the image (the padding).
double pixel(const ConvGeometry& g, const double* x, int c, int iy, int ix) {
  if (iy < 0 || iy >= g.height || ix < 0 || ix >= g.width) return 0;
  return x[(c * g.height + iy) * g.width + ix];
}

// The textbook loops, as the independent reference. Forward: y = relu(b + sum w * x) per output.
// Backward from dy (already masked): dW[f][c][i][j] = sum over samples and outputs of
// dy * x at the tap, db[f] = sum of dy, dx[c][iy][ix] = sum of dy * w over the outputs reading it.
struct Reference {
  std::vector<double> y, dkernel, dbias, dx;
};
Reference reference(const Case& t, const std::vector<double>& x, const std::vector<double>& w,
                    const std::vector<double>& b, const std::vector<double>& dy) {
  const ConvGeometry& g = t.g;
  const std::size_t in = std::size_t(g.channels) * g.height * g.width;
  const std::size_t out = std::size_t(t.filters) * g.out_h * g.out_w;
  Reference r{std::vector<double>(out * t.batch), std::vector<double>(w.size()), std::vector<double>(t.filters),
              std::vector<double>(in * t.batch)};
  for (int n = 0; n < t.batch; ++n)
    for (int f = 0; f < t.filters; ++f)
      for (int oy = 0; oy < g.out_h; ++oy)
        for (int ox = 0; ox < g.out_w; ++ox) {
          const std::size_t o = n * out + (f * g.out_h + oy) * g.out_w + ox;
          double s = b[f];
          r.dbias[f] += dy[o];
          for (int c = 0; c < g.channels; ++c)
            for (int i = 0; i < g.kernel_h; ++i)
              for (int j = 0; j < g.kernel_w; ++j) {
                const int iy = oy * g.stride_h - g.pad_h + i, ix = ox * g.stride_w - g.pad_w + j;
                const std::size_t wi = ((f * g.channels + c) * g.kernel_h + i) * g.kernel_w + j;
                s += w[wi] * pixel(g, x.data() + n * in, c, iy, ix);
                r.dkernel[wi] += dy[o] * pixel(g, x.data() + n * in, c, iy, ix);
                if (iy >= 0 && iy < g.height && ix >= 0 && ix < g.width)
                  r.dx[n * in + (c * g.height + iy) * g.width + ix] += dy[o] * w[wi];
              }
          r.y[o] = s > 0 ? s : 0;
        }
  return r;
}

}  // namespace

TEST_CASE("Im2colGemmConv's forward, per-sample forward and backward match the textbook loops", "[im2col_gemm]") {
  // Strides, padding, a pointwise case (x read in place as col) and one whose column matrix is
  // split into channel blocks (9 x 1600 doubles = 115 KB per channel: 2 channels per 256 KB block).
  const std::vector<Case> cases{
      {"3x3 same, stride 1", geometry(3, 7, 6, 3, 1, 1), 4, 3},
      {"3x3 padded, stride 2", geometry(2, 9, 8, 3, 2, 1), 5, 2},
      {"5x5 valid, stride 1", geometry(2, 8, 9, 5, 1, 0), 3, 2},
      {"1x1 pointwise", geometry(6, 5, 4, 1, 1, 0), 3, 2},
      {"3x3 same on 40x40, channel blocks 2 + 2 + 1", geometry(5, 40, 40, 3, 1, 1), 2, 2},
  };
  for (const Case& t : cases) SECTION(t.name) {
    const ConvGeometry& g = t.g;
    Rng rng(7);
    auto random = [&](std::size_t n) {
      std::vector<double> v(n);
      for (double& e : v) e = rng.uniform(-1, 1);
      return v;
    };
    const Shape in_shape{g.channels, g.height, g.width}, out_shape{t.filters, g.out_h, g.out_w};
    Tensor<double> x(t.batch, in_shape), y(t.batch, out_shape), dy(t.batch, out_shape), dx(t.batch, in_shape);
    const auto xs = random(x.size()), w = random(std::size_t(t.filters) * g.col_rows()), b = random(t.filters);
    std::copy(xs.begin(), xs.end(), x.data());
    Im2colGemmConv<double> conv(g, t.filters);
    conv.forward(x, w.data(), b.data(), Activation::relu, y);

    // dy masked by ReLU at the reference's outputs, so the reference backward needs no mask.
    auto dys = random(dy.size());
    const auto expected = reference(t, xs, w, b, std::vector<double>(dy.size(), 0.0));
    for (std::size_t i = 0; i < dys.size(); ++i)
      if (expected.y[i] <= 0) dys[i] = 0;
    const auto ref = reference(t, xs, w, b, dys);
    for (std::size_t i = 0; i < y.size(); ++i) REQUIRE(y[i] == Approx(ref.y[i]).margin(1e-12));

    std::vector<double> scratch(conv.sample_scratch_size()), y1(std::size_t(t.filters) * g.out_h * g.out_w);
    if (g.kernel_h == 1) CHECK(scratch.empty());
    conv.forward_sample(x.sample(1), w.data(), b.data(), Activation::relu, y1.data(), scratch.data());
    for (std::size_t i = 0; i < y1.size(); ++i) REQUIRE(y1[i] == Approx(ref.y[y1.size() + i]).margin(1e-12));

    std::copy(dys.begin(), dys.end(), dy.data());
    std::vector<double> dkernel(w.size(), 7.0), dbias(t.filters, 7.0);  // overwritten, not added to
    conv.backward(x, y, Activation::relu, w.data(), dy, dkernel.data(), dbias.data(), &dx);
    for (std::size_t i = 0; i < dkernel.size(); ++i) REQUIRE(dkernel[i] == Approx(ref.dkernel[i]).margin(1e-12));
    for (int f = 0; f < t.filters; ++f) REQUIRE(dbias[f] == Approx(ref.dbias[f]).margin(1e-12));
    for (std::size_t i = 0; i < dx.size(); ++i) REQUIRE(dx[i] == Approx(ref.dx[i]).margin(1e-12));
    // Without dx the weight gradients are the same.
    std::copy(dys.begin(), dys.end(), dy.data());
    std::vector<double> dkernel2(w.size()), dbias2(t.filters);
    conv.backward(x, y, Activation::relu, w.data(), dy, dkernel2.data(), dbias2.data(), nullptr);
    CHECK(dkernel2 == dkernel);
    CHECK(dbias2 == dbias);
  }
}
