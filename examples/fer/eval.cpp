// fer eval: loss and accuracy per split, per-class precision/recall/F1, and the confusion matrix.
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include <minidnn/metrics/confusion_matrix.hpp>
#include <minidnn/model/test_time_augmentation.hpp>

#include "charts.hpp"
#include "commands.hpp"

namespace fer {
namespace {

void print_report(const minidnn::ConfusionMatrix& m) {
  std::printf("  %-10s %9s %9s %9s %8s\n", "class", "precision", "recall", "f1", "support");
  for (int c = 0; c < kClasses; ++c) {
    const minidnn::ClassScores s = m.scores(c);
    std::printf("  %-10s %9.3f %9.3f %9.3f %8ld\n", kEmotionNames[c], s.precision, s.recall, s.f1, s.support);
  }
  // Macro: every class counts the same (Disgust, with 1.5% of the faces, as much as Happy);
  // weighted: each class by its support, as scikit-learn's classification_report.
  const minidnn::ClassScores macro = m.macro_average(), weighted = m.weighted_average();
  std::printf("  %-10s %9.3f %9.3f %9.3f %8ld\n", "macro avg", macro.precision, macro.recall, macro.f1, macro.support);
  std::printf("  %-10s %9.3f %9.3f %9.3f %8ld\n", "weighted", weighted.precision, weighted.recall, weighted.f1,
              weighted.support);
  std::printf("\n  confusion matrix (rows: true, columns: predicted)\n  %-10s", "");
  for (int c = 0; c < kClasses; ++c) std::printf(" %8.8s", kEmotionNames[c]);
  std::printf("\n");
  for (int r = 0; r < kClasses; ++r) {
    std::printf("  %-10s", kEmotionNames[r]);
    for (int c = 0; c < kClasses; ++c) std::printf(" %8ld", m.count(r, c));
    std::printf("\n");
  }
}

// One line per way of predicting: what the comparison of TTA against none needs.
void print_summary(const char* how, const minidnn::Tensor<float>& probabilities, const std::vector<int>& labels) {
  const minidnn::ConfusionMatrix m(probabilities, labels);
  std::printf("  %-20s loss %.4f  accuracy %.4f  macro-F1 %.4f  mean recall %.4f\n  %-20s recall:", how,
              minidnn::CategoricalCrossEntropy<float>::loss(probabilities, labels), m.accuracy(), m.macro_f1(),
              m.macro_average().recall, "");
  for (int c = 0; c < kClasses; ++c) std::printf(" %s %.3f", kEmotionNames[c], m.scores(c).recall);
  std::printf("\n\n");
}

}  // namespace

int run_eval(int argc, char** argv) {
  Args args("fer eval", "fer eval [--model MODEL] [--data FILE] [--split NAME] [--tta none|flip|ten-crop] [--out-dir DIR]",
            "Evaluates a model on every split present in the data (Training, PublicTest, PrivateTest), or the\n"
            "one --split names: loss, accuracy, per-class precision/recall/F1 with their macro and\n"
            "support-weighted averages, and the 7x7 confusion matrix, printed and drawn as\n"
            "DIR/confusion_<split>.png. A model trained on crops (fer train --crop) sees the centre crop.\n"
            "With --tta flip or ten-crop the report is of the averaged probabilities, and a line per split\n"
            "compares it with plain prediction (accuracy, macro-F1, per-class recall).");
  args.option("model", "FILE", "", "the model to evaluate (default: $FER_MODEL, else the shipped models/fer_default.mdnn)")
      .option("data", "FILE", "", "FER2013 CSV (.csv or .csv.gz); default $FER2013_CSV, else the synthetic set")
      .option("split", "NAME", "all", "Training, PublicTest, PrivateTest or all")
      .option("tta", "MODE", "none",
              "test-time augmentation: none, flip (the face and its mirror image) or ten-crop (four corners and "
              "the centre, each also mirrored; for models trained with --crop), probabilities averaged")
      .option("out-dir", "DIR", ".", "where to write the confusion-matrix images")
      .option("threads", "N", "0", "CPU threads (0: OpenMP's default)");
  if (!args.parse(argc, argv, 2)) return 0;
  const std::string model_path = resolve_model_path(args, "fer eval");
  if (const int t = args.get_int("threads", 0, 1024)) minidnn::set_num_threads(t);

  namespace fer2013 = minidnn::fer2013;
  const std::string wanted = args.get("split");
  std::vector<fer2013::Usage> usages;
  for (auto usage : {fer2013::Usage::Training, fer2013::Usage::PublicTest, fer2013::Usage::PrivateTest})
    if (wanted == "all" || wanted == fer2013::usage_name(usage)) usages.push_back(usage);
  if (usages.empty())
    throw UsageError("fer eval: --split must be Training, PublicTest, PrivateTest or all, got '" + wanted + "'");
  auto keeps = [&](fer2013::Usage u) { return std::find(usages.begin(), usages.end(), u) != usages.end(); };

  minidnn::TestTimeAugmentation tta;
  try {
    tta = minidnn::parse_test_time_augmentation(args.get("tta"));
  } catch (const minidnn::Error& e) {
    throw UsageError(std::string("fer eval: --tta: ") + e.what());
  }
  auto model = load_model(model_path);
  const DataSource source = resolve_data(args, "fer eval");
  const auto data = load_data(source, keeps(fer2013::Usage::Training), keeps(fer2013::Usage::PublicTest),
                              keeps(fer2013::Usage::PrivateTest));
  bool any = false;
  for (auto usage : usages) {
    const auto& split = data.split(usage);
    if (split.size() == 0) continue;
    any = true;
    // One pass over the split (per TTA window): loss, accuracy and the confusion matrix all come
    // from these probabilities.
    const auto plain = minidnn::predict_with_tta(model, split.images, minidnn::TestTimeAugmentation::none);
    const auto probabilities =
        tta == minidnn::TestTimeAugmentation::none ? plain : minidnn::predict_with_tta(model, split.images, tta);
    minidnn::Evaluation result;
    result.loss = minidnn::CategoricalCrossEntropy<float>::loss(probabilities, split.labels);
    result.accuracy = minidnn::accuracy(probabilities, split.labels);
    const std::string name = fer2013::usage_name(usage);
    const std::string shown = tta == minidnn::TestTimeAugmentation::none
                                  ? std::string()
                                  : std::string(", TTA ") + minidnn::test_time_augmentation_name(tta);
    std::printf("%s (%d images%s): loss %.4f, accuracy %.4f\n", name.c_str(), split.size(), shown.c_str(), result.loss,
                result.accuracy);
    const minidnn::ConfusionMatrix m(probabilities, split.labels);
    if (tta != minidnn::TestTimeAugmentation::none) {
      print_summary("without TTA:", plain, split.labels);
      print_summary(("with TTA " + std::string(minidnn::test_time_augmentation_name(tta)) + ":").c_str(), probabilities,
                    split.labels);
    } else {
      print_summary("summary:", plain, split.labels);
    }
    print_report(m);
    const std::string png = (fs::path(args.get("out-dir")) / ("confusion_" + name + ".png")).string();
    char title[128];
    std::snprintf(title, sizeof title, "Confusion matrix, %s%s (accuracy %.1f%%)", name.c_str(), shown.c_str(),
                  100 * result.accuracy);
    std::vector<std::vector<double>> counts(kClasses, std::vector<double>(kClasses));
    for (int r = 0; r < kClasses; ++r)
      for (int c = 0; c < kClasses; ++c) counts[r][c] = static_cast<double>(m.count(r, c));
    write_confusion_chart(png, title, counts);
    std::printf("  written: %s\n\n", png.c_str());
  }
  if (!any)
    throw minidnn::Error(source.describe() + ": no rows to evaluate" + (wanted == "all" ? "" : " in split " + wanted));
  return 0;
}

}  // namespace fer
