#pragma once
/// \file
/// Font and draw_text: TrueType text (stb_truetype) drawn anti-aliased on any RgbView, for chart
/// titles and labels and for emotion labels on photos. The default font is DejaVu Sans from
/// Debian's fonts-dejavu-core; MINIDNN_FONT or an explicit path picks another .ttf.
/// Needs Debian's libstb at link time (CMake: minidnn::stb).
#include <stb_truetype.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "minidnn/core/error.hpp"
#include "minidnn/viz/canvas.hpp"

namespace minidnn::viz {

/// Coverage mask of rendered text: (height, width) alpha values 0-255, baseline at `baseline`.
struct TextMask {
  int width = 0, height = 0, baseline = 0;
  std::vector<std::uint8_t> alpha;
};

class Font {
 public:
  /// MINIDNN_FONT if set, else DejaVu Sans where Debian installs it.
  static std::string default_path() {
    if (const char* env = std::getenv("MINIDNN_FONT"); env && *env) return env;
    return "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";
  }

  explicit Font(const std::string& path = default_path()) : path_(path) {
    std::ifstream in(path, std::ios::binary);
    if (!in)
      fail(path, ": font file not found (install Debian's fonts-dejavu-core, or set MINIDNN_FONT to a .ttf file)");
    data_.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    if (data_.empty() || stbtt_GetFontOffsetForIndex(data_.data(), 0) < 0 ||
        !stbtt_InitFont(&info_, data_.data(), stbtt_GetFontOffsetForIndex(data_.data(), 0)))
      fail(path, ": not a TrueType font stb_truetype can read");
  }
  Font(const Font&) = delete;  // info_ points into data_
  Font& operator=(const Font&) = delete;

  const std::string& path() const { return path_; }

  /// Width in pixels of `text` at `size` pixels line height.
  int text_width(const std::string& text, double size) const {
    const float scale = stbtt_ScaleForPixelHeight(&info_, static_cast<float>(size));
    double x = 0;
    const std::vector<int> codes = decode_utf8(text);
    for (std::size_t i = 0; i < codes.size(); ++i) {
      int advance, bearing;
      stbtt_GetCodepointHMetrics(&info_, codes[i], &advance, &bearing);
      x += advance * scale;
      if (i + 1 < codes.size()) x += scale * stbtt_GetCodepointKernAdvance(&info_, codes[i], codes[i + 1]);
    }
    return static_cast<int>(std::ceil(x));
  }

  /// Renders `text` (UTF-8) at `size` pixels line height into a coverage mask.
  TextMask render(const std::string& text, double size) const {
    const float scale = stbtt_ScaleForPixelHeight(&info_, static_cast<float>(size));
    int ascent, descent, line_gap;
    stbtt_GetFontVMetrics(&info_, &ascent, &descent, &line_gap);
    TextMask mask;
    mask.baseline = static_cast<int>(std::ceil(ascent * scale));
    mask.height = mask.baseline + static_cast<int>(std::ceil(-descent * scale));
    mask.width = text_width(text, size) + 2;
    mask.alpha.assign(static_cast<std::size_t>(mask.width) * mask.height, 0);
    const std::vector<int> codes = decode_utf8(text);
    double x = 0;
    std::vector<std::uint8_t> glyph;
    for (std::size_t i = 0; i < codes.size(); ++i) {
      const float shift = static_cast<float>(x - std::floor(x));
      int gx0, gy0, gx1, gy1;
      stbtt_GetCodepointBitmapBoxSubpixel(&info_, codes[i], scale, scale, shift, 0, &gx0, &gy0, &gx1, &gy1);
      const int gw = gx1 - gx0, gh = gy1 - gy0;
      if (gw > 0 && gh > 0) {
        glyph.assign(static_cast<std::size_t>(gw) * gh, 0);
        stbtt_MakeCodepointBitmapSubpixel(&info_, glyph.data(), gw, gh, gw, scale, scale, shift, 0, codes[i]);
        const int left = static_cast<int>(std::floor(x)) + gx0, top = mask.baseline + gy0;
        for (int y = 0; y < gh; ++y)
          for (int xx = 0; xx < gw; ++xx) {
            const int mx = left + xx, my = top + y;
            if (mx < 0 || my < 0 || mx >= mask.width || my >= mask.height) continue;
            std::uint8_t& a = mask.alpha[static_cast<std::size_t>(my) * mask.width + mx];
            a = std::max(a, glyph[static_cast<std::size_t>(y) * gw + xx]);
          }
      }
      int advance, bearing;
      stbtt_GetCodepointHMetrics(&info_, codes[i], &advance, &bearing);
      x += advance * scale;
      if (i + 1 < codes.size()) x += scale * stbtt_GetCodepointKernAdvance(&info_, codes[i], codes[i + 1]);
    }
    return mask;
  }

 private:
  // Malformed bytes become U+FFFD rather than an error: a label must never stop a chart.
  static std::vector<int> decode_utf8(const std::string& text) {
    std::vector<int> codes;
    for (std::size_t i = 0; i < text.size();) {
      const auto c = static_cast<unsigned char>(text[i]);
      int length = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
      if (length == 0 || i + length > text.size()) {
        codes.push_back(0xFFFD);
        ++i;
        continue;
      }
      int code = length == 1 ? c : c & (0x7F >> length);
      for (int k = 1; k < length; ++k) code = (code << 6) | (static_cast<unsigned char>(text[i + k]) & 0x3F);
      codes.push_back(code);
      i += length;
    }
    return codes;
  }

  std::string path_;
  std::vector<unsigned char> data_;
  stbtt_fontinfo info_{};
};

enum class Align { Start, Centre, End };

/// Where text goes: the anchor point (x, y) and how the text box sits on it.
struct TextStyle {
  double size = 14;            // line height in pixels
  Rgb color{0, 0, 0};
  Align horizontal = Align::Start;  // Start: box starts at x
  Align vertical = Align::Start;    // Start: box top at y
  bool rotated = false;        // read bottom to top (y-axis titles)
};

/// Draws `text` on `view`; returns the box it occupies as {x0, y0, x1, y1}.
inline std::array<int, 4> draw_text(const RgbView& view, const Font& font, const std::string& text, double x, double y,
                                    const TextStyle& style) {
  const TextMask mask = font.render(text, style.size);
  const int box_w = style.rotated ? mask.height : mask.width;
  const int box_h = style.rotated ? mask.width : mask.height;
  auto place = [](double anchor, int extent, Align align) {
    return static_cast<int>(std::lround(align == Align::Start ? anchor
                                        : align == Align::Centre ? anchor - extent / 2.0
                                                                 : anchor - extent));
  };
  const int left = place(x, box_w, style.horizontal), top = place(y, box_h, style.vertical);
  for (int my = 0; my < mask.height; ++my)
    for (int mx = 0; mx < mask.width; ++mx) {
      const std::uint8_t a = mask.alpha[static_cast<std::size_t>(my) * mask.width + mx];
      if (!a) continue;
      // Rotated a quarter turn anticlockwise: mask column -> box row from the bottom.
      const int px = style.rotated ? left + my : left + mx;
      const int py = style.rotated ? top + (mask.width - 1 - mx) : top + my;
      view.blend(px, py, style.color, a / 255.0);
    }
  return {left, top, left + box_w, top + box_h};
}

}  // namespace minidnn::viz
