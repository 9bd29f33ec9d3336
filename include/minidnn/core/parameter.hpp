#pragma once
/// \file
/// Parameter: one trainable array (a kernel or a bias), its gradient, and the optimizer's state
/// for it, kept side by side so the state follows the parameter wherever it goes.
#include <cstddef>
#include <string>
#include <vector>

#include "minidnn/core/aligned_vector.hpp"

namespace minidnn {

template <typename T>
struct Parameter {
  /// "kernel" or "bias"; with the layer's name it identifies the parameter in errors and files.
  std::string name;
  /// Logical dimensions, for printing and checking files (e.g. kernel (64, 1, 5, 5)).
  std::vector<int> dims;
  AlignedVector<T> value;
  /// dLoss/dvalue for the last backward pass (overwritten by each backward, never accumulated).
  AlignedVector<T> grad;
  /// Optimizer state (Adam's m and v, SGD's velocity), created by the optimizer on first use.
  std::vector<AlignedVector<T>> optimizer_slots;

  Parameter() = default;
  Parameter(std::string name_, std::vector<int> dims_) : name(std::move(name_)), dims(std::move(dims_)) {
    std::size_t n = 1;
    for (int d : dims) n *= static_cast<std::size_t>(d);
    value.assign(n, T(0));
    grad.assign(n, T(0));
  }
  std::size_t size() const { return value.size(); }
};

}  // namespace minidnn
