// Data-parallel training steps on MPI, timed: each rank trains its shard of every global batch
// and the gradients are averaged in buckets that overlap backward (distributed/data_parallel.hpp).
//
//   OMP_NUM_THREADS=1 mpirun -np 2 ./data_parallel --model seed --batch 64 --steps 20
//   OMP_NUM_THREADS=2 mpirun -np 1 ./data_parallel --model seed --batch 64 --steps 20
//
// --model seed (the tutorial's CNN, 48x48) | vgg (models/vgg_bn.hpp, 44x44) | xception (48x48);
// --no-overlap starts every bucket only after backward (what overlap hides is the difference).
// Random images: the speed of a step does not depend on what the pixels show.
//
// With --data FER2013_CSV it trains instead: --epochs E on the first --rows N Training rows,
// validating on PublicTest each epoch (rank 0 prints), e.g. to see that 2 ranks reach what one
// process reaches:
//   OMP_NUM_THREADS=1 mpirun -np 2 ./data_parallel --data ../shared/data/fer2013/fer2013.csv.gz --rows 6000 --epochs 3
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <unistd.h>

#include "minidnn/datasets/fer2013.hpp"
#include "minidnn/distributed/data_parallel.hpp"
#include "minidnn/models/fer_tutorial.hpp"
#include "minidnn/models/mini_xception.hpp"
#include "minidnn/models/vgg_bn.hpp"
#include "minidnn/optim/adam.hpp"

using namespace minidnn;
using namespace minidnn::distributed;

namespace {

Model<float> make_model(const std::string& name, const MpiEnvironment& mpi) {
  if (name == "vgg") return models::vgg_bn_model<float>(1);
  if (name == "xception") return models::mini_xception_model<float>(1);
  if (name != "seed") fail("--model must be seed, vgg or xception, got ", name);
  // The tutorial's model is a Sequential; the functional Model reads its file as a chain.
  const auto path = std::filesystem::temp_directory_path() /
                    ("data_parallel_seed_" + std::to_string(getpid()) + "_" + std::to_string(mpi.rank()) + ".mdnn");
  models::fer_tutorial_model<float>(1).save(path);
  Model<float> model = Model<float>::load(path);
  std::filesystem::remove(path);
  return model;
}

// Trains on FER2013 and prints each epoch (rank 0).
void train_fer2013(const MpiEnvironment& mpi, DataParallel<float>& parallel, const std::string& path, int rows,
                   int epochs, int batch) {
  fer2013::LoadOptions load;
  load.private_test = false;
  load.max_rows_per_split = std::size_t(rows);
  const fer2013::Dataset data = fer2013::load(path, load);
  FitOptions<float> options;
  options.epochs = epochs;
  options.batch_size = batch;
  options.validation_x = &data.public_test.images;
  options.validation_y = &data.public_test.labels;
  if (mpi.is_root()) {
    std::printf("FER2013: %d Training rows, %d PublicTest rows, %d rank(s), global batch %d\n", data.training.size(),
                data.public_test.size(), mpi.size(), batch);
    options.on_epoch_end = [](const EpochLogs& e) {
      std::printf("  epoch %d: loss %.6f accuracy %.4f  val_loss %.6f val_accuracy %.4f  (%.1f s)\n", e.epoch + 1, e.loss,
                  e.accuracy, e.val_loss, e.val_accuracy, e.seconds);
      std::fflush(stdout);
      return true;
    };
  }
  parallel.fit(data.training.images, data.training.labels, options);
}

}  // namespace

int main(int argc, char** argv) {
  MpiEnvironment mpi(&argc, &argv);
  std::string name = "seed";
  int batch = 64, steps = 20, warmup = 3, rows = 6000, epochs = 3;
  std::string data;
  std::size_t bucket = std::size_t(1) << 18;
  bool overlap = true;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) fail(a, " needs a value");
      return argv[++i];
    };
    if (a == "--model") name = next();
    else if (a == "--batch") batch = std::stoi(next());
    else if (a == "--steps") steps = std::stoi(next());
    else if (a == "--bucket") bucket = std::stoul(next());
    else if (a == "--no-overlap") overlap = false;
    else if (a == "--data") data = next();
    else if (a == "--rows") rows = std::stoi(next());
    else if (a == "--epochs") epochs = std::stoi(next());
    else {
      if (mpi.is_root()) std::fprintf(stderr, "usage: data_parallel [--model seed|vgg|xception] [--batch N] [--steps N] [--bucket SCALARS] [--no-overlap] [--data FER2013_CSV [--rows N] [--epochs E]]\n");
      return 2;
    }
  }
  try {
    Model<float> model = make_model(name, mpi);
    model.compile(Adam<float>(1e-3));
    DataParallel<float> parallel(mpi, model, bucket, overlap);
    if (!data.empty()) {
      train_fer2013(mpi, parallel, data, rows, epochs, batch);
      return 0;
    }
    Tensor<float> x(batch, model.input_shape());
    std::vector<int> labels(batch);
    Rng rng(7);
    for (auto& v : x) v = float(rng.uniform());
    for (auto& y : labels) y = int(rng.below(7));
    double seconds = 0;
    for (int s = 0; s < warmup + steps; ++s) {
      if (s == warmup) parallel.allreduce().reset_statistics();
      mpi.barrier();
      const auto start = std::chrono::steady_clock::now();
      parallel.train_on_batch(x, labels);
      if (s >= warmup) seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    }
    double worst[1] = {seconds};  // the slowest rank's time is the job's
    MPI_Allreduce(MPI_IN_PLACE, worst, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    const auto& st = parallel.allreduce().statistics();
    // Communication alone: the same buckets allreduced with nothing else running.
    std::vector<float> gradient(parallel.allreduce().elements());
    mpi.barrier();
    const auto start = std::chrono::steady_clock::now();
    for (int s = 0; s < steps; ++s)
      MPI_Allreduce(MPI_IN_PLACE, gradient.data(), int(gradient.size()), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    const double alone = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / steps;
    if (mpi.is_root()) {
      const char* threads = std::getenv("OMP_NUM_THREADS");
      std::printf("%s: %d rank(s) x %s thread(s), global batch %d, %zu gradients (%.2f MB) in %zu buckets, overlap %s\n",
                  name.c_str(), mpi.size(), threads ? threads : "?", batch, parallel.allreduce().elements(),
                  parallel.allreduce().elements() * 4e-6, parallel.allreduce().buckets(), overlap ? "on" : "off");
      std::printf("  %.1f images/s, %.1f ms/step; allreduce: %.2f ms/step waited after backward, %.2f ms alone "
                  "(one blocking allreduce of all gradients, nothing else running)\n",
                  batch * steps / worst[0], 1e3 * worst[0] / steps, 1e3 * st.wait_seconds / st.steps, 1e3 * alone);
    }
  } catch (const Error& e) {
    mpi.abort(e.what());
  }
  return 0;
}
