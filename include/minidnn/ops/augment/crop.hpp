#pragma once
/// \file
/// Windows of image batches: crop a (height x width) window out of every image, optionally
/// mirrored left-right; the centre window (test-time counterpart of random crops) and the ten
/// crops of test-time augmentation (four corners and the centre, each also mirrored).
#include <array>

#include "minidnn/core/error.hpp"
#include "minidnn/core/tensor.hpp"

namespace minidnn {

/// A window of an image: its top-left corner and size, in pixels.
struct CropWindow {
  int top = 0, left = 0, height = 0, width = 0;
  bool mirrored = false;  // flipped left-right after cropping
};

/// The centred (height x width) window of an (image_height x image_width) image; an odd margin
/// puts the extra pixel below and to the right, as torchvision's CenterCrop.
inline CropWindow center_window(int image_height, int image_width, int height, int width) {
  return {(image_height - height) / 2, (image_width - width) / 2, height, width, false};
}

/// The ten windows of ten-crop test-time augmentation: top-left, top-right, bottom-left,
/// bottom-right, centre, then the same five mirrored.
inline std::array<CropWindow, 10> ten_crop_windows(int image_height, int image_width, int height, int width) {
  const int bottom = image_height - height, right = image_width - width;
  std::array<CropWindow, 10> windows{};
  const CropWindow five[5] = {{0, 0, height, width, false},
                              {0, right, height, width, false},
                              {bottom, 0, height, width, false},
                              {bottom, right, height, width, false},
                              center_window(image_height, image_width, height, width)};
  for (int i = 0; i < 5; ++i) {
    windows[static_cast<std::size_t>(i)] = five[i];
    windows[static_cast<std::size_t>(i + 5)] = five[i];
    windows[static_cast<std::size_t>(i + 5)].mirrored = true;
  }
  return windows;
}

/// Copies `window` of one (channels, image_height, image_width) image into `out` ((channels,
/// window.height, window.width)), mirrored if the window says so.
template <typename T>
void crop_image(const T* image, int channels, int image_height, int image_width, const CropWindow& window, T* out) {
  for (int c = 0; c < channels; ++c) {
    const T* plane = image + static_cast<std::size_t>(c) * image_height * image_width;
    T* dst = out + static_cast<std::size_t>(c) * window.height * window.width;
    for (int y = 0; y < window.height; ++y) {
      const T* row = plane + static_cast<std::size_t>(window.top + y) * image_width + window.left;
      T* out_row = dst + static_cast<std::size_t>(y) * window.width;
      if (window.mirrored)
        for (int x = 0; x < window.width; ++x) out_row[x] = row[window.width - 1 - x];
      else
        for (int x = 0; x < window.width; ++x) out_row[x] = row[x];
    }
  }
}

/// Crops the same window out of every image of `images` ((N, C, H, W)) into `out` ((N, C,
/// window.height, window.width), resized; its storage is reused when large enough).
template <typename T>
void crop_images(const Tensor<T>& images, const CropWindow& window, Tensor<T>& out) {
  const Shape& s = images.shape();
  if (window.height < 1 || window.width < 1 || window.top < 0 || window.left < 0 ||
      window.top + window.height > s.height() || window.left + window.width > s.width())
    fail("crop_images: window ", window.height, "x", window.width, " at (", window.top, ", ", window.left,
         ") does not fit in images of shape ", s);
  out.resize(images.batch(), Shape{s.channels(), window.height, window.width});
  for (int n = 0; n < images.batch(); ++n)
    crop_image(images.sample(n), s.channels(), s.height(), s.width(), window, out.sample(n));
}

/// The centre (height x width) window of every image (what a model trained on random crops sees
/// at test time).
template <typename T>
Tensor<T> center_crop_images(const Tensor<T>& images, int height, int width) {
  Tensor<T> out;
  crop_images(images, center_window(images.shape().height(), images.shape().width(), height, width), out);
  return out;
}

}  // namespace minidnn
