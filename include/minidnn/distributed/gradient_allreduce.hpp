#pragma once
/// \file
/// GradientAllreduce<T>: sums every rank's gradients with MPI, in buckets, overlapped with
/// backward. It is the Model's GradientObserver (model/functional.hpp): when backward reports a
/// node's gradients final they are copied, scaled by this rank's weight, into their bucket's flat
/// buffer, and a bucket whose parameters are all in starts at once as a non-blocking
/// MPI_Iallreduce; backward_done() (before the optimizer step) starts what is left, waits for all
/// buckets and copies the sums back into the gradients.
///
/// The weight of a rank is its share of the global batch (local samples / global samples): each
/// rank's gradient is a mean over its own samples, so the weighted sum is exactly the mean over
/// the global batch, also when the ranks' batches differ in size (or one has none).
///
/// Buckets hold whole parameters, in reverse order of the model's parameters (the order backward
/// finishes them), and are closed once they reach `bucket_elements` scalars; every rank builds
/// the same buckets from the same model and starts them in the same order, as MPI requires of
/// collectives. Open MPI progresses non-blocking collectives only inside MPI calls, so each
/// report also tests the buckets in flight.
#include <mpi.h>

#include <chrono>
#include <cstddef>
#include <unordered_map>
#include <vector>

#include "minidnn/core/error.hpp"
#include "minidnn/core/parameter.hpp"
#include "minidnn/distributed/environment.hpp"
#include "minidnn/model/functional.hpp"

namespace minidnn::distributed {

/// What the allreduce did so far (since construction or reset_statistics()).
struct AllreduceStatistics {
  long steps = 0;                 // backward_done() calls
  double wait_seconds = 0.0;      // in backward_done(): communication not hidden behind backward
};

template <typename T>
class GradientAllreduce : public GradientObserver<T> {
 public:
  /// `parameters`: the model's trainable parameters in forward order (Model::parameters()).
  /// overlap = false starts every bucket only in backward_done() (for measuring what overlap hides).
  GradientAllreduce(const MpiEnvironment& environment, const std::vector<Parameter<T>*>& parameters,
                    std::size_t bucket_elements = std::size_t(1) << 20, bool overlap = true)
      : environment_(environment), overlap_(overlap) {
    if (bucket_elements < 1) fail("GradientAllreduce: bucket_elements must be at least 1");
    for (std::size_t k = parameters.size(); k-- > 0;) {
      Parameter<T>* p = parameters[k];
      if (buckets_.empty() || buckets_.back().data.size() >= bucket_elements) buckets_.emplace_back();
      Bucket& bucket = buckets_.back();
      slot_of_[p] = int(slots_.size());
      slots_.push_back(Slot{p, int(buckets_.size()) - 1, bucket.data.size(), false});
      bucket.data.resize(bucket.data.size() + p->grad.size());
      ++bucket.parameters;
    }
    for (auto& bucket : buckets_) bucket.pending = bucket.parameters;
  }
  GradientAllreduce(const GradientAllreduce&) = delete;
  GradientAllreduce& operator=(const GradientAllreduce&) = delete;
  ~GradientAllreduce() override {
    for (auto& bucket : buckets_)
      if (bucket.started && !bucket.done) MPI_Wait(&bucket.request, MPI_STATUS_IGNORE);
  }

  /// This rank's share of the next step's global batch: local samples / global samples.
  void set_weight(double weight) { weight_ = T(weight); }
  std::size_t buckets() const { return buckets_.size(); }
  std::size_t elements() const {
    std::size_t n = 0;
    for (const auto& bucket : buckets_) n += bucket.data.size();
    return n;
  }
  const AllreduceStatistics& statistics() const { return statistics_; }
  void reset_statistics() { statistics_ = {}; }

  void gradients_ready(const std::vector<Parameter<T>*>& parameters) override {
    for (Parameter<T>* p : parameters) {
      const auto found = slot_of_.find(p);
      if (found == slot_of_.end()) fail("GradientAllreduce: a parameter (", p->name, ") it was not made for");
      take(slots_[found->second]);
    }
    for (auto& bucket : buckets_)  // drive the buckets in flight (Open MPI has no progress thread)
      if (bucket.started && !bucket.done) {
        int flag = 0;
        check_mpi(MPI_Test(&bucket.request, &flag, MPI_STATUS_IGNORE), "MPI_Test");
        if (flag) bucket.done = true;
      }
  }

  /// Starts the buckets not started yet (taking any gradient not reported), waits for all, and
  /// leaves in every gradient the weighted sum over the ranks. A rank with no samples in a step
  /// calls this alone (with weight 0) so that the collectives still match.
  void backward_done() override {
    for (auto& slot : slots_)
      if (!slot.ready) take(slot, /*start=*/false);
    for (std::size_t b = 0; b < buckets_.size(); ++b)
      if (!buckets_[b].started) start(buckets_[b]);
    const auto wait_start = std::chrono::steady_clock::now();
    for (auto& bucket : buckets_)
      if (!bucket.done) check_mpi(MPI_Wait(&bucket.request, MPI_STATUS_IGNORE), "MPI_Wait"), bucket.done = true;
    const auto end = std::chrono::steady_clock::now();
    statistics_.wait_seconds += std::chrono::duration<double>(end - wait_start).count();
    ++statistics_.steps;
    for (auto& slot : slots_) {
      const Bucket& bucket = buckets_[slot.bucket];
      std::copy(bucket.data.begin() + slot.offset, bucket.data.begin() + slot.offset + slot.parameter->grad.size(),
                slot.parameter->grad.begin());
      slot.ready = false;
    }
    for (auto& bucket : buckets_) bucket.pending = bucket.parameters, bucket.started = bucket.done = false;
  }

 private:
  struct Slot {
    Parameter<T>* parameter;
    int bucket;
    std::size_t offset;  // in the bucket's buffer
    bool ready;
  };
  struct Bucket {
    std::vector<T> data;
    int parameters = 0, pending = 0;
    bool started = false, done = false;
    MPI_Request request = MPI_REQUEST_NULL;
  };

  void take(Slot& slot, bool start_when_full = true) {
    if (slot.ready) return;
    slot.ready = true;
    Bucket& bucket = buckets_[slot.bucket];
    const auto& grad = slot.parameter->grad;
    T* out = bucket.data.data() + slot.offset;
    if (weight_ == T(0)) std::fill(out, out + grad.size(), T(0));  // also when grad holds no numbers
    else
      for (std::size_t i = 0; i < grad.size(); ++i) out[i] = grad[i] * weight_;
    if (--bucket.pending == 0 && overlap_ && start_when_full) start(bucket);
  }
  void start(Bucket& bucket) {
    check_mpi(MPI_Iallreduce(MPI_IN_PLACE, bucket.data.data(), int(bucket.data.size()), mpi_type<T>(), MPI_SUM,
                             MPI_COMM_WORLD, &bucket.request),
              "MPI_Iallreduce");
    bucket.started = true;
  }

  const MpiEnvironment& environment_;
  bool overlap_;
  T weight_ = T(1);
  std::vector<Slot> slots_;
  std::vector<Bucket> buckets_;
  std::unordered_map<const Parameter<T>*, int> slot_of_;
  AllreduceStatistics statistics_;
};

}  // namespace minidnn::distributed
