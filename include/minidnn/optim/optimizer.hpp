#pragma once
/// \file
/// Optimizer<T>: updates parameters from their gradients. Its per-parameter state (moments,
/// velocities) lives in each Parameter's optimizer_slots, so it follows the parameter; the
/// optimizer itself holds only hyperparameters and the step count.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "minidnn/core/parameter.hpp"
#include "minidnn/io/binary_io.hpp"

namespace minidnn {

template <typename T>
class Optimizer {
 public:
  virtual ~Optimizer() = default;
  virtual std::string type() const = 0;
  /// One update of every parameter from its current grad.
  virtual void step(const std::vector<Parameter<T>*>& parameters) = 0;
  virtual std::unique_ptr<Optimizer> clone() const = 0;

  /// Updates done so far (Adam's t).
  std::int64_t iterations() const { return iterations_; }
  virtual double learning_rate() const = 0;
  virtual void set_learning_rate(double lr) = 0;

  /// Hyperparameters and step count, for checkpoints (the slots are saved with the parameters).
  virtual void write_config(BinaryWriter& out) const { out.write<std::int64_t>(iterations_); }
  virtual void read_config(BinaryReader& in) { iterations_ = in.read<std::int64_t>("optimizer iterations"); }
  /// Slots each parameter carries (Adam: 2, SGD with momentum: 1).
  virtual int slot_count() const = 0;

 protected:
  /// Gives each parameter `slot_count()` zeroed slots of its size, once.
  void ensure_slots(const std::vector<Parameter<T>*>& parameters) const {
    for (auto* p : parameters) {
      if (p->optimizer_slots.size() != static_cast<std::size_t>(slot_count()))
        p->optimizer_slots.assign(slot_count(), AlignedVector<T>(p->size(), T(0)));
    }
  }
  std::int64_t iterations_ = 0;
};

}  // namespace minidnn
