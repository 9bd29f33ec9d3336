#pragma once
/// \file
/// ConvGeometry: the shape arithmetic every convolution engine (ops/conv/) shares.

namespace minidnn {

/// Geometry of a 2-D convolution or pooling window over one (C, H, W) sample.
struct ConvGeometry {
  int channels, height, width;
  int kernel_h, kernel_w;
  int stride_h = 1, stride_w = 1;
  int pad_h = 0, pad_w = 0;  // top/left padding; bottom/right is whatever the output size implies
  int out_h, out_w;

  int col_rows() const { return channels * kernel_h * kernel_w; }
  int col_cols() const { return out_h * out_w; }
};

}  // namespace minidnn
