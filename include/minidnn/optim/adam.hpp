#pragma once
/// \file
/// Adam (Kingma & Ba) with Keras's defaults and update rule:
///     m = b1 m + (1 - b1) g;   v = b2 v + (1 - b2) g^2
///     w -= lr * sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps)
/// and AdamW (Loshchilov & Hutter), Adam with decoupled weight decay: before the Adam update
///     w -= lr * weight_decay * w
/// (as torch.optim.AdamW and Keras's AdamW), so the decay does not pass through the moments and
/// shrinks every weight by the same fraction, however large its gradients.
///
/// A plain Adam saves under type "Adam" in the layout older files have; with a clip norm it is
/// "Adam/2"; AdamW is "AdamW". Both newer layouts add weight decay and clip norm.
#include <cmath>

#include "minidnn/core/error.hpp"
#include "minidnn/optim/optimizer.hpp"

namespace minidnn {

template <typename T>
class Adam : public Optimizer<T> {
 public:
  explicit Adam(double learning_rate = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double epsilon = 1e-7)
      : lr_(learning_rate), beta1_(beta1), beta2_(beta2), epsilon_(epsilon) {
    check_ranges("Adam");
  }

  /// Where the model file's type string is "Adam", "Adam/2" or "AdamW"; null for another type.
  static std::unique_ptr<Optimizer<T>> for_stored_type(const std::string& type) {
    if (type != "Adam" && type != "Adam/2" && type != "AdamW") return nullptr;
    auto adam = std::make_unique<Adam>();
    adam->decoupled_ = type == "AdamW";
    adam->extended_ = type != "Adam";
    return adam;
  }

  std::string type() const override { return decoupled_ ? "AdamW" : extended() ? "Adam/2" : "Adam"; }
  std::unique_ptr<Optimizer<T>> clone() const override { return std::make_unique<Adam>(*this); }
  int slot_count() const override { return 2; }
  double learning_rate() const override { return lr_; }
  void set_learning_rate(double lr) override { lr_ = lr; }
  double weight_decay() const { return weight_decay_; }

  void step(const std::vector<Parameter<T>*>& parameters) override {
    this->prepare(parameters);
    const std::int64_t t = ++this->iterations_;
    const double step_size = lr_ * std::sqrt(1.0 - std::pow(beta2_, double(t))) / (1.0 - std::pow(beta1_, double(t)));
    const T b1 = T(beta1_), b2 = T(beta2_), a = T(step_size), eps = T(epsilon_);
    const T keep = T(1.0 - lr_ * weight_decay_);
    for (auto* p : parameters) {
      T* w = p->value.data();
      const T* g = p->grad.data();
      T* m = p->optimizer_slots[0].data();
      T* v = p->optimizer_slots[1].data();
      const long n = static_cast<long>(p->size());
#pragma omp parallel for schedule(static) if (n > 65536)
      for (long i = 0; i < n; ++i) {
        m[i] = b1 * m[i] + (T(1) - b1) * g[i];
        v[i] = b2 * v[i] + (T(1) - b2) * g[i] * g[i];
        w[i] = keep * w[i] - a * m[i] / (std::sqrt(v[i]) + eps);
      }
    }
  }

  void write_config(BinaryWriter& out) const override {
    Optimizer<T>::write_config(out);
    for (double x : {lr_, beta1_, beta2_, epsilon_}) out.write<double>(x);
    if (extended() || decoupled_) {
      out.write<double>(weight_decay_);
      out.write<double>(this->clip_norm_);
    }
  }
  void read_config(BinaryReader& in) override {
    Optimizer<T>::read_config(in);
    lr_ = in.read<double>("Adam learning rate");
    beta1_ = in.read<double>("Adam beta1");
    beta2_ = in.read<double>("Adam beta2");
    epsilon_ = in.read<double>("Adam epsilon");
    if (extended_) {
      weight_decay_ = in.read<double>("Adam weight decay");
      const double clip = in.read<double>("Adam clip norm");
      if (!(clip >= 0)) fail("Adam: stored clip norm is negative");
      this->clip_norm_ = clip;
    }
    check_ranges(type().c_str());
  }

 protected:
  void check_ranges(const char* name) const {
    if (!(lr_ > 0)) fail(name, ": learning rate must be positive, got ", lr_);
    if (!(beta1_ >= 0 && beta1_ < 1) || !(beta2_ >= 0 && beta2_ < 1))
      fail(name, ": betas must be in [0, 1), got ", beta1_, " and ", beta2_);
    if (!(epsilon_ > 0)) fail(name, ": epsilon must be positive, got ", epsilon_);
    if (!(weight_decay_ >= 0)) fail(name, ": weight decay must be >= 0, got ", weight_decay_);
  }
  bool extended() const { return extended_ || decoupled_ || this->clip_norm_ != 0; }

  double lr_, beta1_, beta2_, epsilon_;
  double weight_decay_ = 0.0;
  bool decoupled_ = false;  // AdamW
  bool extended_ = false;   // read from an "Adam/2" or "AdamW" file
};

/// Adam with decoupled weight decay (torch.optim.AdamW's defaults but Keras's epsilon placement
/// and value):  w -= lr * weight_decay * w, then the Adam step.
template <typename T>
class AdamW : public Adam<T> {
 public:
  explicit AdamW(double learning_rate = 1e-3, double weight_decay = 0.01, double beta1 = 0.9, double beta2 = 0.999,
                 double epsilon = 1e-7)
      : Adam<T>(learning_rate, beta1, beta2, epsilon) {
    this->weight_decay_ = weight_decay;
    this->decoupled_ = true;
    this->check_ranges("AdamW");
  }
};

}  // namespace minidnn
