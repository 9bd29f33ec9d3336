// fer stats: rows per class and per Usage, and the class-distribution chart.
#include <cstdio>

#include "charts.hpp"
#include "commands.hpp"

namespace fer {

int run_stats(int argc, char** argv) {
  Args args("fer stats", "fer stats [--data FILE] [--out class_distribution.png]",
            "Counts the rows of each emotion in each split and draws the class distribution of the\n"
            "Training rows (the tutorial's first chart).");
  args.option("data", "FILE", "", "FER2013 CSV (.csv or .csv.gz); default $FER2013_CSV, else the synthetic set")
      .option("out", "FILE", "class_distribution.png", "the chart to write");
  if (!args.parse(argc, argv, 2)) return 0;
  const DataSource source = resolve_data(args, "fer stats");
  namespace fer2013 = minidnn::fer2013;
  fer2013::Dataset data;
  if (source.synthetic()) {
    data = load_data(source, true, true, true);
    for (auto usage : {fer2013::Usage::Training, fer2013::Usage::PublicTest, fer2013::Usage::PrivateTest})
      for (int label : data.split(usage).labels) ++data.class_counts[static_cast<int>(usage)][label];
  } else {
    data = fer2013::load(source.path, fer2013::LoadOptions{false, false, false});  // count only
  }
  std::printf("%-10s %10s %11s %12s %8s\n", "emotion", "Training", "PublicTest", "PrivateTest", "total");
  std::array<std::size_t, kClasses + 0> training{};
  std::size_t totals[3] = {};
  for (int c = 0; c < kClasses; ++c) {
    std::size_t row = 0;
    for (int u = 0; u < 3; ++u) {
      row += data.class_counts[u][c];
      totals[u] += data.class_counts[u][c];
    }
    training[c] = data.class_counts[0][c];
    std::printf("%-10s %10zu %11zu %12zu %8zu\n", kEmotionNames[c], data.class_counts[0][c], data.class_counts[1][c],
                data.class_counts[2][c], row);
  }
  std::printf("%-10s %10zu %11zu %12zu %8zu\n", "total", totals[0], totals[1], totals[2],
              totals[0] + totals[1] + totals[2]);
  write_distribution_chart(args.get("out"), "Class distribution, Training (" + std::to_string(totals[0]) + " images)",
                           training);
  std::printf("written: %s\n", args.get("out").c_str());
  return 0;
}

}  // namespace fer
