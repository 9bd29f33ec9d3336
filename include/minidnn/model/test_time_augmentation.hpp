#pragma once
/// \file
/// Test-time augmentation: a classifier's probabilities averaged over transformed copies of each
/// image. `none` predicts on the centre crop (the whole image when it already has the model's
/// input size); `flip` averages it with its mirror image; `ten_crop` over the four corner crops
/// and the centre crop, each also mirrored (Krizhevsky et al., 2012). Works with any model that
/// has input_shape() and predict(x, batch_size) (Sequential, the functional Model).
#include <string>
#include <vector>

#include "minidnn/core/error.hpp"
#include "minidnn/core/tensor.hpp"
#include "minidnn/ops/augment/crop.hpp"

namespace minidnn {

enum class TestTimeAugmentation { none, flip, ten_crop };

/// "none", "flip" or "ten-crop".
inline TestTimeAugmentation parse_test_time_augmentation(const std::string& name) {
  if (name == "none") return TestTimeAugmentation::none;
  if (name == "flip") return TestTimeAugmentation::flip;
  if (name == "ten-crop") return TestTimeAugmentation::ten_crop;
  fail("test-time augmentation must be none, flip or ten-crop, got '", name, "'");
}

inline const char* test_time_augmentation_name(TestTimeAugmentation tta) {
  return tta == TestTimeAugmentation::none ? "none" : tta == TestTimeAugmentation::flip ? "flip" : "ten-crop";
}

/// The windows a mode looks at in an (image_height x image_width) image for a model taking
/// (height x width).
inline std::vector<CropWindow> test_time_windows(TestTimeAugmentation tta, int image_height, int image_width,
                                                 int height, int width) {
  const CropWindow centre = center_window(image_height, image_width, height, width);
  if (tta == TestTimeAugmentation::none) return {centre};
  if (tta == TestTimeAugmentation::flip) {
    CropWindow mirrored = centre;
    mirrored.mirrored = true;
    return {centre, mirrored};
  }
  const auto ten = ten_crop_windows(image_height, image_width, height, width);
  return std::vector<CropWindow>(ten.begin(), ten.end());
}

/// Class probabilities of `images` ((N, C, H, W), at least the model's input size) averaged
/// over the mode's windows. Memory: one cropped copy of the images and the running sum.
template <typename Model, typename T>
Tensor<T> predict_with_tta(Model& model, const Tensor<T>& images, TestTimeAugmentation tta, int batch_size = 256) {
  const Shape input = model.input_shape();
  const Shape& s = images.shape();
  if (s.rank() != 3 || input.rank() != 3 || s.channels() != input.channels() || s.height() < input.height() ||
      s.width() < input.width())
    fail("predict_with_tta: images ", s, " cannot be cropped to the model's input ", input);
  const auto windows = test_time_windows(tta, s.height(), s.width(), input.height(), input.width());
  if (windows.size() == 1 && s == input) return model.predict(images, batch_size);
  Tensor<T> crops, sum;
  for (std::size_t i = 0; i < windows.size(); ++i) {
    crop_images(images, windows[i], crops);
    const Tensor<T> p = model.predict(crops, batch_size);
    if (i == 0) {
      sum = p;
      continue;
    }
    for (std::size_t k = 0; k < sum.size(); ++k) sum[k] += p[k];
  }
  const T scale = T(1) / static_cast<T>(windows.size());
  for (std::size_t k = 0; k < sum.size(); ++k) sum[k] *= scale;
  return sum;
}

}  // namespace minidnn
