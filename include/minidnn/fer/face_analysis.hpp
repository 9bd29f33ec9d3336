#pragma once
/// \file
/// Facial-expression analysis of a photo: the Haar cascade finds the faces, each face is cropped
/// as the Keras tutorial does (grey, 48x48 by area averaging, scaled to [0, 1]) and a trained
/// model gives its seven emotion probabilities. One `FaceAnalyzer` serves `fer predict`,
/// `fer serve` and `fer video`, so the three give the same faces and the same scores.
///
///     FaceAnalyzer analyzer(Model<float>::load("model.mdnn"), HaarCascade::load(cascade_xml));
///     for (const FaceResult& face : analyzer.analyze(vision::to_grey(vision::load_image("photo.jpg"))))
///       std::printf("%s\n", kEmotionNames[face.emotion()]);
///
/// An analyzer keeps the model's activation buffers, so one thread uses it at a time; threads that
/// analyze at once each hold their own (load the model once per analyzer; analyzers move, and
/// share nothing). A model taking (1, N, N) faces with N < 48 (trained on random crops) gets the
/// centre crop of the 48x48 face; set_test_time_augmentation averages over mirrored or ten crops.
#include <algorithm>
#include <array>
#include <string>
#include <vector>

#include "minidnn/core/error.hpp"
#include "minidnn/datasets/fer2013.hpp"
#include "minidnn/model/functional.hpp"
#include "minidnn/model/test_time_augmentation.hpp"
#include "minidnn/vision/haar_cascade.hpp"
#include "minidnn/vision/image.hpp"

namespace minidnn::fer {

using fer2013::kEmotionNames;
constexpr int kEmotions = 7;
constexpr int kFaceSide = 48;  ///< the model's input is (1, 48, 48)

/// One face: where it is and what the model thinks of it.
struct FaceResult {
  vision::Box box;
  std::array<float, kEmotions> scores{};  ///< softmax probabilities, in kEmotionNames order
  int emotion() const { return static_cast<int>(std::max_element(scores.begin(), scores.end()) - scores.begin()); }
};

/// The tutorial's preprocessing of one face: the box cropped from the grey image, area-resized
/// to 48x48 and scaled to [0, 1], written to `out` (1 x 48 x 48 floats).
inline void face_input(const vision::GreyImage& grey, const vision::Box& box, float* out) {
  const auto face = vision::resize_area(vision::crop(grey, box), kFaceSide, kFaceSide);
  for (int i = 0; i < kFaceSide * kFaceSide; ++i) out[i] = face.pixels[static_cast<std::size_t>(i)] / 255.0f;
}

/// Orders boxes as a person reads a group photo: rows from top to bottom, each row left to
/// right. A box joins the current row when its vertical centre lies within the row's first box.
inline void sort_reading_order(std::vector<vision::Box>& boxes) {
  std::sort(boxes.begin(), boxes.end(), [](const vision::Box& a, const vision::Box& b) {
    return a.y != b.y ? a.y < b.y : a.x < b.x;
  });
  std::vector<vision::Box> ordered;
  ordered.reserve(boxes.size());
  for (std::size_t row_begin = 0; row_begin < boxes.size();) {
    const vision::Box& first = boxes[row_begin];
    std::size_t row_end = row_begin + 1;
    while (row_end < boxes.size() && boxes[row_end].y + boxes[row_end].height / 2 < first.y + first.height) ++row_end;
    const auto begin = boxes.begin() + static_cast<std::ptrdiff_t>(row_begin);
    const auto end = boxes.begin() + static_cast<std::ptrdiff_t>(row_end);
    std::stable_sort(begin, end, [](const vision::Box& a, const vision::Box& b) { return a.x < b.x; });
    ordered.insert(ordered.end(), begin, end);
    row_begin = row_end;
  }
  boxes = std::move(ordered);
}

/// The model and the face detector, loaded once; see the file comment.
class FaceAnalyzer {
 public:
  /// `model` must map (1, N, N), N <= 48, to (7,): anything else is an Error naming both shapes.
  FaceAnalyzer(Model<float> model, vision::HaarCascade cascade)
      : model_(std::move(model)), cascade_(std::move(cascade)) {
    const Shape& in = model_.input_shape();
    if (in.rank() != 3 || in.channels() != 1 || in.height() != in.width() || in.height() > kFaceSide ||
        model_.output_shape() != Shape{kEmotions})
      throw Error("the model takes " + in.to_string() + " and gives " + model_.output_shape().to_string() +
                  "; facial-expression analysis needs (1, N, N) with N <= 48 -> (7,)");
  }

  /// none (the default), flip or ten-crop (model/test_time_augmentation.hpp).
  void set_test_time_augmentation(TestTimeAugmentation tta) { tta_ = tta; }

  Model<float>& model() { return model_; }
  const vision::HaarCascade& cascade() const { return cascade_; }

  /// The faces the cascade finds in `grey`, in reading order, each classified.
  std::vector<FaceResult> analyze(const vision::GreyImage& grey, const vision::DetectOptions& options = {}) {
    std::vector<vision::Box> boxes = cascade_.detect(grey, options);
    sort_reading_order(boxes);
    return classify(grey, boxes);
  }

  /// Classifies the given boxes of `grey` (in the order given), in one batch.
  std::vector<FaceResult> classify(const vision::GreyImage& grey, const std::vector<vision::Box>& boxes) {
    std::vector<FaceResult> faces(boxes.size());
    if (boxes.empty()) return faces;
    const int n = static_cast<int>(boxes.size());
    batch_.resize(n, Shape{1, kFaceSide, kFaceSide});
    for (int i = 0; i < n; ++i) face_input(grey, boxes[static_cast<std::size_t>(i)], batch_.sample(i));
    const bool whole_face = tta_ == TestTimeAugmentation::none && model_.input_shape() == batch_.shape();
    if (!whole_face) tta_probabilities_ = predict_with_tta(model_, batch_, tta_);
    const Tensor<float>& probabilities = whole_face ? model_.forward(batch_) : tta_probabilities_;
    for (int i = 0; i < n; ++i) {
      FaceResult& face = faces[static_cast<std::size_t>(i)];
      face.box = boxes[static_cast<std::size_t>(i)];
      std::copy(probabilities.sample(i), probabilities.sample(i) + kEmotions, face.scores.begin());
    }
    return faces;
  }

 private:
  Model<float> model_;
  vision::HaarCascade cascade_;
  Tensor<float> batch_;  // (faces, 1, 48, 48), reused from photo to photo
  TestTimeAugmentation tta_ = TestTimeAugmentation::none;
  Tensor<float> tta_probabilities_;
};

}  // namespace minidnn::fer
