#pragma once
/// \file
/// MaxPool2D: the maximum of each pool window, with Keras's valid or same padding (pool2d.hpp);
/// padded windows see only the inputs inside the border (ops/pool/max_pool_padded.hpp).
///
/// Forward remembers, for each output, which input of its window won (the first maximum in
/// row-major window order); backward routes each output gradient to that input. Overlapping
/// windows (pool 5, stride 2) may route several gradients to one input: they add up.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "minidnn/core/aligned_vector.hpp"
#include "minidnn/layers/pool2d.hpp"
#include "minidnn/ops/pool/max_pool.hpp"
#include "minidnn/ops/pool/max_pool_padded.hpp"

namespace minidnn {

template <typename T>
class MaxPool2D : public Pool2D<T> {
 public:
  /// Keras's default stride is the pool size.
  explicit MaxPool2D(Size2 pool_size, std::optional<Size2> strides = std::nullopt, Padding padding = Padding::valid)
      : Pool2D<T>(pool_size, strides.value_or(pool_size), padding) {}

  std::string type() const override { return "MaxPool2D"; }
  /// Same padding has a tag of its own, so that files of valid pooling stay as they were.
  std::string file_type() const override { return this->padding_ == Padding::same ? "MaxPool2DSame" : "MaxPool2D"; }
  static std::unique_ptr<Layer<T>> read_config(BinaryReader& in) {
    return Pool2D<T>::template read_config_as<MaxPool2D>(in, Padding::valid);
  }
  static std::unique_ptr<Layer<T>> read_config_same(BinaryReader& in) {
    return Pool2D<T>::template read_config_as<MaxPool2D>(in, Padding::same);
  }

  void forward(const Tensor<T>& input, Tensor<T>& output, Mode mode) override {
    this->check_input(input);
    output.resize(input.batch(), this->output_shape());
    const int planes = input.batch() * this->input_shape().channels();
    // Winners are needed only by a backward pass, which follows only a training forward.
    const bool winners = mode == Mode::train;
    if (winners && argmax_.size() < output.size()) argmax_.resize(output.size());
#pragma omp parallel for schedule(static)
    for (int plane = 0; plane < planes; ++plane)
      pool_plane(input.data() + plane * in_plane(), output.data() + plane * out_plane(),
                 winners ? argmax_.data() + plane * out_plane() : nullptr);
  }

  bool has_sample_forward(int) const override { return true; }
  void forward_sample(const T* x, T* y, T*) const override {
    for (int c = 0; c < this->input_shape().channels(); ++c)
      pool_plane(x + c * in_plane(), y + c * out_plane(), nullptr);
  }

  void backward(const Tensor<T>& input, const Tensor<T>&, Tensor<T>& grad_output,
                Tensor<T>* grad_input) override {
    if (!grad_input) return;
    grad_input->resize(input.batch(), this->input_shape());
    const int planes = input.batch() * this->input_shape().channels();
    const std::size_t in_size = in_plane(), out_size = out_plane();
#pragma omp parallel for schedule(static)
    for (int plane = 0; plane < planes; ++plane) {
      T* dx = grad_input->data() + plane * in_size;
      const T* dy = grad_output.data() + plane * out_size;
      const std::int32_t* winner = argmax_.data() + plane * out_size;
      std::fill(dx, dx + in_size, T(0));
      for (std::size_t o = 0; o < out_size; ++o) dx[winner[o]] += dy[o];
    }
  }

 private:
  using Pool2D<T>::in_plane;
  using Pool2D<T>::out_plane;

  // Max-pools one input plane into one output plane, recording each winner's plane index
  // unless `winner` is null.
  void pool_plane(const T* x, T* y, std::int32_t* winner) const {
    if (this->padding_ == Padding::same) {
      max_pool_plane_padded(x, y, winner, this->input_shape().height(), this->input_shape().width(),
                            this->output_shape().height(), this->output_shape().width(), this->pool_.h,
                            this->pool_.w, this->strides_.h, this->strides_.w, this->pad_top(), this->pad_left());
      return;
    }
    max_pool_plane(x, y, winner, this->input_shape().width(), this->output_shape().height(),
                   this->output_shape().width(), this->pool_.h, this->pool_.w, this->strides_.h,
                   this->strides_.w);
  }

  AlignedVector<std::int32_t> argmax_;  // (N, C, oh, ow): index of the winner within its input plane
};

}  // namespace minidnn
