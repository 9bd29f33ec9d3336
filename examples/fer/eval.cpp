// fer eval: loss and accuracy per split, per-class precision/recall/F1, and the confusion matrix.
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

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
  double macro[3] = {0, 0, 0}, weighted[3] = {0, 0, 0}, total = 0;
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
    // Macro: every class counts the same (Disgust, with 1.5% of the faces, as much as Happy);
    // weighted: each class by its support, as scikit-learn's classification_report.
    macro[0] += precision / kClasses, macro[1] += recall / kClasses, macro[2] += f1 / kClasses;
    weighted[0] += precision * actual, weighted[1] += recall * actual, weighted[2] += f1 * actual;
    total += actual;
  }
  if (total > 0)
    for (double& w : weighted) w /= total;
  std::printf("  %-10s %9.3f %9.3f %9.3f %8.0f\n", "macro avg", macro[0], macro[1], macro[2], total);
  std::printf("  %-10s %9.3f %9.3f %9.3f %8.0f\n", "weighted", weighted[0], weighted[1], weighted[2], total);
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
  Args args("fer eval", "fer eval --model MODEL [--data FILE] [--split NAME] [--out-dir DIR]",
            "Evaluates a model on every split present in the data (Training, PublicTest, PrivateTest), or the\n"
            "one --split names: loss, accuracy, per-class precision/recall/F1 with their macro and\n"
            "support-weighted averages, and the 7x7 confusion matrix, printed and drawn as\n"
            "DIR/confusion_<split>.png.");
  args.option("model", "FILE", "", "the model to evaluate (required)")
      .option("data", "FILE", "", "FER2013 CSV (.csv or .csv.gz); default $FER2013_CSV, else the synthetic set")
      .option("split", "NAME", "all", "Training, PublicTest, PrivateTest or all")
      .option("out-dir", "DIR", ".", "where to write the confusion-matrix images")
      .option("threads", "N", "0", "CPU threads (0: OpenMP's default)");
  if (!args.parse(argc, argv, 2)) return 0;
  if (!args.has("model")) throw UsageError("fer eval: --model is required");
  if (const int t = args.get_int("threads", 0, 1024)) minidnn::set_num_threads(t);

  namespace fer2013 = minidnn::fer2013;
  const std::string wanted = args.get("split");
  std::vector<fer2013::Usage> usages;
  for (auto usage : {fer2013::Usage::Training, fer2013::Usage::PublicTest, fer2013::Usage::PrivateTest})
    if (wanted == "all" || wanted == fer2013::usage_name(usage)) usages.push_back(usage);
  if (usages.empty())
    throw UsageError("fer eval: --split must be Training, PublicTest, PrivateTest or all, got '" + wanted + "'");
  auto keeps = [&](fer2013::Usage u) { return std::find(usages.begin(), usages.end(), u) != usages.end(); };

  auto model = load_model(args.get("model"));
  const DataSource source = resolve_data(args, "fer eval");
  const auto data = load_data(source, keeps(fer2013::Usage::Training), keeps(fer2013::Usage::PublicTest),
                              keeps(fer2013::Usage::PrivateTest));
  bool any = false;
  for (auto usage : usages) {
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
  if (!any)
    throw minidnn::Error(source.describe() + ": no rows to evaluate" + (wanted == "all" ? "" : " in split " + wanted));
  return 0;
}

}  // namespace fer
