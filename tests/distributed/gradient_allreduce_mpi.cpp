// distributed/gradient_allreduce.hpp under mpirun: the bucketed, weighted allreduce of gradients
// against a direct sum in double of every rank's gradients (each rank regenerates the others'
// from their seeds), for parameter sizes that are not multiples of the bucket size, a parameter
// larger than a bucket, uneven weights (one rank with weight 0 and garbage gradients), gradients
// reported in groups or not at all (backward_done takes them), with and without overlap, and
// two steps in a row (the buckets are reset).
#include <cmath>
#include <limits>
#include <vector>

#include "minidnn/core/random.hpp"
#include "minidnn/distributed/gradient_allreduce.hpp"
#include "mpi_check.hpp"

using namespace minidnn;
using namespace minidnn::distributed;

namespace {

const std::vector<int> sizes = {1, 5, 1000, 3, 257, 64, 63, 65};

double gradient(int step, int rank, std::size_t p, std::size_t i) {
  Rng rng(Rng::derive(Rng::derive(Rng::derive(17, step), rank), p * 100003 + i));
  return rng.uniform(-1, 1);
}

// Rank r's share: (r + 1) / sum over ranks, except the last rank of a step that has none (0).
double weight(int step, int rank, int ranks) {
  const bool empty = ranks > 1 && step % 2 == 1 && rank == ranks - 1;
  if (empty) return 0.0;
  double total = 0;
  for (int r = 0; r < ranks; ++r) total += (ranks > 1 && step % 2 == 1 && r == ranks - 1) ? 0 : r + 1;
  return (rank + 1) / total;
}

void run(const MpiEnvironment& mpi, std::size_t bucket_elements, bool overlap) {
  std::vector<Parameter<float>> storage;
  for (std::size_t p = 0; p < sizes.size(); ++p) storage.emplace_back("p" + std::to_string(p), std::vector<int>{sizes[p]});
  std::vector<Parameter<float>*> parameters;
  for (auto& p : storage) parameters.push_back(&p);
  GradientAllreduce<float> allreduce(mpi, parameters, bucket_elements, overlap);
  std::size_t total = 0;
  for (int s : sizes) total += s;
  MPI_CHECK(allreduce.elements() == total, "%zu elements in the buckets, %zu in the parameters", allreduce.elements(), total);
  for (int step = 0; step < 3; ++step) {
    const double w = weight(step, mpi.rank(), mpi.size());
    for (std::size_t p = 0; p < sizes.size(); ++p)
      for (std::size_t i = 0; i < storage[p].grad.size(); ++i)
        storage[p].grad[i] = w == 0 ? std::numeric_limits<float>::quiet_NaN() : float(gradient(step, mpi.rank(), p, i));
    allreduce.set_weight(w);
    // Backward reports the last parameters first, two at a time; parameter 0 is never reported.
    for (std::size_t p = sizes.size(); p-- > 1;) {
      std::vector<Parameter<float>*> group{parameters[p]};
      if (p > 1 && p % 2 == 0) group.push_back(parameters[--p]);
      allreduce.gradients_ready(group);
    }
    allreduce.backward_done();
    double worst = 0;
    for (std::size_t p = 0; p < sizes.size(); ++p)
      for (std::size_t i = 0; i < storage[p].grad.size(); ++i) {
        double expected = 0;
        for (int r = 0; r < mpi.size(); ++r) {
          const double wr = weight(step, r, mpi.size());
          if (wr != 0) expected += wr * gradient(step, r, p, i);
        }
        worst = std::max(worst, std::abs(double(storage[p].grad[i]) - expected));
      }
    MPI_CHECK(worst < 1e-6, "bucket %zu, overlap %d, step %d: largest difference from the direct sum %g", bucket_elements,
              int(overlap), step, worst);
  }
  MPI_CHECK(allreduce.statistics().steps == 3, "%ld steps counted", allreduce.statistics().steps);
}

}  // namespace

int main(int argc, char** argv) {
  MpiEnvironment mpi(&argc, &argv);
  for (std::size_t bucket : {std::size_t(1), std::size_t(64), std::size_t(100), std::size_t(1) << 20})
    for (bool overlap : {true, false}) run(mpi, bucket, overlap);
  return mpi_check::finish(mpi, "distributed.gradient_allreduce");
}
