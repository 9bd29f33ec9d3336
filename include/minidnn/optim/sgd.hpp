#pragma once
/// \file
/// SGD with optional momentum, Keras's rule:  v = momentum v - lr g;  w += v
/// (without momentum simply w -= lr g).
#include "minidnn/core/error.hpp"
#include "minidnn/optim/optimizer.hpp"

namespace minidnn {

template <typename T>
class SGD : public Optimizer<T> {
 public:
  explicit SGD(double learning_rate = 0.01, double momentum = 0.0) : lr_(learning_rate), momentum_(momentum) {
    if (!(learning_rate > 0)) fail("SGD: learning rate must be positive, got ", learning_rate);
    if (!(momentum >= 0 && momentum < 1)) fail("SGD: momentum must be in [0, 1), got ", momentum);
  }

  std::string type() const override { return "SGD"; }
  std::unique_ptr<Optimizer<T>> clone() const override { return std::make_unique<SGD>(*this); }
  int slot_count() const override { return momentum_ > 0 ? 1 : 0; }
  double learning_rate() const override { return lr_; }
  void set_learning_rate(double lr) override { lr_ = lr; }

  void step(const std::vector<Parameter<T>*>& parameters) override {
    this->ensure_slots(parameters);
    ++this->iterations_;
    const T lr = T(lr_), mu = T(momentum_);
    for (auto* p : parameters) {
      T* w = p->value.data();
      const T* g = p->grad.data();
      const std::size_t n = p->size();
      if (momentum_ > 0) {
        T* v = p->optimizer_slots[0].data();
        for (std::size_t i = 0; i < n; ++i) {
          v[i] = mu * v[i] - lr * g[i];
          w[i] += v[i];
        }
      } else {
        for (std::size_t i = 0; i < n; ++i) w[i] -= lr * g[i];
      }
    }
  }

  void write_config(BinaryWriter& out) const override {
    Optimizer<T>::write_config(out);
    out.write<double>(lr_);
    out.write<double>(momentum_);
  }
  void read_config(BinaryReader& in) override {
    Optimizer<T>::read_config(in);
    lr_ = in.read<double>("SGD learning rate");
    momentum_ = in.read<double>("SGD momentum");
  }

 private:
  double lr_, momentum_;
};

}  // namespace minidnn
