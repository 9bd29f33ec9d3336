#pragma once
/// \file
/// A small CNN for 48x48 faces that learns within one epoch (the tutorial's model needs several
/// to leave the majority class): three 3x3 conv + 2x2 max-pool blocks of 32, 64 and 64 filters,
/// Dense(128, relu), Dropout(0.5), Dense(7), Softmax.
#include <cstdint>

#include "minidnn/sequential.hpp"

namespace minidnn::models {

template <typename T>
void add_fer_small_layers(Sequential<T>& model, int classes = 7) {
  for (int filters : {32, 64, 64}) {
    model.add(Conv2D<T>(filters, 3, Activation::relu, 1, Padding::same));
    model.add(MaxPool2D<T>(2));
  }
  model.add(Flatten<T>());
  model.add(Dense<T>(128, Activation::relu));
  model.add(Dropout<T>(0.5));
  model.add(Dense<T>(classes));
  model.add(Softmax<T>());
}

/// The small model, built for (1, 48, 48) input with weights drawn from `seed`.
template <typename T>
Sequential<T> fer_small_model(std::uint64_t seed = 1, int classes = 7) {
  Sequential<T> model;
  add_fer_small_layers(model, classes);
  model.build(Shape{1, 48, 48}, seed);
  return model;
}

}  // namespace minidnn::models
