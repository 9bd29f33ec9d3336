#pragma once
/// \file
/// Random erasing (Zhong et al., 2017; torchvision's RandomErasing): with some probability, a
/// rectangle of random area and aspect ratio is filled with a constant, so the network cannot
/// rely on any one part of the face.
#include <algorithm>
#include <cmath>

#include "minidnn/core/random.hpp"

namespace minidnn {

/// What random erasing draws from; torchvision's defaults.
struct EraseOptions {
  double probability = 0.0;
  double min_area = 0.02, max_area = 0.33;   // fraction of the image
  double min_aspect = 0.3, max_aspect = 3.3;  // height / width, drawn log-uniformly
  float value = 0.0f;
};

/// A rectangle of an image; empty (height 0) when nothing is erased.
struct EraseBox {
  int top = 0, left = 0, height = 0, width = 0;
  bool empty() const { return height == 0 || width == 0; }
};

/// Draws the rectangle to erase in an (height x width) image: with options.probability, up to
/// ten tries (as torchvision) for an area and aspect ratio that fit; else, or if none fits, an
/// empty box.
inline EraseBox draw_erase_box(int height, int width, Rng& rng, const EraseOptions& options) {
  if (options.probability <= 0.0 || rng.uniform() >= options.probability) return {};
  const double area = double(height) * width;
  const double log_min = std::log(options.min_aspect), log_max = std::log(options.max_aspect);
  for (int attempt = 0; attempt < 10; ++attempt) {
    const double target = area * rng.uniform(options.min_area, options.max_area);
    const double aspect = std::exp(rng.uniform(log_min, log_max));
    const int h = static_cast<int>(std::lround(std::sqrt(target * aspect)));
    const int w = static_cast<int>(std::lround(std::sqrt(target / aspect)));
    if (h < 1 || w < 1 || h > height || w > width) continue;
    EraseBox box;
    box.height = h, box.width = w;
    box.top = static_cast<int>(rng.below(static_cast<std::uint64_t>(height - h + 1)));
    box.left = static_cast<int>(rng.below(static_cast<std::uint64_t>(width - w + 1)));
    return box;
  }
  return {};
}

/// Fills `box` of every channel of one (channels, height, width) image with `value`.
template <typename T>
void erase_box(T* image, int channels, int height, int width, const EraseBox& box, T value) {
  for (int c = 0; c < channels; ++c)
    for (int y = box.top; y < box.top + box.height; ++y) {
      T* row = image + (static_cast<std::size_t>(c) * height + y) * width;
      std::fill(row + box.left, row + box.left + box.width, value);
    }
}

}  // namespace minidnn
