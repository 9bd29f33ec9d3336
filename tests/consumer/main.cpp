// Built against an *installed* minidnn with find_package(minidnn): trains a tiny network on an
// XOR-like problem and checks it learned.
#include <cstdio>

#include <minidnn/sequential.hpp>

int main() {
  using namespace minidnn;
  Tensor<float> x(400, Shape{2});
  std::vector<int> y(400);
  Rng rng(1);
  for (int n = 0; n < 400; ++n) {
    const float a = static_cast<float>(rng.uniform(-1, 1)), b = static_cast<float>(rng.uniform(-1, 1));
    x.sample(n)[0] = a;
    x.sample(n)[1] = b;
    y[n] = (a > 0) != (b > 0);
  }
  Sequential<float> model;
  model.add(Dense<float>(16, Activation::relu));
  model.add(Dense<float>(2));
  model.add(Softmax<float>());
  model.build(Shape{2});
  model.compile(Adam<float>(0.01));
  FitOptions<float> options;
  options.epochs = 60;
  options.batch_size = 20;
  model.fit(x, y, options);
  const double acc = model.evaluate(x, y).accuracy;
  std::printf("consumer: accuracy %.3f\n", acc);
  return acc > 0.9 ? 0 : 1;
}
