#pragma once
/// \file
/// The CNN of the Keras FER2013 tutorial ("the seed model"), for 48x48 grey faces and 7 emotions:
///
///     Conv2D(64, 5x5, relu) MaxPool(5x5, s2) Conv2D(64, 3x3, relu) Conv2D(64, 3x3, relu)
///     AvgPool(3x3, s2) Conv2D(128, 3x3, relu) Conv2D(128, 3x3, relu) AvgPool(3x3, s2) Flatten
///     Dense(1024, relu) Dropout(0.2) Dense(1024, relu) Dropout(0.2) Dense(7) Softmax
///
/// 1,485,831 parameters, as Keras counts them.
#include <cstdint>

#include "minidnn/sequential.hpp"

namespace minidnn::models {

/// Adds the tutorial's layers to `model` (not yet built).
template <typename T>
void add_fer_tutorial_layers(Sequential<T>& model, int classes = 7) {
  model.add(Conv2D<T>(64, 5, Activation::relu));
  model.add(MaxPool2D<T>(5, 2));
  model.add(Conv2D<T>(64, 3, Activation::relu));
  model.add(Conv2D<T>(64, 3, Activation::relu));
  model.add(AvgPool2D<T>(3, 2));
  model.add(Conv2D<T>(128, 3, Activation::relu));
  model.add(Conv2D<T>(128, 3, Activation::relu));
  model.add(AvgPool2D<T>(3, 2));
  model.add(Flatten<T>());
  model.add(Dense<T>(1024, Activation::relu));
  model.add(Dropout<T>(0.2));
  model.add(Dense<T>(1024, Activation::relu));
  model.add(Dropout<T>(0.2));
  model.add(Dense<T>(classes));
  model.add(Softmax<T>());
}

/// The tutorial's model, built for (1, 48, 48) input with weights drawn from `seed`.
template <typename T>
Sequential<T> fer_tutorial_model(std::uint64_t seed = 1, int classes = 7) {
  Sequential<T> model;
  add_fer_tutorial_layers(model, classes);
  model.build(Shape{1, 48, 48}, seed);
  return model;
}

}  // namespace minidnn::models
