#pragma once
/// \file
/// Classification accuracy and the argmax it is built on.
#include <algorithm>
#include <vector>

#include "minidnn/core/tensor.hpp"

namespace minidnn {

/// Index of the largest score of sample n (the first one on ties).
template <typename T>
int predicted_class(const Tensor<T>& scores, int n) {
  const T* s = scores.sample(n);
  return static_cast<int>(std::max_element(s, s + scores.sample_size()) - s);
}

/// Number of samples whose predicted class equals the label.
template <typename T>
int count_correct(const Tensor<T>& scores, const std::vector<int>& labels) {
  int correct = 0;
  for (int n = 0; n < scores.batch(); ++n) correct += predicted_class(scores, n) == labels[n];
  return correct;
}

/// Fraction of samples classified correctly.
template <typename T>
double accuracy(const Tensor<T>& scores, const std::vector<int>& labels) {
  return scores.batch() ? double(count_correct(scores, labels)) / scores.batch() : 0.0;
}

}  // namespace minidnn
