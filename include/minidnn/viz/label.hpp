#pragma once
/// \file
/// draw_label: a text tag on a filled box, the way detections are annotated on photos
/// ("Happy 0.91" above a face box). Works on any RgbView, e.g. a photo loaded by vision/.
#include <algorithm>
#include <array>
#include <string>

#include "minidnn/viz/canvas.hpp"
#include "minidnn/viz/font.hpp"

namespace minidnn::viz {

struct LabelStyle {
  double size = 16;                 // text line height, pixels
  Rgb text{255, 255, 255};
  Rgb background{220, 40, 40};
  int padding = 3;
};

/// Draws `text` in a filled box whose bottom-left corner is at (x, y), e.g. the top-left corner
/// of a face box; if that would leave the image at the top, the tag goes just below y instead,
/// and it is shifted left to stay inside on the right. Returns the tag's box {x0, y0, x1, y1}.
inline std::array<int, 4> draw_label(const RgbView& view, const Font& font, const std::string& text, int x, int y,
                                     const LabelStyle& style = {}) {
  const TextMask probe = font.render(text, style.size);
  const int w = probe.width + 2 * style.padding, h = probe.height + 2 * style.padding;
  int left = std::max(0, std::min(x, view.width - w));
  int top = y - h >= 0 ? y - h : y;
  fill_rect(view, left, top, left + w, top + h, style.background);
  TextStyle text_style;
  text_style.size = style.size;
  text_style.color = style.text;
  draw_text(view, font, text, left + style.padding, top + style.padding, text_style);
  return {left, top, left + w, top + h};
}

}  // namespace minidnn::viz
