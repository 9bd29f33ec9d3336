#pragma once
/// \file
/// OneCycle: Smith's one-cycle policy, a per-batch schedule for FitOptions::step_learning_rate,
/// exactly torch.optim.lr_scheduler.OneCycleLR with cosine annealing: a warm-up from
/// max_rate / div_factor up to max_rate over the first pct_start of the steps, then a cosine
/// fall to max_rate / (div_factor * final_div_factor) at the last step. The warm-up lets a large
/// rate be used without the first, badly scaled gradients throwing the weights far away.
///
///     options.step_learning_rate = minidnn::OneCycle{3e-3, epochs * batches_per_epoch};
#include <algorithm>
#include <cmath>
#include <cstdint>

#include "minidnn/core/error.hpp"

namespace minidnn {

struct OneCycle {
  double max_rate = 1e-3;
  std::int64_t total_steps = 1;  // batches in the whole run
  double pct_start = 0.3;        // fraction of the steps spent warming up
  double div_factor = 25.0;      // initial rate = max_rate / div_factor
  double final_div_factor = 1e4; // final rate = initial rate / final_div_factor

  /// The learning rate for the `step`-th batch (0-based, counted over the whole run); steps past
  /// the end keep the final rate.
  double operator()(std::int64_t step) const {
    if (!(max_rate > 0) || total_steps < 2 || !(pct_start > 0 && pct_start < 1) || !(div_factor > 0) ||
        !(final_div_factor > 0) || step < 0)
      fail("OneCycle: need max_rate > 0, total_steps >= 2, pct_start in (0, 1), positive divisors and step >= 0; got ",
           max_rate, ", ", total_steps, ", ", pct_start, ", ", div_factor, ", ", final_div_factor, ", ", step);
    const double initial = max_rate / div_factor, final_rate = initial / final_div_factor;
    const double warmup_end = pct_start * double(total_steps) - 1, last = double(total_steps - 1);
    const double s = double(std::min(step, total_steps - 1));
    if (s <= warmup_end) return anneal(initial, max_rate, s / warmup_end);
    return anneal(max_rate, final_rate, (s - warmup_end) / (last - warmup_end));
  }

 private:
  // Cosine from `start` (pct 0) to `end` (pct 1).
  static double anneal(double start, double end, double pct) {
    return end + (start - end) / 2.0 * (std::cos(std::acos(-1.0) * pct) + 1.0);
  }
};

}  // namespace minidnn
