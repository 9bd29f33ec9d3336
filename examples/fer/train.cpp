// fer train: the tutorial's training run, with progress, history, curves, checkpoints and resume.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <memory>
#include <new>
#include <sstream>

#include <minidnn/datasets/validation_split.hpp>
#include <minidnn/model/callbacks.hpp>
#include <minidnn/model/fit_loop.hpp>
#include <minidnn/ops/augment.hpp>
#include <minidnn/optim/adam.hpp>
#include <minidnn/optim/one_cycle.hpp>
#include <minidnn/optim/sgd.hpp>

#ifdef MINIDNN_WITH_MPI
#include <minidnn/distributed/data_parallel.hpp>
#endif

#include "charts.hpp"
#include "commands.hpp"
#include "progress.hpp"

namespace fer {
namespace {

std::atomic<bool> g_interrupted{false};

extern "C" void on_interrupt(int) {
  g_interrupted = true;
  std::signal(SIGINT, SIG_DFL);  // a second Ctrl-C ends the process at once
}

// Checkpoint metadata: "key=value" lines, history rows as "history=epoch,loss,acc,val_loss,val_acc,seconds".
struct RunState {
  std::string model = "seed";
  int epochs = 30, batch = 256;
  double lr = 1e-3;
  std::string lr_schedule = "constant";  // or "cosine", "one-cycle"
  double warmup = 0.3;                    // one-cycle: fraction of the steps spent warming up
  std::string optimizer = "adam";         // or "adamw", "sgd"
  double momentum = 0.9, weight_decay = 0.0;  // momentum: sgd's; weight decay: sgd's L2, adamw's decoupled
  bool nesterov = false;
  std::uint64_t seed = 1;
  bool augment = false;
  int max_shift = 1;  // pixels, with --augment
  int crop = 0;       // --crop: random crop side in training, centre crop to validate; 0: none
  double rotate = 0.0, scale = 0.0, erase = 0.0;  // --rotate degrees, --scale fraction, --erase probability
  double validation_split = 0.0;  // --validation-split: held out of Training; PublicTest is then the test set
  double label_smoothing = 0.0;
  std::string class_weights = "none";  // or "balanced"
  int early_stopping = 0, plateau = 0;  // patience in epochs; 0: off
  std::string early_stopping_state, plateau_state;  // the callbacks' counters (state())
  std::string data;   // the FER2013 file trained on; empty: the synthetic set
  int train_rows = 0, val_rows = 0;  // 0: all
  int next_epoch = 0, next_batch = 0;
  // Where the interrupted epoch (next_epoch, stopped before next_batch) had got to, so a resumed
  // run reports the whole epoch: samples, running loss and accuracy, seconds spent.
  int partial_samples = 0;
  double partial_loss = 0.0, partial_accuracy = 0.0, partial_seconds = 0.0;
  std::vector<minidnn::EpochLogs> history;

  std::string to_metadata() const {
    std::ostringstream out;
    out.precision(17);
    out << "fer_checkpoint=1\nmodel=" << model << "\nepochs=" << epochs << "\nbatch=" << batch << "\nlr=" << lr
        << "\nlr_schedule=" << lr_schedule << "\nwarmup=" << warmup << "\noptimizer=" << optimizer
        << "\nmomentum=" << momentum << "\nnesterov=" << nesterov << "\nweight_decay=" << weight_decay << "\nseed=" << seed << "\naugment=" << augment << "\nshift=" << max_shift << "\ndata=" << data << "\ntrain_rows=" << train_rows
        << "\nval_rows=" << val_rows << "\ncrop=" << crop << "\nrotate=" << rotate << "\nscale=" << scale
        << "\nerase=" << erase << "\nvalidation_split=" << validation_split << "\nlabel_smoothing=" << label_smoothing
        << "\nclass_weights=" << class_weights
        << "\nearly_stopping=" << early_stopping << "\nreduce_lr_on_plateau=" << plateau
        << "\nearly_stopping_state=" << early_stopping_state << "\nplateau_state=" << plateau_state
        << "\nnext_epoch=" << next_epoch
        << "\nnext_batch=" << next_batch << "\npartial=" << partial_samples << "," << partial_loss << ","
        << partial_accuracy << "," << partial_seconds << "\n";
    // A row without validation leaves val_loss and val_accuracy empty.
    for (const auto& e : history) {
      out << "history=" << e.epoch << "," << e.loss << "," << e.accuracy << ",";
      if (e.has_validation) out << e.val_loss << "," << e.val_accuracy;
      else out << ",";
      out << "," << e.seconds << "\n";
    }
    return out.str();
  }

  static RunState from_metadata(const std::string& text, const std::string& file) {
    RunState s;
    s.max_shift = 3;  // checkpoints written before --shift existed used 3
    bool is_checkpoint = false;
    std::istringstream in(text);
    std::string line;
    std::string key, value;
    auto bad = [&](const std::string& why) -> minidnn::Error {
      return minidnn::Error(file + ": checkpoint metadata: " + key + "=" + value + ": " + why);
    };
    // Whole-field numbers only: "12x" or an out-of-range value is an error naming the key.
    auto to_long = [&](const std::string& text, long min, long max) {
      char* end = nullptr;
      errno = 0;
      const long long v = std::strtoll(text.c_str(), &end, 10);
      if (text.empty() || *end != '\0' || errno == ERANGE || v < min || v > max)
        throw bad("expected an integer in [" + std::to_string(min) + ", " + std::to_string(max) + "]");
      return static_cast<long>(v);
    };
    auto to_double = [&](const std::string& text) {
      char* end = nullptr;
      const double v = std::strtod(text.c_str(), &end);
      if (text.empty() || *end != '\0' || !std::isfinite(v)) throw bad("expected a number");
      return v;
    };
    auto fields = [&](const std::string& text, std::size_t count) {
      std::vector<std::string> parts;
      std::size_t from = 0;
      for (;;) {
        const auto comma = text.find(',', from);
        parts.push_back(text.substr(from, comma == std::string::npos ? std::string::npos : comma - from));
        if (comma == std::string::npos) break;
        from = comma + 1;
      }
      if (parts.size() != count) throw bad("expected " + std::to_string(count) + " comma-separated fields");
      return parts;
    };
    constexpr long kMaxInt = 2147483647;
    while (std::getline(in, line)) {
      const auto eq = line.find('=');
      if (eq == std::string::npos) continue;
      key = line.substr(0, eq), value = line.substr(eq + 1);
      if (key == "fer_checkpoint") is_checkpoint = true;
      else if (key == "model") s.model = value;
      else if (key == "epochs") s.epochs = static_cast<int>(to_long(value, 1, 100000));
      else if (key == "batch") s.batch = static_cast<int>(to_long(value, 1, 65536));
      else if (key == "lr") s.lr = to_double(value);
      else if (key == "lr_schedule") s.lr_schedule = value;
      else if (key == "warmup") {
        s.warmup = to_double(value);
        if (!(s.warmup > 0 && s.warmup < 1)) throw bad("expected a fraction in (0, 1)");
      }
      else if (key == "optimizer") s.optimizer = value;
      else if (key == "momentum") s.momentum = to_double(value);
      else if (key == "nesterov") s.nesterov = value == "1";
      else if (key == "weight_decay") s.weight_decay = to_double(value);
      else if (key == "seed") s.seed = static_cast<std::uint64_t>(to_long(value, 0, kMaxInt));
      else if (key == "augment") s.augment = value == "1";
      else if (key == "shift") s.max_shift = static_cast<int>(to_long(value, 0, 16));
      else if (key == "data") s.data = value;
      else if (key == "train_rows") s.train_rows = static_cast<int>(to_long(value, 0, 1 << 30));
      else if (key == "val_rows") s.val_rows = static_cast<int>(to_long(value, 0, 1 << 30));
      else if (key == "crop") s.crop = static_cast<int>(to_long(value, 0, 48));
      else if (key == "rotate") s.rotate = to_double(value);
      else if (key == "scale") s.scale = to_double(value);
      else if (key == "erase") s.erase = to_double(value);
      else if (key == "validation_split") s.validation_split = to_double(value);
      else if (key == "label_smoothing") s.label_smoothing = to_double(value);
      else if (key == "class_weights") s.class_weights = value;
      else if (key == "early_stopping") s.early_stopping = static_cast<int>(to_long(value, 0, 100000));
      else if (key == "reduce_lr_on_plateau") s.plateau = static_cast<int>(to_long(value, 0, 100000));
      else if (key == "early_stopping_state") s.early_stopping_state = value;
      else if (key == "plateau_state") s.plateau_state = value;
      else if (key == "next_epoch") s.next_epoch = static_cast<int>(to_long(value, 0, 100000));
      else if (key == "next_batch") s.next_batch = static_cast<int>(to_long(value, 0, kMaxInt));
      else if (key == "partial") {
        const auto f = fields(value, 4);
        s.partial_samples = static_cast<int>(to_long(f[0], 0, kMaxInt));
        s.partial_loss = to_double(f[1]);
        s.partial_accuracy = to_double(f[2]);
        s.partial_seconds = to_double(f[3]);
      } else if (key == "history") {
        const auto f = fields(value, 6);
        minidnn::EpochLogs e;
        e.epoch = static_cast<int>(to_long(f[0], 0, 100000));
        e.loss = to_double(f[1]);
        e.accuracy = to_double(f[2]);
        e.has_validation = !f[3].empty();  // older checkpoints always wrote them
        if (e.has_validation) {
          e.val_loss = to_double(f[3]);
          e.val_accuracy = to_double(f[4]);
        }
        e.seconds = to_double(f[5]);
        s.history.push_back(e);
      }
    }
    if (!is_checkpoint) throw minidnn::Error(file + ": not a fer training checkpoint (no training state inside)");
    return s;
  }
};

void write_history_csv(const std::string& path, const std::vector<minidnn::EpochLogs>& history) {
  std::ostringstream out;
  out << "epoch,loss,accuracy,val_loss,val_accuracy,seconds\n";
  char line[256];
  for (const auto& e : history) {
    // Without validation data the val_ columns stay empty (not a misleading 0).
    if (e.has_validation)
      std::snprintf(line, sizeof line, "%d,%.6f,%.6f,%.6f,%.6f,%.2f\n", e.epoch + 1, e.loss, e.accuracy, e.val_loss,
                    e.val_accuracy, e.seconds);
    else
      std::snprintf(line, sizeof line, "%d,%.6f,%.6f,,,%.2f\n", e.epoch + 1, e.loss, e.accuracy, e.seconds);
    out << line;
  }
  ensure_parent(path);
  minidnn::write_file_atomically(path, out.str());
}

std::string stem_of(const std::string& out) {
  const fs::path p(out);
  return (p.parent_path() / p.stem()).string();
}

// The processes training one model: this one alone, or (fer built with MPI, started by mpirun
// with more than one rank) every rank of MPI_COMM_WORLD, data-parallel (docs/distributed.md).
// Every rank runs the whole command on the same data and options; only rank 0 prints and writes.
class Ranks {
 public:
#ifdef MINIDNN_WITH_MPI
  explicit Ranks(const minidnn::distributed::MpiEnvironment* mpi = nullptr) : mpi_(mpi) {}
#endif
  bool root() const { return rank() == 0; }
  int rank() const {
#ifdef MINIDNN_WITH_MPI
    if (mpi_) return mpi_->rank();
#endif
    return 0;
  }
  int size() const {
#ifdef MINIDNN_WITH_MPI
    if (mpi_) return mpi_->size();
#endif
    return 1;
  }
  // Hooks the model up for data-parallel training (rank 0's weights broadcast); a no-op alone.
  void distribute(minidnn::Model<float>& model) {
#ifdef MINIDNN_WITH_MPI
    if (mpi_) parallel_ = std::make_unique<minidnn::distributed::DataParallel<float>>(*mpi_, model);
#else
    (void)model;
#endif
  }
  minidnn::History fit(minidnn::Model<float>& model, const minidnn::Tensor<float>& x, const std::vector<int>& labels,
                       const minidnn::FitOptions<float>& options, bool crops) {
#ifdef MINIDNN_WITH_MPI
    if (parallel_) return parallel_->fit(x, labels, options);  // the fit loop itself, as with crops
#endif
    if (crops) {
      // The fit loop itself: fit() checks that the training faces have the model's input shape,
      // but here the augmenter crops each gathered 48x48 batch to it.
      minidnn::Tensor<float> batch_x;
      std::vector<int> batch_labels;
      return minidnn::fit_loop(model, x, labels, options, batch_x, batch_labels);
    }
    return model.fit(x, labels, options);
  }
  minidnn::Evaluation evaluate(minidnn::Model<float>& model, const minidnn::Tensor<float>& x,
                               const std::vector<int>& labels, int batch_size) {
#ifdef MINIDNN_WITH_MPI
    if (parallel_) return parallel_->evaluate(x, labels, batch_size);  // each rank its shard, summed
#endif
    return model.evaluate(x, labels, batch_size);
  }
  // Rank 0 writes (atomically); on every rank it fails if rank 0 could not.
  void save(minidnn::Model<float>& model, const std::string& path, bool with_optimizer = false,
            const std::string& metadata = "") {
#ifdef MINIDNN_WITH_MPI
    if (parallel_) return parallel_->save(path, with_optimizer, metadata);
#endif
    model.save(path, with_optimizer, metadata);
  }
  // Whether any rank has been asked to stop (Ctrl-C), so that all stop after the same batch.
  bool any(bool flag) const {
#ifdef MINIDNN_WITH_MPI
    if (parallel_) {
      double value = flag ? 1.0 : 0.0;
      mpi_->sum(&value, 1);
      return value > 0;
    }
#endif
    return flag;
  }

 private:
#ifdef MINIDNN_WITH_MPI
  const minidnn::distributed::MpiEnvironment* mpi_ = nullptr;
  std::unique_ptr<minidnn::distributed::DataParallel<float>> parallel_;
#endif
};

int train(int argc, char** argv, Ranks& ranks) {
  Args args("fer train",
            "fer train [--data FILE] [--model seed|small|mini-xception|vgg-bn] [--epochs 30] [--batch 256] [--lr 1e-3] "
            "[--lr-schedule constant [--warmup 0.3]] [--optimizer adam [--momentum 0.9] [--nesterov] [--weight-decay 0]] [--seed 1] [--augment [--shift 1]] [--crop N] [--rotate DEGREES] [--scale FRACTION] "
            "[--erase PROBABILITY] [--validation-split FRACTION] [--label-smoothing 0] [--class-weights none] "
            "[--early-stopping N] [--reduce-lr-on-plateau N] [--out model.mdnn] [--resume CHECKPOINT]",
            "Trains on the Training rows and validates on PublicTest after every epoch. With --validation-split F\n"
            "a stratified, seeded fraction F of the Training rows validates instead: it alone picks the best epoch\n"
            "and drives --early-stopping and --reduce-lr-on-plateau, and PublicTest is the test set, evaluated\n"
            "once at the end and never used for a choice. Writes the model, a history CSV and a PNG of the curves\n"
            "next to it, and a checkpoint (MODEL.ckpt) after every epoch.\n"
            "Ctrl-C finishes the current batch, saves the checkpoint and exits; --resume continues from it.");
  args.option("data", "FILE", "", "FER2013 CSV (.csv or .csv.gz); default $FER2013_CSV, else the synthetic set")
      .option("model", "NAME", "seed", "architecture: seed (the tutorial's CNN), small, mini-xception or vgg-bn (VGG-style with BatchNorm; with --crop 44)")
      .option("epochs", "N", "30", "epochs to train (in all, counting resumed ones)")
      .option("batch", "N", "256", "batch size")
      .option("lr", "RATE", "1e-3", "learning rate (one-cycle's peak)")
      .option("lr-schedule", "NAME", "constant",
              "constant (the tutorial's); cosine: from RATE down towards 0 over the epochs; or one-cycle: per batch, "
              "from RATE/25 up to RATE over the --warmup fraction of the steps, then a cosine down to RATE/25e4 "
              "(torch's OneCycleLR)")
      .option("warmup", "FRACTION", "0.3", "with --lr-schedule one-cycle: the fraction of the steps spent warming up")
      .option("optimizer", "NAME", "adam",
              "adam (the tutorial's), adamw (Adam with decoupled --weight-decay) or sgd (with --momentum, "
              "--nesterov and L2 --weight-decay)")
      .option("momentum", "M", "0.9", "with --optimizer sgd: momentum, in [0, 1)")
      .flag("nesterov", "with --optimizer sgd: Nesterov momentum")
      .option("weight-decay", "W", "0", "with sgd: L2 weight decay; with adamw: decoupled weight decay")
      .option("seed", "N", "1", "seed for weights, shuffling, dropout and augmentation")
      .flag("augment", "random horizontal flips and small shifts (edges repeated)")
      .option("shift", "PIXELS", "1", "with --augment: largest shift in each direction")
      .option("crop", "N", "0",
              "random NxN crops of the 48x48 faces in training, the centre crop to validate and test; the model "
              "is built for NxN (e.g. 44; 0: whole faces)")
      .option("rotate", "DEGREES", "0", "random rotations in [-DEGREES, DEGREES] about the centre (bilinear), at most 45")
      .option("scale", "FRACTION", "0", "random scaling by 1 +- up to FRACTION about the centre, below 0.5")
      .option("erase", "PROBABILITY", "0",
              "random erasing: with this probability a rectangle of 2-33% of the face is set to 0")
      .option("validation-split", "FRACTION", "0",
              "hold out this stratified fraction of Training (seeded by --seed) to validate; PublicTest becomes "
              "the test set (0: validate on PublicTest), below 0.5")
      .option("label-smoothing", "S", "0", "train towards (1 - S) on the label and S/7 on every class, in [0, 1)")
      .option("class-weights", "NAME", "none", "none, or balanced: each emotion weighs N / (7 * its count) in the loss")
      .option("early-stopping", "N", "0", "stop when val_loss has not improved for N epochs; keep the best epoch's weights")
      .option("reduce-lr-on-plateau", "N", "0", "halve the rate when val_loss has not improved for N epochs")
      .option("out", "FILE", "model.mdnn", "where to write the trained model")
      .option("resume", "CHECKPOINT", "", "continue a run from its checkpoint")
      .option("train-rows", "N", "0", "use only the first N Training rows (0: all; --resume keeps the run's)")
      .option("val-rows", "N", "0", "use only the first N PublicTest rows (0: all; --resume keeps the run's)")
      .option("threads", "N", "0", "CPU threads (0: OpenMP's default)")
      .option("progress-every", "SECONDS", "10", "off a terminal: a progress line this often within an epoch")
      .option("device", "DEV", "cpu", "where GEMMs run: cpu, cuda or auto");
  if (!args.parse(argc, argv, 2)) return 0;
  if (!ranks.root() && !std::freopen("/dev/null", "w", stdout))  // rank 0 alone reports (stderr stays)
    throw minidnn::Error("fer train: cannot silence rank " + std::to_string(ranks.rank()) + "'s output");

  const std::string out = args.get("out");
  const std::string checkpoint = out + ".ckpt";
  const std::string stem = stem_of(out);
  // Before loading data or training: a bad --out fails now rather than after the first epoch.
  check_output_file(out, "fer train", "--out");
  for (const std::string& file : {checkpoint, stem + ".history.csv", stem + ".curves.png"})
    if (fs::is_directory(file)) throw UsageError("fer train: " + file + " (written beside --out) is a folder");
  const int threads = args.get_int("threads", 0, 1024);
  if (threads > 0) minidnn::set_num_threads(threads);
  try {
    select_device(args.get("device"));
  } catch (const UsageError& e) {
    throw UsageError(std::string("fer train: ") + e.what());
  }

  RunState state;
  minidnn::Model<float> model;
  if (args.has("resume")) {
    // The checkpoint fixes the run's recipe: a flag that disagrees with it is refused rather than
    // silently ignored.
    std::string metadata;
    try {
      model = minidnn::Model<float>::load(args.get("resume"), &metadata);
    } catch (const minidnn::Error& e) {
      throw minidnn::Error(std::string("cannot resume: ") + e.what());
    }
    state = RunState::from_metadata(metadata, args.get("resume"));
    std::vector<std::string> conflicts;
    auto differs = [&](const char* flag, const std::string& stored) {
      if (args.has(flag) && args.get(flag) != stored)
        conflicts.push_back(std::string("--") + flag + " " + args.get(flag) + " (the checkpoint's: " + stored + ")");
    };
    auto differs_number = [&](const char* flag, double stored, const std::string& shown) {
      if (!args.has(flag)) return;
      const std::string text = args.get(flag);  // strtod's end points into it: keep it alive
      char* end = nullptr;
      const double given = std::strtod(text.c_str(), &end);
      if (*end != '\0' || given != stored)
        conflicts.push_back(std::string("--") + flag + " " + text + " (the checkpoint's: " + shown + ")");
    };
    differs("model", state.model);
    differs_number("batch", state.batch, std::to_string(state.batch));
    {
      std::ostringstream lr;
      lr << state.lr;
      differs_number("lr", state.lr, lr.str());
    }
    differs("lr-schedule", state.lr_schedule);
    differs_number("warmup", state.warmup, std::to_string(state.warmup));
    differs("optimizer", state.optimizer);
    differs_number("momentum", state.momentum, std::to_string(state.momentum));
    differs_number("weight-decay", state.weight_decay, std::to_string(state.weight_decay));
    if (args.flag_set("nesterov") && !state.nesterov) conflicts.push_back("--nesterov (the checkpoint trains without)");
    differs_number("label-smoothing", state.label_smoothing, std::to_string(state.label_smoothing));
    differs("class-weights", state.class_weights);
    differs_number("early-stopping", state.early_stopping, std::to_string(state.early_stopping));
    differs_number("reduce-lr-on-plateau", state.plateau, std::to_string(state.plateau));
    differs_number("seed", static_cast<double>(state.seed), std::to_string(state.seed));
    if (args.flag_set("augment") && !state.augment) conflicts.push_back("--augment (the checkpoint trains without)");
    if (args.has("shift") && state.augment) differs_number("shift", state.max_shift, std::to_string(state.max_shift));
    if (args.has("shift") && !state.augment) conflicts.push_back("--shift (the checkpoint trains without --augment)");
    differs_number("crop", state.crop, std::to_string(state.crop));
    differs_number("rotate", state.rotate, std::to_string(state.rotate));
    differs_number("scale", state.scale, std::to_string(state.scale));
    differs_number("erase", state.erase, std::to_string(state.erase));
    differs_number("validation-split", state.validation_split, std::to_string(state.validation_split));
    if (!conflicts.empty()) {
      std::string list;
      for (const auto& c : conflicts) list += "\n  " + c;
      throw UsageError("fer train: --resume continues the checkpoint's recipe; these options disagree with it:" +
                       list + "\n  drop them (or start a new run without --resume)");
    }
  }
  // A resumed run continues on the checkpoint's data and rows unless told otherwise.
  const DataSource source = resolve_data(args, "fer train", state.data);
  state.data = source.synthetic() ? "" : fs::absolute(source.path).string();
  if (args.has("train-rows") || !args.has("resume")) state.train_rows = args.get_int("train-rows", 0, 1 << 30);
  if (args.has("val-rows") || !args.has("resume")) state.val_rows = args.get_int("val-rows", 0, 1 << 30);
  if (args.has("resume")) {
    if (!model.optimizer()) throw minidnn::Error(args.get("resume") + ": checkpoint holds no optimizer state");
    if (args.has("epochs")) state.epochs = args.get_int("epochs", 1, 100000);
    if (state.next_epoch >= state.epochs) {
      std::printf("Nothing to train: %s has finished %d of %d epochs (raise --epochs to train more)\n",
                  args.get("resume").c_str(), state.next_epoch, state.epochs);
    } else {
      std::printf("Resuming %s from epoch %d, batch %d (of %d epochs)\n", args.get("resume").c_str(),
                  state.next_epoch + 1, state.next_batch + 1, state.epochs);
    }
  } else {
    state.model = args.get("model");
    state.epochs = args.get_int("epochs", 1, 100000);
    state.batch = args.get_int("batch", 1, 65536);
    if (source.synthetic()) {
      // The embedded set is a quick demonstration: a small model learns it in a few epochs.
      if (!args.has("model")) state.model = "small";
      if (!args.has("epochs")) state.epochs = 3;
      if (!args.has("batch")) state.batch = 64;
      if (ranks.root())
        std::fprintf(stderr, "fer train: synthetic data: %s model, %d epochs, batch %d unless given\n",
                     state.model.c_str(), state.epochs, state.batch);
    }
    state.lr = args.get_positive_double("lr", 10.0);
    state.lr_schedule = args.get("lr-schedule");
    if (state.lr_schedule != "constant" && state.lr_schedule != "cosine" && state.lr_schedule != "one-cycle")
      throw UsageError("fer train: --lr-schedule must be constant, cosine or one-cycle, got '" + state.lr_schedule + "'");
    state.warmup = args.get_double("warmup", 0.01, 0.99);
    if (args.has("warmup") && state.lr_schedule != "one-cycle")
      throw UsageError("fer train: --warmup is one-cycle's; use it with --lr-schedule one-cycle");
    state.optimizer = args.get("optimizer");
    if (state.optimizer != "adam" && state.optimizer != "adamw" && state.optimizer != "sgd")
      throw UsageError("fer train: --optimizer must be adam, adamw or sgd, got '" + state.optimizer + "'");
    state.momentum = args.get_double("momentum", 0.0, 0.999);
    state.nesterov = args.flag_set("nesterov");
    state.weight_decay = args.get_double("weight-decay", 0.0, 1.0);
    if ((args.has("momentum") || state.nesterov) && state.optimizer != "sgd")
      throw UsageError("fer train: --momentum and --nesterov are sgd's; use them with --optimizer sgd");
    if (state.nesterov && state.momentum == 0.0)
      throw UsageError("fer train: --nesterov needs a --momentum above 0");
    if (state.weight_decay > 0 && state.optimizer == "adam")
      throw UsageError("fer train: --weight-decay with Adam: use --optimizer adamw (decoupled) or sgd (L2)");
    state.seed = static_cast<std::uint64_t>(args.get_int("seed", 0, 2147483647));
    state.augment = args.flag_set("augment");
    state.max_shift = args.get_int("shift", 0, 16);
    state.crop = args.get_int("crop", 0, 48);
    if (state.crop > 0 && state.crop < 8)
      throw UsageError("fer train: --crop must be 0 (whole faces) or a side from 8 to 48, got '" + args.get("crop") + "'");
    state.rotate = args.get_double("rotate", 0.0, 45.0);
    state.scale = args.get_double("scale", 0.0, 0.499);
    state.erase = args.get_double("erase", 0.0, 1.0);
    state.validation_split = args.get_double("validation-split", 0.0, 0.499);
    if (state.validation_split > 0 && state.validation_split < 0.001)
      throw UsageError("fer train: --validation-split must be 0 or a fraction from 0.001 to 0.499, got '" +
                       args.get("validation-split") + "'");
    state.label_smoothing = args.get_double("label-smoothing", 0.0, 0.999);
    state.class_weights = args.get("class-weights");
    if (state.class_weights != "none" && state.class_weights != "balanced")
      throw UsageError("fer train: --class-weights must be none or balanced, got '" + state.class_weights + "'");
    state.early_stopping = args.get_int("early-stopping", 0, 100000);
    state.plateau = args.get_int("reduce-lr-on-plateau", 0, 100000);
    if (state.plateau > 0 && state.lr_schedule != "constant")
      throw UsageError("fer train: --reduce-lr-on-plateau sets the rate itself; use it with --lr-schedule constant");
    try {
      model = make_model(state.model, state.seed, state.crop > 0 ? state.crop : 48);
    } catch (const UsageError& e) {
      throw UsageError(std::string("fer train: --model: ") + e.what());
    } catch (const minidnn::Error& e) {
      throw UsageError("fer train: --crop " + std::to_string(state.crop) + ": the " + state.model +
                       " model cannot take " + std::to_string(state.crop) + "x" + std::to_string(state.crop) +
                       " faces: " + e.what());
    }
    if (state.optimizer == "sgd") {
      minidnn::SGDOptions sgd;
      sgd.momentum = state.momentum;
      sgd.nesterov = state.nesterov;
      sgd.weight_decay = state.weight_decay;
      model.compile(minidnn::SGD<float>(state.lr, sgd));
    } else if (state.optimizer == "adamw") {
      model.compile(minidnn::AdamW<float>(state.lr, state.weight_decay));
    } else {
      model.compile(minidnn::Adam<float>(state.lr));
    }
  }

  const int train_rows = state.train_rows, val_rows = state.val_rows;
  std::printf("Loading %s ...\n", source.describe().c_str());
  auto data = load_data(source, true, true, false, 0);
  auto truncate = [](minidnn::fer2013::Split& split, int rows) {
    if (rows <= 0 || rows >= split.size()) return;
    split.labels.resize(rows);
    split.images.resize(rows, split.images.shape());
  };
  truncate(data.training, train_rows);
  truncate(data.public_test, val_rows);
  if (data.training.size() == 0) throw minidnn::Error(source.describe() + ": no Training rows to train on");
  // The model's input: the whole 48x48 face, or (--crop) a smaller window of it.
  const minidnn::Shape input = model.input_shape();
  const minidnn::Shape faces = data.training.images.shape();
  if (input.rank() != 3 || input.height() > faces.height() || input.width() > faces.width())
    throw minidnn::Error("fer train: the model takes " + input.to_string() + " and the faces are " + faces.to_string());
  const bool crops = input != faces;
  // What validates (picks the epoch, drives the callbacks) and what tests (reported only).
  minidnn::fer2013::Split validation, test;
  if (state.validation_split > 0) {
    const auto parts = minidnn::stratified_split(data.training.labels, state.validation_split, state.seed);
    if (parts.validation.empty() || parts.train.empty())
      throw UsageError("fer train: --validation-split " + args.get("validation-split") + " of " +
                       std::to_string(data.training.size()) + " Training rows leaves " +
                       std::to_string(parts.train.size()) + " to train and " + std::to_string(parts.validation.size()) +
                       " to validate; both need rows");
    minidnn::fer2013::Split kept;
    minidnn::gather_rows(data.training.images, data.training.labels, parts.validation, validation.images,
                         validation.labels);
    minidnn::gather_rows(data.training.images, data.training.labels, parts.train, kept.images, kept.labels);
    data.training = std::move(kept);
    test = std::move(data.public_test);
  } else {
    validation = std::move(data.public_test);
  }
  // Validation and test see the centre crop, once; training batches are cropped at random.
  auto centre = [&](minidnn::fer2013::Split& split) {
    if (crops && split.size() > 0) split.images = minidnn::center_crop_images(split.images, input.height(), input.width());
  };
  centre(validation);
  centre(test);
  const char* validation_name = state.validation_split > 0 ? "of Training, stratified" : "PublicTest";
  std::printf("Training on %d images, validating on %d (%s)", data.training.size(), validation.size(), validation_name);
  if (state.validation_split > 0) std::printf(", testing on %d (PublicTest)", test.size());
  std::printf("\n");
  std::printf("%s", model.summary().c_str());
  minidnn::CrossEntropyOptions loss;
  loss.label_smoothing = state.label_smoothing;
  if (state.class_weights == "balanced") loss.class_weights = minidnn::balanced_class_weights(data.training.labels, 7);
  model.compile(*model.optimizer(), loss);  // keeps the optimizer's state (a resumed one's too)
  if ((state.early_stopping > 0 || state.plateau > 0) && validation.size() == 0)
    throw UsageError("fer train: --early-stopping and --reduce-lr-on-plateau watch val_loss: they need validation rows "
                     "(PublicTest, or --validation-split)");
  if (ranks.size() > 1) {
    ranks.distribute(model);  // rank 0's weights (initial or resumed) on every rank
    const int per_rank = state.batch / ranks.size();
    std::printf("Data parallel on %d MPI ranks: global batch %d, %d%s per rank\n", ranks.size(), state.batch, per_rank,
                state.batch % ranks.size() ? " or 1 more" : "");
  }

  minidnn::FitOptions<float> options;
  options.epochs = state.epochs;
  options.batch_size = state.batch;
  options.seed = state.seed;
  options.initial_epoch = state.next_epoch;
  options.initial_batch = state.next_batch;
  if (state.next_batch > 0) {
    options.initial_samples_seen = state.partial_samples;
    options.initial_loss = state.partial_loss;
    options.initial_accuracy = state.partial_accuracy;
    options.initial_seconds = state.partial_seconds;
  }
  if (validation.size() > 0) {
    options.validation_x = &validation.images;
    options.validation_y = &validation.labels;
  }
  if (state.lr_schedule == "cosine") options.learning_rate = minidnn::CosineDecay{state.lr, state.epochs};
  if (state.lr_schedule == "one-cycle") {
    const std::int64_t batches = (std::int64_t(data.training.size()) + state.batch - 1) / state.batch;
    minidnn::OneCycle schedule;
    schedule.max_rate = state.lr;
    schedule.total_steps = std::max<std::int64_t>(2, batches * state.epochs);
    schedule.pct_start = state.warmup;
    options.step_learning_rate = schedule;
  }
  minidnn::EarlyStopping<float> early_stopping("val_loss", state.early_stopping, 0.0, /*restore_best_weights=*/true);
  minidnn::ReduceLROnPlateau<float> plateau("val_loss", 0.5, state.plateau);
  if (state.early_stopping > 0) {
    if (!state.early_stopping_state.empty()) early_stopping.set_state(state.early_stopping_state);
    options.callbacks.push_back(&early_stopping);
  }
  if (state.plateau > 0) {
    if (!state.plateau_state.empty()) plateau.set_state(state.plateau_state);
    options.callbacks.push_back(&plateau);
  }
  minidnn::AugmentOptions augment_options;
  augment_options.flip_probability = state.augment ? 0.5 : 0.0;
  augment_options.max_shift = state.augment ? state.max_shift : 0;
  augment_options.crop_height = crops ? input.height() : 0;
  augment_options.crop_width = crops ? input.width() : 0;
  augment_options.max_rotation = state.rotate;
  augment_options.max_scale = state.scale;
  augment_options.erase.probability = state.erase;
  minidnn::Augmenter<float> augmenter(augment_options);
  const bool augments = state.augment || crops || state.rotate > 0 || state.scale > 0 || state.erase > 0;
  if (augments) {
    options.augment = [&augmenter](minidnn::Tensor<float>& batch, minidnn::Rng& rng) { augmenter(batch, rng); };
    std::string recipe;
    char part[96];
    auto add = [&](const char* text) { recipe += (recipe.empty() ? "" : ", ") + std::string(text); };
    if (state.augment) {
      std::snprintf(part, sizeof part, "flips, shifts up to %d px", state.max_shift);
      add(part);
    }
    if (crops) {
      std::snprintf(part, sizeof part, "random %dx%d crops (centre crop to validate)", input.height(), input.width());
      add(part);
    }
    if (state.rotate > 0) std::snprintf(part, sizeof part, "rotations up to %g degrees", state.rotate), add(part);
    if (state.scale > 0) std::snprintf(part, sizeof part, "scaling by up to %g", state.scale), add(part);
    if (state.erase > 0) std::snprintf(part, sizeof part, "random erasing with probability %g", state.erase), add(part);
    std::printf("Augmentation: %s\n", recipe.c_str());
  }

  std::string last_checkpoint = args.has("resume") ? args.get("resume") : "";
  int last_checkpoint_epoch = state.next_epoch;
  int epochs_finished = 0;  // in this run
  bool wrote_history = false;
  Progress progress(state.epochs, state.batch, args.get_double("progress-every", 0.0, 86400.0));
  minidnn::BatchLogs last_batch;
  const auto run_start = std::chrono::steady_clock::now();
  auto epoch_start = run_start;
  options.on_batch_end = [&](const minidnn::BatchLogs& logs) {
    last_batch = logs;
    progress.batch_done(logs);
    return !ranks.any(g_interrupted.load());
  };
  auto write_history_files = [&] {
    if (!ranks.root()) return;
    write_history_csv(stem + ".history.csv", state.history);
    write_curves_chart(stem + ".curves.png", state.history,
                       "Training curves (" + state.model + " model" + (augments ? ", augmented" : "") + ")");
    wrote_history = true;
  };
  options.on_epoch_end = [&](const minidnn::EpochLogs& e) {
    ++epochs_finished;
    progress.epoch_done(e, data.training.size());
    state.history.push_back(e);
    state.next_epoch = e.epoch + 1;
    state.next_batch = 0;
    state.partial_samples = 0;
    state.partial_loss = state.partial_accuracy = state.partial_seconds = 0.0;
    if (state.early_stopping > 0) state.early_stopping_state = early_stopping.state();
    if (state.plateau > 0) state.plateau_state = plateau.state();
    epoch_start = std::chrono::steady_clock::now();
    ranks.save(model, checkpoint, /*with_optimizer=*/true, state.to_metadata());
    last_checkpoint = checkpoint;
    last_checkpoint_epoch = state.next_epoch;
    write_history_files();
    return !ranks.any(g_interrupted.load());
  };

  g_interrupted = false;
  std::signal(SIGINT, on_interrupt);
  minidnn::History history;
  try {
    history = ranks.fit(model, data.training.images, data.training.labels, options, crops);
  } catch (const minidnn::Error& e) {
    // Nothing is saved from a failed step: the last checkpoint written (or resumed from) is intact.
    std::string where;
    if (!last_checkpoint.empty())
      where = "last checkpoint: " + last_checkpoint + " (after epoch " + std::to_string(last_checkpoint_epoch) + ")";
    else if (epochs_finished > 0)
      where = "epoch " + std::to_string(epochs_finished) + " finished but its checkpoint could not be saved";
    else
      where = "no epoch had finished, so no checkpoint was written";
    throw minidnn::Error(std::string(e.what()) + "\n  " + where);
  }
  std::signal(SIGINT, SIG_DFL);
  const bool interrupted = ranks.any(g_interrupted.load());  // every rank decides alike

  if (history.stopped_by_callback)
    std::printf("Early stopping after epoch %d: val_loss has not improved for %d epochs; %s epoch %d's weights\n",
                early_stopping.stopped_epoch() + 1, state.early_stopping,
                early_stopping.has_best_weights() ? "keeping" : "its best was before the resume, not kept:",
                early_stopping.best_epoch() + 1);
  if ((history.stopped && !history.stopped_by_callback) || interrupted) {
    progress.interrupted();
    state.next_epoch = history.next_epoch;
    state.next_batch = history.next_batch;
    if (state.next_batch > 0) {  // stopped mid-epoch: keep what the epoch had reached
      state.partial_samples = last_batch.samples_seen;
      state.partial_loss = last_batch.loss;
      state.partial_accuracy = last_batch.accuracy;
      state.partial_seconds =
          (state.next_epoch == options.initial_epoch && epochs_finished == 0 ? options.initial_seconds : 0.0) +
          std::chrono::duration<double>(std::chrono::steady_clock::now() - epoch_start).count();
    }
    ranks.save(model, checkpoint, /*with_optimizer=*/true, state.to_metadata());
    if (ranks.root())
      std::fprintf(stderr, "fer train: interrupted; checkpoint saved to %s\n  continue with: fer train --resume %s --out %s\n",
                 checkpoint.c_str(), checkpoint.c_str(), out.c_str());
    return 130;
  }

  try {
    ranks.save(model, out);
  } catch (const minidnn::Error& e) {
    throw minidnn::Error(std::string(e.what()) + "\n  the trained weights are in " +
                         (last_checkpoint.empty() ? std::string("no file") : last_checkpoint));
  }
  // Only what this run wrote.
  std::printf("Model written to %s\n", out.c_str());
  if (wrote_history)
    std::printf("History: %s.history.csv  Curves: %s.curves.png  Checkpoint: %s\n", stem.c_str(), stem.c_str(),
                checkpoint.c_str());
  if (!state.history.empty() && state.history.back().has_validation)
    std::printf("Final %s accuracy: %.4f (loss %.4f)\n",
                state.validation_split > 0 ? "validation" : "PublicTest", state.history.back().val_accuracy,
                state.history.back().val_loss);
  if (test.size() > 0) {
    // Measured once, on the weights kept; no choice above looked at it.
    const minidnn::Evaluation t = ranks.evaluate(model, test.images, test.labels, state.batch);
    std::printf("Test (PublicTest, %d images%s) accuracy: %.4f (loss %.4f)\n", test.size(),
                crops ? ", centre crop" : "", t.accuracy, t.loss);
  }
  return 0;
}

}  // namespace

int run_train(int argc, char** argv) {
#ifdef MINIDNN_WITH_MPI
  // Started by mpirun: MPI for the life of the command. One rank trains as a plain run does.
  if (minidnn::distributed::launched_by_mpirun()) {
    minidnn::distributed::MpiEnvironment mpi(&argc, &argv);
    if (mpi.size() > 1) {
      Ranks ranks(&mpi);
      // An error on one rank (a write of rank 0's, a failed step, a file only one host lacks)
      // ends them all: returning would leave the others waiting for it in a collective (or it in
      // MPI_Finalize for them). mpirun then exits with the code given here.
      try {
        return train(argc, argv, ranks);
      } catch (const UsageError& e) {
        mpi.abort(std::string(e.what()) + " (try fer train --help)", 2);
      } catch (const std::bad_alloc&) {
        mpi.abort("fer train: out of memory", 1);
      } catch (const std::exception& e) {
        mpi.abort(std::string("fer train: ") + e.what(), 1);
      }
    }
    Ranks alone;
    return train(argc, argv, alone);
  }
#endif
  Ranks alone;
  return train(argc, argv, alone);
}

}  // namespace fer
