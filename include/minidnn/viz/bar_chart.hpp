#pragma once
/// \file
/// bar_chart: one bar per category with its value printed on top, e.g. the class distribution
/// of a data set or one image's emotion probabilities.
#include <algorithm>
#include <string>
#include <vector>

#include "minidnn/core/error.hpp"
#include "minidnn/viz/canvas.hpp"
#include "minidnn/viz/chart_axes.hpp"
#include "minidnn/viz/font.hpp"

namespace minidnn::viz {

struct BarChart {
  std::string title, x_label, y_label;
  std::vector<std::string> categories;
  std::vector<double> values;  // one per category, >= 0
  std::string value_format = "%g";  // printf format of the labels on the bars, e.g. "%.0f", "%.2f"
  /// Fixed top of the value axis (e.g. 1 for probabilities); 0 picks it from the data.
  double y_max = 0;
  /// Bar drawn in the accent colour (e.g. the predicted class), -1 for none.
  int highlight = -1;
  Rgb color = palette(0);
  Rgb highlight_color = palette(3);
  int width = 800, height = 480;
};

inline Canvas bar_chart(const BarChart& chart, const Font& font) {
  if (chart.categories.size() != chart.values.size() || chart.categories.empty())
    fail("viz::bar_chart: ", chart.categories.size(), " categories but ", chart.values.size(), " values");
  for (double v : chart.values)
    if (!(v >= 0)) fail("viz::bar_chart: values must be >= 0 and not NaN, got ", v);
  Canvas canvas(chart.width, chart.height);
  const RgbView view = canvas.view();
  const ChartFonts sizes = ChartFonts::for_height(chart.height);

  const double data_max = *std::max_element(chart.values.begin(), chart.values.end());
  const double top_value = chart.y_max > 0 ? chart.y_max : std::max(data_max * 1.12, 1e-12);
  const Ticks ticks = nice_ticks(0, top_value, 5);
  PlotArea area;
  area.y_max = chart.y_max > 0 ? chart.y_max : std::max(ticks.values.back(), top_value);
  area.x_max = static_cast<double>(chart.values.size());
  int tick_width = 0;
  for (double v : ticks.values) tick_width = std::max(tick_width, font.text_width(format_number(v, ticks.format), sizes.tick));
  area.left = static_cast<int>(24 + sizes.axis_title + tick_width + 14);
  area.right = chart.width - 20;
  area.top = static_cast<int>(16 + sizes.title * 1.6);
  area.bottom = static_cast<int>(chart.height - (sizes.tick * 1.4 + (chart.x_label.empty() ? 10 : sizes.axis_title * 1.4 + 14)));

  draw_title(view, font, chart.title, area.left, area.right, 12, sizes.title);
  draw_y_axis(view, font, area, ticks, chart.y_label, sizes);
  const double slot = static_cast<double>(area.right - area.left) / chart.values.size();
  for (std::size_t i = 0; i < chart.values.size(); ++i) {
    const double centre = area.left + slot * (i + 0.5);
    const int x0 = static_cast<int>(std::lround(centre - slot * 0.34)), x1 = static_cast<int>(std::lround(centre + slot * 0.34));
    const int y0 = static_cast<int>(std::lround(area.py(std::min(chart.values[i], area.y_max))));
    const Rgb colour = static_cast<int>(i) == chart.highlight ? chart.highlight_color : chart.color;
    fill_rect(view, x0, y0, x1, area.bottom, colour);
    draw_text(view, font, format_number(chart.values[i], chart.value_format), centre, y0 - 4,
              TextStyle{sizes.annotation, kInk, Align::Centre, Align::End});
    draw_text(view, font, chart.categories[i], centre, area.bottom + 6, TextStyle{sizes.tick, kInk, Align::Centre, Align::Start});
  }
  if (!chart.x_label.empty())
    draw_text(view, font, chart.x_label, (area.left + area.right) / 2.0, chart.height - 10,
              TextStyle{sizes.axis_title, kInk, Align::Centre, Align::End});
  return canvas;
}

}  // namespace minidnn::viz
