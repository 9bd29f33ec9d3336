#pragma once
/// \file
/// BatchNormalization: normalizes each channel of a (C, H, W) input, or each feature of a flat
/// (F,) input, by the batch's mean and variance in training and by moving averages of them in
/// inference, then scales by gamma and shifts by beta (ops/norm/batch_norm.hpp). Keras's defaults:
/// momentum 0.99, epsilon 1e-3, gamma ones, beta zeros, moving mean zeros, moving variance ones.
///
/// Each training forward updates moving = momentum * moving + (1 - momentum) * batch statistic,
/// with the batch's biased variance, as Keras does. The moving statistics are saved in model
/// files (non-trainable parameters, format version 2).
#include <algorithm>
#include <cstddef>
#include <sstream>
#include <string>

#include "minidnn/layers/layer.hpp"
#include "minidnn/ops/norm/batch_norm.hpp"

namespace minidnn {

template <typename T>
class BatchNormalization : public Layer<T> {
 public:
  explicit BatchNormalization(double momentum = 0.99, double epsilon = 1e-3) : momentum_(momentum), epsilon_(epsilon) {
    if (!(momentum >= 0.0 && momentum <= 1.0)) fail("BatchNormalization: momentum must be in [0, 1], got ", momentum);
    if (!(epsilon > 0.0 && epsilon < 1.0)) fail("BatchNormalization: epsilon must be in (0, 1), got ", epsilon);
  }

  std::string type() const override { return "BatchNormalization"; }
  std::string describe() const override {
    return "momentum " + format(momentum_) + ", epsilon " + format(epsilon_);
  }
  std::vector<Parameter<T>*> parameters() override { return {&gamma_, &beta_}; }
  std::vector<Parameter<T>*> non_trainable_parameters() override { return {&moving_mean_, &moving_variance_}; }
  std::size_t parameter_count_for(const Shape& input_shape) const override {
    return 4 * std::size_t(channels_of(input_shape));
  }
  double momentum() const { return momentum_; }
  double epsilon() const { return epsilon_; }

  void write_config(BinaryWriter& out) const override {
    out.write<double>(momentum_);
    out.write<double>(epsilon_);
  }
  static std::unique_ptr<Layer<T>> read_config(BinaryReader& in) {
    const double momentum = in.read<double>("BatchNormalization momentum");
    const double epsilon = in.read<double>("BatchNormalization epsilon");
    return std::make_unique<BatchNormalization>(momentum, epsilon);
  }

  void forward(const Tensor<T>& input, Tensor<T>& output, Mode mode) override {
    this->check_input(input);
    output.resize(input.batch(), this->output_shape());
    const int n = input.batch(), c = channels_of(this->input_shape());
    const std::ptrdiff_t s = std::ptrdiff_t(input.sample_size()) / c, stride = std::ptrdiff_t(input.sample_size());
    const T* x = input.data();
    T* y = output.data();
    const bool threads = double(input.size()) > 32768;
    if (mode == Mode::train) {
#pragma omp parallel for schedule(static) if (threads)
      for (int ch = 0; ch < c; ++ch)
        ops::batch_norm_channel_forward_train(x + ch * s, n, stride, s, gamma_.value[ch], beta_.value[ch], T(epsilon_),
                                              mean_[ch], variance_[ch], inv_std_[ch], y + ch * s);
      ops::update_moving_average(c, T(momentum_), mean_.data(), moving_mean_.value.data());
      ops::update_moving_average(c, T(momentum_), variance_.data(), moving_variance_.value.data());
    } else {
      prepare_sample_forward();
#pragma omp parallel for schedule(static) if (threads)
      for (int ch = 0; ch < c; ++ch)
        ops::batch_norm_channel_inference(x + ch * s, n, stride, s, scale_[ch], shift_[ch], y + ch * s);
    }
  }

  // Per channel of a feature map; after a Dense (one value per channel) the batch pass is the fast one.
  bool has_sample_forward(int) const override { return this->input_shape().rank() == 3; }
  void prepare_sample_forward() override {
    ops::batch_norm_inference_coefficients(channels_of(this->input_shape()), gamma_.value.data(), beta_.value.data(),
                                           moving_mean_.value.data(), moving_variance_.value.data(), T(epsilon_),
                                           scale_.data(), shift_.data());
  }
  void forward_sample(const T* x, T* y, T*) const override {
    const int c = channels_of(this->input_shape());
    const std::ptrdiff_t s = std::ptrdiff_t(this->input_shape().size()) / c;
    for (int ch = 0; ch < c; ++ch) ops::batch_norm_channel_inference(x + ch * s, 1, s, s, scale_[ch], shift_[ch], y + ch * s);
  }

  /// Requires the last forward to have been Mode::train (its batch statistics).
  void backward(const Tensor<T>& input, const Tensor<T>&, Tensor<T>& grad_output, Tensor<T>* grad_input) override {
    const int n = input.batch(), c = channels_of(this->input_shape());
    const std::ptrdiff_t s = std::ptrdiff_t(input.sample_size()) / c, stride = std::ptrdiff_t(input.sample_size());
    if (grad_input) grad_input->resize(n, this->input_shape());
    const T* x = input.data();
    const T* dy = grad_output.data();
    T* dx = grad_input ? grad_input->data() : nullptr;
#pragma omp parallel for schedule(static) if (double(input.size()) > 32768)
    for (int ch = 0; ch < c; ++ch)
      ops::batch_norm_channel_backward_train(x + ch * s, dy + ch * s, n, stride, s, gamma_.value[ch], mean_[ch],
                                             inv_std_[ch], gamma_.grad[ch], beta_.grad[ch], dx ? dx + ch * s : nullptr);
  }

 protected:
  Shape infer_output_shape(const Shape& in) const override {
    if (in.rank() != 1 && in.rank() != 3)
      fail("BatchNormalization: expects a (channels, height, width) or (features,) input, got ", in);
    return in;
  }
  void initialize(Rng&) override {
    const int c = channels_of(this->input_shape());
    gamma_ = Parameter<T>("gamma", {c});
    beta_ = Parameter<T>("beta", {c});
    moving_mean_ = Parameter<T>("moving_mean", {c});
    moving_variance_ = Parameter<T>("moving_variance", {c});
    std::fill(gamma_.value.begin(), gamma_.value.end(), T(1));
    std::fill(moving_variance_.value.begin(), moving_variance_.value.end(), T(1));
    for (auto* v : {&mean_, &variance_, &inv_std_, &scale_, &shift_}) v->assign(std::size_t(c), T(0));
  }

 private:
  static int channels_of(const Shape& in) { return in.rank() == 3 ? in.channels() : in[0]; }
  static std::string format(double v) {
    std::ostringstream out;
    out << v;
    return out.str();
  }

  double momentum_, epsilon_;
  Parameter<T> gamma_, beta_;                     // (C) trainable
  Parameter<T> moving_mean_, moving_variance_;    // (C) non-trainable, saved
  AlignedVector<T> mean_, variance_, inv_std_;    // (C) the last training batch's, for backward
  AlignedVector<T> scale_, shift_;                // (C) inference coefficients
};

}  // namespace minidnn
