// Every layer of the seed model (include/minidnn/models/fer_tutorial.hpp) alone, forward and
// backward, at batch 256 with the input shape it has in the model; plus im2col / col2im at the
// five convolutions' shapes and the Adam step over the model's 1.49 M parameters.
// And BatchNormalization, DepthwiseConv2D and SeparableConv2D at the shapes they have in
// mini-Xception (models/mini_xception.hpp, "xception/...") and BatchNormalization at those of the
// VGG-style network (models/vgg_bn.hpp, "vgg/..."; it has no depthwise layers); BatchNormalization
// forward in training mode (batch statistics). bench/pytorch_layers.py times the same layers in
// PyTorch and scripts/compare_layer_speed.sh runs both, alternately.
//
// Counters (rates, printed as GFLOP=x/s): GFLOP/s for Conv2D and Dense (2 x multiply-accumulates; a backward is dW + dx, twice
// the forward, except conv1 which, as the model's first layer, computes no dx), GB/s for the
// memory-bound layers (bytes of input + output, once each), images/s for all. Thread count:
// OMP_NUM_THREADS; times are wall-clock. Machine peak for reference: ~418 GFLOP/s FP32 on 2
// threads (AVX-512 FMA).
//
//   layers_bench --benchmark_filter=conv2        # one layer
//   layers_bench --benchmark_format=json         # machine-readable
#include <benchmark/benchmark.h>

#include <functional>
#include <memory>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "bench_support.hpp"
#include "minidnn/layers/batch_normalization.hpp"
#include "minidnn/layers/depthwise_conv2d.hpp"
#include "minidnn/layers/separable_conv2d.hpp"
#include "minidnn/models/fer_tutorial.hpp"
#include "minidnn/sequential.hpp"

using namespace minidnn;

namespace {

constexpr int kBatch = 256;

using LayerFactory = std::function<std::unique_ptr<Layer<float>>()>;

struct LayerCase {
  std::string name;
  LayerFactory make;
  Shape input;  // per-sample input shape inside the seed model
  bool first_layer = false;  // the model's first layer: its backward computes no grad_input
};

void fill_uniform(Tensor<float>& t, std::uint64_t seed, float low, float high) {
  Rng rng(seed);
  for (auto& v : t) v = low + (high - low) * static_cast<float>(rng.uniform());
}

using bench::forward_macs;

void set_counters(benchmark::State& state, Layer<float>& layer, double flops_per_batch) {
  using benchmark::Counter;
  state.counters["images"] = Counter(kBatch, Counter::kIsIterationInvariantRate);
  if (flops_per_batch > 0) {
    state.counters["GFLOP"] = Counter(flops_per_batch * 1e-9, Counter::kIsIterationInvariantRate);
  } else {
    const double bytes = double(layer.input_shape().size() + layer.output_shape().size()) * sizeof(float) * kBatch;
    state.counters["GB"] = Counter(bytes * 1e-9, Counter::kIsIterationInvariantRate);
  }
  state.SetLabel(layer.label());
}

struct Prepared {
  std::unique_ptr<Layer<float>> layer;
  Tensor<float> input, output;
};

Prepared prepare(const LayerCase& c) {
  Prepared p;
  p.layer = c.make();
  Rng rng(7);
  p.layer->build(c.input, rng);
  p.input = Tensor<float>(kBatch, c.input);
  fill_uniform(p.input, 11, -1.0f, 1.0f);
  return p;
}

void forward_case(benchmark::State& state, const LayerCase& c, Mode mode) {
  Prepared p = prepare(c);
  p.layer->forward(p.input, p.output, mode);  // sizes the output and workspaces
  for (auto _ : state) {
    p.layer->forward(p.input, p.output, mode);
    benchmark::DoNotOptimize(p.output.data());
  }
  set_counters(state, *p.layer, 2.0 * forward_macs(*p.layer) * kBatch);
}

void backward_case(benchmark::State& state, const LayerCase& c) {
  Prepared p = prepare(c);
  p.layer->forward(p.input, p.output, Mode::train);
  Tensor<float> grad_output(kBatch, p.layer->output_shape()), grad_input;
  fill_uniform(grad_output, 13, -1e-3f, 1e-3f);
  Tensor<float>* grad_input_ptr = c.first_layer ? nullptr : &grad_input;
  // grad_output is scratch for backward (a fused ReLU masks it in place); masking again gives
  // the same values, so every iteration does the same work.
  p.layer->backward(p.input, p.output, grad_output, grad_input_ptr);
  for (auto _ : state) {
    p.layer->backward(p.input, p.output, grad_output, grad_input_ptr);
    benchmark::ClobberMemory();
  }
  set_counters(state, *p.layer, 2.0 * forward_macs(*p.layer) * kBatch * (c.first_layer ? 1.0 : 2.0));
}

std::vector<LayerCase> seed_model_layers() {
  auto conv = [](int filters, int kernel) -> LayerFactory {
    return [=] { return std::make_unique<Conv2D<float>>(filters, kernel, Activation::relu); };
  };
  auto dense = [](int units, Activation a) -> LayerFactory {
    return [=] { return std::make_unique<Dense<float>>(units, a); };
  };
  return {
      {"conv1", conv(64, 5), Shape{1, 48, 48}, true},
      {"maxpool", [] { return std::make_unique<MaxPool2D<float>>(5, 2); }, Shape{64, 44, 44}},
      {"conv2", conv(64, 3), Shape{64, 20, 20}},
      {"conv3", conv(64, 3), Shape{64, 18, 18}},
      {"avgpool1", [] { return std::make_unique<AvgPool2D<float>>(3, 2); }, Shape{64, 16, 16}},
      {"conv4", conv(128, 3), Shape{64, 7, 7}},
      {"conv5", conv(128, 3), Shape{128, 5, 5}},
      {"avgpool2", [] { return std::make_unique<AvgPool2D<float>>(3, 2); }, Shape{128, 3, 3}},
      {"dense1", dense(1024, Activation::relu), Shape{128}},
      {"dropout", [] { return std::make_unique<Dropout<float>>(0.2); }, Shape{1024}},
      {"dense2", dense(1024, Activation::relu), Shape{1024}},
      {"dense3", dense(7, Activation::linear), Shape{1024}},
  };
}

// The BatchNormalization, DepthwiseConv2D (3x3, same, no bias) and SeparableConv2D (3x3, same, no
// bias) layers of mini-Xception and the VGG-style network, each distinct shape once, and their
// first convolutions, named "<model>/<layer>_<channels>x<height>x<width>" (separable and conv:
// "..._to<filters>").
std::vector<LayerCase> batch_norm_model_layers() {
  std::vector<LayerCase> cases;
  auto name = [](const std::string& model, const std::string& layer, int c, int side) {
    return model + "/" + layer + "_" + std::to_string(c) + "x" + std::to_string(side) + "x" + std::to_string(side);
  };
  auto bn = [&](const std::string& model, int c, int side) {
    cases.push_back({name(model, "bn", c, side), [] { return std::make_unique<BatchNormalization<float>>(); },
                     Shape{c, side, side}});
  };
  // The first convolutions (no bias: a BatchNormalization follows), by the algorithm Conv2D picks
  // and forced to Winograd F(4x4), which it took before it required 8 input channels.
  auto conv = [&](const std::string& model, int c, int side, int f, Padding padding) {
    for (const bool winograd : {false, true})
      cases.push_back({name(model, "conv", c, side) + "_to" + std::to_string(f) + (winograd ? "_winograd" : ""),
                       [=] {
                         auto layer = std::make_unique<Conv2D<float>>(f, 3, Activation::linear, 1, padding, false);
                         if (winograd) layer->set_algorithm(ConvAlgorithm::winograd, 4);
                         return layer;
                       },
                       Shape{c, side, side}, /*first_layer=*/c == 1});
  };
  conv("xception", 1, 48, 8, Padding::valid);
  conv("xception", 8, 46, 8, Padding::valid);
  conv("vgg", 1, 44, 32, Padding::same);
  for (auto [c, side] : {std::pair{8, 46}, {16, 44}, {32, 22}, {64, 11}, {128, 6}}) bn("xception", c, side);
  for (auto [c, side] : {std::pair{32, 44}, {64, 22}, {128, 11}, {256, 5}}) bn("vgg", c, side);
  for (auto [c, side] : {std::pair{8, 44}, {16, 44}, {16, 22}, {32, 22}, {32, 11}, {64, 11}, {64, 6}, {128, 6}})
    cases.push_back({name("xception", "depthwise", c, side),
                     [] { return std::make_unique<DepthwiseConv2D<float>>(3, 1, Padding::same, 1, Activation::linear, false); },
                     Shape{c, side, side}});
  for (auto [c, f, side] : {std::tuple{8, 16, 44}, {16, 16, 44}, {16, 32, 22}, {32, 32, 22}, {32, 64, 11}, {64, 64, 11},
                            {64, 128, 6}, {128, 128, 6}})
    cases.push_back({name("xception", "separable", c, side) + "_to" + std::to_string(f),
                     [f = f] {
                       return std::make_unique<SeparableConv2D<float>>(f, 3, 1, Padding::same, 1, Activation::linear, false);
                     },
                     Shape{c, side, side}});
  return cases;
}

// im2col / col2im over a whole batch, one sample at a time into one buffer, on ONE thread (the
// convolution layer runs them per sample, samples spread over threads). GB/s counts the column
// matrix's bytes (written by im2col, read by col2im) plus the image's.
struct ConvShape {
  std::string name;
  int channels, size, kernel;
};

const std::vector<ConvShape> kConvShapes = {
    {"conv1", 1, 48, 5}, {"conv2", 64, 20, 3}, {"conv3", 64, 18, 3}, {"conv4", 64, 7, 3}, {"conv5", 128, 5, 3}};

ConvGeometry geometry_of(const ConvShape& s) {
  const int out = s.size - s.kernel + 1;
  return ConvGeometry{s.channels, s.size, s.size, s.kernel, s.kernel, 1, 1, 0, 0, out, out};
}

void set_column_counters(benchmark::State& state, const ConvGeometry& g) {
  using benchmark::Counter;
  const double col_bytes = double(g.col_rows()) * g.col_cols() * sizeof(float);
  const double image_bytes = double(g.channels) * g.height * g.width * sizeof(float);
  state.counters["GB"] = Counter((col_bytes + image_bytes) * kBatch * 1e-9, Counter::kIsIterationInvariantRate);
  state.counters["images"] = Counter(kBatch, Counter::kIsIterationInvariantRate);
  state.SetLabel("col " + std::to_string(g.col_rows()) + "x" + std::to_string(g.col_cols()));
}

void im2col_case(benchmark::State& state, const ConvShape& s) {
  const ConvGeometry g = geometry_of(s);
  Tensor<float> images(kBatch, Shape{g.channels, g.height, g.width});
  fill_uniform(images, 3, -1.0f, 1.0f);
  AlignedVector<float> col(static_cast<std::size_t>(g.col_rows()) * g.col_cols());
  for (auto _ : state) {
    for (int n = 0; n < kBatch; ++n) im2col(g, images.sample(n), col.data());
    benchmark::DoNotOptimize(col.data());
  }
  set_column_counters(state, g);
}

void col2im_case(benchmark::State& state, const ConvShape& s) {
  const ConvGeometry g = geometry_of(s);
  Tensor<float> images(kBatch, Shape{g.channels, g.height, g.width});
  Tensor<float> col(1, Shape{g.col_rows(), g.col_cols()});
  fill_uniform(col, 5, -1.0f, 1.0f);
  for (auto _ : state) {
    images.fill(0.0f);
    for (int n = 0; n < kBatch; ++n) col2im_add(g, col.data(), images.sample(n));
    benchmark::DoNotOptimize(images.data());
  }
  set_column_counters(state, g);
}

// One Adam update of all the seed model's parameters (w, g, m, v: 16 bytes read, 12 written each).
void adam_case(benchmark::State& state) {
  auto model = models::fer_tutorial_model<float>(1);
  auto parameters = model.parameters();
  Adam<float> adam(1e-3, 0.9, 0.999, 1e-7);
  std::size_t count = 0;
  for (auto* p : parameters) {
    Rng rng(count + 1);
    for (auto& g : p->grad) g = static_cast<float>(rng.uniform()) - 0.5f;
    count += p->size();
  }
  adam.step(parameters);
  for (auto _ : state) {
    adam.step(parameters);
    benchmark::ClobberMemory();
  }
  state.counters["GB"] = benchmark::Counter(double(count) * 28 * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(std::to_string(count) + " parameters");
}

}  // namespace

int main(int argc, char** argv) {
  static std::vector<LayerCase> layers = seed_model_layers();
  for (auto& c : batch_norm_model_layers()) layers.push_back(std::move(c));
  for (const LayerCase& c : layers) {
    benchmark::RegisterBenchmark((c.name + "/forward").c_str(), forward_case, c, Mode::train)
        ->Unit(benchmark::kMillisecond)->UseRealTime();
    benchmark::RegisterBenchmark((c.name + "/backward").c_str(), backward_case, c)
        ->Unit(benchmark::kMillisecond)->UseRealTime();
  }
  for (const ConvShape& s : kConvShapes) {
    benchmark::RegisterBenchmark(("im2col/" + s.name).c_str(), im2col_case, s)->Unit(benchmark::kMillisecond)->UseRealTime();
    benchmark::RegisterBenchmark(("col2im/" + s.name).c_str(), col2im_case, s)->Unit(benchmark::kMillisecond)->UseRealTime();
  }
  benchmark::RegisterBenchmark("adam/step", adam_case)->Unit(benchmark::kMillisecond)->UseRealTime();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
