#pragma once
/// \file
/// Tensor: a batch of samples in one contiguous NCHW buffer.
///
///     data = [ sample 0 | sample 1 | ... | sample N-1 ],  each sample = shape().size() scalars
///     image sample (C, H, W): element (c, y, x) at  c*H*W + y*W + x
///
/// Resizing keeps the allocation when it is large enough, so a layer that resizes its output to
/// the same size every step never touches the allocator again.
#include <algorithm>
#include <cstddef>

#include "minidnn/core/aligned_vector.hpp"
#include "minidnn/core/error.hpp"
#include "minidnn/core/shape.hpp"

namespace minidnn {

template <typename T>
class Tensor {
 public:
  Tensor() = default;
  Tensor(int batch, Shape shape) { resize(batch, std::move(shape)); }

  /// Sets the batch size and sample shape. Keeps existing storage if it is large enough; the
  /// contents are unspecified afterwards unless the size did not change.
  void resize(int batch, Shape shape) {
    if (batch < 0) fail("Tensor: negative batch size ", batch);
    batch_ = batch;
    shape_ = std::move(shape);
    const std::size_t n = static_cast<std::size_t>(batch_) * shape_.size();
    if (n > data_.size()) data_.resize(n);
    size_ = n;
  }

  int batch() const { return batch_; }
  const Shape& shape() const { return shape_; }
  /// Scalars in one sample.
  std::size_t sample_size() const { return shape_.size(); }
  /// Scalars in the whole batch.
  std::size_t size() const { return size_; }

  T* data() { return data_.data(); }
  const T* data() const { return data_.data(); }
  T* sample(int n) { return data_.data() + static_cast<std::size_t>(n) * sample_size(); }
  const T* sample(int n) const { return data_.data() + static_cast<std::size_t>(n) * sample_size(); }
  T& operator[](std::size_t i) { return data_[i]; }
  const T& operator[](std::size_t i) const { return data_[i]; }
  T* begin() { return data(); }
  T* end() { return data() + size_; }
  const T* begin() const { return data(); }
  const T* end() const { return data() + size_; }

  void fill(T value) { std::fill(begin(), end(), value); }

 private:
  int batch_ = 0;
  Shape shape_;
  std::size_t size_ = 0;
  AlignedVector<T> data_;
};

}  // namespace minidnn
