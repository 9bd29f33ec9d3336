// distributed/data_parallel.hpp under mpirun (2 ranks, one thread each): data-parallel fit against
// one process. Every rank also trains the same model alone with Model::fit on the same data and
// global batch (no communication, the reference), and the data-parallel run must end with the
// same weights and report the same losses, accuracies and validation figures, within float
// rounding: for a chain and for a graph with a branch and a residual add, with SGD + momentum and
// with Adam. The global batch of 7 splits 4 + 3, and the last batch of each epoch (1 sample)
// leaves rank 1 without samples, so uneven shards are covered; rank 1 starts from other
// weights, so rank 0's broadcast is tested. Then: weights bit-identical on both ranks; a
// ModelCheckpoint written by rank 0 alone that loads to the trained weights; a BatchNormalization
// model whose moving statistics are the same on both ranks after fit; checkpoints resumed on
// another number of ranks.
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <vector>

#include "minidnn/distributed/data_parallel.hpp"
#include "minidnn/layers/activation_layer.hpp"
#include "minidnn/layers/batch_normalization.hpp"
#include "minidnn/layers/conv2d.hpp"
#include "minidnn/layers/dense.hpp"
#include "minidnn/layers/depthwise_conv2d.hpp"
#include "minidnn/layers/flatten.hpp"
#include "minidnn/layers/global_pooling2d.hpp"
#include "minidnn/layers/max_pool2d.hpp"
#include "minidnn/layers/softmax.hpp"
#include "minidnn/model/callbacks.hpp"
#include "minidnn/optim/adam.hpp"
#include "minidnn/optim/sgd.hpp"
#include "mpi_check.hpp"

using namespace minidnn;
using namespace minidnn::distributed;

namespace {

void images(int count, std::uint64_t seed, Tensor<float>& x, std::vector<int>& y) {
  Rng rng(seed);
  x.resize(count, Shape{1, 8, 8});
  y.resize(count);
  for (int n = 0; n < count; ++n) {
    y[n] = int(rng.below(4));
    for (int i = 0; i < 64; ++i) x.sample(n)[i] = float(rng.uniform(-1, 1) + (i % 4 == y[n] ? 0.7 : 0.0));
  }
}

// conv -> maxpool -> flatten -> dense -> softmax
Model<float> chain(std::uint64_t seed) {
  Model<float> model(seed);
  Symbol x = model.input(Shape{1, 8, 8});
  Symbol h = model.apply(Conv2D<float>(4, 3, Activation::relu), x);
  h = model.apply(MaxPool2D<float>(2), h);
  h = model.apply(Flatten<float>(), h);
  h = model.apply(Dense<float>(4), h);
  model.set_output(model.apply(Softmax<float>(), h));
  return model;
}

// a = tanh(conv(x)); b = depthwise(a) + conv1x1(a) + a; out = softmax(dense(gap(b))), plus an
// optional BatchNormalization after a.
Model<float> branch(std::uint64_t seed, bool batch_norm = false) {
  Model<float> model(seed);
  Symbol x = model.input(Shape{1, 8, 8});
  Symbol a = model.apply(Conv2D<float>(3, 3, Activation::linear, 1, Padding::same), x);
  if (batch_norm) a = model.apply(BatchNormalization<float>(0.9), a);
  a = model.apply(ActivationLayer<float>("tanh"), a);
  Symbol left = model.apply(DepthwiseConv2D<float>(3, 1, Padding::same), a);
  Symbol right = model.apply(Conv2D<float>(3, 1), a);
  Symbol b = model.merge(Add<float>(), {left, right, a});
  b = model.apply(GlobalAveragePooling2D<float>(), b);
  b = model.apply(Dense<float>(4), b);
  model.set_output(model.apply(Softmax<float>(), b));
  return model;
}

double largest_difference(const std::vector<Parameter<float>*>& a, const std::vector<Parameter<float>*>& b) {
  double worst = a.size() == b.size() ? 0.0 : 1e30;
  for (std::size_t k = 0; k < a.size() && k < b.size(); ++k)
    for (std::size_t i = 0; i < a[k]->value.size(); ++i)
      worst = std::max(worst, std::abs(double(a[k]->value[i]) - double(b[k]->value[i])));
  return worst;
}

// Whether every rank holds exactly rank 0's values.
bool same_on_every_rank(const MpiEnvironment& mpi, const std::vector<Parameter<float>*>& parameters) {
  double differing = 0;
  for (auto* p : parameters) {
    std::vector<float> root(p->value.begin(), p->value.end());
    mpi.broadcast(root.data(), root.size());
    for (std::size_t i = 0; i < root.size(); ++i) differing += root[i] != p->value[i];
  }
  mpi.sum(&differing, 1);
  return differing == 0;
}

template <typename Make>
void equivalence(const MpiEnvironment& mpi, const char* name, Make make, const Optimizer<float>& optimizer) {
  Tensor<float> x, vx;
  std::vector<int> y, vy;
  images(22, 5, x, y);
  images(9, 6, vx, vy);  // validation: 5 + 4
  FitOptions<float> options;
  options.epochs = 3;
  options.batch_size = 7;  // 7, 7, 7, 1 per epoch: shards 4 + 3 and 1 + 0
  options.seed = 11;
  options.validation_x = &vx;
  options.validation_y = &vy;

  Model<float> alone = make(1);
  alone.compile(optimizer);
  const History expected = alone.fit(x, y, options);

  Model<float> model = make(1 + 1000 * mpi.rank());  // rank 1 starts elsewhere: the broadcast fixes it
  model.compile(optimizer);
  DataParallel<float> parallel(mpi, model, /*bucket_elements=*/20);
  MPI_CHECK(parallel.allreduce().buckets() > 1, "%s: %zu buckets", name, parallel.allreduce().buckets());
  const History got = parallel.fit(x, y, options);

  const double worst = largest_difference(model.parameters(), alone.parameters());
  if (mpi.is_root()) std::printf("%s: largest weight difference from one process %.3g\n", name, worst);
  MPI_CHECK(worst < 2e-5, "%s: weights differ from one process's by up to %g", name, worst);
  MPI_CHECK(same_on_every_rank(mpi, model.parameters()), "%s: the ranks' weights differ", name);
  MPI_CHECK(got.epochs.size() == expected.epochs.size(), "%s: %zu epochs", name, got.epochs.size());
  for (std::size_t e = 0; e < got.epochs.size() && e < expected.epochs.size(); ++e) {
    const EpochLogs &g = got.epochs[e], &w = expected.epochs[e];
    MPI_CHECK(std::abs(g.loss - w.loss) < 1e-5 && std::abs(g.accuracy - w.accuracy) < 1e-9, "%s epoch %zu: loss %.8f acc %.4f, alone %.8f %.4f",
              name, e, g.loss, g.accuracy, w.loss, w.accuracy);
    MPI_CHECK(std::abs(g.val_loss - w.val_loss) < 1e-5 && std::abs(g.val_accuracy - w.val_accuracy) < 1e-9,
              "%s epoch %zu: val_loss %.8f val_acc %.4f, alone %.8f %.4f", name, e, g.val_loss, g.val_accuracy, w.val_loss,
              w.val_accuracy);
  }
  // An evaluation split 4 + 3 over the ranks against one process's.
  Tensor<float> ex;
  std::vector<int> ey;
  images(7, 8, ex, ey);
  const Evaluation a = alone.evaluate(ex, ey), b = parallel.evaluate(ex, ey);
  MPI_CHECK(std::abs(a.loss - b.loss) < 1e-5 && a.accuracy == b.accuracy, "%s: evaluate %.8f %.4f, alone %.8f %.4f", name,
            b.loss, b.accuracy, a.loss, a.accuracy);
}

void checkpoint_and_batch_norm(const MpiEnvironment& mpi) {
  int id = int(getpid());
  mpi.broadcast(id);
  const auto dir = std::filesystem::temp_directory_path() / ("minidnn-data-parallel-" + std::to_string(id));
  if (mpi.is_root()) std::filesystem::create_directories(dir);
  mpi.barrier();
  Tensor<float> x;
  std::vector<int> y;
  images(40, 9, x, y);
  Model<float> model = branch(3 + mpi.rank(), /*batch_norm=*/true);
  model.compile(Adam<float>(0.01));
  DataParallel<float> parallel(mpi, model);
  ModelCheckpoint<float> checkpoint(dir / "best.mdnn", "val_loss", /*save_best_only=*/false, /*with_optimizer=*/true);
  FitOptions<float> options;
  options.epochs = 2;
  options.batch_size = 8;
  options.validation_split = 0.2;
  options.callbacks = {&checkpoint};
  parallel.fit(x, y, options);
  MPI_CHECK(same_on_every_rank(mpi, model.parameters()), "batch norm: the ranks' weights differ");
  MPI_CHECK(same_on_every_rank(mpi, model.non_trainable_parameters()), "batch norm: the ranks' moving statistics differ");
  if (mpi.is_root()) {
    Model<float> loaded = Model<float>::load(dir / "best.mdnn");
    MPI_CHECK(largest_difference(loaded.parameters(), model.parameters()) == 0, "the checkpoint's weights differ");
    MPI_CHECK(largest_difference(loaded.non_trainable_parameters(), model.non_trainable_parameters()) == 0,
              "the checkpoint's moving statistics differ");
    std::size_t files = 0;
    for (auto& entry : std::filesystem::directory_iterator(dir)) files += entry.is_regular_file();
    MPI_CHECK(files == 1, "%zu files in the checkpoint folder (want the checkpoint only)", files);
  }
  mpi.barrier();
  if (mpi.is_root()) std::filesystem::remove_all(dir);
}

// A checkpoint is the same whatever the number of ranks that wrote it: 1 epoch on 2 ranks then
// 1 on one process, and 1 epoch on one process then 1 on 2 ranks, both end where 2 epochs on one
// process end (Adam's moments and step count travel in the checkpoint).
void resume_across_rank_counts(const MpiEnvironment& mpi) {
  int id = int(getpid());
  mpi.broadcast(id);
  const auto dir = std::filesystem::temp_directory_path() / ("minidnn-resume-" + std::to_string(id));
  if (mpi.is_root()) std::filesystem::create_directories(dir);
  mpi.barrier();
  Tensor<float> x;
  std::vector<int> y;
  images(22, 12, x, y);
  FitOptions<float> options;
  options.batch_size = 7;
  options.seed = 4;
  options.epochs = 2;
  Model<float> alone = chain(2);
  alone.compile(Adam<float>(0.01));
  alone.fit(x, y, options);

  options.epochs = 1;
  {
    Model<float> first = chain(2);
    first.compile(Adam<float>(0.01));
    DataParallel<float> parallel(mpi, first);
    parallel.fit(x, y, options);
    parallel.save(dir / "two_ranks.mdnn", /*with_optimizer=*/true);
  }
  if (mpi.is_root()) {
    Model<float> first = chain(2);
    first.compile(Adam<float>(0.01));
    first.fit(x, y, options);
    first.save(dir / "one_process.mdnn", /*with_optimizer=*/true);
  }
  mpi.barrier();
  options.initial_epoch = 1;
  options.epochs = 2;
  Model<float> resumed_alone = Model<float>::load(dir / "two_ranks.mdnn");
  resumed_alone.fit(x, y, options);
  const double a = largest_difference(resumed_alone.parameters(), alone.parameters());
  MPI_CHECK(a < 2e-5, "2-rank checkpoint resumed on one process: weights differ by up to %g", a);
  Model<float> resumed_parallel = Model<float>::load(dir / "one_process.mdnn");
  DataParallel<float> parallel(mpi, resumed_parallel);
  parallel.fit(x, y, options);
  const double b = largest_difference(resumed_parallel.parameters(), alone.parameters());
  MPI_CHECK(b < 2e-5, "1-process checkpoint resumed on 2 ranks: weights differ by up to %g", b);
  if (mpi.is_root()) std::printf("resume across rank counts: largest weight differences %.3g and %.3g\n", a, b);
  mpi.barrier();
  if (mpi.is_root()) std::filesystem::remove_all(dir);
}

}  // namespace

int main(int argc, char** argv) {
  MpiEnvironment mpi(&argc, &argv);
  if (mpi.size() != 2 && mpi.is_root()) std::printf("note: written for 2 ranks, running on %d\n", mpi.size());
  equivalence(mpi, "chain, SGD momentum", chain, SGD<float>(0.1, 0.9));
  equivalence(mpi, "branch, Adam", [](std::uint64_t seed) { return branch(seed); }, Adam<float>(0.01));
  checkpoint_and_batch_norm(mpi);
  resume_across_rank_counts(mpi);
  return mpi_check::finish(mpi, "distributed.data_parallel");
}
