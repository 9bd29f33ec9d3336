#pragma once
// Models and data sets the tests share.
#include <cmath>
#include <vector>

#include "minidnn/models/fer_tutorial.hpp"
#include "minidnn/sequential.hpp"

namespace minidnn::test {

/// A small image classification problem that a tiny CNN separates: class k is a bright bar at
/// orientation/position k on a noisy 12x12 background.
inline void bar_images(int count, int classes, std::uint64_t seed, Tensor<float>& x, std::vector<int>& y) {
  Rng rng(seed);
  x.resize(count, Shape{1, 12, 12});
  y.resize(count);
  for (int n = 0; n < count; ++n) {
    const int k = static_cast<int>(rng.below(classes));
    y[n] = k;
    float* img = x.sample(n);
    for (int i = 0; i < 144; ++i) img[i] = static_cast<float>(rng.uniform(0.0, 0.3));
    const int offset = static_cast<int>(rng.below(3));
    for (int t = 1; t < 11; ++t) {
      int r, c;
      switch (k % 4) {
        case 0: r = 2 + offset + (k / 4) * 4; c = t; break;         // horizontal
        case 1: r = t; c = 2 + offset + (k / 4) * 4; break;         // vertical
        case 2: r = t; c = t; break;                                // diagonal
        default: r = t; c = 11 - t; break;                          // anti-diagonal
      }
      img[r * 12 + c] += 0.8f;
    }
  }
}

}  // namespace minidnn::test
