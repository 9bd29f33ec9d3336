#pragma once
/// \file
/// DepthwiseConv2D: each input channel convolved with its own `depth_multiplier` kernels
/// (ops/conv/depthwise.hpp), C inputs -> C*M outputs, output channel c*M + m from input c, with a
/// bias per output channel and an optional fused ReLU. Keras's argument order and parameters:
/// depthwise_kernel (C, M, kh, kw) (Keras stores (kh, kw, C, M)), bias (C*M).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>

#include "minidnn/core/initializers.hpp"
#include "minidnn/core/parallel.hpp"
#include "minidnn/ops/activation.hpp"
#include "minidnn/layers/layer.hpp"
#include "minidnn/layers/size2.hpp"
#include "minidnn/ops/conv/depthwise.hpp"

namespace minidnn {

template <typename T>
class DepthwiseConv2D : public Layer<T> {
 public:
  explicit DepthwiseConv2D(Size2 kernel, Size2 strides = 1, Padding padding = Padding::valid, int depth_multiplier = 1,
                           Activation activation = Activation::linear, bool use_bias = true)
      : kernel_(kernel), strides_(strides), padding_(padding), multiplier_(depth_multiplier),
        activation_(activation), use_bias_(use_bias) {
    if (!kernel.valid()) fail("DepthwiseConv2D: kernel sides must be 1 to ", Size2::kMaxSide, ", got ", kernel.to_string());
    if (!strides.valid()) fail("DepthwiseConv2D: strides must be 1 to ", Size2::kMaxSide, ", got ", strides.to_string());
    if (depth_multiplier < 1 || depth_multiplier > 4096)
      fail("DepthwiseConv2D: depth_multiplier must be 1 to 4096, got ", depth_multiplier);
  }

  std::string type() const override { return "DepthwiseConv2D"; }
  std::string describe() const override {
    return kernel_.to_string() + " x" + std::to_string(multiplier_) + ", stride " + strides_.to_string() + ", " +
           to_string(padding_) + ", " + to_string(activation_) + (use_bias_ ? "" : ", no bias");
  }
  std::vector<Parameter<T>*> parameters() override {
    if (use_bias_) return {&kernel_param_, &bias_param_};
    return {&kernel_param_};
  }
  std::size_t parameter_count_for(const Shape& in) const override {
    const std::size_t outputs = std::size_t(in.rank() == 3 ? in.channels() : 0) * multiplier_;
    return outputs * kernel_.h * kernel_.w + (use_bias_ ? outputs : 0);
  }

  void write_config(BinaryWriter& out) const override {
    for (int v : {kernel_.h, kernel_.w, strides_.h, strides_.w, multiplier_}) out.write<std::int32_t>(v);
    out.write<std::int32_t>(padding_ == Padding::same ? 1 : 0);
    out.write<std::int32_t>(activation_code(activation_));
    out.write<std::int32_t>(use_bias_ ? 1 : 0);
  }
  static std::unique_ptr<Layer<T>> read_config(BinaryReader& in) {
    int v[5];
    for (int& x : v) x = in.read<std::int32_t>("DepthwiseConv2D configuration");
    const int padding = in.read<std::int32_t>("DepthwiseConv2D padding");
    if (padding != 0 && padding != 1) fail(in.what(), ": DepthwiseConv2D: invalid padding code ", padding);
    const Activation activation = activation_from_code(in.read<std::int32_t>("DepthwiseConv2D activation"));
    const int bias = in.read<std::int32_t>("DepthwiseConv2D use_bias");
    return std::make_unique<DepthwiseConv2D>(Size2(v[0], v[1]), Size2(v[2], v[3]),
                                             padding ? Padding::same : Padding::valid, v[4], activation, bias != 0);
  }

  const ops::DepthwiseGeometry& geometry() const { return geometry_; }

  void forward(const Tensor<T>& input, Tensor<T>& output, Mode) override {
    this->check_input(input);
    output.resize(input.batch(), this->output_shape());
    forward_batch(geometry_, input.batch(), input.data(), kernel_param_.value.data(),
                  use_bias_ ? bias_param_.value.data() : nullptr, output.data());
    apply_activation(activation_, output.data(), output.size());
  }

  bool has_sample_forward(int) const override { return true; }
  void forward_sample(const T* x, T* y, T*) const override {
    forward_one(geometry_, x, kernel_param_.value.data(), use_bias_ ? bias_param_.value.data() : nullptr, y);
    apply_activation(activation_, y, this->output_shape().size());
  }

  void backward(const Tensor<T>& input, const Tensor<T>& output, Tensor<T>& grad_output,
                Tensor<T>* grad_input) override {
    activation_backward(activation_, output.data(), grad_output.data(), output.size());
    if (grad_input) grad_input->resize(input.batch(), this->input_shape());
    backward_batch(geometry_, input.batch(), input.data(), kernel_param_.value.data(), grad_output.data(),
                   kernel_param_.grad.data(), use_bias_ ? bias_param_.grad.data() : nullptr,
                   grad_input ? grad_input->data() : nullptr);
  }

  /// x (N, C, H, W) -> y (N, C*M, OH, OW), bias (C*M) or null: parallel over the N*C*M planes.
  static void forward_batch(const ops::DepthwiseGeometry& g, int n, const T* x, const T* kernel, const T* bias, T* y) {
    const int cm = g.channels * g.multiplier;
    const std::ptrdiff_t planes = std::ptrdiff_t(n) * cm;
#pragma omp parallel for schedule(static) if (double(planes) * g.out_h * g.out_w * g.kernel_h * g.kernel_w > 65536)
    for (std::ptrdiff_t p = 0; p < planes; ++p) {
      const std::ptrdiff_t i = p / cm;
      forward_plane(g, x + i * sample_size(g), kernel, bias, int(p % cm), y + i * output_size(g));
    }
  }

  /// One sample x (C, H, W) -> y (C*M, OH, OW) on the calling thread; bias (C*M) or null.
  static void forward_one(const ops::DepthwiseGeometry& g, const T* x, const T* kernel, const T* bias, T* y) {
    for (int o = 0; o < g.channels * g.multiplier; ++o) forward_plane(g, x, kernel, bias, o, y);
  }

  /// Overwrites dkernel (C, M, kh, kw), dbias (C*M) unless null and dx (N, C, H, W) unless null,
  /// from x and dy (N, C*M, OH, OW). Each thread owns a block of input channels (their kernel
  /// gradients and dx planes, summed over the batch in order), so the result does not depend on
  /// the thread count; it walks the batch sample by sample over its block, so that it reads and
  /// writes runs of adjacent planes (a whole-batch walk per channel strides by a sample's size:
  /// 3x slower on 6x6 planes).
  static void backward_batch(const ops::DepthwiseGeometry& g, int n, const T* x, const T* kernel, const T* dy,
                             T* dkernel, T* dbias, T* dx) {
    const std::ptrdiff_t in_plane = std::ptrdiff_t(g.in_h) * g.in_w, out_plane = std::ptrdiff_t(g.out_h) * g.out_w;
    const int kk = g.kernel_h * g.kernel_w, cm = g.channels * g.multiplier;
#pragma omp parallel if (double(n) * cm * out_plane * kk > 65536)
    {
      const int threads = team_size(), t = thread_index();
      const int c0 = int(std::int64_t(g.channels) * t / threads);
      const int c1 = int(std::int64_t(g.channels) * (t + 1) / threads);
      std::fill(dkernel + std::ptrdiff_t(c0) * g.multiplier * kk, dkernel + std::ptrdiff_t(c1) * g.multiplier * kk,
                T(0));
      if (dbias) std::fill(dbias + c0 * g.multiplier, dbias + c1 * g.multiplier, T(0));
      for (int i = 0; i < n; ++i) {
        for (int c = c0; c < c1; ++c) {
          const std::ptrdiff_t p = std::ptrdiff_t(i) * g.channels + c;
          T* dxp = dx ? dx + p * in_plane : nullptr;
          if (dxp) std::fill(dxp, dxp + in_plane, T(0));
          for (int m = 0; m < g.multiplier; ++m) {
            const int o = c * g.multiplier + m;
            ops::depthwise_plane_backward(g, x + p * in_plane, kernel + std::ptrdiff_t(o) * kk,
                                          dy + (std::ptrdiff_t(i) * cm + o) * out_plane,
                                          dkernel + std::ptrdiff_t(o) * kk, dbias ? dbias + o : nullptr, dxp);
          }
        }
      }
    }
  }

 protected:
  Shape infer_output_shape(const Shape& in) const override {
    const auto g = geometry_for(in);
    return Shape{g.channels * multiplier_, g.out_h, g.out_w};
  }
  void initialize(Rng& rng) override {
    geometry_ = geometry_for(this->input_shape());
    const int c = geometry_.channels, kk = kernel_.h * kernel_.w;
    kernel_param_ = Parameter<T>("depthwise_kernel", {c, multiplier_, kernel_.h, kernel_.w});
    // Keras's fans for a (kh, kw, C, M) kernel: kh*kw*C in, kh*kw*M out.
    glorot_uniform(kernel_param_.value, double(kk) * c, double(kk) * multiplier_, rng);
    if (use_bias_) bias_param_ = Parameter<T>("bias", {c * multiplier_});
  }

 private:
  static std::ptrdiff_t sample_size(const ops::DepthwiseGeometry& g) { return std::ptrdiff_t(g.channels) * g.in_h * g.in_w; }
  static std::ptrdiff_t output_size(const ops::DepthwiseGeometry& g) {
    return std::ptrdiff_t(g.channels) * g.multiplier * g.out_h * g.out_w;
  }
  // Output plane o of one sample: x (C, H, W), y (C*M, OH, OW).
  static void forward_plane(const ops::DepthwiseGeometry& g, const T* x, const T* kernel, const T* bias, int o, T* y) {
    const int kk = g.kernel_h * g.kernel_w;
    ops::depthwise_plane_forward(g, x + std::ptrdiff_t(o / g.multiplier) * g.in_h * g.in_w,
                                 kernel + std::ptrdiff_t(o) * kk, bias ? bias[o] : T(0),
                                 y + std::ptrdiff_t(o) * g.out_h * g.out_w);
  }
  ops::DepthwiseGeometry geometry_for(const Shape& in) const {
    if (in.rank() != 3) fail("DepthwiseConv2D: expects a (channels, height, width) input, got ", in);
    if (std::int64_t(in.channels()) * multiplier_ > (std::int64_t(1) << 26))
      fail("DepthwiseConv2D: ", in.channels(), " channels x depth_multiplier ", multiplier_, " is implausibly many");
    const bool same = padding_ == Padding::same;
    const ops::ConvAxis y = ops::conv_axis(in.height(), kernel_.h, strides_.h, same);
    const ops::ConvAxis x = ops::conv_axis(in.width(), kernel_.w, strides_.w, same);
    return {in.channels(), multiplier_, in.height(), in.width(), kernel_.h, kernel_.w,
            strides_.h, strides_.w, y.pad_before, x.pad_before, y.out, x.out};
  }

  Size2 kernel_, strides_;
  Padding padding_;
  int multiplier_;
  Activation activation_;
  bool use_bias_;
  ops::DepthwiseGeometry geometry_{};
  Parameter<T> kernel_param_;  // (C, M, kh, kw)
  Parameter<T> bias_param_;    // (C*M)
};

}  // namespace minidnn
