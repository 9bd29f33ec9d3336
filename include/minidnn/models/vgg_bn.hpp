#pragma once
/// \file
/// A VGG-style network with BatchNormalization sized for a CPU, for 44x44 grey face crops
/// (random 44x44 crops of FER2013's 48x48 faces in training, the centre crop at test):
///
///     4 stages of  2 x [Conv2D(n, 3x3, same, no bias), BatchNormalization, ReLU], MaxPool2D(2)
///                  for n = 32, 64, 128, 256                                  44 -> 22 -> 11 -> 5 -> 2
///     head:        Flatten, Dense(256, relu), Dropout(0.5), Dense(classes), Softmax
///
/// 1,436,839 trainable parameters for 7 classes (the count of the same network in PyTorch,
/// tests/fixtures/make_torch_fixtures.py) and 1,920 non-trainable (the moving statistics).
#include <cstdint>

#include "minidnn/layers/activation_layer.hpp"
#include "minidnn/layers/batch_normalization.hpp"
#include "minidnn/layers/conv2d.hpp"
#include "minidnn/layers/dense.hpp"
#include "minidnn/layers/dropout.hpp"
#include "minidnn/layers/flatten.hpp"
#include "minidnn/layers/max_pool2d.hpp"
#include "minidnn/layers/softmax.hpp"
#include "minidnn/model/functional.hpp"

namespace minidnn::models {

/// The VGG-style network for (1, 44, 44) input (or `input_shape`), weights drawn from `seed`.
template <typename T>
Model<T> vgg_bn_model(std::uint64_t seed = 1, int classes = 7, const Shape& input_shape = Shape{1, 44, 44}) {
  Model<T> model(seed);
  Symbol x = model.input(input_shape);
  for (int filters : {32, 64, 128, 256}) {
    for (int i = 0; i < 2; ++i) {
      x = model.apply(Conv2D<T>(filters, 3, Activation::linear, 1, Padding::same, /*use_bias=*/false), x);
      x = model.apply(BatchNormalization<T>(), x);
      x = model.apply(ActivationLayer<T>("relu"), x);
    }
    x = model.apply(MaxPool2D<T>(2), x);
  }
  x = model.apply(Flatten<T>(), x);
  x = model.apply(Dense<T>(256, Activation::relu), x);
  x = model.apply(Dropout<T>(0.5), x);
  x = model.apply(Dense<T>(classes), x);
  model.set_output(model.apply(Softmax<T>(), x));
  return model;
}

}  // namespace minidnn::models
