#pragma once
/// \file
/// Conv2D: 2-D convolution (cross-correlation, as Keras) over NCHW batches, with an optional
/// fused ReLU. The layer holds the kernel and bias and chooses an engine per batch (ConvChoice):
/// 3x3 stride-1 convolutions of 8 or more channels run by Winograd F(4x4, 3x3), F(3x3, 3x3) or
/// F(2x2, 3x3) (ops/conv/winograd.hpp: 4x, 3.24x or 2.25x fewer multiplications), convolutions
/// with few inputs per output by a direct forward (ops/conv/direct.hpp, backward by im2col); all
/// others, or any on request, by im2col + GEMM (ops/conv/im2col_gemm.hpp). Each engine owns its
/// workspaces.
#include <algorithm>
#include <string>
#include <vector>

#include "minidnn/core/initializers.hpp"
#include "minidnn/ops/activation.hpp"
#include "minidnn/layers/layer.hpp"
#include "minidnn/layers/size2.hpp"
#include "minidnn/ops/conv/direct.hpp"
#include "minidnn/ops/conv/im2col_gemm.hpp"
#include "minidnn/ops/conv/winograd.hpp"

namespace minidnn {

/// How a Conv2D computes:
/// - `winograd`: Winograd F(m x m, 3x3) (ops/conv/winograd.hpp), for 3x3 kernels at stride 1, with
///   output tiles of side m = 2, 3 or 4 (ConvChoice::winograd_tile); unless one is asked for, the
///   side with the fewest multiplications for the output size (see Conv2D::cheapest_winograd_tile);
/// - `direct`: a forward that reads the input in place (ops/conv/direct.hpp), for stride 1, no
///   padding and at most 32 inputs per output (the seed model's conv1); backward by im2col;
/// - `im2col`: im2col + GEMM, for anything.
/// `automatic` takes the first that applies, Winograd only for 8 input channels or more and when
/// the batch has enough output tiles to feed its GEMMs (see Conv2D::uses_winograd); the others
/// force one.
enum class ConvAlgorithm { automatic, im2col, winograd, direct };

/// What a Conv2D computes a batch with: the algorithm and, for Winograd, the side m of its
/// F(m x m, 3x3) output tiles (2, 3 or 4; 0 for the other algorithms).
struct ConvChoice {
  ConvAlgorithm algorithm = ConvAlgorithm::automatic;
  int winograd_tile = 0;

  friend bool operator==(const ConvChoice& a, const ConvChoice& b) {
    return a.algorithm == b.algorithm && a.winograd_tile == b.winograd_tile;
  }
  friend bool operator!=(const ConvChoice& a, const ConvChoice& b) { return !(a == b); }
  /// "im2col", "direct", "winograd F(4x4)", "automatic".
  std::string to_string() const {
    switch (algorithm) {
      case ConvAlgorithm::im2col: return "im2col";
      case ConvAlgorithm::direct: return "direct";
      case ConvAlgorithm::winograd:
        return winograd_tile == 0 ? "winograd" : "winograd F(" + std::to_string(winograd_tile) + "x" +
                                                     std::to_string(winograd_tile) + ")";
      default: return "automatic";
    }
  }
};

template <typename T>
class Conv2D : public Layer<T> {
 public:
  /// `filters` output channels, a `kernel` window, Keras's argument order. Without `use_bias`
  /// (Keras's use_bias=False, as before a BatchNormalization) the layer has no bias parameter;
  /// it adds a bias of zeros that it never trains.
  Conv2D(int filters, Size2 kernel, Activation activation = Activation::linear, Size2 strides = 1,
         Padding padding = Padding::valid, bool use_bias = true)
      : filters_(filters), kernel_(kernel), strides_(strides), padding_(padding), activation_(activation),
        use_bias_(use_bias) {
    if (filters <= 0) fail("Conv2D: filters must be positive, got ", filters);
    if (!kernel.valid()) fail("Conv2D: kernel sides must be 1 to ", Size2::kMaxSide, ", got ", kernel.to_string());
    if (!strides.valid()) fail("Conv2D: strides must be 1 to ", Size2::kMaxSide, ", got ", strides.to_string());
  }

  std::string type() const override { return "Conv2D"; }
  std::string describe() const override {
    return std::to_string(filters_) + " " + kernel_.to_string() + ", stride " + strides_.to_string() +
           ", " + to_string(padding_) + ", " + to_string(activation_) + (use_bias_ ? "" : ", no bias");
  }
  std::vector<Parameter<T>*> parameters() override {
    if (use_bias_) return {&kernel_param_, &bias_param_};
    return {&kernel_param_};
  }
  std::size_t parameter_count_for(const Shape& input_shape) const override {
    return std::size_t(filters_) * input_shape.channels() * kernel_.h * kernel_.w + (use_bias_ ? filters_ : 0);
  }
  bool use_bias() const { return use_bias_; }

  /// What folding a following BatchNormalization into this layer at inference rewrites
  /// (model/functional.hpp): the kernel and bias values (the bias is zeros without use_bias), and
  /// the fused activation, which must be linear for the fold.
  AlignedVector<T>& kernel_values() { return kernel_param_.value; }
  AlignedVector<T>& bias_values() { return bias_param_.value; }
  Activation activation() const { return activation_; }

  void write_config(BinaryWriter& out) const override {
    for (int v : {filters_, kernel_.h, kernel_.w, strides_.h, strides_.w}) out.write<std::int32_t>(v);
    // The padding field holds flags: bit 0 same padding, bit 1 no bias (0 or 1 in files from
    // before use_bias, which read the same; older builds refuse a bias-free layer's code).
    out.write<std::int32_t>((padding_ == Padding::same ? 1 : 0) | (use_bias_ ? 0 : 2));
    out.write<std::int32_t>(activation_code(activation_));
  }
  static std::unique_ptr<Layer<T>> read_config(BinaryReader& in) {
    const int filters = in.read<std::int32_t>("Conv2D filters");
    const int kh = in.read<std::int32_t>("Conv2D kernel height");
    const int kw = in.read<std::int32_t>("Conv2D kernel width");
    const int sh = in.read<std::int32_t>("Conv2D stride height");
    const int sw = in.read<std::int32_t>("Conv2D stride width");
    const int padding = in.read<std::int32_t>("Conv2D padding");
    if (padding < 0 || padding > 3) fail(in.what(), ": Conv2D padding code ", padding, " is invalid");
    const Activation activation = activation_from_code(in.read<std::int32_t>("Conv2D activation"));
    return std::make_unique<Conv2D>(filters, Size2(kh, kw), activation, Size2(sh, sw),
                                    (padding & 1) ? Padding::same : Padding::valid, (padding & 2) == 0);
  }

  const ConvGeometry& geometry() const { return geometry_; }

  /// Chooses the algorithm and, for Winograd, the output tile side (2, 3 or 4; 0: the cheapest
  /// for the output size); the results agree to rounding. Throws on a tile side that is not 0, 2,
  /// 3 or 4 or given with another algorithm, and if an algorithm is asked for a convolution it
  /// cannot compute (once the layer is built).
  void set_algorithm(ConvAlgorithm algorithm, int winograd_tile = 0) {
    if (winograd_tile != 0 && algorithm != ConvAlgorithm::winograd)
      fail("Conv2D: a Winograd tile side (", winograd_tile, ") goes only with ConvAlgorithm::winograd");
    if (winograd_tile != 0 && (winograd_tile < 2 || winograd_tile > 4))
      fail("Conv2D: Winograd output tiles are 2x2, 3x3 or 4x4, not ", winograd_tile, "x", winograd_tile);
    algorithm_ = algorithm;
    winograd_tile_ = winograd_tile;
    if (this->built()) check_algorithm();
  }
  /// What batches of `batch` samples are computed with, once built (never automatic).
  ConvChoice choice(int batch = 256) const {
    if (uses_winograd(batch))
      return {ConvAlgorithm::winograd, winograd_tile_ != 0 ? winograd_tile_ : cheapest_winograd_tile()};
    return {sample_algorithm(), 0};
  }
  /// The algorithm alone of choice(batch).
  ConvAlgorithm algorithm(int batch = 256) const { return choice(batch).algorithm; }

  void forward(const Tensor<T>& input, Tensor<T>& output, Mode) override {
    this->check_input(input);
    const int batch = input.batch();
    output.resize(batch, this->output_shape());
    const ConvChoice choice = this->choice(batch);
    const auto winograd_forward = [&](auto& winograd) {
      winograd.forward(input, kernel_param_.value.data(), bias_param_.value.data(), activation_, output);
    };
    if (visit_winograd(choice, winograd_forward)) return;
    if (choice.algorithm == ConvAlgorithm::im2col) {
      im2col_.forward(input, kernel_param_.value.data(), bias_param_.value.data(), activation_, output);
      return;
    }
#pragma omp parallel for schedule(static) if (batch > 1)
    for (int n = 0; n < batch; ++n) forward_sample(input.sample(n), output.sample(n), nullptr);
  }

  /// The direct forward and im2col + GEMM work sample by sample (im2col in a column block of
  /// sample_scratch_size() values); Winograd gains from the batch.
  bool has_sample_forward(int batch) const override { return !uses_winograd(batch); }
  std::size_t sample_scratch_size() const override {
    return sample_algorithm() == ConvAlgorithm::im2col ? im2col_.sample_scratch_size() : 0;
  }
  void forward_sample(const T* x, T* y, T* scratch) const override {
    const T* kernel = kernel_param_.value.data();
    const T* bias = bias_param_.value.data();
    if (sample_algorithm() == ConvAlgorithm::direct)
      direct_conv_forward(geometry_, filters_, x, kernel, bias, activation_, y);
    else
      im2col_.forward_sample(x, kernel, bias, activation_, y, scratch);
  }

  void backward(const Tensor<T>& input, const Tensor<T>& output, Tensor<T>& grad_output,
                Tensor<T>* grad_input) override {
    if (grad_input) grad_input->resize(input.batch(), this->input_shape());
    const auto backward_by = [&](auto& engine) {
      engine.backward(input, output, activation_, kernel_param_.value.data(), grad_output,
                      kernel_param_.grad.data(), bias_param_.grad.data(), grad_input);
    };
    // The direct forward's backward is im2col's.
    if (!visit_winograd(choice(input.batch()), backward_by)) backward_by(im2col_);
  }

 protected:
  Shape infer_output_shape(const Shape& in) const override {
    const ConvGeometry g = compute_geometry(in);
    return Shape{filters_, g.out_h, g.out_w};
  }

  void initialize(Rng& rng) override {
    geometry_ = compute_geometry(this->input_shape());
    check_algorithm();
    im2col_ = Im2colGemmConv<T>(geometry_, filters_);
    winograd2_ = WinogradConv<T>(geometry_, filters_);
    winograd3_ = WinogradConv<T, winograd::F3x3>(geometry_, filters_);
    winograd4_ = WinogradConv<T, winograd::F4x4>(geometry_, filters_);
    const int c = this->input_shape().channels();
    kernel_param_ = Parameter<T>("kernel", {filters_, c, kernel_.h, kernel_.w});
    bias_param_ = Parameter<T>("bias", {filters_});
    const double receptive = double(kernel_.h) * kernel_.w;
    glorot_uniform(kernel_param_.value, receptive * c, receptive * filters_, rng);
  }

 private:
  ConvGeometry compute_geometry(const Shape& in) const {
    if (in.rank() != 3)
      fail("Conv2D: expects a (channels, height, width) input, got ", in);
    ConvGeometry g{in.channels(), in.height(), in.width(), kernel_.h, kernel_.w, strides_.h, strides_.w,
                   0, 0, 0, 0};
    if (padding_ == Padding::same) {
      g.out_h = (g.height + g.stride_h - 1) / g.stride_h;
      g.out_w = (g.width + g.stride_w - 1) / g.stride_w;
      g.pad_h = std::max((g.out_h - 1) * g.stride_h + g.kernel_h - g.height, 0) / 2;
      g.pad_w = std::max((g.out_w - 1) * g.stride_w + g.kernel_w - g.width, 0) / 2;
    } else {
      if (kernel_.h > g.height || kernel_.w > g.width)
        fail("Conv2D: kernel ", kernel_.to_string(), " is larger than its input ", in,
             " with valid padding");
      g.out_h = (g.height - g.kernel_h) / g.stride_h + 1;
      g.out_w = (g.width - g.kernel_w) / g.stride_w + 1;
    }
    return g;
  }

  // Winograd's 16 GEMMs share one set of transformed kernels (16x the kernel's size) over the
  // batch's output tiles. With few tiles (the seed model's conv5 at batch 1 has 4) reading those
  // kernels costs more than im2col's one product saves: measured at batch 1 on the seed model,
  // conv4/conv5 (9 and 4 tiles) ran 0.09/0.16 ms by Winograd against 0.07/0.08 ms by im2col,
  // conv2/conv3 (81 and 64 tiles) 0.20/0.15 ms against 0.31/0.24.
  static constexpr int kMinWinogradTiles = 32;
  // Winograd transforms every input channel's and every filter's tiles, which pays only where the
  // product between them is large; with few input channels im2col + GEMM (or the direct forward)
  // wins. Measured at batch 256, 2 threads, AVX2, forward / forward + backward ms, Winograd
  // against im2col (direct where it applies):
  //   1 -> 8 valid, 48x48 (mini-Xception's conv1): 12.2 / 27.3 against 4.3 / 11.7 (direct 2.0 / 9.6)
  //   1 -> 32 same, 48x48 (VGG-BN's conv1):        40.0 / 84.7 against 15.2 / 40.4
  //   3 -> 32 same, 48x48:                         36.7 / 85.3 against 16.1 / 46.2
  //   4 -> 8 valid, 46x46:                          9.8 / 26.9 against 10.1 / 23.4
  //   8 -> 8 valid, 46x46 (mini-Xception's conv2): 19.0 / 38.0 against 17.5 / 37.8
  //   8 -> 16 same, 46x46:                         25.6 / 53.7 against 31.2 / 69.1
  //   16 -> 16 same, 24x24:                        11.6 / 24.7 against 16.5 / 33.5
  static constexpr int kMinWinogradChannels = 8;
  bool uses_winograd(int batch) const {
    if (algorithm_ == ConvAlgorithm::winograd) return true;
    if (algorithm_ != ConvAlgorithm::automatic || !winograd_applies(geometry_)) return false;
    if (geometry_.channels < kMinWinogradChannels) return false;
    return static_cast<long>(batch) * winograd::Tiling(geometry_).tiles() >= kMinWinogradTiles;
  }

  // The Winograd tile size with the fewest multiplications for this output, counting tiles that
  // reach past its edge: (m + 2)^2 per m x m tile; on a tie the smaller tile, whose transforms
  // take fewer additions per value. Measured at batch 256, 2 threads, forward / backward ms:
  //   seed conv2 (18x18): F2 22.3 / 46.1, F3 18.5 / 37.9, F4 19.2 / 41.0   (1296, 900, 900)
  //   seed conv3 (16x16): F2 15.6 / 34.6, F3 18.7 / 37.9, F4 11.4 / 25.0   (1024, 900, 576)
  //   seed conv4 (5x5):   F2  6.0 / 10.2, F3  4.9 /  9.6, F4  6.9 / 14.1   (144, 100, 144)
  //   seed conv5 (3x3):   F2  5.0 /  8.8, F3  4.4 /  9.0, F4  6.5 / 14.5   (64, 25, 36)
  int cheapest_winograd_tile() const {
    const auto multiplications = [&](int m) {
      return long(m + 2) * (m + 2) * ((geometry_.out_h + m - 1) / m) * ((geometry_.out_w + m - 1) / m);
    };
    int best = 2;
    for (const int m : {3, 4})
      if (multiplications(m) < multiplications(best)) best = m;
    return best;
  }

  // Calls f with the WinogradConv that computes `choice`; false if it is not a Winograd one.
  template <typename F>
  bool visit_winograd(const ConvChoice& choice, F&& f) {
    if (choice.algorithm != ConvAlgorithm::winograd) return false;
    switch (choice.winograd_tile) {
      case 3: f(winograd3_); break;
      case 4: f(winograd4_); break;
      default: f(winograd2_); break;
    }
    return true;
  }

  void check_algorithm() const {
    if (algorithm_ == ConvAlgorithm::winograd && !winograd_applies(geometry_))
      fail("Conv2D: Winograd computes only 3x3 kernels at stride 1, not ", kernel_.to_string(),
           " at stride ", strides_.to_string());
    if (algorithm_ == ConvAlgorithm::direct && !direct_conv_applies(geometry_))
      fail("Conv2D: the direct forward needs stride 1, no padding and at most ", kDirectConvMaxTaps,
           " inputs per output; this layer has stride ", strides_.to_string(), ", ", to_string(padding_),
           " padding and ", geometry_.col_rows());
  }


  // The algorithm of a batch too small for Winograd.
  ConvAlgorithm sample_algorithm() const {
    const bool direct = algorithm_ == ConvAlgorithm::direct ||
                        (algorithm_ == ConvAlgorithm::automatic && direct_conv_applies(geometry_));
    return direct ? ConvAlgorithm::direct : ConvAlgorithm::im2col;
  }

  int filters_;
  Size2 kernel_, strides_;
  Padding padding_;
  Activation activation_;
  bool use_bias_;
  ConvAlgorithm algorithm_ = ConvAlgorithm::automatic;
  int winograd_tile_ = 0;  // forced Winograd tile side; 0: the cheapest for the output
  ConvGeometry geometry_{};
  Parameter<T> kernel_param_;  // (F, C, kh, kw) == row-major F x K
  Parameter<T> bias_param_;    // (F); zeros, and not a parameter, without use_bias
  // The engines, each with its workspaces (only those in use grow).
  Im2colGemmConv<T> im2col_;
  WinogradConv<T> winograd2_;
  WinogradConv<T, winograd::F3x3> winograd3_;
  WinogradConv<T, winograd::F4x4> winograd4_;
};

}  // namespace minidnn
