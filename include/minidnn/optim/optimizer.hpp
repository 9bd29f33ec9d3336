#pragma once
/// \file
/// Optimizer<T>: updates parameters from their gradients. Its per-parameter state (moments,
/// velocities) lives in each Parameter's optimizer_slots, so it follows the parameter; the
/// optimizer itself holds only hyperparameters and the step count.
///
/// Every optimizer can clip the gradients by their global norm before its update
/// (set_clip_norm, PyTorch's clip_grad_norm_): when the L2 norm of all gradients together exceeds
/// max_norm, every gradient is scaled by max_norm / (norm + 1e-6). One exploding batch then moves
/// the weights no further than a normal one.
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "minidnn/core/error.hpp"
#include "minidnn/core/parameter.hpp"
#include "minidnn/io/binary_io.hpp"

namespace minidnn {

/// Scales the gradients of `parameters` in place so that their global L2 norm is at most
/// `max_norm` (PyTorch's clip_grad_norm_). Returns the norm before clipping.
template <typename T>
double clip_by_global_norm(const std::vector<Parameter<T>*>& parameters, double max_norm) {
  double sum = 0.0;
  for (const auto* p : parameters)
    for (T g : p->grad) sum += double(g) * double(g);
  const double norm = std::sqrt(sum);
  const double scale = max_norm / (norm + 1e-6);
  if (scale < 1.0)
    for (auto* p : parameters)
      for (T& g : p->grad) g = T(g * scale);
  return norm;
}

template <typename T>
class Optimizer {
 public:
  virtual ~Optimizer() = default;
  virtual std::string type() const = 0;
  /// One update of every parameter from its current grad (clipped first when set_clip_norm was
  /// given a limit: the grads are changed in place).
  virtual void step(const std::vector<Parameter<T>*>& parameters) = 0;
  virtual std::unique_ptr<Optimizer> clone() const = 0;

  /// Updates done so far (Adam's t).
  std::int64_t iterations() const { return iterations_; }
  virtual double learning_rate() const = 0;
  virtual void set_learning_rate(double lr) = 0;

  /// Clip the gradients to this global L2 norm before each update; 0 turns clipping off.
  void set_clip_norm(double max_norm) {
    if (!(max_norm >= 0) || !std::isfinite(max_norm)) fail("optimizer: clip norm must be >= 0, got ", max_norm);
    clip_norm_ = max_norm;
  }
  double clip_norm() const { return clip_norm_; }

  /// Hyperparameters and step count, for checkpoints (the slots are saved with the parameters).
  virtual void write_config(BinaryWriter& out) const { out.write<std::int64_t>(iterations_); }
  virtual void read_config(BinaryReader& in) { iterations_ = in.read<std::int64_t>("optimizer iterations"); }
  /// Slots each parameter carries (Adam: 2, SGD with momentum: 1).
  virtual int slot_count() const = 0;

 protected:
  /// Gives each parameter `slot_count()` zeroed slots of its size, once, and clips the grads.
  void prepare(const std::vector<Parameter<T>*>& parameters) const {
    ensure_slots(parameters);
    if (clip_norm_ > 0) clip_by_global_norm(parameters, clip_norm_);
  }
  /// Gives each parameter `slot_count()` zeroed slots of its size, once.
  void ensure_slots(const std::vector<Parameter<T>*>& parameters) const {
    for (auto* p : parameters) {
      if (p->optimizer_slots.size() != static_cast<std::size_t>(slot_count()))
        p->optimizer_slots.assign(slot_count(), AlignedVector<T>(p->size(), T(0)));
    }
  }
  std::int64_t iterations_ = 0;
  double clip_norm_ = 0.0;
};

}  // namespace minidnn
