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
///
/// Options (CrossEntropyOptions, exactly torch.nn.CrossEntropyLoss(weight, label_smoothing)):
///   - label_smoothing s: the target becomes (1 - s) y + s / C (Szegedy et al.), so the model is
///     not pushed towards infinitely confident scores;
///   - class_weights w (one per class): sample n counts w[label_n] times, and the mean is taken
///     over the weights, loss = sum_n w[y_n] l_n / sum_n w[y_n]; balanced_class_weights() makes
///     rare classes count as much as common ones. With smoothing, the smoothed part of class c is
///     weighted by w[c]:  l_n = (1 - s) w[y_n] (-log p[y_n]) + (s / C) sum_c w[c] (-log p[c]),
///     loss = sum_n l_n / sum_n w[y_n].
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "minidnn/core/error.hpp"
#include "minidnn/core/tensor.hpp"

namespace minidnn {

struct CrossEntropyOptions {
  double label_smoothing = 0.0;       // in [0, 1)
  std::vector<double> class_weights;  // empty: every class weighs 1
};

/// Keras/scikit-learn's "balanced" weights: w[c] = N / (classes * count of c), so every class
/// carries the same total weight. A class absent from `labels` gets 1.
inline std::vector<double> balanced_class_weights(const std::vector<int>& labels, int classes) {
  if (classes < 1) fail("balanced_class_weights: need at least one class, got ", classes);
  std::vector<double> counts(classes, 0.0), weights(classes, 1.0);
  for (std::size_t n = 0; n < labels.size(); ++n) {
    if (labels[n] < 0 || labels[n] >= classes)
      fail("balanced_class_weights: label ", labels[n], " of sample ", n, " is outside [0, ", classes, ")");
    counts[labels[n]] += 1;
  }
  for (int c = 0; c < classes; ++c)
    if (counts[c] > 0) weights[c] = double(labels.size()) / (classes * counts[c]);
  return weights;
}

template <typename T>
class CategoricalCrossEntropy {
 public:
  static constexpr double kEpsilon = 1e-7;

  /// Throws unless there is one label per sample, every label is a class of `probabilities`,
  /// and the options fit (smoothing in [0, 1), one finite weight >= 0 per class).
  static void check_labels(const Tensor<T>& probabilities, const std::vector<int>& labels,
                           const CrossEntropyOptions& options = {}) {
    if (probabilities.shape().rank() != 1)
      fail("categorical cross-entropy: expects (classes,) predictions, got ", probabilities.shape());
    if (labels.size() != static_cast<std::size_t>(probabilities.batch()))
      fail("categorical cross-entropy: ", labels.size(), " labels for a batch of ", probabilities.batch());
    const int classes = probabilities.shape()[0];
    for (std::size_t n = 0; n < labels.size(); ++n)
      if (labels[n] < 0 || labels[n] >= classes)
        fail("label ", labels[n], " of sample ", n, " is outside the class range [0, ", classes, ")");
    if (!(options.label_smoothing >= 0 && options.label_smoothing < 1))
      fail("categorical cross-entropy: label smoothing must be in [0, 1), got ", options.label_smoothing);
    if (!options.class_weights.empty()) {
      if (options.class_weights.size() != static_cast<std::size_t>(classes))
        fail("categorical cross-entropy: ", options.class_weights.size(), " class weights for ", classes, " classes");
      for (std::size_t c = 0; c < options.class_weights.size(); ++c)
        if (!(options.class_weights[c] >= 0) || !std::isfinite(options.class_weights[c]))
          fail("categorical cross-entropy: class weight ", c, " must be finite and >= 0, got ", options.class_weights[c]);
    }
  }

  /// Mean loss over the batch (accumulated in double).
  static double loss(const Tensor<T>& probabilities, const std::vector<int>& labels,
                     const CrossEntropyOptions& options = {}) {
    check_labels(probabilities, labels, options);
    const Terms terms(probabilities, labels, options);
    double total = 0.0;
    for (int n = 0; n < probabilities.batch(); ++n) {
      const T* p = probabilities.sample(n);
      total -= terms.on_label(labels[n]) * clamped_log(p[labels[n]]);
      if (terms.smoothing > 0)
        for (int c = 0; c < terms.classes; ++c) total -= terms.spread(c) * clamped_log(p[c]);
    }
    return total * terms.inv_weight_sum;
  }

  /// dL/dscores for a Softmax output `probabilities`: (p - y) / N without options; in general
  /// p_j (sum_c t_c) - t_j, over the weight sum, where t is the weighted, smoothed target.
  static void softmax_gradient(const Tensor<T>& probabilities, const std::vector<int>& labels, Tensor<T>& grad_scores,
                               const CrossEntropyOptions& options = {}) {
    check_labels(probabilities, labels, options);
    const Terms terms(probabilities, labels, options);
    grad_scores.resize(probabilities.batch(), probabilities.shape());
    for (int n = 0; n < probabilities.batch(); ++n) {
      const T* p = probabilities.sample(n);
      T* g = grad_scores.sample(n);
      const int y = labels[n];
      const double target_sum = terms.on_label(y) + terms.spread_sum;
      for (int c = 0; c < terms.classes; ++c) g[c] = T((p[c] * target_sum - terms.spread(c)) * terms.inv_weight_sum);
      g[y] -= T(terms.on_label(y) * terms.inv_weight_sum);
    }
  }

  /// dL/dprobabilities = -(t / clamp(p)) / (weight sum), t the weighted, smoothed target; zero
  /// where the clamp is active (the clamped loss is flat there).
  static void gradient(const Tensor<T>& probabilities, const std::vector<int>& labels, Tensor<T>& grad_probabilities,
                       const CrossEntropyOptions& options = {}) {
    check_labels(probabilities, labels, options);
    const Terms terms(probabilities, labels, options);
    grad_probabilities.resize(probabilities.batch(), probabilities.shape());
    grad_probabilities.fill(T(0));
    for (int n = 0; n < probabilities.batch(); ++n) {
      const T* p = probabilities.sample(n);
      T* g = grad_probabilities.sample(n);
      for (int c = 0; c < terms.classes; ++c) {
        const double target = (c == labels[n] ? terms.on_label(c) : 0.0) + terms.spread(c);
        if (target != 0.0 && p[c] > kEpsilon && p[c] < 1.0) g[c] = T(-target * terms.inv_weight_sum / p[c]);
      }
    }
  }

 private:
  // The weighted, smoothed target of a sample with label y: on_label(y) at y plus spread(c) at
  // every class c; inv_weight_sum normalizes the batch.
  struct Terms {
    Terms(const Tensor<T>& probabilities, const std::vector<int>& labels, const CrossEntropyOptions& options)
        : classes(probabilities.shape()[0]), smoothing(options.label_smoothing), weights(options.class_weights) {
      double weight_sum = 0.0;
      for (int y : labels) weight_sum += weight(y);
      if (!(weight_sum > 0)) fail("categorical cross-entropy: the class weights of this batch's labels sum to 0");
      inv_weight_sum = 1.0 / weight_sum;
      for (int c = 0; c < classes; ++c) spread_sum += spread(c);
    }
    double weight(int c) const { return weights.empty() ? 1.0 : weights[c]; }
    double on_label(int y) const { return (1.0 - smoothing) * weight(y); }
    double spread(int c) const { return smoothing > 0 ? smoothing / classes * weight(c) : 0.0; }

    int classes;
    double smoothing;
    const std::vector<double>& weights;
    double inv_weight_sum = 0.0, spread_sum = 0.0;
  };

  static double clamped_log(double p) { return std::log(std::clamp(p, kEpsilon, 1.0)); }
};

}  // namespace minidnn
