#pragma once
/// \file
/// A stratified, seeded hold-out split: a validation set drawn from the training rows with each
/// class in the same proportion as in the whole (so model selection never needs the test set),
/// the same rows for the same seed on every machine.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <utility>
#include <vector>

#include "minidnn/core/error.hpp"
#include "minidnn/core/random.hpp"
#include "minidnn/core/tensor.hpp"

namespace minidnn {

/// Row indices of the two parts, each in increasing order.
struct SplitIndices {
  std::vector<int> train, validation;
};

/// Holds out round(fraction * n_c) of the n_c rows of each class c (chosen by a shuffle seeded by
/// (seed, c)) for validation; the rest train. `fraction` in (0, 1).
inline SplitIndices stratified_split(const std::vector<int>& labels, double fraction, std::uint64_t seed) {
  if (!(fraction > 0 && fraction < 1)) fail("stratified_split: fraction must be in (0, 1), got ", fraction);
  int classes = 0;
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] < 0) fail("stratified_split: label ", labels[i], " of row ", i, " is negative");
    classes = std::max(classes, labels[i] + 1);
  }
  std::vector<std::vector<int>> rows(static_cast<std::size_t>(classes));
  for (std::size_t i = 0; i < labels.size(); ++i) rows[static_cast<std::size_t>(labels[i])].push_back(static_cast<int>(i));
  std::vector<char> held(labels.size(), 0);
  for (int c = 0; c < classes; ++c) {
    std::vector<int>& members = rows[static_cast<std::size_t>(c)];
    Rng rng(Rng::derive(seed, static_cast<std::uint64_t>(c)));
    for (std::size_t i = members.size(); i > 1; --i) std::swap(members[i - 1], members[rng.below(i)]);
    const auto take = static_cast<std::size_t>(std::lround(fraction * static_cast<double>(members.size())));
    for (std::size_t k = 0; k < take; ++k) held[static_cast<std::size_t>(members[k])] = 1;
  }
  SplitIndices split;
  for (std::size_t i = 0; i < labels.size(); ++i) (held[i] ? split.validation : split.train).push_back(static_cast<int>(i));
  return split;
}

/// The rows `indices` of (x, labels), in that order, into (out_x, out_labels).
template <typename T>
void gather_rows(const Tensor<T>& x, const std::vector<int>& labels, const std::vector<int>& indices, Tensor<T>& out_x,
                 std::vector<int>& out_labels) {
  out_x.resize(static_cast<int>(indices.size()), x.shape());
  out_labels.resize(indices.size());
  for (std::size_t i = 0; i < indices.size(); ++i) {
    const int k = indices[i];
    if (k < 0 || k >= x.batch()) fail("gather_rows: row ", k, " is outside [0, ", x.batch(), ")");
    std::copy(x.sample(k), x.sample(k) + x.sample_size(), out_x.sample(static_cast<int>(i)));
    out_labels[i] = labels[static_cast<std::size_t>(k)];
  }
}

}  // namespace minidnn
