#pragma once
// Shared by the viz tests: load the default font or skip, decode a saved PNG, count colours.
#include <stb_image.h>

#include <catch2/catch.hpp>

#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <tuple>

#include "minidnn/viz/canvas.hpp"
#include "minidnn/viz/font.hpp"
#include "minidnn/viz/png.hpp"
#include "support/paths.hpp"

namespace minidnn::test {

/// The default font, or nullptr (with a visible warning) when fonts-dejavu-core is missing.
inline std::unique_ptr<viz::Font> font_or_skip() {
  if (!std::filesystem::exists(viz::Font::default_path())) {
    WARN("skipped: font " << viz::Font::default_path() << " missing (install fonts-dejavu-core)");
    return nullptr;
  }
  return std::make_unique<viz::Font>();
}

/// A PNG decoded by stb_image: width, height, RGB pixels.
struct Decoded {
  int width = 0, height = 0;
  std::vector<unsigned char> rgb;
  std::tuple<int, int, int> at(int x, int y) const {
    const unsigned char* p = &rgb[(static_cast<std::size_t>(y) * width + x) * 3];
    return {p[0], p[1], p[2]};
  }
};

/// Saves the canvas with save_png and decodes the file again (the full round trip a user sees).
inline Decoded save_and_decode(viz::Canvas& canvas, const std::string& name) {
  const auto path = (scratch_dir("viz_" + name) / (name + ".png")).string();
  viz::save_png(path, canvas);
  Decoded d;
  int channels = 0;
  unsigned char* pixels = stbi_load(path.c_str(), &d.width, &d.height, &channels, 3);
  REQUIRE(pixels != nullptr);
  d.rgb.assign(pixels, pixels + static_cast<std::size_t>(d.width) * d.height * 3);
  stbi_image_free(pixels);
  return d;
}

inline std::size_t distinct_colours(const Decoded& d) {
  std::set<int> colours;
  for (std::size_t i = 0; i < d.rgb.size(); i += 3) colours.insert(d.rgb[i] << 16 | d.rgb[i + 1] << 8 | d.rgb[i + 2]);
  return colours.size();
}

/// Pixels that are clearly dark grey ink (text, axes), neither white nor a saturated colour.
inline std::size_t dark_grey_pixels(const Decoded& d) {
  std::size_t n = 0;
  for (std::size_t i = 0; i < d.rgb.size(); i += 3) {
    const int r = d.rgb[i], g = d.rgb[i + 1], b = d.rgb[i + 2];
    n += std::max({r, g, b}) < 110 && std::max({r, g, b}) - std::min({r, g, b}) < 20;
  }
  return n;
}

inline std::size_t pixels_of(const Decoded& d, viz::Rgb c) {
  std::size_t n = 0;
  for (std::size_t i = 0; i < d.rgb.size(); i += 3) n += d.rgb[i] == c.r && d.rgb[i + 1] == c.g && d.rgb[i + 2] == c.b;
  return n;
}

}  // namespace minidnn::test
