// A complete minidnn program to copy from: make a small image data set, build a CNN, train it,
// evaluate it, save it, load it back and predict.
//
//   train_small [--epochs N] [--out model.mdnn]
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include <minidnn/sequential.hpp>

using namespace minidnn;

// Class k draws a bright stroke of kind k (horizontal, vertical, diagonal, anti-diagonal) on
// noise, at a random offset.
static void make_strokes(int count, std::uint64_t seed, Tensor<float>& images, std::vector<int>& labels) {
  Rng rng(seed);
  images.resize(count, Shape{1, 16, 16});
  labels.resize(count);
  for (int n = 0; n < count; ++n) {
    const int kind = static_cast<int>(rng.below(4));
    const int offset = static_cast<int>(rng.below(8)) + 4;
    float* pixels = images.sample(n);
    for (int i = 0; i < 256; ++i) pixels[i] = static_cast<float>(rng.uniform(0.0, 0.4));
    for (int t = 2; t < 14; ++t) {
      const int row = kind == 0 ? offset : t;
      const int col = kind == 1 ? offset : kind == 2 ? t : kind == 3 ? 15 - t : t;
      pixels[row * 16 + col] += 0.6f;
    }
    labels[n] = kind;
  }
}

int main(int argc, char** argv) {
  int epochs = 5;
  std::string out = "train_small.mdnn";
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--help") || !std::strcmp(argv[i], "-h")) {
      std::printf("usage: train_small [--epochs N] [--out FILE]\n"
                  "Trains a small CNN on generated 16x16 stroke images, saves it, reloads it and predicts.\n");
      return 0;
    } else if (!std::strcmp(argv[i], "--epochs") && i + 1 < argc) {
      epochs = std::atoi(argv[++i]);
    } else if (!std::strcmp(argv[i], "--out") && i + 1 < argc) {
      out = argv[++i];
    } else {
      std::fprintf(stderr, "train_small: unknown argument '%s' (try --help)\n", argv[i]);
      return 2;
    }
  }
  try {
    Tensor<float> train_x, test_x;
    std::vector<int> train_y, test_y;
    make_strokes(3000, 1, train_x, train_y);
    make_strokes(500, 2, test_x, test_y);

    Sequential<float> model;
    model.add(Conv2D<float>(16, 3, Activation::relu, 1, Padding::same));
    model.add(MaxPool2D<float>(2));
    model.add(Conv2D<float>(32, 3, Activation::relu));
    model.add(MaxPool2D<float>(2));
    model.add(Flatten<float>());
    model.add(Dense<float>(64, Activation::relu));
    model.add(Dropout<float>(0.2));
    model.add(Dense<float>(4));
    model.add(Softmax<float>());
    model.build(Shape{1, 16, 16}, /*seed=*/1);
    std::printf("%s\n", model.summary().c_str());

    model.compile(Adam<float>(1e-3));
    FitOptions<float> options;
    options.epochs = epochs;
    options.batch_size = 64;
    options.validation_x = &test_x;
    options.validation_y = &test_y;
    options.on_epoch_end = [&](const EpochLogs& e) {
      std::printf("epoch %d/%d  loss %.4f  acc %.3f  val_loss %.4f  val_acc %.3f  (%.1fs)\n", e.epoch + 1,
                  epochs, e.loss, e.accuracy, e.val_loss, e.val_accuracy, e.seconds);
      return true;
    };
    model.fit(train_x, train_y, options);

    const Evaluation result = model.evaluate(test_x, test_y);
    std::printf("test: loss %.4f, accuracy %.3f\n", result.loss, result.accuracy);

    model.save(out);
    auto loaded = Sequential<float>::load(out);
    const Tensor<float> probabilities = loaded.predict(test_x);
    std::printf("reloaded %s: first test image is class %d (p = %.3f), labelled %d\n", out.c_str(),
                predicted_class(probabilities, 0), probabilities.sample(0)[predicted_class(probabilities, 0)],
                test_y[0]);
    return 0;
  } catch (const Error& e) {
    std::fprintf(stderr, "train_small: %s\n", e.what());
    return 1;
  }
}
