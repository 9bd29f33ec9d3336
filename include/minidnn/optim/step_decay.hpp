#pragma once
/// \file
/// StepDecay: a learning-rate schedule for FitOptions::learning_rate that multiplies the base
/// rate by `factor` every `every` epochs (the classic ResNet/VGG recipe):
///
///     options.learning_rate = minidnn::StepDecay{0.1, 0.1, 30};  // epoch e: 0.1 * 0.1^floor(e / 30)
#include <cmath>

#include "minidnn/core/error.hpp"

namespace minidnn {

struct StepDecay {
  double base_rate = 1e-3;
  double factor = 0.1;  // in (0, 1]
  int every = 10;       // epochs between drops

  /// The learning rate for `epoch` (0-based).
  double operator()(int epoch) const {
    if (!(base_rate > 0) || !(factor > 0 && factor <= 1) || every < 1 || epoch < 0)
      fail("StepDecay: need a positive base rate, factor in (0, 1], every >= 1 and epoch >= 0; got ", base_rate, ", ",
           factor, ", ", every, ", ", epoch);
    return base_rate * std::pow(factor, epoch / every);
  }
};

}  // namespace minidnn
