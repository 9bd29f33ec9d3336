#pragma once
/// \file
/// Shape: the dimensions of one sample, without the batch dimension.
///
/// Image-like data is (channels, height, width), the NCHW layout of the whole library minus N;
/// flat data is (features).
#include <cstddef>
#include <initializer_list>
#include <ostream>
#include <string>
#include <vector>

#include "minidnn/core/error.hpp"

namespace minidnn {

class Shape {
 public:
  Shape() = default;
  Shape(std::initializer_list<int> dims) : dims_(dims) { validate(); }
  explicit Shape(std::vector<int> dims) : dims_(std::move(dims)) { validate(); }

  /// Number of dimensions (1 for flat data, 3 for CHW images).
  int rank() const { return static_cast<int>(dims_.size()); }
  int operator[](int i) const { return dims_.at(static_cast<std::size_t>(i)); }
  const std::vector<int>& dims() const { return dims_; }
  /// Number of scalars in one sample.
  std::size_t size() const {
    std::size_t n = dims_.empty() ? 0 : 1;
    for (int d : dims_) n *= static_cast<std::size_t>(d);
    return n;
  }

  // For CHW shapes.
  int channels() const { return require_rank3(), dims_[0]; }
  int height() const { return require_rank3(), dims_[1]; }
  int width() const { return require_rank3(), dims_[2]; }

  bool operator==(const Shape& other) const { return dims_ == other.dims_; }
  bool operator!=(const Shape& other) const { return dims_ != other.dims_; }

  /// "(64, 44, 44)": the dimensions in storage order (C, H, W).
  std::string to_string() const {
    std::string s = "(";
    for (std::size_t i = 0; i < dims_.size(); ++i) s += (i ? ", " : "") + std::to_string(dims_[i]);
    return s + (dims_.size() == 1 ? ",)" : ")");
  }

 private:
  void validate() const {
    for (int d : dims_)
      if (d <= 0) fail("Shape: every dimension must be positive, got ", to_string());
  }
  void require_rank3() const {
    if (dims_.size() != 3) fail("expected a (channels, height, width) shape, got ", to_string());
  }
  std::vector<int> dims_;
};

inline std::ostream& operator<<(std::ostream& out, const Shape& shape) { return out << shape.to_string(); }

}  // namespace minidnn
