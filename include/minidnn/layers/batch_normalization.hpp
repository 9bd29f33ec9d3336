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
#include <cmath>
#include <cstddef>
#include <sstream>
#include <string>
#include <vector>

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
    if (mode == Mode::train) return forward_train(input, output, ops::Pointwise::linear);
    this->check_input(input);
    output.resize(input.batch(), this->output_shape());
    prepare_sample_forward();
    const int c = channels_of(this->input_shape());
    const std::ptrdiff_t s = std::ptrdiff_t(input.sample_size()) / c;
    for_each_block(input, [&](int first, int count) {
      ops::batch_norm_apply(input.sample(first), count, c, s, scale_.data(), shift_.data(), false, output.sample(first));
    });
  }

  /// The training forward with `activation` (linear or relu: ops::fuses_after_batch_norm) applied
  /// in the same pass: Model runs it for a BatchNormalization whose only consumer is an
  /// Activation layer, writing that layer's output.
  void forward_train(const Tensor<T>& input, Tensor<T>& output, ops::Pointwise activation) {
    this->check_input(input);
    check_fusable(activation);
    output.resize(input.batch(), this->output_shape());
    const int c = channels_of(this->input_shape());
    const std::ptrdiff_t s = std::ptrdiff_t(input.sample_size()) / c;
    for (int ch = 0; ch < c; ++ch) origin_[ch] = double(input[std::size_t(ch * s)]);
    sum_blocks(input, [&](int first, int count, double* sum, double* squares) {
      ops::batch_norm_forward_sums(input.sample(first), count, c, s, origin_.data(), sum, squares);
    });
    const double m = double(input.batch()) * double(s);
    for (int ch = 0; ch < c; ++ch) {
      const double mean_shifted = sums_[ch] / m;
      const double variance = std::max(0.0, sums_[c + ch] / m - mean_shifted * mean_shifted);
      mean_[ch] = T(origin_[ch] + mean_shifted);
      variance_[ch] = T(variance);
      inv_std_[ch] = T(1.0 / std::sqrt(variance + double(T(epsilon_))));
      ops::batch_norm_train_coefficients(gamma_.value[ch], beta_.value[ch], mean_[ch], inv_std_[ch], train_scale_[ch],
                                         train_shift_[ch]);
    }
    const bool relu = activation == ops::Pointwise::relu;
    for_each_block(input, [&](int first, int count) {
      ops::batch_norm_apply(input.sample(first), count, c, s, train_scale_.data(), train_shift_.data(), relu,
                            output.sample(first));
    });
    ops::update_moving_average(c, T(momentum_), mean_.data(), moving_mean_.value.data());
    ops::update_moving_average(c, T(momentum_), variance_.data(), moving_variance_.value.data());
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
    ops::batch_norm_apply(x, 1, c, std::ptrdiff_t(this->input_shape().size()) / c, scale_.data(), shift_.data(), false, y);
  }

  /// Requires the last forward to have been Mode::train (its batch statistics).
  void backward(const Tensor<T>& input, const Tensor<T>&, Tensor<T>& grad_output, Tensor<T>* grad_input) override {
    backward_train(input, grad_output, grad_input, ops::Pointwise::linear);
  }

  /// The backward of forward_train(input, output, activation): grad_output is the gradient of its
  /// activated output. The gradients of gamma and beta are written, not added.
  void backward_train(const Tensor<T>& input, const Tensor<T>& grad_output, Tensor<T>* grad_input,
                      ops::Pointwise activation) {
    check_fusable(activation);
    const bool relu = activation == ops::Pointwise::relu;
    const int c = channels_of(this->input_shape());
    const std::ptrdiff_t s = std::ptrdiff_t(input.sample_size()) / c;
    sum_blocks(input, [&](int first, int count, double* sum_dy, double* sum_dy_xhat) {
      ops::batch_norm_backward_sums(input.sample(first), grad_output.sample(first), count, c, s, mean_.data(),
                                    inv_std_.data(), train_scale_.data(), train_shift_.data(), relu, sum_dy, sum_dy_xhat);
    });
    const double m = double(input.batch()) * double(s);
    for (int ch = 0; ch < c; ++ch) {
      beta_.grad[ch] = T(sums_[ch]);
      gamma_.grad[ch] = T(sums_[c + ch]);
      // dx = a * dy + b * xhat + c0, one multiply-add chain per element.
      const double k = double(gamma_.value[ch]) * double(inv_std_[ch]);
      dx_a_[ch] = T(k);
      dx_b_[ch] = T(-k * sums_[c + ch] / m);
      dx_c0_[ch] = T(-k * sums_[ch] / m);
    }
    if (!grad_input) return;
    grad_input->resize(input.batch(), this->input_shape());
    for_each_block(input, [&](int first, int count) {
      ops::batch_norm_backward_apply(input.sample(first), grad_output.sample(first), count, c, s, mean_.data(),
                                     inv_std_.data(), train_scale_.data(), train_shift_.data(), relu, dx_a_.data(),
                                     dx_b_.data(), dx_c0_.data(), grad_input->sample(first));
    });
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
    for (auto* v : {&mean_, &variance_, &inv_std_, &train_scale_, &train_shift_, &scale_, &shift_, &dx_a_, &dx_b_, &dx_c0_})
      v->assign(std::size_t(c), T(0));
    origin_.assign(std::size_t(c), 0.0);
  }

 private:
  static int channels_of(const Shape& in) { return in.rank() == 3 ? in.channels() : in[0]; }
  // Before the parallel loops: an exception must not leave an OpenMP region.
  static void check_fusable(ops::Pointwise f) {
    if (!ops::fuses_after_batch_norm(f)) fail("BatchNormalization: cannot apply ", ops::to_string(f), " in its passes");
  }
  // Samples per block: the unit of the passes' parallel loops and of the sums, which are added
  // block by block in order, so that the statistics do not depend on the number of threads.
  static constexpr int kBlock = 8;
  static int blocks_of(const Tensor<T>& input) { return (input.batch() + kBlock - 1) / kBlock; }
  // A pass over a small batch costs less than waking the threads.
  static bool parallel_pass(const Tensor<T>& input) { return double(input.size()) > 32768; }

  // Runs f(first sample, count) over the blocks of the batch, in parallel.
  template <typename F>
  static void for_each_block(const Tensor<T>& input, F&& f) {
    const int blocks = blocks_of(input), n = input.batch();
#pragma omp parallel for schedule(static) if (parallel_pass(input))
    for (int b = 0; b < blocks; ++b) f(b * kBlock, std::min(kBlock, n - b * kBlock));
  }
  // Runs f(first, count, a, b) over the blocks in parallel, each adding its per-channel sums to
  // zeroed a and b (C doubles each), and leaves their totals over the blocks in sums_ (C for a,
  // then C for b).
  template <typename F>
  void sum_blocks(const Tensor<T>& input, F&& f) {
    const int c = channels_of(this->input_shape()), blocks = blocks_of(input);
    block_sums_.assign(std::size_t(blocks) * 2 * c, 0.0);
    for_each_block(input, [&](int first, int count) {
      double* a = block_sums_.data() + std::size_t(first / kBlock) * 2 * c;
      f(first, count, a, a + c);
    });
    sums_.assign(std::size_t(2 * c), 0.0);
    for (int b = 0; b < blocks; ++b)
      for (int i = 0; i < 2 * c; ++i) sums_[i] += block_sums_[std::size_t(b) * 2 * c + i];
  }
  static std::string format(double v) {
    std::ostringstream out;
    out << v;
    return out.str();
  }

  double momentum_, epsilon_;
  Parameter<T> gamma_, beta_;                     // (C) trainable
  Parameter<T> moving_mean_, moving_variance_;    // (C) non-trainable, saved
  AlignedVector<T> mean_, variance_, inv_std_;    // (C) the last training batch's, for backward
  AlignedVector<T> train_scale_, train_shift_;    // (C) its y = x * scale + shift
  AlignedVector<T> scale_, shift_;                // (C) inference coefficients
  AlignedVector<T> dx_a_, dx_b_, dx_c0_;          // (C) backward's dx = a * dy + b * xhat + c0
  std::vector<double> origin_;                    // (C) the training forward's shift of its sums
  std::vector<double> block_sums_, sums_;         // (blocks, 2, C) and (2, C) sums of the passes
};

}  // namespace minidnn
