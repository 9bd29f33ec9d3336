#pragma once
/// \file
/// SGD with optional momentum, Keras's rule:  v = momentum v - lr g;  w += v
/// (without momentum simply w -= lr g). Options (SGDOptions):
///   - nesterov: w += momentum v - lr g, the look-ahead step (Sutskever et al.); with a constant
///     rate it is exactly torch.optim.SGD(nesterov=True);
///   - weight_decay: L2 regularization, g += weight_decay * w before the update (PyTorch's
///     weight_decay; the loss gains weight_decay / 2 * |w|^2);
///   - clip_norm: see Optimizer::set_clip_norm.
///
///     SGD<float> sgd(0.01, {/*momentum=*/0.9, /*nesterov=*/true, /*weight_decay=*/5e-4});
///
/// A plain SGD (no nesterov, decay or clipping) saves under type "SGD" in the layout older files
/// have; any option makes it "SGD/2", which also stores the options.
#include "minidnn/core/error.hpp"
#include "minidnn/optim/optimizer.hpp"

namespace minidnn {

struct SGDOptions {
  double momentum = 0.0;
  bool nesterov = false;
  double weight_decay = 0.0;
  double clip_norm = 0.0;
};

template <typename T>
class SGD : public Optimizer<T> {
 public:
  explicit SGD(double learning_rate = 0.01, double momentum = 0.0) : SGD(learning_rate, SGDOptions{momentum}) {}
  SGD(double learning_rate, const SGDOptions& options)
      : lr_(learning_rate), momentum_(options.momentum), nesterov_(options.nesterov),
        weight_decay_(options.weight_decay) {
    if (!(learning_rate > 0)) fail("SGD: learning rate must be positive, got ", learning_rate);
    if (!(momentum_ >= 0 && momentum_ < 1)) fail("SGD: momentum must be in [0, 1), got ", momentum_);
    if (nesterov_ && !(momentum_ > 0)) fail("SGD: nesterov needs a momentum > 0");
    if (!(weight_decay_ >= 0)) fail("SGD: weight decay must be >= 0, got ", weight_decay_);
    this->set_clip_norm(options.clip_norm);
  }

  /// Where the model file's type string is "SGD/2": the options are stored too.
  static std::unique_ptr<Optimizer<T>> for_stored_type(const std::string& type) {
    auto sgd = std::make_unique<SGD>();
    if (type == "SGD/2") sgd->extended_ = true;
    else if (type != "SGD") return nullptr;
    return sgd;
  }

  std::string type() const override { return extended() ? "SGD/2" : "SGD"; }
  std::unique_ptr<Optimizer<T>> clone() const override { return std::make_unique<SGD>(*this); }
  int slot_count() const override { return momentum_ > 0 ? 1 : 0; }
  double learning_rate() const override { return lr_; }
  void set_learning_rate(double lr) override { lr_ = lr; }
  double momentum() const { return momentum_; }
  bool nesterov() const { return nesterov_; }
  double weight_decay() const { return weight_decay_; }

  void step(const std::vector<Parameter<T>*>& parameters) override {
    this->prepare(parameters);
    ++this->iterations_;
    const T lr = T(lr_), mu = T(momentum_), wd = T(weight_decay_);
    for (auto* p : parameters) {
      T* w = p->value.data();
      const T* grad = p->grad.data();
      const long n = static_cast<long>(p->size());
      T* v = momentum_ > 0 ? p->optimizer_slots[0].data() : nullptr;
#pragma omp parallel for schedule(static) if (n > 65536)
      for (long i = 0; i < n; ++i) {
        const T g = grad[i] + wd * w[i];
        if (!v) {
          w[i] -= lr * g;
        } else {
          v[i] = mu * v[i] - lr * g;
          w[i] += nesterov_ ? mu * v[i] - lr * g : v[i];
        }
      }
    }
  }

  void write_config(BinaryWriter& out) const override {
    Optimizer<T>::write_config(out);
    out.write<double>(lr_);
    out.write<double>(momentum_);
    if (extended()) {
      out.write<std::uint8_t>(nesterov_ ? 1 : 0);
      out.write<double>(weight_decay_);
      out.write<double>(this->clip_norm_);
    }
  }
  void read_config(BinaryReader& in) override {
    Optimizer<T>::read_config(in);
    lr_ = in.read<double>("SGD learning rate");
    momentum_ = in.read<double>("SGD momentum");
    if (extended_) {
      nesterov_ = in.read<std::uint8_t>("SGD nesterov") != 0;
      weight_decay_ = in.read<double>("SGD weight decay");
      const double clip = in.read<double>("SGD clip norm");
      if (!(clip >= 0) || !(weight_decay_ >= 0)) fail("SGD: stored weight decay or clip norm is negative");
      this->clip_norm_ = clip;
    }
    if (!(lr_ > 0) || !(momentum_ >= 0 && momentum_ < 1)) fail("SGD: stored learning rate or momentum out of range");
  }

 private:
  bool extended() const { return extended_ || nesterov_ || weight_decay_ != 0 || this->clip_norm_ != 0; }

  double lr_, momentum_;
  bool nesterov_ = false;
  double weight_decay_ = 0.0;
  bool extended_ = false;  // read from an "SGD/2" file
};

}  // namespace minidnn
