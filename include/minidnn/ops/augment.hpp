#pragma once
/// \file
/// Training-time augmentation of image batches, the recipe of the FER2013 literature: random
/// horizontal flips, small shifts (the uncovered border repeats the nearest edge pixel, so no
/// artificial black bars appear), rotations and scaling about the centre (bilinear,
/// ops/augment/warp.hpp), random crops (ops/augment/crop.hpp; the centre crop at test) and random
/// erasing (ops/augment/erase.hpp). Each image's draws come from the generator in a fixed order
/// (flip, shift, rotation, scale, crop, erase), so a seed fixes the batch; a transform that is off
/// draws nothing, so flips and shifts alone draw exactly as before the others existed.
#include <algorithm>
#include <cstddef>

#include "minidnn/core/error.hpp"
#include "minidnn/core/random.hpp"
#include "minidnn/core/tensor.hpp"
#include "minidnn/ops/augment/crop.hpp"
#include "minidnn/ops/augment/erase.hpp"
#include "minidnn/ops/augment/warp.hpp"

namespace minidnn {

struct AugmentOptions {
  double flip_probability = 0.5;
  int max_shift = 1;  // pixels, in each direction (on FER2013, 1 did better than 2 or 3: docs/results.md)
  double max_rotation = 0.0;  // degrees, drawn uniformly in [-max_rotation, max_rotation]
  double max_scale = 0.0;     // scale drawn uniformly in [1 - max_scale, 1 + max_scale]
  int crop_height = 0, crop_width = 0;  // random crops of this size; 0: the whole image
  EraseOptions erase{};                 // off unless erase.probability > 0
};

/// Augments batches in place, reusing its image buffers: after the first batch of a size none is
/// allocated again. With a crop the batch comes back (N, C, crop_height, crop_width).
template <typename T>
class Augmenter {
 public:
  explicit Augmenter(const AugmentOptions& options = {}) : options_(options) {
    if (options.max_shift < 0) fail("Augmenter: max_shift must be >= 0, got ", options.max_shift);
    if (!(options.max_rotation >= 0 && options.max_rotation <= 180))
      fail("Augmenter: max_rotation must be in [0, 180] degrees, got ", options.max_rotation);
    if (!(options.max_scale >= 0 && options.max_scale < 1))
      fail("Augmenter: max_scale must be in [0, 1), got ", options.max_scale);
    if (options.crop_height < 0 || options.crop_width < 0 || (options.crop_height == 0) != (options.crop_width == 0))
      fail("Augmenter: give both crop_height and crop_width (> 0), or neither");
    const EraseOptions& e = options.erase;
    if (!(e.probability >= 0 && e.probability <= 1)) fail("Augmenter: erase probability must be in [0, 1]");
    if (!(e.min_area > 0 && e.min_area <= e.max_area && e.max_area <= 1) ||
        !(e.min_aspect > 0 && e.min_aspect <= e.max_aspect))
      fail("Augmenter: erase areas must satisfy 0 < min <= max <= 1 and aspects 0 < min <= max");
  }

  const AugmentOptions& options() const { return options_; }

  /// The shape a (C, H, W) sample comes out as.
  Shape output_shape(const Shape& input) const {
    if (!options_.crop_height) return input;
    if (options_.crop_height > input.height() || options_.crop_width > input.width())
      fail("Augmenter: crop ", options_.crop_height, "x", options_.crop_width, " is larger than the images ", input);
    return Shape{input.channels(), options_.crop_height, options_.crop_width};
  }

  void operator()(Tensor<T>& batch, Rng& rng) {
    if (source_.batch() != batch.batch() || source_.shape() != batch.shape()) {
      // A new batch size or image size: the only call that makes shapes and buffers.
      out_shape_ = output_shape(batch.shape());  // first: it may throw
      source_.resize(batch.batch(), batch.shape());
      plane_.resize(1, Shape{1, batch.shape().height(), batch.shape().width()});
    }
    const Shape& in = source_.shape();
    const int channels = in.channels(), h = in.height(), w = in.width();
    const int oh = out_shape_.height(), ow = out_shape_.width();
    std::copy(batch.begin(), batch.end(), source_.begin());
    // A crop hands the batch a copy of the output shape (Tensor keeps its own); without one the
    // batch keeps its shape and nothing is allocated.
    if (batch.shape() != out_shape_) batch.resize(source_.batch(), out_shape_);
    const bool warps = options_.max_rotation > 0 || options_.max_scale > 0;
    for (int n = 0; n < batch.batch(); ++n) {
      // The draws, in a fixed order (the first two as before the other transforms existed).
      const bool flip = rng.uniform() < options_.flip_probability;
      const int span = 2 * options_.max_shift + 1;
      const int dy = static_cast<int>(rng.below(span)) - options_.max_shift;
      const int dx = static_cast<int>(rng.below(span)) - options_.max_shift;
      Warp warp;
      if (options_.max_rotation > 0) warp.degrees = rng.uniform(-options_.max_rotation, options_.max_rotation);
      if (options_.max_scale > 0) warp.scale = rng.uniform(1 - options_.max_scale, 1 + options_.max_scale);
      CropWindow window{0, 0, oh, ow, false};
      if (options_.crop_height) {
        window.top = static_cast<int>(rng.below(static_cast<std::uint64_t>(h - oh + 1)));
        window.left = static_cast<int>(rng.below(static_cast<std::uint64_t>(w - ow + 1)));
      }
      const EraseBox erase = draw_erase_box(oh, ow, rng, options_.erase);

      T* image = batch.sample(n);
      for (int c = 0; c < channels; ++c) {
        const T* src = source_.sample(n) + static_cast<std::size_t>(c) * h * w;
        if (warps && !warp.identity()) {
          warp_plane(src, h, w, warp, plane_.data());
          src = plane_.data();
        }
        // Output pixel (y, x) of the window comes from the flipped, shifted image's
        // (top + y, left + x): source row clamp(top + y - dy), column clamp(left + x - dx),
        // mirrored.
        T* dst = image + static_cast<std::size_t>(c) * oh * ow;
        for (int y = 0; y < oh; ++y) {
          const int sy = std::clamp(window.top + y - dy, 0, h - 1);
          const T* row = src + static_cast<std::size_t>(sy) * w;
          for (int x = 0; x < ow; ++x) {
            int sx = std::clamp(window.left + x - dx, 0, w - 1);
            if (flip) sx = w - 1 - sx;
            dst[static_cast<std::size_t>(y) * ow + x] = row[sx];
          }
        }
      }
      if (!erase.empty()) erase_box(image, channels, oh, ow, erase, static_cast<T>(options_.erase.value));
    }
  }

 private:
  AugmentOptions options_;
  Tensor<T> source_, plane_;  // the batch as it came (its shape: the input's); one warped plane
  Shape out_shape_;           // output_shape(source_.shape())
};

/// Flips and shifts (and, as `options` asks, warps, crops and erases) every image of `batch`
/// ((N, C, H, W)) in place, drawing from `rng`. Allocates its buffers per call: a training loop
/// keeps an Augmenter instead.
template <typename T>
void augment_images(Tensor<T>& batch, Rng& rng, const AugmentOptions& options = {}) {
  Augmenter<T> augment(options);
  augment(batch, rng);
}

}  // namespace minidnn
