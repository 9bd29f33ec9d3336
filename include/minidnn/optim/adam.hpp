#pragma once
/// \file
/// Adam (Kingma & Ba) with Keras's defaults and update rule:
///     m = b1 m + (1 - b1) g;   v = b2 v + (1 - b2) g^2
///     w -= lr * sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps)
#include <cmath>

#include "minidnn/core/error.hpp"
#include "minidnn/optim/optimizer.hpp"

namespace minidnn {

template <typename T>
class Adam : public Optimizer<T> {
 public:
  explicit Adam(double learning_rate = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double epsilon = 1e-7)
      : lr_(learning_rate), beta1_(beta1), beta2_(beta2), epsilon_(epsilon) {
    if (!(learning_rate > 0)) fail("Adam: learning rate must be positive, got ", learning_rate);
    if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1))
      fail("Adam: betas must be in [0, 1), got ", beta1, " and ", beta2);
    if (!(epsilon > 0)) fail("Adam: epsilon must be positive, got ", epsilon);
  }

  std::string type() const override { return "Adam"; }
  std::unique_ptr<Optimizer<T>> clone() const override { return std::make_unique<Adam>(*this); }
  int slot_count() const override { return 2; }
  double learning_rate() const override { return lr_; }
  void set_learning_rate(double lr) override { lr_ = lr; }

  void step(const std::vector<Parameter<T>*>& parameters) override {
    this->ensure_slots(parameters);
    const std::int64_t t = ++this->iterations_;
    const double step_size = lr_ * std::sqrt(1.0 - std::pow(beta2_, double(t))) / (1.0 - std::pow(beta1_, double(t)));
    const T b1 = T(beta1_), b2 = T(beta2_), a = T(step_size), eps = T(epsilon_);
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
        w[i] -= a * m[i] / (std::sqrt(v[i]) + eps);
      }
    }
  }

  void write_config(BinaryWriter& out) const override {
    Optimizer<T>::write_config(out);
    for (double x : {lr_, beta1_, beta2_, epsilon_}) out.write<double>(x);
  }
  void read_config(BinaryReader& in) override {
    Optimizer<T>::read_config(in);
    lr_ = in.read<double>("Adam learning rate");
    beta1_ = in.read<double>("Adam beta1");
    beta2_ = in.read<double>("Adam beta2");
    epsilon_ = in.read<double>("Adam epsilon");
  }

 private:
  double lr_, beta1_, beta2_, epsilon_;
};

}  // namespace minidnn
