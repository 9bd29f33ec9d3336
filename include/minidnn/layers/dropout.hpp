#pragma once
/// \file
/// Dropout: inverted dropout. In training each value is zeroed with probability `rate` and the
/// survivors are scaled by 1 / (1 - rate), so inference is the identity and needs no rescaling.
/// The mask comes from the layer's own generator, seeded when the model is built, so a seed
/// fixes the masks of a whole run. In data-parallel training (distributed/data_parallel.hpp) a
/// rank that trains samples [first, first + n) of each global batch sets that window: it then
/// draws the global batch's whole mask and keeps its samples' part, so its masks and generator
/// state are exactly those of one process training the global batch.
#include <cstdint>
#include <string>

#include "minidnn/core/aligned_vector.hpp"
#include "minidnn/layers/layer.hpp"

namespace minidnn {

template <typename T>
class Dropout : public Layer<T> {
 public:
  explicit Dropout(double rate) : rate_(rate) {
    if (!(rate >= 0.0 && rate < 1.0)) fail("Dropout: rate must be in [0, 1), got ", rate);
  }

  std::string type() const override { return "Dropout"; }
  std::string describe() const override { return "rate " + std::to_string(rate_).substr(0, 4); }
  double rate() const { return rate_; }

  void write_config(BinaryWriter& out) const override { out.write<double>(rate_); }
  static std::unique_ptr<Layer<T>> read_config(BinaryReader& in) {
    const double rate = in.read<double>("Dropout rate");
    if (!(rate >= 0.0 && rate < 1.0)) fail(in.what(), ": Dropout rate ", rate, " is outside [0, 1)");
    return std::make_unique<Dropout>(rate);
  }
  void write_state(BinaryWriter& out) const override {
    for (int i = 0; i < 4; ++i) out.write<std::uint64_t>(rng_.state()[i]);
  }
  void read_state(BinaryReader& in) override {
    std::uint64_t s[4];
    for (auto& w : s) w = in.read<std::uint64_t>("Dropout generator state");
    rng_.set_state(s);
  }

  /// The batches seen are samples [first, first + batch) of global batches of `global` samples
  /// (global 0: each batch is the whole batch, as without data parallelism).
  void set_batch_window(int first, int global) {
    if (first < 0 || global < 0 || (global > 0 && first >= global))
      fail("Dropout: batch window from ", first, " of ", global, " samples");
    window_first_ = first;
    window_global_ = global;
  }
  /// Moves the generator past the masks of `samples` samples (those of other ranks).
  void skip_samples(int samples) {
    const std::size_t draws = std::size_t(samples) * this->input_shape().size();
    for (std::size_t i = 0; i < draws; ++i) rng_.next_u64();
  }

  void forward(const Tensor<T>& input, Tensor<T>& output, Mode mode) override {
    this->check_input(input);
    output.resize(input.batch(), this->output_shape());
    if (mode != Mode::train || rate_ == 0.0) {
      std::copy(input.begin(), input.end(), output.begin());
      last_was_training_ = false;
      return;
    }
    if (mask_.size() < input.size()) mask_.resize(input.size());
    if (window_global_ > 0 && window_first_ + input.batch() > window_global_)
      fail("Dropout: a batch of ", input.batch(), " from sample ", window_first_, " of ", window_global_);
    if (window_global_ > 0) skip_samples(window_first_);
    const T scale = T(1.0 / (1.0 - rate_));
    // Compare 53-bit uniforms against the rate: exact for any rate, same on every platform.
    for (std::size_t i = 0; i < input.size(); ++i) {
      mask_[i] = rng_.uniform() >= rate_ ? scale : T(0);
      output[i] = input[i] * mask_[i];
    }
    if (window_global_ > 0) skip_samples(window_global_ - window_first_ - input.batch());
    last_was_training_ = true;
  }

  void backward(const Tensor<T>& input, const Tensor<T>&, Tensor<T>& grad_output,
                Tensor<T>* grad_input) override {
    if (!grad_input) return;
    grad_input->resize(input.batch(), this->input_shape());
    if (!last_was_training_) {
      std::copy(grad_output.begin(), grad_output.end(), grad_input->begin());
      return;
    }
    for (std::size_t i = 0; i < input.size(); ++i) (*grad_input)[i] = grad_output[i] * mask_[i];
  }

 protected:
  Shape infer_output_shape(const Shape& in) const override { return in; }
  void initialize(Rng& rng) override { rng_.reseed(rng.next_u64()); }

 private:
  double rate_;
  Rng rng_;
  AlignedVector<T> mask_;  // 0 or 1/(1-rate) per value of the last training batch
  bool last_was_training_ = false;
  int window_first_ = 0, window_global_ = 0;  // set_batch_window
};

}  // namespace minidnn
