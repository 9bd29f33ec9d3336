// Model's GradientObserver hook (model/functional.hpp, used by distributed/gradient_allreduce.hpp):
// during train_on_batch every trainable parameter is reported exactly once, with the gradient it
// ends the backward with, nodes in reverse order (a node after all nodes that consume it), then
// backward_done once, before the optimizer changes any weight; also for a node with no path to
// the loss (zero gradients) and in a graph with a branch.
#include <catch2/catch.hpp>

#include <map>

#include "minidnn/layers/activation_layer.hpp"
#include "minidnn/layers/conv2d.hpp"
#include "minidnn/layers/dense.hpp"
#include "minidnn/layers/global_pooling2d.hpp"
#include "minidnn/layers/softmax.hpp"
#include "minidnn/model/functional.hpp"
#include "minidnn/optim/sgd.hpp"

using namespace minidnn;

namespace {

struct Recorder : GradientObserver<float> {
  std::vector<Parameter<float>*> order;
  std::map<Parameter<float>*, std::vector<float>> reported;  // the gradient when reported
  std::map<Parameter<float>*, std::vector<float>> values_at_done;
  int done = 0;
  Model<float>* model = nullptr;
  void gradients_ready(const std::vector<Parameter<float>*>& parameters) override {
    for (auto* p : parameters) {
      order.push_back(p);
      reported[p].assign(p->grad.begin(), p->grad.end());
    }
  }
  void backward_done() override {
    ++done;
    for (auto* p : model->parameters()) values_at_done[p].assign(p->value.begin(), p->value.end());
  }
};

}  // namespace

TEST_CASE("GradientObserver: each parameter once, final gradients, then done before the step") {
  Model<float> model(3);
  Symbol x = model.input(Shape{1, 6, 6});
  Symbol a = model.apply(Conv2D<float>(2, 3, Activation::linear, 1, Padding::same), x);
  a = model.apply(ActivationLayer<float>("tanh"), a);
  Symbol left = model.apply(Conv2D<float>(2, 1), a);
  Symbol right = model.apply(Conv2D<float>(2, 3, Activation::linear, 1, Padding::same), a);
  Symbol b = model.merge(Add<float>(), {left, right});
  model.apply(Dense<float>(3), model.apply(GlobalAveragePooling2D<float>(), a));  // no path to the loss
  b = model.apply(GlobalAveragePooling2D<float>(), b);
  model.set_output(model.apply(Softmax<float>(), model.apply(Dense<float>(3), b)));
  model.compile(SGD<float>(0.5));
  Recorder recorder;
  recorder.model = &model;
  model.set_gradient_observer(&recorder);

  Tensor<float> input(4, Shape{1, 6, 6});
  Rng rng(1);
  for (auto& v : input) v = float(rng.uniform(-1, 1));
  const std::vector<int> labels = {0, 1, 2, 1};
  std::map<Parameter<float>*, std::vector<float>> before;
  for (auto* p : model.parameters()) before[p].assign(p->value.begin(), p->value.end());
  model.train_on_batch(input, labels);

  const auto parameters = model.parameters();
  REQUIRE(recorder.done == 1);
  REQUIRE(recorder.order.size() == parameters.size());
  // Reverse node order: the reported sequence is the parameters' order reversed node by node, so
  // the first conv's parameters come last and the classifier's first.
  CHECK(recorder.order.back() == parameters[1]);  // the first conv's bias (kernel, bias)
  CHECK(recorder.order.front() == parameters[parameters.size() - 2]);  // the classifier's kernel
  for (auto* p : parameters) {
    REQUIRE(recorder.reported.count(p) == 1);
    CHECK(recorder.reported[p] == std::vector<float>(p->grad.begin(), p->grad.end()));
    CHECK(recorder.values_at_done[p] == before[p]);  // the step had not run yet
  }
  // The dense layer off the loss path (parameters 6 and 7) was reported with zero gradients.
  for (int k : {6, 7})
    for (float g : recorder.reported[parameters[k]]) CHECK(g == 0.0f);
  bool changed = false;
  for (auto* p : parameters) changed = changed || std::vector<float>(p->value.begin(), p->value.end()) != before[p];
  CHECK(changed);

  model.set_gradient_observer(nullptr);
  model.train_on_batch(input, labels);
  CHECK(recorder.done == 1);
}
