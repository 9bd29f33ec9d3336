#pragma once
/// \file
/// Pool2D: what MaxPool2D and AvgPool2D share: window geometry with Keras's rules (`valid`:
/// output = floor((input - pool) / stride) + 1; `same`, for MaxPool2D: output = ceil(input /
/// stride), the padding split as Keras does, the extra row or column at the bottom or right),
/// hyperparameter I/O, and the plane-parallel loop.
#include <algorithm>
#include <cstddef>
#include <optional>
#include <string>

#include "minidnn/layers/layer.hpp"
#include "minidnn/layers/size2.hpp"

namespace minidnn {

template <typename T>
class Pool2D : public Layer<T> {
 public:
  Size2 pool_size() const { return pool_; }
  Size2 strides() const { return strides_; }
  Padding padding() const { return padding_; }

  std::string describe() const override {
    return pool_.to_string() + ", stride " + strides_.to_string() + ", " + to_string(padding_);
  }
  void write_config(BinaryWriter& out) const override {
    for (int v : {pool_.h, pool_.w, strides_.h, strides_.w}) out.write<std::int32_t>(v);
  }
  /// Reads what write_config wrote and constructs the pooling layer `Derived`.
  template <typename Derived, typename... Extra>
  static std::unique_ptr<Layer<T>> read_config_as(BinaryReader& in, Extra... extra) {
    const int ph = in.read<std::int32_t>("pool height");
    const int pw = in.read<std::int32_t>("pool width");
    const int sh = in.read<std::int32_t>("pool stride height");
    const int sw = in.read<std::int32_t>("pool stride width");
    return std::make_unique<Derived>(Size2(ph, pw), Size2(sh, sw), extra...);
  }

 protected:
  Pool2D(Size2 pool, Size2 strides, Padding padding = Padding::valid)
      : pool_(pool), strides_(strides), padding_(padding) {
    if (!pool.valid()) fail("pooling: pool sides must be 1 to ", Size2::kMaxSide, ", got ", pool.to_string());
    if (!strides.valid()) fail("pooling: strides must be 1 to ", Size2::kMaxSide, ", got ", strides.to_string());
  }

  Shape infer_output_shape(const Shape& in) const override {
    if (in.rank() != 3) fail(this->type(), ": expects a (channels, height, width) input, got ", in);
    if (padding_ == Padding::same)
      return Shape{in.channels(), (in.height() + strides_.h - 1) / strides_.h, (in.width() + strides_.w - 1) / strides_.w};
    if (pool_.h > in.height() || pool_.w > in.width())
      fail(this->type(), ": pool ", pool_.to_string(), " is larger than its input ", in);
    return Shape{in.channels(), (in.height() - pool_.h) / strides_.h + 1,
                 (in.width() - pool_.w) / strides_.w + 1};
  }

  // Values in one channel plane of a sample's input and of its output.
  std::size_t in_plane() const {
    return static_cast<std::size_t>(this->input_shape().height()) * this->input_shape().width();
  }
  std::size_t out_plane() const {
    return static_cast<std::size_t>(this->output_shape().height()) * this->output_shape().width();
  }

  // Same padding's rows above and columns left of the input (the rest goes below and right).
  int pad_top() const {
    const int oh = this->output_shape().height(), ih = this->input_shape().height();
    return padding_ == Padding::same ? std::max((oh - 1) * strides_.h + pool_.h - ih, 0) / 2 : 0;
  }
  int pad_left() const {
    const int ow = this->output_shape().width(), iw = this->input_shape().width();
    return padding_ == Padding::same ? std::max((ow - 1) * strides_.w + pool_.w - iw, 0) / 2 : 0;
  }

  Size2 pool_, strides_;
  Padding padding_;
};

}  // namespace minidnn
