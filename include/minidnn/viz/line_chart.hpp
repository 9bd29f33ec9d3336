#pragma once
/// \file
/// line_chart: named series over epochs with a legend, in one or more panels side by side, e.g.
/// training curves: loss (train vs validation) beside accuracy (train vs validation).
#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "minidnn/core/error.hpp"
#include "minidnn/viz/canvas.hpp"
#include "minidnn/viz/chart_axes.hpp"
#include "minidnn/viz/font.hpp"

namespace minidnn::viz {

struct Series {
  std::string name;
  std::vector<double> values;  // value at epoch 1, 2, ...; NaN leaves a gap-free skip
  Rgb color = palette(0);
};

struct LinePanel {
  std::string title, x_label = "epoch", y_label;
  std::vector<Series> series;
  /// Fixed value range (e.g. 0-1 for accuracy); equal values pick it from the data.
  double y_min = 0, y_max = 0;
  std::string y_format;  // tick label format; empty: from the tick step ("%.0f%%"-style allowed)
};

namespace detail {

// The legend goes into whichever corner of the plot the curves leave most empty.
inline std::array<int, 4> legend_box(const PlotArea& area, const LinePanel& panel, int w, int h) {
  std::array<std::array<int, 4>, 4> corners = {{{area.right - w - 10, area.top + 10, area.right - 10, area.top + 10 + h},
                                                {area.right - w - 10, area.bottom - h - 10, area.right - 10, area.bottom - 10},
                                                {area.left + 10, area.top + 10, area.left + 10 + w, area.top + 10 + h},
                                                {area.left + 10, area.bottom - h - 10, area.left + 10 + w, area.bottom - 10}}};
  std::size_t best = 0, best_hits = std::numeric_limits<std::size_t>::max();
  for (std::size_t c = 0; c < corners.size(); ++c) {
    std::size_t hits = 0;
    for (const Series& s : panel.series)
      for (std::size_t i = 0; i < s.values.size(); ++i) {
        if (std::isnan(s.values[i])) continue;
        // Sample along the segment so a curve crossing the box counts even between points.
        for (int k = 0; k < 8; ++k) {
          const double t = (i + 1 < s.values.size() && !std::isnan(s.values[i + 1])) ? k / 8.0 : 0;
          const double v = i + 1 < s.values.size() && !std::isnan(s.values[i + 1]) ? s.values[i] + t * (s.values[i + 1] - s.values[i]) : s.values[i];
          const double x = area.px(i + 1 + t), y = area.py(v);
          if (x >= corners[c][0] - 6 && x <= corners[c][2] + 6 && y >= corners[c][1] - 6 && y <= corners[c][3] + 6) ++hits;
        }
      }
    if (hits < best_hits) best = c, best_hits = hits;
  }
  return corners[best];
}

inline void draw_panel(const RgbView& view, const Font& font, const LinePanel& panel, int x0, int y0, int x1, int y1,
                       const ChartFonts& sizes) {
  std::size_t epochs = 0;
  double low = std::numeric_limits<double>::infinity(), high = -low;
  for (const Series& s : panel.series) {
    epochs = std::max(epochs, s.values.size());
    for (double v : s.values)
      if (!std::isnan(v)) low = std::min(low, v), high = std::max(high, v);
  }
  if (epochs == 0 || !std::isfinite(low)) fail("viz::line_chart: panel '", panel.title, "' has no values");
  PlotArea area;
  if (panel.y_max > panel.y_min) {
    low = panel.y_min, high = panel.y_max;
  } else {
    const double pad = std::max((high - low) * 0.08, std::abs(high) * 0.02 + 1e-12);
    low -= pad, high += pad;
  }
  Ticks ticks = nice_ticks(low, high, 5);
  if (!panel.y_format.empty()) ticks.format = panel.y_format;
  area.y_min = std::min(low, ticks.values.front());
  area.y_max = std::max(high, ticks.values.back());
  if (panel.y_max > panel.y_min) area.y_min = panel.y_min, area.y_max = panel.y_max;
  area.x_min = 1;
  area.x_max = std::max<double>(2, static_cast<double>(epochs));
  int tick_width = 0;
  for (double v : ticks.values) tick_width = std::max(tick_width, font.text_width(format_number(v, ticks.format), sizes.tick));
  area.left = static_cast<int>(x0 + 20 + sizes.axis_title + tick_width + 14);
  area.right = x1 - 24;
  area.top = static_cast<int>(y0 + 12 + sizes.title * 1.6);
  area.bottom = static_cast<int>(y1 - (sizes.tick * 1.4 + sizes.axis_title * 1.4 + 20));

  draw_title(view, font, panel.title, area.left, area.right, y0 + 12, sizes.title * 0.9);
  draw_y_axis(view, font, area, ticks, panel.y_label, sizes);
  const Ticks x_ticks = nice_ticks(1, area.x_max, std::min<int>(8, static_cast<int>(epochs)));
  for (double e : x_ticks.values) {
    if (e < 1 || std::abs(e - std::round(e)) > 1e-9) continue;
    const double x = area.px(e);
    fill_rect(view, static_cast<int>(x), area.bottom, static_cast<int>(x) + 1, area.bottom + 5, kInk);
    draw_text(view, font, format_number(e, "%.0f"), x, area.bottom + 7, TextStyle{sizes.tick, kMutedInk, Align::Centre, Align::Start});
  }
  draw_text(view, font, panel.x_label, (area.left + area.right) / 2.0, y1 - 10,
            TextStyle{sizes.axis_title, kInk, Align::Centre, Align::End});

  const double thickness = std::max(2.0, sizes.tick / 6.0);
  for (const Series& s : panel.series) {
    std::vector<Point> points;
    for (std::size_t i = 0; i < s.values.size(); ++i)
      if (!std::isnan(s.values[i])) points.push_back({area.px(i + 1.0), area.py(std::clamp(s.values[i], area.y_min, area.y_max))});
    draw_polyline(view, points, s.color, thickness);
    if (points.size() <= 40)
      for (const Point& p : points) fill_disc(view, p, thickness * 1.6, s.color);
  }

  // Legend
  const double swatch = sizes.tick * 1.8;
  int text_w = 0;
  for (const Series& s : panel.series) text_w = std::max(text_w, font.text_width(s.name, sizes.tick));
  const int row_h = static_cast<int>(sizes.tick * 1.5);
  const int box_w = static_cast<int>(swatch + text_w + 28), box_h = static_cast<int>(row_h * panel.series.size() + 12);
  const auto box = legend_box(area, panel, box_w, box_h);
  fill_rect(view, box[0], box[1], box[2], box[3], {255, 255, 255}, 0.9);
  draw_rect(view, box[0], box[1], box[2], box[3], {200, 200, 200});
  for (std::size_t i = 0; i < panel.series.size(); ++i) {
    const double cy = box[1] + 6 + row_h * (i + 0.5);
    draw_line(view, {box[0] + 8.0, cy}, {box[0] + 8.0 + swatch, cy}, panel.series[i].color, thickness);
    fill_disc(view, {box[0] + 8.0 + swatch / 2, cy}, thickness * 1.6, panel.series[i].color);
    draw_text(view, font, panel.series[i].name, box[0] + 16 + swatch, cy, TextStyle{sizes.tick, kInk, Align::Start, Align::Centre});
  }
}

}  // namespace detail

/// Panels side by side under an optional overall title.
inline Canvas line_chart(const std::vector<LinePanel>& panels, const Font& font, const std::string& title = "",
                         int width = 1100, int height = 460) {
  if (panels.empty()) fail("viz::line_chart: no panels");
  Canvas canvas(width, height);
  const ChartFonts sizes = ChartFonts::for_height(height);
  int top = 0;
  if (!title.empty()) {
    draw_title(canvas.view(), font, title, 0, width, 10, sizes.title);
    top = static_cast<int>(sizes.title * 1.5 + 6);
  }
  const double panel_w = static_cast<double>(width) / panels.size();
  for (std::size_t p = 0; p < panels.size(); ++p)
    detail::draw_panel(canvas.view(), font, panels[p], static_cast<int>(p * panel_w), top,
                       static_cast<int>((p + 1) * panel_w), height, sizes);
  return canvas;
}

}  // namespace minidnn::viz
