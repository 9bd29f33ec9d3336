#pragma once
/// \file
/// What the charts share: a colour palette, "nice" tick values, number formatting and a plot
/// area that maps data to pixels and draws its grid, axes, ticks and titles.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "minidnn/viz/canvas.hpp"
#include "minidnn/viz/font.hpp"

namespace minidnn::viz {

/// Ten colours that stay apart for colour-blind readers (Tableau 10).
inline Rgb palette(std::size_t i) {
  static constexpr Rgb colours[] = {{31, 119, 180}, {255, 127, 14}, {44, 160, 44}, {214, 39, 40}, {148, 103, 189},
                                    {140, 86, 75},  {227, 119, 194}, {127, 127, 127}, {188, 189, 34}, {23, 190, 207}};
  return colours[i % 10];
}

inline const Rgb kInk{40, 40, 40};
inline const Rgb kGrid{225, 225, 225};
inline const Rgb kMutedInk{90, 90, 90};

/// printf-style formatting of one number ("%.2f", "%.0f%%", ...).
inline std::string format_number(double value, const std::string& format) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, format.c_str(), value);
  return buffer;
}

/// About `target` round tick values (1, 2, 2.5 or 5 times a power of ten) covering [low, high].
struct Ticks {
  std::vector<double> values;
  double step = 1;
  std::string format = "%g";  // enough decimals for the step
};

inline Ticks nice_ticks(double low, double high, int target = 5) {
  if (!(high > low)) high = low + 1;
  const double raw = (high - low) / std::max(target, 1);
  const double power = std::pow(10.0, std::floor(std::log10(raw)));
  double step = power * 10;
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0})
    if (m * power >= raw) {
      step = m * power;
      break;
    }
  Ticks ticks;
  ticks.step = step;
  for (double v = std::ceil(low / step - 1e-9) * step; v <= high + step * 1e-9; v += step)
    ticks.values.push_back(std::abs(v) < step * 1e-9 ? 0.0 : v);
  const int decimals = std::max(0, static_cast<int>(-std::floor(std::log10(step) + 1e-9)) + (step / power == 2.5 ? 1 : 0));
  ticks.format = "%." + std::to_string(decimals) + "f";
  return ticks;
}

/// Font sizes shared by every chart, scaled with the image.
struct ChartFonts {
  double title = 20, axis_title = 15, tick = 13.5, annotation = 14;
  static ChartFonts for_height(int height) {
    const double k = std::clamp(height / 500.0, 0.8, 2.0);
    return {20 * k, 15 * k, 13.5 * k, 14 * k};
  }
};

/// A rectangle of the canvas holding a plot, and the data range it shows.
struct PlotArea {
  int left = 0, top = 0, right = 0, bottom = 0;  // pixels, right/bottom exclusive
  double x_min = 0, x_max = 1, y_min = 0, y_max = 1;

  double px(double x) const { return left + (x - x_min) / (x_max - x_min) * (right - left); }
  double py(double y) const { return bottom - (y - y_min) / (y_max - y_min) * (bottom - top); }
};

/// Horizontal grid lines and y tick labels, the axis lines, and the axis titles.
inline void draw_y_axis(const RgbView& view, const Font& font, const PlotArea& area, const Ticks& ticks,
                        const std::string& title, const ChartFonts& sizes) {
  TextStyle tick_style{sizes.tick, kMutedInk, Align::End, Align::Centre};
  int widest = 0;
  for (double v : ticks.values) {
    const int y = static_cast<int>(std::lround(area.py(v)));
    fill_rect(view, area.left, y, area.right, y + 1, kGrid);
    const std::string text = format_number(v, ticks.format);
    widest = std::max(widest, font.text_width(text, sizes.tick));
    draw_text(view, font, text, area.left - 8, y, tick_style);
  }
  fill_rect(view, area.left - 1, area.top, area.left, area.bottom, kInk);
  fill_rect(view, area.left - 1, area.bottom, area.right, area.bottom + 1, kInk);
  if (!title.empty()) {
    TextStyle title_style{sizes.axis_title, kInk, Align::End, Align::Centre, true};
    draw_text(view, font, title, area.left - 16 - widest, (area.top + area.bottom) / 2.0, title_style);
  }
}

/// The chart title, centred over [left, right) at `top`.
inline void draw_title(const RgbView& view, const Font& font, const std::string& title, double left, double right,
                       double top, double size) {
  if (title.empty()) return;
  draw_text(view, font, title, (left + right) / 2, top, TextStyle{size, kInk, Align::Centre, Align::Start});
}

}  // namespace minidnn::viz
