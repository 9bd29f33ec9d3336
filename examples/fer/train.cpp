// fer train: the tutorial's training run, with progress, history, curves, checkpoints and resume.
#include <atomic>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <sstream>

#include <minidnn/ops/augment.hpp>

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
  std::string lr_schedule = "constant";  // or "cosine"
  std::uint64_t seed = 1;
  bool augment = false;
  int max_shift = 1;  // pixels, with --augment
  std::string data;   // the FER2013 file trained on; empty: the synthetic set
  int train_rows = 0, val_rows = 0;  // 0: all
  int next_epoch = 0, next_batch = 0;
  std::vector<minidnn::EpochLogs> history;

  std::string to_metadata() const {
    std::ostringstream out;
    out.precision(17);
    out << "fer_checkpoint=1\nmodel=" << model << "\nepochs=" << epochs << "\nbatch=" << batch << "\nlr=" << lr
        << "\nlr_schedule=" << lr_schedule << "\nseed=" << seed << "\naugment=" << augment << "\nshift=" << max_shift << "\ndata=" << data << "\ntrain_rows=" << train_rows
        << "\nval_rows=" << val_rows << "\nnext_epoch=" << next_epoch
        << "\nnext_batch=" << next_batch << "\n";
    for (const auto& e : history)
      out << "history=" << e.epoch << "," << e.loss << "," << e.accuracy << "," << e.val_loss << ","
          << e.val_accuracy << "," << e.seconds << "\n";
    return out.str();
  }

  static RunState from_metadata(const std::string& text, const std::string& file) {
    RunState s;
    s.max_shift = 3;  // checkpoints written before --shift existed used 3
    bool is_checkpoint = false;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
      const auto eq = line.find('=');
      if (eq == std::string::npos) continue;
      const std::string key = line.substr(0, eq), value = line.substr(eq + 1);
      if (key == "fer_checkpoint") is_checkpoint = true;
      else if (key == "model") s.model = value;
      else if (key == "epochs") s.epochs = std::stoi(value);
      else if (key == "batch") s.batch = std::stoi(value);
      else if (key == "lr") s.lr = std::stod(value);
      else if (key == "lr_schedule") s.lr_schedule = value;
      else if (key == "seed") s.seed = std::stoull(value);
      else if (key == "augment") s.augment = value == "1";
      else if (key == "shift") s.max_shift = std::stoi(value);
      else if (key == "data") s.data = value;
      else if (key == "train_rows") s.train_rows = std::stoi(value);
      else if (key == "val_rows") s.val_rows = std::stoi(value);
      else if (key == "next_epoch") s.next_epoch = std::stoi(value);
      else if (key == "next_batch") s.next_batch = std::stoi(value);
      else if (key == "history") {
        minidnn::EpochLogs e;
        char comma;
        std::istringstream row(value);
        row >> e.epoch >> comma >> e.loss >> comma >> e.accuracy >> comma >> e.val_loss >> comma >> e.val_accuracy >>
            comma >> e.seconds;
        e.has_validation = true;
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
    std::snprintf(line, sizeof line, "%d,%.6f,%.6f,%.6f,%.6f,%.2f\n", e.epoch + 1, e.loss, e.accuracy, e.val_loss,
                  e.val_accuracy, e.seconds);
    out << line;
  }
  ensure_parent(path);
  minidnn::write_file_atomically(path, out.str());
}

std::string stem_of(const std::string& out) {
  const fs::path p(out);
  return (p.parent_path() / p.stem()).string();
}

}  // namespace

int run_train(int argc, char** argv) {
  Args args("fer train",
            "fer train [--data FILE] [--model seed|small] [--epochs 30] [--batch 256] [--lr 1e-3] "
            "[--lr-schedule constant] [--seed 1] [--augment [--shift 1]] [--out model.mdnn] [--resume CHECKPOINT]",
            "Trains on the Training rows and validates on PublicTest after every epoch. Writes the model, a\n"
            "history CSV and a PNG of the curves next to it, and a checkpoint (MODEL.ckpt) after every epoch.\n"
            "Ctrl-C finishes the current batch, saves the checkpoint and exits; --resume continues from it.");
  args.option("data", "FILE", "", "FER2013 CSV (.csv or .csv.gz); default $FER2013_CSV, else the synthetic set")
      .option("model", "NAME", "seed", "architecture: seed (the tutorial's CNN) or small")
      .option("epochs", "N", "30", "epochs to train (in all, counting resumed ones)")
      .option("batch", "N", "256", "batch size")
      .option("lr", "RATE", "1e-3", "Adam learning rate")
      .option("lr-schedule", "NAME", "constant",
              "constant (the tutorial's), or cosine: from RATE down towards 0 over the epochs")
      .option("seed", "N", "1", "seed for weights, shuffling, dropout and augmentation")
      .flag("augment", "random horizontal flips and small shifts (edges repeated)")
      .option("shift", "PIXELS", "1", "with --augment: largest shift in each direction")
      .option("out", "FILE", "model.mdnn", "where to write the trained model")
      .option("resume", "CHECKPOINT", "", "continue a run from its checkpoint")
      .option("train-rows", "N", "0", "use only the first N Training rows (0: all; --resume keeps the run's)")
      .option("val-rows", "N", "0", "use only the first N PublicTest rows (0: all; --resume keeps the run's)")
      .option("threads", "N", "0", "CPU threads (0: OpenMP's default)")
      .option("device", "DEV", "cpu", "where GEMMs run: cpu, cuda or auto");
  if (!args.parse(argc, argv, 2)) return 0;

  const std::string out = args.get("out");
  const std::string checkpoint = out + ".ckpt";
  const std::string stem = stem_of(out);
  ensure_parent(out);  // before training, so a bad --out fails now rather than after the first epoch
  const int threads = args.get_int("threads", 0, 1024);
  if (threads > 0) minidnn::set_num_threads(threads);
  select_device(args.get("device"));

  RunState state;
  minidnn::Sequential<float> model;
  if (args.has("resume")) {
    std::string metadata;
    model = minidnn::Sequential<float>::load(args.get("resume"), &metadata);
    state = RunState::from_metadata(metadata, args.get("resume"));
  }
  // A resumed run continues on the checkpoint's data and rows unless told otherwise.
  const DataSource source = resolve_data(args, "fer train", state.data);
  state.data = source.synthetic() ? "" : fs::absolute(source.path).string();
  if (args.has("train-rows") || !args.has("resume")) state.train_rows = args.get_int("train-rows", 0, 1 << 30);
  if (args.has("val-rows") || !args.has("resume")) state.val_rows = args.get_int("val-rows", 0, 1 << 30);
  if (args.has("resume")) {
    if (!model.optimizer()) throw minidnn::Error(args.get("resume") + ": checkpoint holds no optimizer state");
    if (args.has("epochs")) state.epochs = args.get_int("epochs", 1, 100000);
    std::printf("Resuming %s from epoch %d, batch %d (of %d epochs)\n", args.get("resume").c_str(),
                state.next_epoch + 1, state.next_batch + 1, state.epochs);
  } else {
    state.model = args.get("model");
    state.epochs = args.get_int("epochs", 1, 100000);
    state.batch = args.get_int("batch", 1, 65536);
    if (source.synthetic()) {
      // The embedded set is a quick demonstration: a small model learns it in a few epochs.
      if (!args.has("model")) state.model = "small";
      if (!args.has("epochs")) state.epochs = 3;
      if (!args.has("batch")) state.batch = 64;
      std::fprintf(stderr, "fer train: synthetic data: %s model, %d epochs, batch %d unless given\n", state.model.c_str(),
                   state.epochs, state.batch);
    }
    state.lr = args.get_double("lr", 1e-12, 10.0);
    state.lr_schedule = args.get("lr-schedule");
    if (state.lr_schedule != "constant" && state.lr_schedule != "cosine")
      throw UsageError("fer train: --lr-schedule must be constant or cosine, got '" + state.lr_schedule + "'");
    state.seed = static_cast<std::uint64_t>(args.get_int("seed", 0, 2147483647));
    state.augment = args.flag_set("augment");
    state.max_shift = args.get_int("shift", 0, 16);
    model = make_model(state.model, state.seed);
    model.compile(minidnn::Adam<float>(state.lr));
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
  std::printf("Training on %d images, validating on %d (PublicTest)\n", data.training.size(), data.public_test.size());
  std::printf("%s", model.summary().c_str());

  minidnn::FitOptions<float> options;
  options.epochs = state.epochs;
  options.batch_size = state.batch;
  options.seed = state.seed;
  options.initial_epoch = state.next_epoch;
  options.initial_batch = state.next_batch;
  if (data.public_test.size() > 0) {
    options.validation_x = &data.public_test.images;
    options.validation_y = &data.public_test.labels;
  }
  if (state.lr_schedule == "cosine") options.learning_rate = minidnn::CosineDecay{state.lr, state.epochs};
  if (state.augment) {
    minidnn::AugmentOptions augment;
    augment.max_shift = state.max_shift;
    options.augment = [augment](minidnn::Tensor<float>& batch, minidnn::Rng& rng) {
      minidnn::augment_images(batch, rng, augment);
    };
  }

  std::string last_checkpoint = args.has("resume") ? args.get("resume") : "";
  int last_checkpoint_epoch = state.next_epoch;
  Progress progress(state.epochs, state.batch);
  options.on_batch_end = [&](const minidnn::BatchLogs& logs) {
    progress.batch_done(logs);
    return !g_interrupted.load();
  };
  options.on_epoch_end = [&](const minidnn::EpochLogs& e) {
    progress.epoch_done(e, data.training.size());
    state.history.push_back(e);
    state.next_epoch = e.epoch + 1;
    state.next_batch = 0;
    model.save(checkpoint, /*with_optimizer=*/true, state.to_metadata());
    last_checkpoint = checkpoint;
    last_checkpoint_epoch = state.next_epoch;
    write_history_csv(stem + ".history.csv", state.history);
    write_curves_chart(stem + ".curves.png", state.history,
                       "Training curves (" + state.model + " model" + (state.augment ? ", augmented" : "") + ")");
    return !g_interrupted.load();
  };

  g_interrupted = false;
  std::signal(SIGINT, on_interrupt);
  minidnn::History history;
  try {
    history = model.fit(data.training.images, data.training.labels, options);
  } catch (const minidnn::Error& e) {
    // Nothing is saved from a failed step: the last checkpoint written (or resumed from) is intact.
    throw minidnn::Error(std::string(e.what()) + "\n  " +
                         (last_checkpoint.empty() ? "no epoch had finished, so no checkpoint was written"
                                                  : "last checkpoint: " + last_checkpoint + " (after epoch " +
                                                        std::to_string(last_checkpoint_epoch) + ")"));
  }
  std::signal(SIGINT, SIG_DFL);

  if (history.stopped || g_interrupted) {
    progress.interrupted();
    state.next_epoch = history.next_epoch;
    state.next_batch = history.next_batch;
    model.save(checkpoint, /*with_optimizer=*/true, state.to_metadata());
    std::fprintf(stderr, "fer train: interrupted; checkpoint saved to %s\n  continue with: fer train --resume %s --out %s\n",
                 checkpoint.c_str(), checkpoint.c_str(), out.c_str());
    return 130;
  }

  model.save(out);
  std::printf("Model written to %s\nHistory: %s.history.csv  Curves: %s.curves.png  Checkpoint: %s\n", out.c_str(),
              stem.c_str(), stem.c_str(), checkpoint.c_str());
  if (!state.history.empty() && state.history.back().has_validation)
    std::printf("Final PublicTest accuracy: %.4f (loss %.4f)\n", state.history.back().val_accuracy,
                state.history.back().val_loss);
  return 0;
}

}  // namespace fer
