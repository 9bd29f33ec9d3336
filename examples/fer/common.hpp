#pragma once
// What fer's subcommands share: emotion names, where the data comes from, which model to build,
// which device runs the GEMMs, and small output helpers.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <cstdlib>
#include <filesystem>
#include <string>

#include <minidnn/backend/device.hpp>
#include <minidnn/datasets/fer2013.hpp>
#include <minidnn/datasets/synthetic_faces.hpp>
#include <minidnn/models/fer_small.hpp>
#include <minidnn/models/fer_tutorial.hpp>
#include <minidnn/models/mini_xception.hpp>
#include <minidnn/models/vgg_bn.hpp>
#include <minidnn/sequential.hpp>

#include "cli.hpp"

namespace fer {

namespace fs = std::filesystem;
using minidnn::fer2013::kEmotionNames;
constexpr int kClasses = 7;

/// The data a command works on: FER2013 from a file, or the embedded synthetic set.
struct DataSource {
  std::string path;  // empty: synthetic
  bool synthetic() const { return path.empty(); }
  std::string describe() const { return synthetic() ? "the embedded synthetic face set" : path; }
};

/// --data, else FER2013_CSV, else `fallback` (a resumed run's file), else the synthetic set
/// (said on stderr so nobody mistakes it).
inline DataSource resolve_data(const Args& args, const char* command, const std::string& fallback = "") {
  DataSource source;
  if (args.has("data")) {
    source.path = args.get("data");
    if (source.path.empty())
      throw UsageError(std::string(command) + ": --data is empty: give a FER2013 CSV (.csv or .csv.gz), or leave --data "
                       "out for the synthetic set");
  }
  else if (const char* env = std::getenv("FER2013_CSV"); env && *env) source.path = env;
  else source.path = fallback;
  if (!source.synthetic() && !fs::exists(source.path))
    throw minidnn::Error("data file " + source.path + " does not exist");
  if (source.synthetic())
    std::fprintf(stderr,
                 "%s: no --data and no FER2013_CSV: using the embedded SYNTHETIC face set (procedurally drawn "
                 "faces, not FER2013).\n  For the real data: --data ../shared/data/fer2013/fer2013.csv.gz\n",
                 command);
  return source;
}

/// The synthetic set's fixed size and seed: train, public-test (validation) and private-test splits.
constexpr std::size_t kSyntheticTrain = 8400, kSyntheticTest = 1400;
constexpr std::uint64_t kSyntheticSeed = 2013;

/// Loads the requested splits (limited to `max_rows` each when > 0).
inline minidnn::fer2013::Dataset load_data(const DataSource& source, bool training, bool public_test,
                                                      bool private_test, std::size_t max_rows = 0) {
  namespace fer2013 = minidnn::fer2013;
  namespace synth = minidnn::synthetic_faces;
  fer2013::Dataset data;
  if (source.synthetic()) {
    auto limit = [&](std::size_t n) { return max_rows ? std::min(n, max_rows) : n; };
    if (training) data.training = synth::generate(limit(kSyntheticTrain), kSyntheticSeed, 0);
    if (public_test) data.public_test = synth::generate(limit(kSyntheticTest), kSyntheticSeed, kSyntheticTrain);
    if (private_test)
      data.private_test = synth::generate(limit(kSyntheticTest), kSyntheticSeed, kSyntheticTrain + kSyntheticTest);
    return data;
  }
  fer2013::LoadOptions options;
  options.training = training;
  options.public_test = public_test;
  options.private_test = private_test;
  if (max_rows) options.max_rows_per_split = max_rows;
  return fer2013::load(source.path, options);
}

/// The architectures `--model` can name, each as the functional Model it is (a Sequential's chain
/// or a graph), built for (1, side, side) faces (48, or the size of fer train's --crop) with
/// weights drawn from `seed`.
inline minidnn::Model<float> make_model(const std::string& name, std::uint64_t seed, int side = 48) {
  const minidnn::Shape input{1, side, side};
  auto chain = [&](auto add_layers) {
    minidnn::Sequential<float> model;
    add_layers(model);
    model.build(input, seed);
    return std::move(model).into_model();
  };
  if (name == "seed") return chain([](auto& m) { minidnn::models::add_fer_tutorial_layers(m); });
  if (name == "small") return chain([](auto& m) { minidnn::models::add_fer_small_layers(m); });
  if (name == "mini-xception") return minidnn::models::mini_xception_model<float>(seed, kClasses, input);
  if (name == "vgg-bn") return minidnn::models::vgg_bn_model<float>(seed, kClasses, input);
  throw UsageError("unknown model '" + name +
                   "': choose 'seed' (the tutorial's CNN), 'small', 'mini-xception' (Arriaga et al.) or 'vgg-bn' "
                   "(VGG-style with BatchNorm, for --crop 44)");
}

/// Loads a model file (any the project ever wrote: a Sequential's or a graph's), checking it
/// classifies (1, N, N) faces, N <= 48 (48, or the centre crop a model trained with --crop
/// takes), into 7 emotions.
inline minidnn::Model<float> load_model(const std::string& path, std::string* metadata = nullptr) {
  auto model = minidnn::Model<float>::load(path, metadata);
  const minidnn::Shape& in = model.input_shape();
  if (in.rank() != 3 || in.channels() != 1 || in.height() != in.width() || in.height() > 48 ||
      model.output_shape() != minidnn::Shape{kClasses})
    throw minidnn::Error(path + ": model takes " + in.to_string() + " and gives " + model.output_shape().to_string() +
                         "; fer needs (1, N, N) with N <= 48 -> (7,)");
  return model;
}

/// The model predict, eval, serve and video use: --model, else $FER_MODEL, else the default model
/// shipped in the repository (models/fer_default.mdnn, built in as FER_DEFAULT_MODEL; how it was
/// trained: docs/results.md). Says on stderr which file it took when --model is not given.
inline std::string resolve_model_path(const Args& args, const std::string& command) {
  if (args.has("model")) {
    if (args.get("model").empty()) throw UsageError(command + ": --model is empty: give a model file");
    return args.get("model");
  }
  std::string path, from;
  if (const char* env = std::getenv("FER_MODEL"); env && *env) {
    path = env;
    from = "$FER_MODEL";
  } else {
#ifdef FER_DEFAULT_MODEL
    path = FER_DEFAULT_MODEL;
    from = "the default model";
#endif
  }
  if (path.empty()) throw UsageError(command + ": --model is required (this build has no default model)");
  if (!fs::exists(path))
    throw minidnn::Error("no --model given, and " + from + " " + path +
                         " does not exist: give --model FILE (fer train writes one)");
  std::fprintf(stderr, "%s: no --model: using %s %s\n", command.c_str(), from.c_str(), path.c_str());
  return path;
}

/// --device: where GEMMs run (cpu, cuda or auto; see minidnn/backend/device.hpp).
inline void select_device(const std::string& device) {
  if (device != "cpu" && device != "cuda" && device != "auto")
    throw UsageError("--device must be cpu, cuda or auto, got '" + device + "'");
  if (minidnn::select_device(device) == "cuda") std::fprintf(stderr, "device: CUDA GEMM backend\n");
}

/// Creates the folder a file is written into.
inline void ensure_parent(const fs::path& file) {
  if (file.has_parent_path()) fs::create_directories(file.parent_path());
}

/// Checks, before any work, that `folder` exists (creating it) and that a file can be written in
/// it, by creating and removing a probe file: an unwritable place fails now, not after training.
/// `what` says which option asked for it ("--out model.mdnn").
inline void check_writable_folder(const fs::path& folder, const std::string& what) {
  const fs::path dir = folder.empty() ? fs::path(".") : folder;
  std::error_code error;
  fs::create_directories(dir, error);
  if (error) throw minidnn::Error("cannot create folder " + dir.string() + " (for " + what + "): " + error.message());
  if (!fs::is_directory(dir)) throw minidnn::Error(dir.string() + " (for " + what + ") is not a folder");
  const fs::path probe = dir / (".fer-write-probe-" + std::to_string(::getpid()));
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    const int err = errno;
    throw minidnn::Error("cannot write in folder " + dir.string() + " (for " + what + "): " + std::strerror(err));
  }
  const bool wrote = ::write(fd, "x", 1) == 1;
  const int write_error = errno;
  ::close(fd);
  ::unlink(probe.c_str());
  if (!wrote)
    throw minidnn::Error("cannot write in folder " + dir.string() + " (for " + what + "): " + std::strerror(write_error));
}

/// Checks a file the command will write: named, not a folder, in a writable folder.
inline void check_output_file(const std::string& path, const std::string& command, const std::string& option) {
  const std::string what = option + " '" + path + "'";
  if (path.empty()) throw UsageError(command + ": " + option + " is empty: give the file to write");
  if (path.back() == '/')
    throw UsageError(command + ": " + what + " names a folder: give a file name, e.g. " + path + "model.mdnn");
  if (fs::is_directory(path))
    throw UsageError(command + ": " + what + " is an existing folder: give a file name, e.g. " +
                     (fs::path(path) / "model.mdnn").string());
  check_writable_folder(fs::path(path).parent_path(), what);
}

}  // namespace fer
