#pragma once
/// \file
/// The confusion matrix of a classifier and what is read off it: per-class precision, recall and
/// F1, their macro averages (every class counts the same, however rare: FER2013's Disgust, 1.5%
/// of the faces, as much as Happy) and support-weighted averages (scikit-learn's
/// classification_report).
#include <vector>

#include "minidnn/core/error.hpp"
#include "minidnn/core/tensor.hpp"
#include "minidnn/metrics/accuracy.hpp"

namespace minidnn {

/// Precision, recall and F1 of one class (0 where undefined: nothing predicted or no support).
struct ClassScores {
  double precision = 0.0, recall = 0.0, f1 = 0.0;
  long support = 0;  // samples whose true class it is
};

/// counts(true, predicted).
class ConfusionMatrix {
 public:
  explicit ConfusionMatrix(int classes) : classes_(classes), counts_(static_cast<std::size_t>(classes) * classes, 0) {
    if (classes < 1) fail("ConfusionMatrix: need at least one class, got ", classes);
  }

  /// Counts the argmax of each sample's scores against its label.
  template <typename T>
  ConfusionMatrix(const Tensor<T>& scores, const std::vector<int>& labels) : ConfusionMatrix(static_cast<int>(scores.sample_size())) {
    if (labels.size() != static_cast<std::size_t>(scores.batch()))
      fail("ConfusionMatrix: ", labels.size(), " labels for ", scores.batch(), " samples");
    for (int n = 0; n < scores.batch(); ++n) add(labels[static_cast<std::size_t>(n)], predicted_class(scores, n));
  }

  void add(int truth, int predicted, long count = 1) {
    if (truth < 0 || truth >= classes_ || predicted < 0 || predicted >= classes_)
      fail("ConfusionMatrix: class pair (", truth, ", ", predicted, ") outside [0, ", classes_, ")");
    counts_[index(truth, predicted)] += count;
  }

  int classes() const { return classes_; }
  long count(int truth, int predicted) const { return counts_[index(truth, predicted)]; }
  long total() const {
    long n = 0;
    for (long c : counts_) n += c;
    return n;
  }
  double accuracy() const {
    long correct = 0;
    for (int c = 0; c < classes_; ++c) correct += count(c, c);
    return total() ? double(correct) / total() : 0.0;
  }

  ClassScores scores(int c) const {
    long predicted = 0, actual = 0;
    for (int k = 0; k < classes_; ++k) predicted += count(k, c), actual += count(c, k);
    ClassScores s;
    s.support = actual;
    s.precision = predicted ? double(count(c, c)) / predicted : 0.0;
    s.recall = actual ? double(count(c, c)) / actual : 0.0;
    s.f1 = s.precision + s.recall > 0 ? 2 * s.precision * s.recall / (s.precision + s.recall) : 0.0;
    return s;
  }
  /// Recall of every class (what fraction of each emotion's faces is recognised).
  std::vector<double> recalls() const {
    std::vector<double> r;
    for (int c = 0; c < classes_; ++c) r.push_back(scores(c).recall);
    return r;
  }
  /// The unweighted mean over classes of precision, recall (balanced accuracy) and F1.
  ClassScores macro_average() const {
    ClassScores m;
    for (int c = 0; c < classes_; ++c) {
      const ClassScores s = scores(c);
      m.precision += s.precision / classes_, m.recall += s.recall / classes_, m.f1 += s.f1 / classes_;
      m.support += s.support;
    }
    return m;
  }
  double macro_f1() const { return macro_average().f1; }
  /// The mean weighted by support.
  ClassScores weighted_average() const {
    ClassScores w;
    for (int c = 0; c < classes_; ++c) {
      const ClassScores s = scores(c);
      w.precision += s.precision * s.support, w.recall += s.recall * s.support, w.f1 += s.f1 * s.support;
      w.support += s.support;
    }
    if (w.support) w.precision /= w.support, w.recall /= w.support, w.f1 /= w.support;
    return w;
  }

 private:
  std::size_t index(int truth, int predicted) const { return static_cast<std::size_t>(truth) * classes_ + predicted; }
  int classes_;
  std::vector<long> counts_;
};

}  // namespace minidnn
