#pragma once
/// \file
/// AvgPool2D: the mean of each pool window (valid padding, so every window is full and the
/// divisor is always pool_h * pool_w, as Keras). Float sums separably where it can
/// (ops/pool/avg_pool.hpp), in another order than the window loop: equal to rounding.
#include <type_traits>

#include "minidnn/layers/pool2d.hpp"
#include "minidnn/ops/pool/avg_pool.hpp"

namespace minidnn {

template <typename T>
class AvgPool2D : public Pool2D<T> {
 public:
  /// Keras's default stride is the pool size.
  explicit AvgPool2D(Size2 pool_size, std::optional<Size2> strides = std::nullopt)
      : Pool2D<T>(pool_size, strides.value_or(pool_size)) {}

  std::string type() const override { return "AvgPool2D"; }
  static std::unique_ptr<Layer<T>> read_config(BinaryReader& in) {
    return Pool2D<T>::template read_config_as<AvgPool2D>(in);
  }

  void forward(const Tensor<T>& input, Tensor<T>& output, Mode) override {
    this->check_input(input);
    output.resize(input.batch(), this->output_shape());
    const int planes = input.batch() * this->input_shape().channels();
#pragma omp parallel for schedule(static)
    for (int plane = 0; plane < planes; ++plane)
      average_plane(input.data() + plane * in_plane(), output.data() + plane * out_plane());
  }

  bool has_sample_forward(int) const override { return true; }
  void forward_sample(const T* x, T* y, T*) const override {
    for (int c = 0; c < this->input_shape().channels(); ++c)
      average_plane(x + c * in_plane(), y + c * out_plane());
  }

  void backward(const Tensor<T>& input, const Tensor<T>&, Tensor<T>& grad_output,
                Tensor<T>* grad_input) override {
    if (!grad_input) return;
    const Shape& in = this->input_shape();
    const Shape& out = this->output_shape();
    grad_input->resize(input.batch(), in);
    const int planes = input.batch() * in.channels();
    const int ih = in.height(), iw = in.width(), oh = out.height(), ow = out.width();
    const int ph = this->pool_.h, pw = this->pool_.w, sh = this->strides_.h, sw = this->strides_.w;
    const T scale = T(1) / T(ph * pw);
#pragma omp parallel for schedule(static)
    for (int plane = 0; plane < planes; ++plane) {
      T* dx = grad_input->data() + static_cast<std::size_t>(plane) * ih * iw;
      const T* dy = grad_output.data() + static_cast<std::size_t>(plane) * oh * ow;
      std::fill(dx, dx + static_cast<std::size_t>(ih) * iw, T(0));
      for (int oy = 0; oy < oh; ++oy) {
        for (int ox = 0; ox < ow; ++ox) {
          const T g = dy[oy * ow + ox] * scale;
          for (int i = 0; i < ph; ++i) {
            T* row = dx + (oy * sh + i) * iw + ox * sw;
            for (int j = 0; j < pw; ++j) row[j] += g;
          }
        }
      }
    }
  }

 private:
  using Pool2D<T>::in_plane;
  using Pool2D<T>::out_plane;

  // Averages one input plane into one output plane.
  void average_plane(const T* x, T* y) const {
    avg_pool_plane(x, y, this->input_shape().width(), this->output_shape().height(), this->output_shape().width(),
                   this->pool_.h, this->pool_.w, this->strides_.h, this->strides_.w);
  }
};

}  // namespace minidnn
