#pragma once
/// \file
/// LayerRegistry: rebuilds layers from their type tag and hyperparameters when a model file is
/// loaded. The built-in layers are registered already; a user's own layer type registers a
/// factory once with LayerRegistry<T>::add("MyLayer", &MyLayer<T>::read_config).
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "minidnn/layers/activation_layer.hpp"
#include "minidnn/layers/avg_pool2d.hpp"
#include "minidnn/layers/batch_normalization.hpp"
#include "minidnn/layers/conv2d.hpp"
#include "minidnn/layers/dense.hpp"
#include "minidnn/layers/depthwise_conv2d.hpp"
#include "minidnn/layers/dropout.hpp"
#include "minidnn/layers/flatten.hpp"
#include "minidnn/layers/global_pooling2d.hpp"
#include "minidnn/layers/max_pool2d.hpp"
#include "minidnn/layers/relu.hpp"
#include "minidnn/layers/separable_conv2d.hpp"
#include "minidnn/layers/softmax.hpp"

namespace minidnn {

template <typename T>
class LayerRegistry {
 public:
  using Factory = std::function<std::unique_ptr<Layer<T>>(BinaryReader&)>;

  static void add(const std::string& type, Factory factory) { factories()[type] = std::move(factory); }

  /// Constructs a layer of `type` from the hyperparameters that follow in `in`.
  static std::unique_ptr<Layer<T>> create(const std::string& type, BinaryReader& in) {
    auto& all = factories();
    auto it = all.find(type);
    if (it == all.end()) fail(in.what(), ": unknown layer type '", type, "'");
    return it->second(in);
  }

 private:
  static std::map<std::string, Factory>& factories() {
    static std::map<std::string, Factory> all = {
        {"Conv2D", &Conv2D<T>::read_config},     {"MaxPool2D", &MaxPool2D<T>::read_config},
        {"AvgPool2D", &AvgPool2D<T>::read_config}, {"Dense", &Dense<T>::read_config},
        {"Dropout", &Dropout<T>::read_config},   {"Flatten", &Flatten<T>::read_config},
        {"ReLU", &ReLU<T>::read_config},         {"Softmax", &Softmax<T>::read_config},
        {"BatchNormalization", &BatchNormalization<T>::read_config},
        {"DepthwiseConv2D", &DepthwiseConv2D<T>::read_config},
        {"SeparableConv2D", &SeparableConv2D<T>::read_config},
        {"GlobalAveragePooling2D", &GlobalAveragePooling2D<T>::read_config},
        {"GlobalMaxPooling2D", &GlobalMaxPooling2D<T>::read_config},
        {"Activation", &ActivationLayer<T>::read_config},
        {"MaxPool2DSame", &MaxPool2D<T>::read_config_same},
    };
    return all;
  }
};

}  // namespace minidnn
