// fer eval: loss and accuracy per split, per-class precision/recall/F1, and the confusion matrix.
#include <cstdio>

#include "charts.hpp"
#include "commands.hpp"

namespace fer {
namespace {

using Matrix = std::vector<std::vector<double>>;

Matrix confusion_matrix(const minidnn::Tensor<float>& probabilities, const std::vector<int>& labels) {
  Matrix m(kClasses, std::vector<double>(kClasses, 0.0));
  for (int n = 0; n < probabilities.batch(); ++n) m[labels[n]][minidnn::predicted_class(probabilities, n)] += 1;
  return m;
}

void print_report(const Matrix& m) {
  std::printf("  %-10s %9s %9s %9s %8s\n", "class", "precision", "recall", "f1", "support");
  for (int c = 0; c < kClasses; ++c) {
    double predicted = 0, actual = 0;
    for (int k = 0; k < kClasses; ++k) {
      predicted += m[k][c];
      actual += m[c][k];
    }
    const double precision = predicted ? m[c][c] / predicted : 0.0;
    const double recall = actual ? m[c][c] / actual : 0.0;
    const double f1 = precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0.0;
    std::printf("  %-10s %9.3f %9.3f %9.3f %8.0f\n", kEmotionNames[c], precision, recall, f1, actual);
  }
  std::printf("\n  confusion matrix (rows: true, columns: predicted)\n  %-10s", "");
  for (int c = 0; c < kClasses; ++c) std::printf(" %8.8s", kEmotionNames[c]);
  std::printf("\n");
  for (int r = 0; r < kClasses; ++r) {
    std::printf("  %-10s", kEmotionNames[r]);
    for (int c = 0; c < kClasses; ++c) std::printf(" %8.0f", m[r][c]);
    std::printf("\n");
  }
}

}  // namespace

int run_eval(int argc, char** argv) {
  Args args("fer eval", "fer eval --model MODEL [--data FILE] [--out-dir DIR]",
            "Evaluates a model on every split present in the data (Training, PublicTest, PrivateTest): loss,\n"
            "accuracy, per-class precision/recall/F1 and the 7x7 confusion matrix, printed and drawn as\n"
            "DIR/confusion_<split>.png.");
  args.option("model", "FILE", "", "the model to evaluate (required)")
      .option("data", "FILE", "", "FER2013 CSV (.csv or .csv.gz); default $FER2013_CSV, else the synthetic set")
      .option("out-dir", "DIR", ".", "where to write the confusion-matrix images")
      .option("threads", "N", "0", "CPU threads (0: OpenMP's default)");
  if (!args.parse(argc, argv, 2)) return 0;
  if (!args.has("model")) throw UsageError("fer eval: --model is required");
  if (const int t = args.get_int("threads", 0, 1024)) minidnn::set_num_threads(t);

  auto model = load_model(args.get("model"));
  const DataSource source = resolve_data(args, "fer eval");
  const auto data = load_data(source, true, true, true);
  namespace fer2013 = minidnn::fer2013;
  bool any = false;
  for (auto usage : {fer2013::Usage::Training, fer2013::Usage::PublicTest, fer2013::Usage::PrivateTest}) {
    const auto& split = data.split(usage);
    if (split.size() == 0) continue;
    any = true;
    // One pass over the split: loss, accuracy and the confusion matrix all come from these.
    const auto probabilities = model.predict(split.images);
    minidnn::Evaluation result;
    result.loss = minidnn::CategoricalCrossEntropy<float>::loss(probabilities, split.labels);
    result.accuracy = minidnn::accuracy(probabilities, split.labels);
    const std::string name = fer2013::usage_name(usage);
    std::printf("%s (%d images): loss %.4f, accuracy %.4f\n", name.c_str(), split.size(), result.loss,
                result.accuracy);
    const Matrix m = confusion_matrix(probabilities, split.labels);
    print_report(m);
    const std::string png = (fs::path(args.get("out-dir")) / ("confusion_" + name + ".png")).string();
    char title[128];
    std::snprintf(title, sizeof title, "Confusion matrix, %s (accuracy %.1f%%)", name.c_str(), 100 * result.accuracy);
    write_confusion_chart(png, title, m);
    std::printf("  written: %s\n\n", png.c_str());
  }
  if (!any) throw minidnn::Error(source.describe() + ": no rows to evaluate");
  return 0;
}

}  // namespace fer
