// A/B of Winograd F(2x2, 3x3): the hand-written transforms (winograd::F2x2) against the generic
// lane tiles built from its 1-D operators (winograd::F2x2Lanes = LaneTiles<F2Operators>), on
// the seed model's and VGG-BN's 3x3 shapes, batch 256, forward and forward + backward, rounds
// alternating A and B; prints the median of each and the ratio. Not built by CMake (a one-off
// for issue #13's "fold F(2x2) into the generic tiles unless that is slower"):
//   g++ -std=c++17 -O3 -fopenmp -Iinclude bench/winograd_f2_ab.cpp -o /tmp/winograd_f2_ab && OMP_NUM_THREADS=2 /tmp/winograd_f2_ab
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#include "minidnn/core/random.hpp"
#include "minidnn/ops/conv/winograd.hpp"

using namespace minidnn;

namespace {

struct Shape3 {
  const char* name;
  int c, side, f, pad;
};

template <typename Tile>
double run_ms(WinogradConv<float, Tile>& conv, const Tensor<float>& x, const std::vector<float>& kernel,
              const std::vector<float>& bias, Tensor<float>& y, Tensor<float>& dy, Tensor<float>& dx,
              std::vector<float>& dk, std::vector<float>& db, bool backward) {
  const auto t0 = std::chrono::steady_clock::now();
  conv.forward(x, kernel.data(), bias.data(), Activation::relu, y);
  if (backward) conv.backward(x, y, Activation::relu, kernel.data(), dy, dk.data(), db.data(), &dx);
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main() {
  const int batch = 256, rounds = 9;
  const Shape3 shapes[] = {{"seed conv2 64x20x20 -> 64x18x18", 64, 20, 64, 0},
                           {"seed conv3 64x18x18 -> 64x16x16", 64, 18, 64, 0},
                           {"seed conv5 128x5x5 -> 128x3x3", 128, 5, 128, 0},
                           {"vgg-bn 64x22x22 same -> 64", 64, 22, 64, 1},
                           {"vgg-bn 256x5x5 same -> 256", 256, 5, 256, 1}};
  Rng rng(1);
  for (const Shape3& s : shapes) {
    const int out = s.side + 2 * s.pad - 2;
    const ConvGeometry g{s.c, s.side, s.side, 3, 3, 1, 1, s.pad, s.pad, out, out};
    Tensor<float> x(batch, Shape{s.c, s.side, s.side}), y(batch, Shape{s.f, out, out}), dy(batch, Shape{s.f, out, out}),
        dx(batch, Shape{s.c, s.side, s.side});
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = float(rng.uniform(-1, 1));
    std::vector<float> kernel(std::size_t(s.f) * s.c * 9), bias(s.f), dk(kernel.size()), db(s.f);
    for (float& k : kernel) k = float(rng.uniform(-0.1, 0.1));
    WinogradConv<float, winograd::F2x2> unrolled(g, s.f);
    WinogradConv<float, winograd::F2x2Lanes> lanes(g, s.f);
    for (const bool backward : {false, true}) {
      std::vector<double> a, b;
      for (int r = 0; r < rounds + 1; ++r) {
        for (std::size_t i = 0; i < dy.size(); ++i) dy[i] = 1e-3f * float(i % 7);
        const double ta = run_ms(unrolled, x, kernel, bias, y, dy, dx, dk, db, backward);
        for (std::size_t i = 0; i < dy.size(); ++i) dy[i] = 1e-3f * float(i % 7);
        const double tb = run_ms(lanes, x, kernel, bias, y, dy, dx, dk, db, backward);
        if (r > 0) a.push_back(ta), b.push_back(tb);  // round 0 grows the workspaces
      }
      std::printf("%-34s %-18s unrolled %8.2f ms  lane tiles %8.2f ms  lane/unrolled %.3f\n", s.name,
                  backward ? "forward+backward" : "forward", median(a), median(b), median(b) / median(a));
    }
  }
}
