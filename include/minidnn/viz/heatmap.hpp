#pragma once
/// \file
/// heatmap: a labelled matrix of counts, coloured by value, e.g. a 7x7 confusion matrix (rows:
/// true class, columns: predicted class) with the count in every cell and a colour scale.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "minidnn/core/error.hpp"
#include "minidnn/viz/canvas.hpp"
#include "minidnn/viz/chart_axes.hpp"
#include "minidnn/viz/font.hpp"

namespace minidnn::viz {

struct Heatmap {
  std::string title, x_label = "predicted", y_label = "true";
  std::vector<std::string> row_labels, column_labels;
  std::vector<std::vector<double>> values;  // (rows, columns)
  std::string value_format = "%.0f";
  /// Colour each cell by its share of its row (recall, for a confusion matrix), so rare classes
  /// are as readable as common ones; false colours by the raw value.
  bool colour_by_row_share = true;
  int width = 760, height = 680;
};

/// White to dark blue (ColorBrewer "Blues"), t in [0, 1].
inline Rgb blues(double t) {
  static constexpr Rgb stops[] = {{247, 251, 255}, {198, 219, 239}, {107, 174, 214}, {33, 113, 181}, {8, 48, 107}};
  t = std::clamp(t, 0.0, 1.0) * 4;
  const int i = std::min(3, static_cast<int>(t));
  return mix(stops[i], stops[i + 1], t - i);
}

inline Canvas heatmap(const Heatmap& map, const Font& font) {
  const std::size_t rows = map.values.size();
  if (rows == 0 || map.row_labels.size() != rows) fail("viz::heatmap: ", rows, " rows but ", map.row_labels.size(), " row labels");
  const std::size_t columns = map.values[0].size();
  for (const auto& row : map.values)
    if (row.size() != columns) fail("viz::heatmap: rows of different lengths (", row.size(), " and ", columns, ")");
  if (columns == 0 || map.column_labels.size() != columns)
    fail("viz::heatmap: ", columns, " columns but ", map.column_labels.size(), " column labels");

  Canvas canvas(map.width, map.height);
  const RgbView view = canvas.view();
  const ChartFonts sizes = ChartFonts::for_height(map.height);
  int label_w = 0;
  for (const auto& l : map.row_labels) label_w = std::max(label_w, font.text_width(l, sizes.tick));
  const int scale_w = static_cast<int>(sizes.tick * 5.5);  // colour bar and its labels
  const int left = static_cast<int>(20 + sizes.axis_title * 1.5 + label_w + 10);
  const int top = static_cast<int>(16 + sizes.title * 1.6);
  const int right = map.width - scale_w - 30;
  const int bottom = static_cast<int>(map.height - (sizes.tick * 1.5 + sizes.axis_title * 1.5 + 20));
  const double cell_w = static_cast<double>(right - left) / columns, cell_h = static_cast<double>(bottom - top) / rows;

  double max_value = 0;
  for (const auto& row : map.values)
    for (double v : row) max_value = std::max(max_value, v);
  draw_title(view, font, map.title, left, right, 12, sizes.title);
  for (std::size_t r = 0; r < rows; ++r) {
    double row_sum = 0;
    for (double v : map.values[r]) row_sum += v;
    for (std::size_t c = 0; c < columns; ++c) {
      const double v = map.values[r][c];
      const double t = map.colour_by_row_share ? (row_sum > 0 ? v / row_sum : 0) : (max_value > 0 ? v / max_value : 0);
      const int x0 = static_cast<int>(std::lround(left + c * cell_w)), x1 = static_cast<int>(std::lround(left + (c + 1) * cell_w));
      const int y0 = static_cast<int>(std::lround(top + r * cell_h)), y1 = static_cast<int>(std::lround(top + (r + 1) * cell_h));
      fill_rect(view, x0, y0, x1, y1, blues(t));
      draw_rect(view, x0, y0, x1 + 1, y1 + 1, {255, 255, 255});
      draw_text(view, font, format_number(v, map.value_format), (x0 + x1) / 2.0, (y0 + y1) / 2.0,
                TextStyle{sizes.annotation, t > 0.5 ? Rgb{255, 255, 255} : kInk, Align::Centre, Align::Centre});
    }
    draw_text(view, font, map.row_labels[r], left - 8, top + (r + 0.5) * cell_h, TextStyle{sizes.tick, kInk, Align::End, Align::Centre});
  }
  for (std::size_t c = 0; c < columns; ++c)
    draw_text(view, font, map.column_labels[c], left + (c + 0.5) * cell_w, bottom + 6,
              TextStyle{sizes.tick, kInk, Align::Centre, Align::Start});
  draw_text(view, font, map.x_label, (left + right) / 2.0, map.height - 10, TextStyle{sizes.axis_title, kInk, Align::Centre, Align::End});
  draw_text(view, font, map.y_label, 16, (top + bottom) / 2.0, TextStyle{sizes.axis_title, kInk, Align::Start, Align::Centre, true});

  // Colour scale
  const int bar_x0 = right + 22, bar_x1 = bar_x0 + static_cast<int>(sizes.tick * 1.4);
  for (int y = top; y < bottom; ++y) fill_rect(view, bar_x0, y, bar_x1, y + 1, blues(1.0 - static_cast<double>(y - top) / (bottom - top - 1)));
  draw_rect(view, bar_x0, top, bar_x1, bottom, {200, 200, 200});
  const double scale_max = map.colour_by_row_share ? 100 : max_value;
  const Ticks ticks = nice_ticks(0, scale_max, 5);
  for (double v : ticks.values) {
    const double y = bottom - v / (scale_max > 0 ? scale_max : 1) * (bottom - top);
    fill_rect(view, bar_x1, static_cast<int>(y), bar_x1 + 4, static_cast<int>(y) + 1, kInk);
    draw_text(view, font, format_number(v, ticks.format) + (map.colour_by_row_share ? "%" : ""), bar_x1 + 7, y,
              TextStyle{sizes.tick * 0.9, kMutedInk, Align::Start, Align::Centre});
  }
  if (map.colour_by_row_share)
    draw_text(view, font, "of row", (bar_x0 + bar_x1) / 2.0, top - 4, TextStyle{sizes.tick * 0.9, kMutedInk, Align::Centre, Align::End});
  return canvas;
}

}  // namespace minidnn::viz
