// seed_model_speed: minidnn's side of the side-by-side speed comparison with PyTorch
// (bench/pytorch_seed_model.py prints the same JSON lines; scripts/compare_speed.sh runs both).
//
//   seed_model_speed [--model seed|mini_xception|vgg_bn] [--mode train|infer|latency|all]
//                    [--threads N] [--batch 256] [--min-time 3] [--min-iters 5] [--warmup 3] [--layers]
//
// Models: seed = models/fer_tutorial.hpp (48x48, a Sequential), mini_xception =
// models/mini_xception.hpp (48x48), vgg_bn = models/vgg_bn.hpp (44x44), both functional Models.
// Modes: train = forward + backward + Adam at --batch; infer = forward (with softmax) at --batch;
// latency = one image on ONE thread. Each mode warms up, then times single iterations until
// --min-time seconds and --min-iters iterations have passed and prints one JSON line with the
// median. --layers prints instead where a training step and an inference batch spend their time,
// layer by layer, as markdown tables. Threads: --threads, else $MINIDNN_THREADS, else
// $OMP_NUM_THREADS, else 2. No allocator tricks: minidnn reuses its buffers between steps.
// --layers is for the seed model only.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "bench_support.hpp"
#include "minidnn/models/fer_tutorial.hpp"
#include "minidnn/models/mini_xception.hpp"
#include "minidnn/models/vgg_bn.hpp"

using namespace minidnn;

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string model = "seed";
  std::string mode = "all";
  int threads = 2;
  int batch = 256;
  double min_time = 3.0;
  int min_iters = 5;
  int warmup = 3;
  bool layers = false;
};

int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::atoi(v) : fallback;
}

Options parse(int argc, char** argv) {
  Options o;
  o.threads = env_int("MINIDNN_THREADS", env_int("OMP_NUM_THREADS", 2));
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) fail("seed_model_speed: ", a, " needs a value");
      return argv[++i];
    };
    if (a == "--model") o.model = value();
    else if (a == "--mode") o.mode = value();
    else if (a == "--threads") o.threads = std::stoi(value());
    else if (a == "--batch") o.batch = std::stoi(value());
    else if (a == "--min-time") o.min_time = std::stod(value());
    else if (a == "--min-iters") o.min_iters = std::stoi(value());
    else if (a == "--warmup") o.warmup = std::stoi(value());
    else if (a == "--layers") o.layers = true;
    else if (a == "-h" || a == "--help") {
      std::cout << "usage: seed_model_speed [--model seed|mini_xception|vgg_bn] [--mode train|infer|latency|all]\n"
                   "                        [--threads N] [--batch 256] [--min-time S] [--min-iters K] [--warmup W]\n"
                   "                        [--layers]\n";
      std::exit(0);
    } else {
      fail("seed_model_speed: unknown argument ", a);
    }
  }
  if (o.mode != "train" && o.mode != "infer" && o.mode != "latency" && o.mode != "all")
    fail("seed_model_speed: --mode must be train, infer, latency or all, got ", o.mode);
  if (o.model != "seed" && o.model != "mini_xception" && o.model != "vgg_bn")
    fail("seed_model_speed: --model must be seed, mini_xception or vgg_bn, got ", o.model);
  if (o.layers && o.model != "seed") fail("seed_model_speed: --layers is for --model seed only");
  if (o.threads < 1 || o.batch < 1 || o.min_iters < 1 || o.warmup < 0)
    fail("seed_model_speed: --threads, --batch, --min-iters must be >= 1 and --warmup >= 0");
  return o;
}

Tensor<float> random_faces(int batch, int side = 48) {
  Tensor<float> x(batch, Shape{1, side, side});
  Rng rng(1);
  for (auto& v : x) v = static_cast<float>(rng.uniform());
  return x;
}

std::vector<int> cyclic_labels(int batch) {
  std::vector<int> labels(batch);
  for (int i = 0; i < batch; ++i) labels[i] = i % 7;
  return labels;
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

template <typename Step>
std::vector<double> time_iterations(Step&& step, int warmup, double min_time, int min_iters) {
  for (int i = 0; i < warmup; ++i) step();
  std::vector<double> times;
  const auto start = Clock::now();
  while (static_cast<int>(times.size()) < min_iters || seconds_since(start) < min_time) {
    const auto t0 = Clock::now();
    step();
    times.push_back(seconds_since(t0));
  }
  return times;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

void report(const std::string& model, const std::string& mode, int batch, int threads,
            const std::vector<double>& times) {
  const double med = median(times);
  const double fastest = *std::min_element(times.begin(), times.end());
  std::printf(
      "{\"impl\": \"minidnn\", \"model\": \"%s\", \"mode\": \"%s\", \"batch\": %d, \"threads\": %d, \"iterations\": %zu, "
      "\"ms_per_batch\": %.4f, \"ms_min\": %.4f, \"images_per_s\": %.2f, \"isa\": \"%s\"}\n",
      model.c_str(), mode.c_str(), batch, threads, times.size(), med * 1e3, fastest * 1e3, batch / med,
      cpu::isa_name(cpu::active_isa()));
  std::fflush(stdout);
}

using bench::forward_macs;

// Times each layer's forward and backward over a few training steps (the same step as
// Sequential::train_on_batch: fused softmax + cross-entropy gradient, then Adam), and each
// layer's forward in inference. Prints markdown tables.
void layer_breakdown(const Options& o) {
  set_num_threads(o.threads);
  auto model = models::fer_tutorial_model<float>(1);
  model.compile(Adam<float>(1e-3, 0.9, 0.999, 1e-7));
  const auto x = random_faces(o.batch);
  const auto labels = cyclic_labels(o.batch);
  const std::size_t count = model.size();
  std::vector<Tensor<float>> activations(count), gradients(count);
  std::vector<double> forward_s(count, 0.0), backward_s(count, 0.0), inference_s(count, 0.0);
  double loss_s = 0.0, optimizer_s = 0.0;
  const int steps = std::max(o.min_iters, 3);
  for (int step = -o.warmup; step < steps; ++step) {
    const bool timed = step >= 0;
    const Tensor<float>* in = &x;
    for (std::size_t i = 0; i < count; ++i) {
      const auto t0 = Clock::now();
      model.layer(i).forward(*in, activations[i], Mode::train);
      if (timed) forward_s[i] += seconds_since(t0);
      in = &activations[i];
    }
    auto t0 = Clock::now();
    CategoricalCrossEntropy<float>::softmax_gradient(activations[count - 1], labels, gradients[count - 2]);
    if (timed) loss_s += seconds_since(t0);
    for (std::size_t i = count - 1; i-- > 0;) {
      const Tensor<float>& input = i == 0 ? x : activations[i - 1];
      t0 = Clock::now();
      model.layer(i).backward(input, activations[i], gradients[i], i == 0 ? nullptr : &gradients[i - 1]);
      if (timed) backward_s[i] += seconds_since(t0);
    }
    t0 = Clock::now();
    model.optimizer()->step(model.parameters());
    if (timed) optimizer_s += seconds_since(t0);
  }
  for (int step = -o.warmup; step < steps; ++step) {
    const Tensor<float>* in = &x;
    for (std::size_t i = 0; i < count; ++i) {
      const auto t0 = Clock::now();
      model.layer(i).forward(*in, activations[i], Mode::inference);
      if (step >= 0) inference_s[i] += seconds_since(t0);
      in = &activations[i];
    }
  }

  double train_total = loss_s + optimizer_s, infer_total = 0.0;
  for (std::size_t i = 0; i < count; ++i) {
    train_total += forward_s[i] + backward_s[i];
    infer_total += inference_s[i];
  }
  const double ms = 1e3 / steps;
  std::printf("## minidnn training step, batch %d, %d threads: %.1f ms per step (%.0f images/s)\n",
              o.batch, o.threads, train_total * ms, o.batch / (train_total / steps));
  std::printf("| # | layer | forward ms | backward ms | share | forward GFLOP/s | backward GFLOP/s | inference ms |\n");
  std::printf("|---:|---|---:|---:|---:|---:|---:|---:|\n");
  std::map<std::string, std::pair<double, double>> by_type;  // type -> (forward s, backward s)
  for (std::size_t i = 0; i < count; ++i) {
    Layer<float>& layer = model.layer(i);
    const double flops = 2.0 * forward_macs(layer) * o.batch;
    // Backward of a weighted layer is two products of the forward's size (dW and dx); the first
    // layer skips dx.
    const double backward_flops = flops * (i == 0 ? 1.0 : 2.0);
    const double f = forward_s[i] / steps, b = backward_s[i] / steps;
    char fg[32] = "", bg[32] = "";
    if (flops > 0) {
      std::snprintf(fg, sizeof fg, "%.1f", flops / f * 1e-9);
      std::snprintf(bg, sizeof bg, "%.1f", backward_flops / b * 1e-9);
    }
    std::printf("| %zu | %s | %.2f | %.2f | %.1f%% | %s | %s | %.2f |\n", i, layer.label().c_str(), f * 1e3,
                b * 1e3, 100.0 * (forward_s[i] + backward_s[i]) / train_total, fg, bg, inference_s[i] * ms);
    by_type[layer.type()].first += forward_s[i];
    by_type[layer.type()].second += backward_s[i];
  }
  std::printf("| | softmax + cross-entropy gradient | | %.2f | %.1f%% | | | |\n", loss_s * ms,
              100.0 * loss_s / train_total);
  std::printf("| | Adam step | | %.2f | %.1f%% | | | |\n", optimizer_s * ms, 100.0 * optimizer_s / train_total);
  std::printf("\n## minidnn per layer type (ReLU is fused into Conv2D and Dense)\n");
  std::printf("| layer type | forward ms | backward ms | share of the step |\n|---|---:|---:|---:|\n");
  for (const auto& [type, fb] : by_type)
    std::printf("| %s | %.2f | %.2f | %.1f%% |\n", type.c_str(), fb.first * ms, fb.second * ms,
                100.0 * (fb.first + fb.second) / train_total);
  std::printf("| Adam step | | %.2f | %.1f%% |\n", optimizer_s * ms, 100.0 * optimizer_s / train_total);
  std::printf("\nInference (forward only, batch %d): %.1f ms per batch\n", o.batch, infer_total * ms);
}

// One mode of a Sequential or a functional Model: train = train_on_batch with Adam, else forward.
template <typename Net>
std::vector<double> time_mode(Net& model, const std::string& mode, const Tensor<float>& x, const Options& o) {
  if (mode == "train") {
    model.compile(Adam<float>(1e-3, 0.9, 0.999, 1e-7));
    const auto labels = cyclic_labels(x.batch());
    return time_iterations([&] { model.train_on_batch(x, labels); }, o.warmup, o.min_time, o.min_iters);
  }
  const int warmup = mode == "infer" ? o.warmup : std::max(o.warmup, 20);
  return time_iterations([&] { model.forward(x); }, warmup, o.min_time, o.min_iters);
}

}  // namespace

int main(int argc, char** argv) try {
  const Options o = parse(argc, argv);
  if (o.layers) {
    layer_breakdown(o);
    return 0;
  }
  const std::vector<std::string> modes =
      o.mode == "all" ? std::vector<std::string>{"train", "infer", "latency"} : std::vector<std::string>{o.mode};
  for (const auto& mode : modes) {
    const int threads = mode == "latency" ? 1 : o.threads;
    const int batch = mode == "latency" ? 1 : o.batch;
    set_num_threads(threads);
    std::vector<double> times;
    if (o.model == "seed") {
      auto model = models::fer_tutorial_model<float>(1);
      times = time_mode(model, mode, random_faces(batch), o);
    } else if (o.model == "mini_xception") {
      auto model = models::mini_xception_model<float>(1);
      times = time_mode(model, mode, random_faces(batch), o);
    } else {
      auto model = models::vgg_bn_model<float>(1);
      times = time_mode(model, mode, random_faces(batch, 44), o);
    }
    report(o.model, mode, batch, threads, times);
  }
  return 0;
} catch (const std::exception& e) {
  std::cerr << "seed_model_speed: " << e.what() << "\n";
  return 1;
}
