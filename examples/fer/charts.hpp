#pragma once
// The tutorial's pictures: class distribution, training curves, confusion matrix, and one
// image's emotion probabilities.
#include <array>
#include <string>
#include <vector>

#include <minidnn/model/training.hpp>
#include <minidnn/viz/bar_chart.hpp>
#include <minidnn/viz/heatmap.hpp>
#include <minidnn/viz/line_chart.hpp>
#include <minidnn/viz/png.hpp>

#include "common.hpp"

namespace fer {

inline std::vector<std::string> emotion_labels() { return {kEmotionNames.begin(), kEmotionNames.end()}; }

inline void write_distribution_chart(const std::string& path, const std::string& title,
                                     const std::array<std::size_t, kClasses>& counts) {
  minidnn::viz::Font font;
  minidnn::viz::BarChart chart;
  chart.title = title;
  chart.x_label = "emotion";
  chart.y_label = "images";
  chart.categories = emotion_labels();
  for (std::size_t c : counts) chart.values.push_back(static_cast<double>(c));
  chart.value_format = "%.0f";
  auto canvas = minidnn::viz::bar_chart(chart, font);
  ensure_parent(path);
  minidnn::viz::save_png(path, canvas);
}

inline void write_probability_chart(const std::string& path, const std::string& title, const float* probabilities) {
  minidnn::viz::Font font;
  minidnn::viz::BarChart chart;
  chart.title = title;
  chart.x_label = "emotion";
  chart.y_label = "probability";
  chart.categories = emotion_labels();
  int best = 0;
  for (int c = 0; c < kClasses; ++c) {
    chart.values.push_back(probabilities[c]);
    if (probabilities[c] > probabilities[best]) best = c;
  }
  chart.value_format = "%.2f";
  chart.y_max = 1.0;
  chart.highlight = best;
  auto canvas = minidnn::viz::bar_chart(chart, font);
  ensure_parent(path);
  minidnn::viz::save_png(path, canvas);
}

inline void write_curves_chart(const std::string& path, const std::vector<minidnn::EpochLogs>& history,
                               const std::string& title) {
  using minidnn::viz::LinePanel;
  using minidnn::viz::Series;
  minidnn::viz::Font font;
  const bool validation = !history.empty() && history.front().has_validation;
  LinePanel loss{"Loss", "epoch", "cross-entropy", {}, 0, 0, ""};
  LinePanel accuracy{"Accuracy", "epoch", "accuracy", {}, 0, 1, ""};
  Series train_loss{"training", {}, minidnn::viz::palette(0)}, val_loss{"validation", {}, minidnn::viz::palette(1)};
  Series train_acc{"training", {}, minidnn::viz::palette(0)}, val_acc{"validation", {}, minidnn::viz::palette(1)};
  for (const auto& e : history) {
    train_loss.values.push_back(e.loss);
    train_acc.values.push_back(e.accuracy);
    val_loss.values.push_back(e.val_loss);
    val_acc.values.push_back(e.val_accuracy);
  }
  loss.series.push_back(train_loss);
  accuracy.series.push_back(train_acc);
  if (validation) {
    loss.series.push_back(val_loss);
    accuracy.series.push_back(val_acc);
  }
  auto canvas = minidnn::viz::line_chart({loss, accuracy}, font, title);
  ensure_parent(path);
  minidnn::viz::save_png(path, canvas);
}

inline void write_confusion_chart(const std::string& path, const std::string& title,
                                  const std::vector<std::vector<double>>& matrix) {
  minidnn::viz::Font font;
  minidnn::viz::Heatmap map;
  map.title = title;
  map.row_labels = emotion_labels();
  map.column_labels = emotion_labels();
  map.values = matrix;
  auto canvas = minidnn::viz::heatmap(map, font);
  ensure_parent(path);
  minidnn::viz::save_png(path, canvas);
}

}  // namespace fer
