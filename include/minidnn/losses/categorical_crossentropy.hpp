#pragma once
/// \file
/// Categorical cross-entropy on softmax probabilities, with integer class labels (the one-hot
/// target y has a single 1 at the label).
///
///     loss = -(1/N) sum_n log(clamp(p[n][label_n], eps, 1))      eps = 1e-7, as Keras
///
/// The clamp keeps the loss finite when a probability underflows to 0. Two gradients:
///   - with respect to the probabilities (the plain chain rule), for a model whose last layer is
///     not Softmax:  dL/dp[n][i] = -(y[n][i] / clamp(p)) / N;
///   - fused through the softmax, with respect to its input scores: dL/dz = (p - y) / N. This is
///     what Sequential uses when the model ends in Softmax: exact, cheaper, and free of the 1/p
///     blow-up.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "minidnn/core/error.hpp"
#include "minidnn/core/tensor.hpp"

namespace minidnn {

template <typename T>
class CategoricalCrossEntropy {
 public:
  static constexpr double kEpsilon = 1e-7;

  /// Throws unless there is one label per sample and every label is a class of `probabilities`.
  static void check_labels(const Tensor<T>& probabilities, const std::vector<int>& labels) {
    if (probabilities.shape().rank() != 1)
      fail("categorical cross-entropy: expects (classes,) predictions, got ", probabilities.shape());
    if (labels.size() != static_cast<std::size_t>(probabilities.batch()))
      fail("categorical cross-entropy: ", labels.size(), " labels for a batch of ", probabilities.batch());
    const int classes = probabilities.shape()[0];
    for (std::size_t n = 0; n < labels.size(); ++n)
      if (labels[n] < 0 || labels[n] >= classes)
        fail("label ", labels[n], " of sample ", n, " is outside the class range [0, ", classes, ")");
  }

  /// Mean loss over the batch (accumulated in double).
  static double loss(const Tensor<T>& probabilities, const std::vector<int>& labels) {
    check_labels(probabilities, labels);
    double total = 0.0;
    for (int n = 0; n < probabilities.batch(); ++n) total -= clamped_log(probabilities.sample(n)[labels[n]]);
    return total / probabilities.batch();
  }

  /// dL/dscores = (p - y) / N, for a Softmax output `probabilities`.
  static void softmax_gradient(const Tensor<T>& probabilities, const std::vector<int>& labels,
                               Tensor<T>& grad_scores) {
    check_labels(probabilities, labels);
    grad_scores.resize(probabilities.batch(), probabilities.shape());
    const T inv_n = T(1) / T(probabilities.batch());
    const std::size_t k = probabilities.sample_size();
    for (int n = 0; n < probabilities.batch(); ++n) {
      const T* p = probabilities.sample(n);
      T* g = grad_scores.sample(n);
      for (std::size_t i = 0; i < k; ++i) g[i] = p[i] * inv_n;
      g[labels[n]] -= inv_n;
    }
  }

  /// dL/dprobabilities = -(y / clamp(p)) / N; zero where the clamp is active (the clamped loss is
  /// flat there).
  static void gradient(const Tensor<T>& probabilities, const std::vector<int>& labels,
                       Tensor<T>& grad_probabilities) {
    check_labels(probabilities, labels);
    grad_probabilities.resize(probabilities.batch(), probabilities.shape());
    grad_probabilities.fill(T(0));
    const double inv_n = 1.0 / probabilities.batch();
    for (int n = 0; n < probabilities.batch(); ++n) {
      const double p = probabilities.sample(n)[labels[n]];
      if (p > kEpsilon && p < 1.0) grad_probabilities.sample(n)[labels[n]] = T(-inv_n / p);
    }
  }

 private:
  static double clamped_log(double p) { return std::log(std::clamp(p, kEpsilon, 1.0)); }
};

}  // namespace minidnn
