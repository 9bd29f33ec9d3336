#pragma once
/// \file
/// write_png: encodes 8-bit pixels as PNG (stb_image_write) in memory and writes the file
/// atomically, so a reader never sees half a picture and a failed write leaves the old file.
/// Needs Debian's libstb at link time (CMake: minidnn::stb).
#include <stb_image_write.h>

#include <string>

#include "minidnn/core/error.hpp"
#include "minidnn/io/atomic_file.hpp"

namespace minidnn {

/// `pixels`: `height` rows of `width * channels` bytes, `stride` bytes apart (channels 1 to 4).
inline void write_png(const std::string& path, const unsigned char* pixels, int width, int height, int channels,
                      int stride) {
  if (width <= 0 || height <= 0) fail(path, ": cannot save an empty image (", width, "x", height, ")");
  if (channels < 1 || channels > 4) fail(path, ": cannot save an image of ", channels, " channels as PNG");
  std::string encoded;
  auto append = [](void* context, void* data, int size) {
    static_cast<std::string*>(context)->append(static_cast<const char*>(data), static_cast<std::size_t>(size));
  };
  if (!stbi_write_png_to_func(append, &encoded, width, height, channels, pixels, stride))
    fail(path, ": PNG encoding failed");
  write_file_atomically(path, encoded);
}

}  // namespace minidnn
