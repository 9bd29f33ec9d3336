#pragma once
/// \file
/// CosineDecay: a learning-rate schedule for FitOptions::learning_rate, falling from the base rate
/// at the first epoch towards zero along half a cosine (Loshchilov & Hutter's SGDR without
/// restarts). Late epochs take small steps, so the weights settle instead of swinging around the
/// minimum they reached.
///
///     options.learning_rate = minidnn::CosineDecay{1e-3, 30};  // epoch e: 1e-3 * (1 + cos(pi e / 30)) / 2
#include <cmath>

#include "minidnn/core/error.hpp"

namespace minidnn {

struct CosineDecay {
  double base_rate = 1e-3;
  int epochs = 1;  // the length of the run; epoch `epochs` would reach zero

  /// The learning rate for `epoch` (0-based).
  double operator()(int epoch) const {
    if (!(base_rate > 0) || epochs < 1 || epoch < 0)
      fail("CosineDecay: need a positive base rate, epochs >= 1 and epoch >= 0; got ", base_rate, ", ", epochs, ", ", epoch);
    if (epoch >= epochs) return 0.0;
    const double pi = std::acos(-1.0);
    return base_rate * 0.5 * (1.0 + std::cos(pi * epoch / epochs));
  }
};

}  // namespace minidnn
