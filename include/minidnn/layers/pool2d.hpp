#pragma once
/// \file
/// Pool2D: what MaxPool2D and AvgPool2D share: window geometry with Keras's `valid` rule
/// output = floor((input - pool) / stride) + 1, hyperparameter I/O, and the plane-parallel loop.
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

  std::string describe() const override {
    return pool_.to_string() + ", stride " + strides_.to_string() + ", valid";
  }
  void write_config(BinaryWriter& out) const override {
    for (int v : {pool_.h, pool_.w, strides_.h, strides_.w}) out.write<std::int32_t>(v);
  }
  /// Reads what write_config wrote and constructs the pooling layer `Derived`.
  template <typename Derived>
  static std::unique_ptr<Layer<T>> read_config_as(BinaryReader& in) {
    const int ph = in.read<std::int32_t>("pool height");
    const int pw = in.read<std::int32_t>("pool width");
    const int sh = in.read<std::int32_t>("pool stride height");
    const int sw = in.read<std::int32_t>("pool stride width");
    return std::make_unique<Derived>(Size2(ph, pw), Size2(sh, sw));
  }

 protected:
  Pool2D(Size2 pool, Size2 strides) : pool_(pool), strides_(strides) {
    if (!pool.valid()) fail("pooling: pool sides must be 1 to ", Size2::kMaxSide, ", got ", pool.to_string());
    if (!strides.valid()) fail("pooling: strides must be 1 to ", Size2::kMaxSide, ", got ", strides.to_string());
  }

  Shape infer_output_shape(const Shape& in) const override {
    if (in.rank() != 3) fail(this->type(), ": expects a (channels, height, width) input, got ", in);
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

  Size2 pool_, strides_;
};

}  // namespace minidnn
