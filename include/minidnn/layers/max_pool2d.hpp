#pragma once
/// \file
/// MaxPool2D: the maximum of each pool window (valid padding, Keras's output size).
///
/// Forward remembers, for each output, which input of its window won (the first maximum in
/// row-major window order); backward routes each output gradient to that input. Overlapping
/// windows (pool 5, stride 2) may route several gradients to one input: they add up.
#include <cstdint>
#include <limits>

#include "minidnn/core/aligned_vector.hpp"
#include "minidnn/layers/pool2d.hpp"

namespace minidnn {

template <typename T>
class MaxPool2D : public Pool2D<T> {
 public:
  /// Keras's default stride is the pool size.
  explicit MaxPool2D(Size2 pool_size, std::optional<Size2> strides = std::nullopt)
      : Pool2D<T>(pool_size, strides.value_or(pool_size)) {}

  std::string type() const override { return "MaxPool2D"; }
  static std::unique_ptr<Layer<T>> read_config(BinaryReader& in) {
    return Pool2D<T>::template read_config_as<MaxPool2D>(in);
  }

  void forward(const Tensor<T>& input, Tensor<T>& output, Mode) override {
    this->check_input(input);
    const Shape& in = this->input_shape();
    const Shape& out = this->output_shape();
    output.resize(input.batch(), out);
    const int planes = input.batch() * in.channels();
    const int ih = in.height(), iw = in.width(), oh = out.height(), ow = out.width();
    const int ph = this->pool_.h, pw = this->pool_.w, sh = this->strides_.h, sw = this->strides_.w;
    if (argmax_.size() < output.size()) argmax_.resize(output.size());
#pragma omp parallel for schedule(static)
    for (int plane = 0; plane < planes; ++plane) {
      const T* x = input.data() + static_cast<std::size_t>(plane) * ih * iw;
      T* y = output.data() + static_cast<std::size_t>(plane) * oh * ow;
      std::int32_t* winner = argmax_.data() + static_cast<std::size_t>(plane) * oh * ow;
      for (int oy = 0; oy < oh; ++oy) {
        for (int ox = 0; ox < ow; ++ox) {
          int best_index = (oy * sh) * iw + ox * sw;
          T best = x[best_index];
          for (int i = 0; i < ph; ++i) {
            const int row = (oy * sh + i) * iw + ox * sw;
            for (int j = 0; j < pw; ++j) {
              if (x[row + j] > best) {
                best = x[row + j];
                best_index = row + j;
              }
            }
          }
          y[oy * ow + ox] = best;
          winner[oy * ow + ox] = best_index;
        }
      }
    }
  }

  void backward(const Tensor<T>& input, const Tensor<T>&, Tensor<T>& grad_output,
                Tensor<T>* grad_input) override {
    if (!grad_input) return;
    const Shape& in = this->input_shape();
    const Shape& out = this->output_shape();
    grad_input->resize(input.batch(), in);
    const int planes = input.batch() * in.channels();
    const std::size_t in_plane = static_cast<std::size_t>(in.height()) * in.width();
    const std::size_t out_plane = static_cast<std::size_t>(out.height()) * out.width();
#pragma omp parallel for schedule(static)
    for (int plane = 0; plane < planes; ++plane) {
      T* dx = grad_input->data() + plane * in_plane;
      const T* dy = grad_output.data() + plane * out_plane;
      const std::int32_t* winner = argmax_.data() + plane * out_plane;
      std::fill(dx, dx + in_plane, T(0));
      for (std::size_t o = 0; o < out_plane; ++o) dx[winner[o]] += dy[o];
    }
  }

 private:
  AlignedVector<std::int32_t> argmax_;  // (N, C, oh, ow): index of the winner within its input plane
};

}  // namespace minidnn
