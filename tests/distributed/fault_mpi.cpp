// The program of fault_test.sh. Under mpirun: trains a small model data-parallel for (nearly)
// ever, rank 0 writing a checkpoint (ModelCheckpoint, with the optimizer) after every epoch and
// each rank its pid to DIR/rank<r>.pid once the first checkpoint exists; with FAULT_EXIT_RANK=r,
// rank r leaves with status 3 at the third epoch without finalizing MPI (an error path). The
// script kills or waits for a rank and checks that the whole job ends. Alone:
// `fault_mpi --check FILE` loads a checkpoint and says how many weights it has (exit 0), or fails.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "minidnn/distributed/data_parallel.hpp"
#include "minidnn/layers/conv2d.hpp"
#include "minidnn/layers/dense.hpp"
#include "minidnn/layers/flatten.hpp"
#include "minidnn/layers/softmax.hpp"
#include "minidnn/model/callbacks.hpp"
#include "minidnn/optim/adam.hpp"

using namespace minidnn;
using namespace minidnn::distributed;

int main(int argc, char** argv) {
  if (argc == 3 && std::string(argv[1]) == "--check") {
    try {
      Model<float> model = Model<float>::load(argv[2]);
      std::printf("checkpoint %s loads: %zu weights, optimizer %s\n", argv[2], model.parameter_count(),
                  model.optimizer() ? "kept" : "missing");
      return model.optimizer() ? 0 : 1;
    } catch (const Error& e) {
      std::fprintf(stderr, "fault_mpi: %s\n", e.what());
      return 1;
    }
  }
  if (argc != 2) {
    std::fprintf(stderr, "usage: mpirun -np 2 fault_mpi DIR | fault_mpi --check FILE\n");
    return 2;
  }
  MpiEnvironment mpi(&argc, &argv);
  const std::filesystem::path dir = argv[1];
  const char* exit_rank = std::getenv("FAULT_EXIT_RANK");
  Model<float> model(1);
  Symbol x = model.input(Shape{1, 12, 12});
  Symbol h = model.apply(Conv2D<float>(8, 3, Activation::relu), x);
  h = model.apply(Flatten<float>(), h);
  model.set_output(model.apply(Softmax<float>(), model.apply(Dense<float>(4), h)));
  model.compile(Adam<float>(1e-3));
  DataParallel<float> parallel(mpi, model);
  Tensor<float> data(256, Shape{1, 12, 12});
  std::vector<int> labels(256);
  Rng rng(2);
  for (auto& v : data) v = float(rng.uniform(-1, 1));
  for (auto& y : labels) y = int(rng.below(4));
  ModelCheckpoint<float> checkpoint(dir / "checkpoint.mdnn", "loss", /*save_best_only=*/false, /*with_optimizer=*/true);
  FitOptions<float> options;
  options.epochs = 1000000;
  options.batch_size = 16;
  options.callbacks = {&checkpoint};
  options.on_epoch_end = [&](const EpochLogs& logs) {
    if (logs.epoch == 0) {
      const auto pid = dir / ("rank" + std::to_string(mpi.rank()) + ".pid");
      std::ofstream(pid.string() + ".tmp") << getpid() << "\n";
      std::filesystem::rename(pid.string() + ".tmp", pid);
    }
    if (exit_rank && std::atoi(exit_rank) == mpi.rank() && logs.epoch == 2) {
      std::fprintf(stderr, "rank %d: leaving with status 3 on purpose\n", mpi.rank());
      std::_Exit(3);
    }
    return true;
  };
  parallel.fit(data, labels, options);
  return 0;
}
