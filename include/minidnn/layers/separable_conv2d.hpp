#pragma once
/// \file
/// SeparableConv2D: a depthwise convolution (ops/conv/depthwise.hpp, no bias) followed by a 1x1
/// pointwise convolution to `filters` channels with a bias, then an optional fused ReLU: Keras's
/// layer, with its parameters and counts C*kh*kw*M + C*M*filters + filters. The depthwise step
/// runs DepthwiseConv2D's batch loops.
///
/// Per sample n, with P = OH*OW and D = C*M depthwise channels:
///     d_n (D x P)  = depthwise(x_n)
///     y_n (F x P)  = pointwise (F x D) * d_n + bias                 then activation
///   backward:
///     dpointwise (F x D) = sum_n dy_n * d_n^T ;  dbias = row sums of dy_n
///     dd_n (D x P)       = pointwise^T * dy_n ;  then the depthwise backward gives ddepthwise, dx
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "minidnn/ops/gemm.hpp"
#include "minidnn/ops/row_sums.hpp"
#include "minidnn/core/parallel.hpp"
#include "minidnn/core/initializers.hpp"
#include "minidnn/ops/activation.hpp"
#include "minidnn/layers/layer.hpp"
#include "minidnn/layers/size2.hpp"
#include "minidnn/layers/depthwise_conv2d.hpp"
#include "minidnn/ops/conv/depthwise.hpp"

namespace minidnn {

template <typename T>
class SeparableConv2D : public Layer<T> {
 public:
  SeparableConv2D(int filters, Size2 kernel, Size2 strides = 1, Padding padding = Padding::valid,
                  int depth_multiplier = 1, Activation activation = Activation::linear, bool use_bias = true)
      : filters_(filters), kernel_(kernel), strides_(strides), padding_(padding), multiplier_(depth_multiplier),
        activation_(activation), use_bias_(use_bias) {
    if (filters <= 0 || filters > (1 << 20)) fail("SeparableConv2D: filters must be 1 to 2^20, got ", filters);
    if (!kernel.valid()) fail("SeparableConv2D: kernel sides must be 1 to ", Size2::kMaxSide, ", got ", kernel.to_string());
    if (!strides.valid()) fail("SeparableConv2D: strides must be 1 to ", Size2::kMaxSide, ", got ", strides.to_string());
    if (depth_multiplier < 1 || depth_multiplier > 4096)
      fail("SeparableConv2D: depth_multiplier must be 1 to 4096, got ", depth_multiplier);
  }

  std::string type() const override { return "SeparableConv2D"; }
  std::string describe() const override {
    return std::to_string(filters_) + " " + kernel_.to_string() + " x" + std::to_string(multiplier_) + ", stride " +
           strides_.to_string() + ", " + to_string(padding_) + ", " + to_string(activation_) +
           (use_bias_ ? "" : ", no bias");
  }
  int filters() const { return filters_; }
  Activation activation() const { return activation_; }
  /// The pointwise kernel (filters, C*M) and the bias (filters; empty without use_bias): the
  /// model folds a BatchNormalization after this layer into them in inference, where a layer
  /// without bias is given one for that time (forward adds a bias whenever it has one).
  AlignedVector<T>& pointwise_values() { return pointwise_.value; }
  AlignedVector<T>& bias_values() { return bias_.value; }

  std::vector<Parameter<T>*> parameters() override {
    if (use_bias_) return {&depthwise_, &pointwise_, &bias_};
    return {&depthwise_, &pointwise_};
  }
  std::size_t parameter_count_for(const Shape& in) const override {
    const std::size_t d = std::size_t(in.rank() == 3 ? in.channels() : 0) * multiplier_;
    return d * kernel_.h * kernel_.w + d * filters_ + (use_bias_ ? filters_ : 0);
  }

  void write_config(BinaryWriter& out) const override {
    for (int v : {filters_, kernel_.h, kernel_.w, strides_.h, strides_.w, multiplier_}) out.write<std::int32_t>(v);
    out.write<std::int32_t>(padding_ == Padding::same ? 1 : 0);
    out.write<std::int32_t>(activation_code(activation_));
    out.write<std::int32_t>(use_bias_ ? 1 : 0);
  }
  static std::unique_ptr<Layer<T>> read_config(BinaryReader& in) {
    int v[6];
    for (int& x : v) x = in.read<std::int32_t>("SeparableConv2D configuration");
    const int padding = in.read<std::int32_t>("SeparableConv2D padding");
    if (padding != 0 && padding != 1) fail(in.what(), ": SeparableConv2D: invalid padding code ", padding);
    const Activation activation = activation_from_code(in.read<std::int32_t>("SeparableConv2D activation"));
    const int bias = in.read<std::int32_t>("SeparableConv2D use_bias");
    return std::make_unique<SeparableConv2D>(v[0], Size2(v[1], v[2]), Size2(v[3], v[4]),
                                             padding ? Padding::same : Padding::valid, v[5], activation, bias != 0);
  }

  void forward(const Tensor<T>& input, Tensor<T>& output, Mode) override {
    this->check_input(input);
    const int batch = input.batch(), d = depth();
    output.resize(batch, this->output_shape());
    depthwise_out_.resize(batch, Shape{d, geometry_.out_h, geometry_.out_w});
    DepthwiseConv2D<T>::forward_batch(geometry_, batch, input.data(), depthwise_.value.data(), nullptr,
                                      depthwise_out_.data());
    // The samples' pointwise products across the threads.
#pragma omp parallel for schedule(static) if (batch > 1)
    for (int n = 0; n < batch; ++n) pointwise_sample(depthwise_out_.sample(n), output.sample(n));
  }

  bool has_sample_forward(int) const override { return true; }
  std::size_t sample_scratch_size() const override { return std::size_t(depth()) * positions(); }
  void forward_sample(const T* x, T* y, T* scratch) const override {
    DepthwiseConv2D<T>::forward_one(geometry_, x, depthwise_.value.data(), nullptr, scratch);  // (D x P)
    pointwise_sample(scratch, y);
  }

  void backward(const Tensor<T>& input, const Tensor<T>& output, Tensor<T>& grad_output,
                Tensor<T>* grad_input) override {
    const int batch = input.batch(), d = depth(), p = positions();
    grad_depthwise_out_.resize(batch, depthwise_out_.shape());
    const int threads = max_threads();
    if (dpointwise_.size() < std::size_t(threads)) dpointwise_.resize(threads), dbias_.resize(threads);
    int team = 1;
#pragma omp parallel if (batch > 1)
    {
      const int t = thread_index();
#pragma omp single nowait
      team = team_size();
      AlignedVector<T>& dpointwise = dpointwise_[t];  // (F x D), this thread's share of the batch
      AlignedVector<T>& dbias = dbias_[t];            // (F)
      dpointwise.assign(pointwise_.size(), T(0));     // sized once: assign reuses the capacity
      dbias.assign(filters_, T(0));
#pragma omp for schedule(static)
      for (int n = 0; n < batch; ++n) {
        T* dy = grad_output.sample(n);  // (F x P)
        activation_backward(activation_, output.sample(n), dy, grad_output.sample_size());
        gemm<T>(Transpose::no, Transpose::yes, filters_, d, p, T(1), dy, p, depthwise_out_.sample(n), p, T(1),
                dpointwise.data(), d);
        gemm<T>(Transpose::yes, Transpose::no, d, p, filters_, T(1), pointwise_.value.data(), d, dy, p, T(0),
                grad_depthwise_out_.sample(n), p);
        if (use_bias_) add_row_sums(dy, filters_, p, p, dbias.data());
      }
    }
    sum_thread_shares(dpointwise_, team, pointwise_.grad);
    if (use_bias_) sum_thread_shares(dbias_, team, bias_.grad);
    if (grad_input) grad_input->resize(batch, this->input_shape());
    DepthwiseConv2D<T>::backward_batch(geometry_, batch, input.data(), depthwise_.value.data(),
                                       grad_depthwise_out_.data(), depthwise_.grad.data(), nullptr,
                                       grad_input ? grad_input->data() : nullptr);
  }

 protected:
  Shape infer_output_shape(const Shape& in) const override {
    const auto g = geometry_for(in);
    return Shape{filters_, g.out_h, g.out_w};
  }
  void initialize(Rng& rng) override {
    geometry_ = geometry_for(this->input_shape());
    const int c = geometry_.channels, kk = kernel_.h * kernel_.w, d = depth();
    depthwise_ = Parameter<T>("depthwise_kernel", {c, multiplier_, kernel_.h, kernel_.w});
    pointwise_ = Parameter<T>("pointwise_kernel", {filters_, d});
    // Keras's Glorot fans: depthwise (kh, kw, C, M), pointwise (1, 1, D, filters).
    glorot_uniform(depthwise_.value, double(kk) * c, double(kk) * multiplier_, rng);
    glorot_uniform(pointwise_.value, double(d), double(filters_), rng);
    if (use_bias_) bias_ = Parameter<T>("bias", {filters_});
  }

 private:
  int depth() const { return geometry_.channels * multiplier_; }
  int positions() const { return geometry_.out_h * geometry_.out_w; }

  // y (F x P) = activation(pointwise (F x D) * depthwise (D x P) + bias) for one sample: the
  // products are small (128 x 36 x 128 at mini-Xception's end), one serial GEMM each.
  void pointwise_sample(const T* depthwise, T* y) const {
    const int d = depth(), p = positions();
    gemm<T>(Transpose::no, Transpose::no, filters_, p, d, T(1), pointwise_.value.data(), d, depthwise, p, T(0), y, p);
    if (!bias_.value.empty()) add_to_rows(bias_.value.data(), filters_, std::size_t(p), y);
    apply_activation(activation_, y, std::size_t(filters_) * p);
  }
  ops::DepthwiseGeometry geometry_for(const Shape& in) const {
    if (in.rank() != 3) fail("SeparableConv2D: expects a (channels, height, width) input, got ", in);
    if (std::int64_t(in.channels()) * multiplier_ > (std::int64_t(1) << 26))
      fail("SeparableConv2D: ", in.channels(), " channels x depth_multiplier ", multiplier_, " is implausibly many");
    const bool same = padding_ == Padding::same;
    const ops::ConvAxis y = ops::conv_axis(in.height(), kernel_.h, strides_.h, same);
    const ops::ConvAxis x = ops::conv_axis(in.width(), kernel_.w, strides_.w, same);
    return {in.channels(), multiplier_, in.height(), in.width(), kernel_.h, kernel_.w,
            strides_.h, strides_.w, y.pad_before, x.pad_before, y.out, x.out};
  }

  int filters_;
  Size2 kernel_, strides_;
  Padding padding_;
  int multiplier_;
  Activation activation_;
  bool use_bias_;
  ops::DepthwiseGeometry geometry_{};
  Parameter<T> depthwise_;  // (C, M, kh, kw)
  Parameter<T> pointwise_;  // (filters, C*M)
  Parameter<T> bias_;       // (filters)
  Tensor<T> depthwise_out_, grad_depthwise_out_;  // (N, C*M, OH, OW): kept from forward for backward
  std::vector<AlignedVector<T>> dpointwise_, dbias_;  // per-thread gradient shares, by OpenMP thread number
};

}  // namespace minidnn
