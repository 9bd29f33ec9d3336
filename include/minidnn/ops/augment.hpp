#pragma once
/// \file
/// Training-time augmentation of image batches: random horizontal flips and small shifts (the
/// uncovered border repeats the nearest edge pixel, so no artificial black bars appear).
#include <algorithm>
#include <vector>

#include "minidnn/core/random.hpp"
#include "minidnn/core/tensor.hpp"

namespace minidnn {

struct AugmentOptions {
  double flip_probability = 0.5;
  int max_shift = 1;  // pixels, in each direction (on FER2013, 1 did better than 2 or 3: docs/results.md)
};

/// Flips and shifts every image of `batch` ((N, C, H, W)) in place, drawing from `rng`.
template <typename T>
void augment_images(Tensor<T>& batch, Rng& rng, const AugmentOptions& options = {}) {
  const Shape& s = batch.shape();
  const int channels = s.channels(), h = s.height(), w = s.width();
  std::vector<T> plane(static_cast<std::size_t>(h) * w);
  for (int n = 0; n < batch.batch(); ++n) {
    const bool flip = rng.uniform() < options.flip_probability;
    const int span = 2 * options.max_shift + 1;
    const int dy = static_cast<int>(rng.below(span)) - options.max_shift;
    const int dx = static_cast<int>(rng.below(span)) - options.max_shift;
    for (int c = 0; c < channels; ++c) {
      T* image = batch.sample(n) + static_cast<std::size_t>(c) * h * w;
      std::copy(image, image + plane.size(), plane.begin());
      for (int y = 0; y < h; ++y) {
        const int sy = std::clamp(y - dy, 0, h - 1);
        for (int x = 0; x < w; ++x) {
          int sx = std::clamp(x - dx, 0, w - 1);
          if (flip) sx = w - 1 - sx;
          image[y * w + x] = plane[static_cast<std::size_t>(sy) * w + sx];
        }
      }
    }
  }
}

}  // namespace minidnn
