#pragma once
/// \file
/// mini-Xception (Arriaga, Ploeger, Valdenegro 2017, "Real-time Convolutional Neural Networks for
/// Emotion and Gender Classification"; `mini_XCEPTION` of oarriaga/face_classification) for 48x48
/// grey faces, built with the functional API:
///
///     base:    2 x [Conv2D(8, 3x3, valid, no bias), BatchNormalization, ReLU]      48 -> 44
///     module:  residual = BatchNormalization(Conv2D(n, 1x1, stride 2, same, no bias)(x))
///              x = SeparableConv2D(n, 3x3, same, no bias), BatchNormalization, ReLU,
///                  SeparableConv2D(n, 3x3, same, no bias), BatchNormalization,
///                  MaxPool2D(3x3, stride 2, same);  x = x + residual
///              for n = 16, 32, 64, 128                                            44 -> 3
///     head:    Conv2D(classes, 3x3, same), GlobalAveragePooling2D, Softmax
///
/// 56,951 trainable and 1,472 non-trainable parameters for 7 classes (58,423 in all, as Keras
/// counts them). The original's L2 kernel regularization (0.01) is left to the optimizer's weight
/// decay.
#include <cstdint>

#include "minidnn/layers/activation_layer.hpp"
#include "minidnn/layers/batch_normalization.hpp"
#include "minidnn/layers/conv2d.hpp"
#include "minidnn/layers/global_pooling2d.hpp"
#include "minidnn/layers/max_pool2d.hpp"
#include "minidnn/layers/merge.hpp"
#include "minidnn/layers/separable_conv2d.hpp"
#include "minidnn/layers/softmax.hpp"
#include "minidnn/model/functional.hpp"

namespace minidnn::models {

/// One mini-Xception module of `filters` channels applied to `x`: halves the height and width.
template <typename T>
Symbol xception_module(Model<T>& model, Symbol x, int filters) {
  Symbol residual = model.apply(Conv2D<T>(filters, 1, Activation::linear, 2, Padding::same, /*use_bias=*/false), x);
  residual = model.apply(BatchNormalization<T>(), residual);
  const SeparableConv2D<T> separable(filters, 3, 1, Padding::same, 1, Activation::linear, /*use_bias=*/false);
  x = model.apply(separable, x);
  x = model.apply(BatchNormalization<T>(), x);
  x = model.apply(ActivationLayer<T>("relu"), x);
  x = model.apply(separable, x);
  x = model.apply(BatchNormalization<T>(), x);
  x = model.apply(MaxPool2D<T>(3, 2, Padding::same), x);
  return model.merge(Add<T>(), {x, residual});
}

/// mini-Xception for (1, 48, 48) input (or `input_shape`), weights drawn from `seed`.
template <typename T>
Model<T> mini_xception_model(std::uint64_t seed = 1, int classes = 7, const Shape& input_shape = Shape{1, 48, 48}) {
  Model<T> model(seed);
  Symbol x = model.input(input_shape);
  for (int i = 0; i < 2; ++i) {
    x = model.apply(Conv2D<T>(8, 3, Activation::linear, 1, Padding::valid, /*use_bias=*/false), x);
    x = model.apply(BatchNormalization<T>(), x);
    x = model.apply(ActivationLayer<T>("relu"), x);
  }
  for (int filters : {16, 32, 64, 128}) x = xception_module(model, x, filters);
  x = model.apply(Conv2D<T>(classes, 3, Activation::linear, 1, Padding::same), x);
  x = model.apply(GlobalAveragePooling2D<T>(), x);
  model.set_output(model.apply(Softmax<T>(), x));
  return model;
}

}  // namespace minidnn::models
