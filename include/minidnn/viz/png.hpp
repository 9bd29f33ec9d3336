#pragma once
/// \file
/// save_png: writes a Canvas (or any RgbView) as a PNG with stb_image_write, atomically: the
/// image goes to a temporary file beside the target, then is renamed over it, so a reader never
/// sees half a file. Needs Debian's libstb at link time (CMake: minidnn::stb).
#include <string>

#include "minidnn/io/png_file.hpp"
#include "minidnn/viz/canvas.hpp"

namespace minidnn::viz {

inline void save_png(const std::string& path, const RgbView& image) {
  write_png(path, image.pixels, image.width, image.height, 3, image.stride);
}

inline void save_png(const std::string& path, Canvas& canvas) { save_png(path, canvas.view()); }

}  // namespace minidnn::viz
