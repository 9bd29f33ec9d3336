#pragma once
/// \file
/// save_png: writes a Canvas (or any RgbView) as a PNG with stb_image_write, atomically: the
/// image goes to a temporary file beside the target, then is renamed over it, so a reader never
/// sees half a file. Needs Debian's libstb at link time (CMake: minidnn::stb).
#include <stb_image_write.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include "minidnn/core/error.hpp"
#include "minidnn/viz/canvas.hpp"

namespace minidnn::viz {

inline void save_png(const std::string& path, const RgbView& image) {
  const std::string temp = path + ".tmp";
  if (!stbi_write_png(temp.c_str(), image.width, image.height, 3, image.pixels, image.stride)) {
    std::remove(temp.c_str());
    fail(path, ": cannot write PNG (is the folder there and writable?)");
  }
  std::error_code error;
  std::filesystem::rename(temp, path, error);
  if (error) {
    std::remove(temp.c_str());
    fail(path, ": cannot move the finished PNG into place: ", error.message());
  }
}

inline void save_png(const std::string& path, Canvas& canvas) { save_png(path, canvas.view()); }

}  // namespace minidnn::viz
