#pragma once
/// \file
/// Conv2D: 2-D convolution (cross-correlation, as Keras) over NCHW batches, with an optional
/// fused ReLU. 3x3 stride-1 convolutions of 8 or more channels run by Winograd F(4x4, 3x3), F(3x3, 3x3) or F(2x2, 3x3)
/// (ops/conv/winograd.hpp: 4x, 3.24x or 2.25x fewer multiplications), convolutions with few inputs per output
/// by a direct forward (ops/conv/direct.hpp); all others, or any on request (ConvAlgorithm), by
/// im2col + GEMM as below.
///
/// Per sample n, with P = out_h*out_w output positions and K = C*kh*kw:
///     col   (K x P)   = im2col(x_n)
///     y_n   (F x P)   = kernel (F x K) * col + bias          then activation
///   backward:
///     dW    (F x K)  += dy_n (F x P) * col^T                 summed over the batch
///     db    (F)      += row sums of dy_n
///     dcol  (K x P)   = kernel^T * dy_n ;  dx_n = col2im(dcol)
/// Samples are spread over OpenMP threads; each thread owns its col/dcol/dW workspaces, and the
/// per-thread weight gradients are summed in thread order, so results do not depend on timing.
///
/// The column matrix of a sample is built and consumed in blocks of whole input channels (rows
/// [c0*kh*kw, c1*kh*kw) of col, kColumnBlockBytes at most), not all at once: conv2's full col is
/// 1600 x 324 floats = 2 MB, more than the 1 MB L2 cache, so im2col would write it out to L3 and
/// the GEMM's packing would read it back from there. A block stays in L2 between im2col, the
/// GEMM that reads it and (backward) col2im. The products split along K exactly:
///     y_n   = sum over blocks  kernel[:, block] * col[block]          (beta = 1 after the first)
///     dW[:, block] += dy_n * col[block]^T ;  dcol[block] = kernel[:, block]^T * dy_n
#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "minidnn/ops/gemm.hpp"
#include "minidnn/core/initializers.hpp"
#include "minidnn/core/parallel.hpp"
#include "minidnn/ops/activation.hpp"
#include "minidnn/layers/layer.hpp"
#include "minidnn/layers/size2.hpp"
#include "minidnn/ops/conv/direct.hpp"
#include "minidnn/ops/conv/im2col.hpp"
#include "minidnn/ops/row_sums.hpp"
#include "minidnn/ops/conv/winograd.hpp"

namespace minidnn {

/// How a Conv2D computes:
/// - `winograd`, `winograd_3x3`, `winograd_4x4`: Winograd F(2x2, 3x3), F(3x3, 3x3), F(4x4, 3x3)
///   (ops/conv/winograd.hpp), for 3x3 kernels at stride 1; `automatic` takes the one with the fewest
///   multiplications for the output size (see Conv2D::cheapest_winograd);
/// - `direct`: a forward that reads the input in place (ops/conv/direct.hpp), for stride 1, no
///   padding and at most 32 inputs per output (the seed model's conv1); backward by im2col;
/// - `im2col`: im2col + GEMM, for anything.
/// `automatic` takes the first that applies, Winograd only for 8 input channels or more and when
/// the batch has enough output tiles to feed its GEMMs (see Conv2D::uses_winograd); the others
/// force one.
enum class ConvAlgorithm { automatic, im2col, winograd, winograd_3x3, winograd_4x4, direct };

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

  /// Chooses the algorithm; the results agree to rounding. Throws if an algorithm is asked for
  /// a convolution it cannot compute (once the layer is built).
  void set_algorithm(ConvAlgorithm algorithm) {
    algorithm_ = algorithm;
    if (this->built()) check_algorithm();
  }
  /// The algorithm for batches of `batch` samples, once built (never automatic).
  ConvAlgorithm algorithm(int batch = 256) const {
    if (uses_winograd(batch)) {
      if (algorithm_ != ConvAlgorithm::automatic) return algorithm_;
      return cheapest_winograd();
    }
    return sample_algorithm();
  }

  void forward(const Tensor<T>& input, Tensor<T>& output, Mode) override {
    this->check_input(input);
    const int batch = input.batch();
    output.resize(batch, this->output_shape());
    const ConvAlgorithm algorithm = this->algorithm(batch);
    const auto winograd_forward = [&](auto& winograd) {
      winograd.forward(input, kernel_param_.value.data(), bias_param_.value.data(), activation_, output);
    };
    if (visit_winograd(algorithm, winograd_forward)) return;
    const bool columns = sample_scratch_size() > 0;
    if (columns) reserve_workspaces(/*backward=*/false);
#pragma omp parallel for schedule(static) if (batch > 1)
    for (int n = 0; n < batch; ++n)
      forward_sample(input.sample(n), output.sample(n), columns ? col_[thread_index()].data() : nullptr);
  }

  /// The direct forward and im2col + GEMM work sample by sample (im2col in a column block of
  /// sample_scratch_size() values); Winograd gains from the batch.
  bool has_sample_forward(int batch) const override { return !uses_winograd(batch); }
  std::size_t sample_scratch_size() const override {
    return sample_algorithm() == ConvAlgorithm::im2col && !is_pointwise() ? column_block_size() : 0;
  }
  void forward_sample(const T* x, T* y, T* scratch) const override {
    const ConvGeometry& g = geometry_;
    if (sample_algorithm() == ConvAlgorithm::direct) {
      direct_conv_forward(g, filters_, x, kernel_param_.value.data(), bias_param_.value.data(), activation_, y);
      return;
    }
    const int k = g.col_rows(), p = g.col_cols();  // y (F x P)
    if (is_pointwise()) {
      gemm<T>(Transpose::no, Transpose::no, filters_, p, k, T(1), kernel_param_.value.data(), k, x, p, T(0), y, p);
    } else {
      T* col = scratch;  // (block rows x P)
      for (int c0 = 0; c0 < g.channels; c0 += block_channels_) {
        const ConvGeometry block = channel_block(c0);
        const int rows = block.col_rows(), row0 = c0 * g.kernel_h * g.kernel_w;
        im2col(block, x + channel_offset(c0), col);
        gemm<T>(Transpose::no, Transpose::no, filters_, p, rows, T(1), kernel_param_.value.data() + row0, k, col, p,
                T(c0 == 0 ? 0 : 1), y, p);
      }
    }
    add_bias_and_activate(y, p);
  }

  void backward(const Tensor<T>& input, const Tensor<T>& output, Tensor<T>& grad_output,
                Tensor<T>* grad_input) override {
    const int batch = input.batch();
    const ConvGeometry& g = geometry_;
    const int k = g.col_rows(), p = g.col_cols();
    const bool direct = is_pointwise();
    if (grad_input) grad_input->resize(batch, this->input_shape());
    const ConvAlgorithm algorithm = this->algorithm(batch);
    const auto winograd_backward = [&](auto& winograd) {
      winograd.backward(input, output, activation_, kernel_param_.value.data(), grad_output,
                        kernel_param_.grad.data(), bias_param_.grad.data(), grad_input);
    };
    if (visit_winograd(algorithm, winograd_backward)) return;
    reserve_workspaces(/*backward=*/true);
    int team = 1;
#pragma omp parallel if (batch > 1)
    {
      const int t = thread_index();
#pragma omp single nowait
      team = team_size();
      T* dkernel = dkernel_[t].data();  // (F x K), this thread's share of the batch
      T* dbias = dbias_[t].data();      // (F)
      std::fill(dkernel, dkernel + static_cast<std::size_t>(filters_) * k, T(0));
      std::fill(dbias, dbias + filters_, T(0));
#pragma omp for schedule(static)
      for (int n = 0; n < batch; ++n) {
        T* dy = grad_output.sample(n);  // (F x P)
        // Per sample, inside the parallel loop: the masked gradient is then still in cache for
        // the sums and products below.
        activation_backward(activation_, output.sample(n), dy, grad_output.sample_size());
        add_row_sums(dy, filters_, p, p, dbias);
        if (direct) {
          gemm<T>(Transpose::no, Transpose::yes, filters_, k, p, T(1), dy, p, input.sample(n), p, T(1),
                  dkernel, k);
          if (grad_input)
            gemm<T>(Transpose::yes, Transpose::no, k, p, filters_, T(1), kernel_param_.value.data(), k,
                    dy, p, T(0), grad_input->sample(n), p);
          continue;
        }
        T* col = col_[t].data();    // (block rows x P)
        T* dcol = dcol_[t].data();  // (block rows x P)
        T* dx = grad_input ? grad_input->sample(n) : nullptr;
        if (dx) std::fill(dx, dx + grad_input->sample_size(), T(0));
        for (int c0 = 0; c0 < g.channels; c0 += block_channels_) {
          const ConvGeometry block = channel_block(c0);
          const int rows = block.col_rows(), row0 = c0 * g.kernel_h * g.kernel_w;
          im2col(block, input.sample(n) + channel_offset(c0), col);
          gemm<T>(Transpose::no, Transpose::yes, filters_, rows, p, T(1), dy, p, col, p, T(1),
                  dkernel + row0, k);
          if (dx) {
            gemm<T>(Transpose::yes, Transpose::no, rows, p, filters_, T(1),
                    kernel_param_.value.data() + row0, k, dy, p, T(0), dcol, p);
            col2im_add(block, dcol, dx + channel_offset(c0));
          }
        }
      }
    }
    // Sum the per-thread gradients in thread order: deterministic for a given thread count.
    sum_thread_shares(dkernel_, team, kernel_param_.grad);
    if (use_bias_) sum_thread_shares(dbias_, team, bias_param_.grad);
  }

 protected:
  Shape infer_output_shape(const Shape& in) const override {
    const ConvGeometry g = compute_geometry(in);
    return Shape{filters_, g.out_h, g.out_w};
  }

  void initialize(Rng& rng) override {
    geometry_ = compute_geometry(this->input_shape());
    check_algorithm();
    block_channels_ = compute_block_channels();
    winograd_ = WinogradConv<T>(geometry_, filters_);
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
    if (is_winograd(algorithm_)) return true;
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
  ConvAlgorithm cheapest_winograd() const {
    const auto multiplications = [&](int m) {
      return long(m + 2) * (m + 2) * ((geometry_.out_h + m - 1) / m) * ((geometry_.out_w + m - 1) / m);
    };
    ConvAlgorithm best = ConvAlgorithm::winograd;
    long fewest = multiplications(2);
    for (const auto& [m, algorithm] : {std::pair{3, ConvAlgorithm::winograd_3x3}, std::pair{4, ConvAlgorithm::winograd_4x4}})
      if (multiplications(m) < fewest) {
        fewest = multiplications(m);
        best = algorithm;
      }
    return best;
  }

  static bool is_winograd(ConvAlgorithm a) {
    return a == ConvAlgorithm::winograd || a == ConvAlgorithm::winograd_3x3 || a == ConvAlgorithm::winograd_4x4;
  }

  // Calls f with the WinogradConv that computes `algorithm`; false if it is not a Winograd one.
  template <typename F>
  bool visit_winograd(ConvAlgorithm algorithm, F&& f) {
    switch (algorithm) {
      case ConvAlgorithm::winograd: f(winograd_); return true;
      case ConvAlgorithm::winograd_3x3: f(winograd3_); return true;
      case ConvAlgorithm::winograd_4x4: f(winograd4_); return true;
      default: return false;
    }
  }

  void check_algorithm() const {
    if (is_winograd(algorithm_) && !winograd_applies(geometry_))
      fail("Conv2D: Winograd computes only 3x3 kernels at stride 1, not ", kernel_.to_string(),
           " at stride ", strides_.to_string());
    if (algorithm_ == ConvAlgorithm::direct && !direct_conv_applies(geometry_))
      fail("Conv2D: the direct forward needs stride 1, no padding and at most ", kDirectConvMaxTaps,
           " inputs per output; this layer has stride ", strides_.to_string(), ", ", to_string(padding_),
           " padding and ", geometry_.col_rows());
  }


  // Input channels per column block: as many as fit kColumnBlockBytes, at least one.
  int compute_block_channels() const {
    const std::size_t per_channel = sizeof(T) * static_cast<std::size_t>(geometry_.kernel_h) *
                                    geometry_.kernel_w * geometry_.col_cols();
    const std::size_t fit = kColumnBlockBytes / per_channel;
    return static_cast<int>(std::clamp<std::size_t>(fit, 1, geometry_.channels));
  }
  // The geometry of input channels [c0, c0 + block_channels_) (fewer for the last block).
  ConvGeometry channel_block(int c0) const {
    ConvGeometry block = geometry_;
    block.channels = std::min(block_channels_, geometry_.channels - c0);
    return block;
  }
  std::size_t channel_offset(int c0) const {
    return static_cast<std::size_t>(c0) * geometry_.height * geometry_.width;
  }

  // A 1x1, stride-1, unpadded convolution reads its input directly as the column matrix.
  bool is_pointwise() const {
    return kernel_.h == 1 && kernel_.w == 1 && strides_.h == 1 && strides_.w == 1;
  }

  void add_bias_and_activate(T* y, int positions) const {
    for (int f = 0; f < filters_; ++f) {
      T* row = y + static_cast<std::size_t>(f) * positions;
      const T b = bias_param_.value[f];
      if (activation_ == Activation::relu) {
        for (int i = 0; i < positions; ++i) row[i] = std::max(row[i] + b, T(0));
      } else {
        for (int i = 0; i < positions; ++i) row[i] += b;
      }
    }
  }

  // Grows the per-thread workspaces to their final size once; later calls find them sized.
  // The algorithm of a batch too small for Winograd.
  ConvAlgorithm sample_algorithm() const {
    const bool direct = algorithm_ == ConvAlgorithm::direct ||
                        (algorithm_ == ConvAlgorithm::automatic && direct_conv_applies(geometry_));
    return direct ? ConvAlgorithm::direct : ConvAlgorithm::im2col;
  }
  std::size_t column_block_size() const {
    return static_cast<std::size_t>(channel_block(0).col_rows()) * geometry_.col_cols();
  }

  void reserve_workspaces(bool backward) {
    const int threads = max_threads();
    const std::size_t col_size = column_block_size();
    auto grow = [&](std::vector<AlignedVector<T>>& buffers, std::size_t size) {
      if (buffers.size() < static_cast<std::size_t>(threads)) buffers.resize(threads);
      for (auto& b : buffers)
        if (b.size() < size) b.resize(size);
    };
    if (!is_pointwise()) grow(col_, col_size);
    if (backward) {
      if (!is_pointwise()) grow(dcol_, col_size);
      grow(dkernel_, kernel_param_.size());
      grow(dbias_, bias_param_.size());
    }
  }


  int filters_;
  Size2 kernel_, strides_;
  Padding padding_;
  Activation activation_;
  bool use_bias_;
  ConvAlgorithm algorithm_ = ConvAlgorithm::automatic;
  ConvGeometry geometry_{};
  int block_channels_ = 1;  // input channels per column block
  // Size bound of one column block: with the GEMM's packed copy of it (about as large) and the
  // backward's dcol block it stays within a 1 MB L2 cache.
  static constexpr std::size_t kColumnBlockBytes = 256 * 1024;
  Parameter<T> kernel_param_;  // (F, C, kh, kw) == row-major F x K
  Parameter<T> bias_param_;    // (F); zeros, and not a parameter, without use_bias
  // Per-thread workspaces, indexed by OpenMP thread number.
  std::vector<AlignedVector<T>> col_, dcol_, dkernel_, dbias_;
  // The Winograd paths' transformed kernels and workspaces (only the one in use grows).
  WinogradConv<T> winograd_;
  WinogradConv<T, winograd::F3x3> winograd3_;
  WinogradConv<T, winograd::F4x4> winograd4_;
};

}  // namespace minidnn
